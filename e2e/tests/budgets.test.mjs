// Page weight budgets, measured in a real browser with a cold cache: every byte each page loads
// (compressed, as transferred); the first visit to the enrolment page with what the service
// worker downloads for the app shell counted too (every URL of it, none from the cache); and
// the load times of the enrolment, home, drill-down and map pages on an emulated 2G link
// (250 kbit/s, 300 ms round trip). Results go to artifacts/budgets.json for the README.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import { BASE, STATE_ADMIN, AC_INCHARGE, ARTIFACTS, browser, login, requested } from './lib.mjs';

const KB = 1024;
const results = {};
after(() => {
  writeFileSync(ARTIFACTS + 'budgets.json', JSON.stringify(results, null, 2));
  const origin = new URL(BASE).origin;
  const foreign = requested.filter((u) => !u.startsWith(origin) && !u.startsWith('data:'));
  assert.deepEqual(foreign, [], 'requests to other hosts');
});

/** Loads `path` in a fresh browser (cold cache) as `who`; the bytes each request transferred. */
async function weigh(path, who, network) {
  // Without the service worker, so that every byte comes over the network and is counted (what
  // it downloads for itself is measured apart: see `shellBytes`).
  const ctx = await browser({ viewport: { width: 360, height: 740 }, isMobile: true, serviceWorkers: 'block' });
  const page = await ctx.newPage();
  await login(page, who);
  // A fresh page: nothing of the target page is cached yet but the login page's own assets,
  // so drop the cache entirely.
  const cdp = await ctx.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.clearBrowserCache');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  if (network) await cdp.send('Network.emulateNetworkConditions', network);
  const sizes = [];
  const pending = [];
  page.on('requestfinished', (r) => pending.push(r.sizes().then((s) => sizes.push({ url: r.url(), bytes: s.responseBodySize + s.responseHeadersSize }))));
  const t0 = Date.now();
  await page.goto(BASE + path, { waitUntil: 'load' });
  const loadMs = Date.now() - t0;
  await page.waitForLoadState('networkidle');
  await Promise.all(pending);
  await ctx.close();
  const total = sizes.reduce((a, s) => a + s.bytes, 0);
  return { total, loadMs, requests: sizes.length, files: sizes.map((s) => `${new URL(s.url).pathname} ${s.bytes}`) };
}

/** One URL as a browser would transfer it (Chromium's Accept-Encoding): compressed body and
 * header bytes, without decompressing. */
function transferred(path) {
  return new Promise((resolve, reject) => {
    const req = http.get(BASE + path, { headers: { 'Accept-Encoding': 'gzip, deflate, br, zstd' } }, (res) => {
      let body = 0;
      res.on('data', (c) => { body += c.length; });
      res.on('end', () => {
        // Each header line: name, ': ', value, CRLF; and the status line.
        const head = res.rawHeaders.reduce((a, h) => a + h.length + 2, 0) + 17;
        resolve({ path, status: res.statusCode, bytes: body + head });
      });
    });
    req.on('error', reject);
  });
}

/** What the service worker downloads on a first visit: itself, the script it imports, and the
 * app shell it caches (every URL of it, as if none were in the browser's cache yet). */
async function shellBytes() {
  const sw = await (await fetch(BASE + '/sw.js')).text();
  const list = JSON.parse(/var SHELL = (\[[^\]]*\]);/.exec(sw)[1]);
  const urls = ['/sw.js', '/assets/outbox.js', ...list, '/offline', '/manifest.webmanifest'];
  const got = await Promise.all([...new Set(urls)].map(transferred));
  for (const g of got) assert.equal(g.status, 200, g.path);
  return { total: got.reduce((a, g) => a + g.bytes, 0), files: got.map((g) => `${g.path} ${g.bytes}`) };
}

const budgets = [
  ['/enrol', STATE_ADMIN, 50 * KB, 'enrol (state admin: all 403 constituencies)'],
  ['/enrol', AC_INCHARGE, 50 * KB, 'enrol (AC in-charge: booths in the page)'],
  ['/', STATE_ADMIN, 100 * KB, 'home'],
  ['/units/UP', STATE_ADMIN, 100 * KB, 'drill-down (state)'],
  ['/units/UP-AC-86', STATE_ADMIN, 100 * KB, 'drill-down (AC)'],
  ['/map', STATE_ADMIN, 300 * KB, 'map (403 constituencies)'],
];

for (const [path, who, limit, label] of budgets) {
  test(`${label}: everything it loads is within ${limit / KB} KB compressed`, async () => {
    const r = await weigh(path, who);
    results[label] = { path, bytes: r.total, budget: limit, requests: r.requests, files: r.files };
    assert.ok(r.total <= limit, `${label}: ${r.total} bytes > ${limit}\n${r.files.join('\n')}`);
  });
}

test('first visit to the enrolment page, the service worker\'s app shell included: within 50 KB', async () => {
  const page = await weigh('/enrol', AC_INCHARGE);
  const shell = await shellBytes();
  results['enrol first visit with the service worker'] = {
    path: '/enrol', page_bytes: page.total, shell_bytes: shell.total, bytes: page.total + shell.total, budget: 50 * KB,
    files: page.files, shell_files: shell.files,
  };
  assert.ok(page.total + shell.total <= 50 * KB, `${page.total} + ${shell.total} bytes\n${page.files.concat(shell.files).join('\n')}`);
});

// 2G: 250 kbit/s down and up, 300 ms round trip.
const TWO_G = { offline: false, latency: 300, downloadThroughput: 250000 / 8, uploadThroughput: 250000 / 8 };
const slow = [
  ['/enrol', AC_INCHARGE, 'enrol on 2G', 10000],
  ['/', STATE_ADMIN, 'home on 2G', 10000],
  ['/units/UP', STATE_ADMIN, 'drill-down (state) on 2G', 10000],
  ['/units/UP-AC-86', STATE_ADMIN, 'drill-down (AC) on 2G', 10000],
  ['/map', STATE_ADMIN, 'map on 2G', 20000],
];
for (const [path, who, label, limit] of slow) {
  test(`${label} (250 kbit/s, 300 ms round trip) loads within ${limit / 1000} s`, async () => {
    const r = await weigh(path, who, TWO_G);
    results[label] = { path, bytes: r.total, load_ms: r.loadMs };
    assert.ok(r.loadMs < limit, `${r.loadMs} ms`);
  });
}
