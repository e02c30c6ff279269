// Members you can trust, on a phone: a sector in-charge opens the verification queue from the
// menu on a 360 px screen, is told (in Hindi) that a rejection needs a reason, and verifies a
// member with one tap; the member's state and the counters move on the server.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, browser, login, api, apiSend, freshMobile, shot, requested } from './lib.mjs';

const SECTOR = '9400000001'; // sector-incharge@UP-AC-86-S01

const phone = await browser({ viewport: { width: 360, height: 740 }, isMobile: true });
after(async () => {
  await phone.close();
  const origin = new URL(BASE).origin;
  const foreign = requested.filter((u) => !u.startsWith(origin) && !u.startsWith('data:') && !u.startsWith('blob:'));
  assert.deepEqual(foreign, [], 'requests to other hosts');
});

/** Nothing wider than the screen. */
async function fits(page) {
  const w = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(w <= 360, `page is ${w}px wide`);
}

/** A new member at the sector's first booth, enrolled through the API: {person, membership}. */
async function enrol(name) {
  const mobile = freshMobile();
  const r = await apiSend('POST', '/api/v1/members',
    { name, mobile, gender: 'F', birth_year: 1988, unit: 'UP-AC-86-B0001' },
    { 'Idempotency-Key': `e2e-verify-${mobile}` });
  assert.ok(r.status === 201 || r.status === 200, JSON.stringify(r.body));
  const m = await api(`/api/v1/members/${r.body.person_id}`);
  return { person: r.body.person_id, membership: m.memberships[0].id };
}

/** Follow the queue's "next page" links until the member's card is there. */
async function findCard(page, id) {
  for (let i = 0; i < 200; i += 1) {
    if (await page.$(`#m-${id}`)) return;
    const next = await page.$('#verify-next');
    assert.ok(next, `membership ${id} is not in the queue`);
    const want = new URL(await next.getAttribute('href'), BASE).searchParams.get('after');
    await Promise.all([page.waitForURL((u) => u.searchParams.get('after') === want), next.click()]);
  }
  assert.fail('the queue did not end');
}

test('a sector in-charge verifies a member from the queue on a phone', async () => {
  const one = await enrol('Sunita Devi Verify');
  const two = await enrol('Kamla Devi Verify');
  const before = (await api('/api/v1/units/UP-AC-86-S01/progress')).unit;

  const page = await phone.newPage();
  await login(page, SECTOR);
  await Promise.all([page.waitForURL(/\/verification/), page.click('#nav-verify')]);
  assert.match(await page.textContent('h1'), /सदस्य सत्यापन/);
  await findCard(page, one.membership);
  await page.locator(`#m-${one.membership}`).scrollIntoViewIfNeeded();
  await fits(page);
  await shot(page, 'verification-queue-phone');

  // A rejection needs a reason: said at the member's card, in Hindi.
  await findCard(page, two.membership);
  await Promise.all([
    page.waitForLoadState('load'),
    page.click(`#m-${two.membership} form.reject button`),
  ]);
  assert.match(await page.textContent(`#err-${two.membership}`), /लिखें कि सदस्य क्यों अस्वीकार/);
  await fits(page);

  // One tap verifies.
  await page.goto(BASE + '/verification');
  await findCard(page, one.membership);
  await Promise.all([page.waitForURL(/done=verified/), page.click(`#m-${one.membership} button.verify`)]);
  assert.match(await page.textContent('#verify-note'), /सत्यापित हो गया/);
  assert.equal(await page.$(`#m-${one.membership}`), null);
  await fits(page);

  const m = await api(`/api/v1/members/${one.person}`);
  assert.equal(m.memberships[0].status, 'verified');
  const two_ = await api(`/api/v1/members/${two.person}`);
  assert.equal(two_.memberships[0].status, 'pending');
  const now = (await api('/api/v1/units/UP-AC-86-S01/progress')).unit;
  assert.equal(now.verified, before.verified + 1);
  assert.equal(now.achieved, before.achieved);
  await page.close();
});
