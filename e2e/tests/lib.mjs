// Shared by the browser tests: a Chromium with a fresh profile that records every request's
// host, logging in, and the API (with the demo's operator token) to check what the server holds.
import { chromium } from 'playwright-core';
import { mkdtempSync, mkdirSync } from 'node:fs';
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

/** Every URL any page asked for, across all browsers of this process. */
export const requested = [];

/** A Chromium with a fresh user-data-dir (never a downloaded browser). */
export async function browser(options = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'sangathan-chromium-'));
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
