// The leaderboard, on a phone: the AC in-charge opens it from the verification queue on a 360 px
// screen and reads, in Hindi, the AC's enrollers ranked by members verified (not by how many
// they enrolled), as the API ranks them; nothing is wider than the screen. The drill-down of the
// AC links to it too.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, AC_INCHARGE, browser, login, session, shot, requested } from './lib.mjs';

const AC = 'UP-AC-86';
const KB = 1024;

const phone = await browser({ viewport: { width: 360, height: 740 }, isMobile: true });
after(async () => {
  await phone.close();
  const origin = new URL(BASE).origin;
  const foreign = requested.filter((u) => !u.startsWith(origin) && !u.startsWith('data:') && !u.startsWith('blob:'));
  assert.deepEqual(foreign, [], 'requests to other hosts');
});

/** Nothing wider than the screen: no sideways scrolling of the page, nor of the table. */
async function fits(page) {
  const w = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(w <= 360, `page is ${w}px wide`);
  const t = await page.evaluate(() => {
    const s = document.querySelector('#leaderboard')?.closest('.scroll');
    return s ? s.scrollWidth - s.clientWidth : 0;
  });
  assert.ok(t <= 1, `the table scrolls sideways by ${t}px`);
}

test('an AC in-charge reads the leaderboard of the AC on a phone', async () => {
  // What the API answers the AC in-charge (their wings only).
  const me = await session(AC_INCHARGE);
  const { enrollers } = await me.get(`/api/v1/units/${AC}/leaderboard`);
  assert.ok(enrollers.length > 0, 'the demo AC has enrollers');

  const page = await phone.newPage();
  await login(page, AC_INCHARGE);
  // From the verification queue to the AC's leaderboard.
  await Promise.all([page.waitForURL(/\/verification/), page.click('#nav-verify')]);
  const [res] = await Promise.all([
    page.waitForResponse((r) => r.request().resourceType() === 'document'
      && new URL(r.url()).pathname === `/units/${AC}/leaderboard`),
    page.click('#verify-leaderboard'),
  ]);
  await page.waitForLoadState('load');
  assert.equal(res.status(), 200);
  const body = await res.body();
  assert.ok(body.length < 100 * KB, `leaderboard page is ${body.length} bytes`);
  assert.equal(await page.getAttribute('html', 'lang'), 'hi');
  assert.match(await page.textContent('h1'), /लीडरबोर्ड/);
  assert.match(await page.textContent('#leaderboard thead'), /सत्यापित/);

  // Ranked as the API ranks them: by verified, highest first.
  const rows = await page.$$eval('#leaderboard tbody tr', (trs) => trs.map((tr) => ({
    enroller: tr.dataset.enroller,
    rank: Number(tr.dataset.rank),
    verified: Number(tr.querySelector('.verified').textContent.replace(/,/g, '')),
  })));
  assert.ok(rows.length >= enrollers.length, `${rows.length} rows`);
  rows.forEach((r, i) => assert.equal(r.rank, i + 1));
  for (let i = 1; i < rows.length; i += 1) {
    assert.ok(rows[i].verified <= rows[i - 1].verified, `row ${i + 1} verified more than row ${i}`);
  }
  enrollers.forEach((e, i) => {
    assert.equal(rows[i].enroller, e.enroller, `rank ${i + 1}`);
    assert.equal(rows[i].verified, e.verified, `rank ${i + 1}`);
  });
  await fits(page);
  await shot(page, 'leaderboard-phone');

  // The AC's drill-down links to it.
  await page.goto(BASE + `/units/${AC}`);
  assert.equal(await page.getAttribute('#unit-leaderboard', 'href'), `/units/${AC}/leaderboard`);
  await page.close();
});
