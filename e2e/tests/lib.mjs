// Shared by the browser tests: a Chromium with a fresh profile that records every request's
// host, logging in, and the API (with the demo's operator token) to check what the server holds.
import { chromium } from 'playwright-core';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';

export const BASE = process.env.SANGATHAN_URL;
export const TOKEN = process.env.SANGATHAN_TOKEN;
export const ARTIFACTS = new URL('../artifacts/', import.meta.url).pathname;
mkdirSync(ARTIFACTS, { recursive: true });
assert.ok(BASE, 'SANGATHAN_URL is set (run through e2e/run)');

export const PASSWORD = 'sangathan-demo';
export const STATE_ADMIN = '9000000001';
export const AC_INCHARGE = '9300000001'; // ac-incharge@UP-AC-86
// The volunteer force: the commander of the Agra district and two volunteers of UP-AC-86
// (users named "Demo volunteer 1" and "Demo volunteer 2"; the tests enrol them in the force).
export const COMMANDER = '9700000001'; // volunteer-commander@UP-DT-AGRA:volunteers
export const VOLUNTEER = '9800000001'; // volunteer@UP-AC-86-…:volunteers
export const VOLUNTEER_2 = '9800000002';
// What `demo` adds for the volunteer force at UP-AC-86 (see crates/cli/src/demo.rs): the AC's
// commander and four volunteers (members of the force with logins).
export const AC_COMMANDER = '9700000101'; // volunteer-commander@UP-AC-86:volunteers
export const AC_VOLUNTEERS = ['9800000101', '9800000102', '9800000103', '9800000104'];

/** Every URL any page asked for, across all browsers of this process. */
export const requested = [];

/** Profiles made by this process, removed when their browser closes or, at the latest, when
 * the process exits (they hold the test logins' sessions; nothing else needs them). */
const profiles = new Set();
function removeProfile(dir) {
  try {
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    profiles.delete(dir);
  } catch {
    // Still in use (a browser not closed yet): the exit hook tries again.
  }
}
process.on('exit', () => [...profiles].forEach(removeProfile));

/** A Chromium with a fresh user-data-dir (never a downloaded browser). */
export async function browser(options = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'sangathan-chromium-'));
  profiles.add(dir);
  const ctx = await chromium.launchPersistentContext(dir, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
    viewport: options.viewport || { width: 1100, height: 900 },
    isMobile: !!options.isMobile,
    hasTouch: !!options.isMobile,
    locale: 'hi-IN',
    serviceWorkers: options.serviceWorkers || 'allow',
    acceptDownloads: true,
  });
  ctx.on('request', (r) => requested.push(r.url()));
  const close = ctx.close.bind(ctx);
  ctx.close = async (...args) => {
    await close(...args);
    removeProfile(dir);
  };
  return ctx;
}

export async function login(page, mobile = AC_INCHARGE, password = PASSWORD) {
  await page.goto(BASE + '/login');
  await page.fill('#mobile', mobile);
  await page.fill('#password', password);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/login')), page.click('#login-submit')]);
}

export async function api(path) {
  const res = await fetch(BASE + path, { headers: { Authorization: 'Bearer ' + TOKEN } });
  assert.equal(res.status, 200, `${path}: ${res.status}`);
  return res.json();
}

/** A write through the API with the operator's token: {status, body}. */
export async function apiSend(method, path, body, headers = {}) {
  const res = await fetch(BASE + path, {
    method,
    headers: { Authorization: 'Bearer ' + TOKEN, 'Content-Type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json().catch(() => null) };
}

/** A user's own API session (cookie and CSRF token), logged in with their password. */
export async function session(mobile, password = PASSWORD) {
  const res = await fetch(BASE + '/api/v1/session', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ mobile, password }),
  });
  assert.ok(res.status === 200 || res.status === 201, `login ${mobile}: ${res.status}`);
  const cookie = res.headers.get('set-cookie').split(';')[0];
  const body = await res.json();
  return {
    csrf: body.csrf_token,
    get: async (path) => {
      const r = await fetch(BASE + path, { headers: { cookie } });
      assert.equal(r.status, 200, `${path}: ${r.status}`);
      return r.json();
    },
  };
}

/** Members of `unit` found by `q` (name, mobile or EPIC), through the API. */
export async function find(unit, q) {
  const b = await api(`/api/v1/members?unit=${encodeURIComponent(unit)}&q=${encodeURIComponent(q)}&limit=50`);
  return b.members;
}

export async function achieved(code) {
  return (await api(`/api/v1/units/${code}/progress`)).unit.achieved;
}

/** A mobile number no demo member has: 7 + nine digits from the clock and a counter. */
let n = 0;
export function freshMobile() {
  n += 1;
  const tail = String((Date.now() * 10 + n) % 1e9).padStart(9, '0');
  return '7' + tail;
}

export async function shot(page, name) {
  await page.screenshot({ path: join(ARTIFACTS, name + '.png'), fullPage: false });
}
