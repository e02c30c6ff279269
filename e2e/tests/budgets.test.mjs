// Page weight budgets, measured in a real browser with a cold cache: every byte each page loads
// (compressed, as transferred), and the enrolment page's load time on an emulated 2G link
// (250 kbit/s, 300 ms round trip). Results go to artifacts/budgets.json for the README.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
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
  // Without the service worker, so that every byte comes over the network and is counted.
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

test('the enrolment page on 2G (250 kbit/s, 300 ms round trip) loads in seconds', async () => {
  const r = await weigh('/enrol', AC_INCHARGE, {
    offline: false, latency: 300, downloadThroughput: 250000 / 8, uploadThroughput: 250000 / 8,
  });
  results['enrol on 2G'] = { bytes: r.total, load_ms: r.loadMs };
  assert.ok(r.loadMs < 10000, `${r.loadMs} ms`);
});
