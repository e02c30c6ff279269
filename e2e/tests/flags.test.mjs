// Flags, on a phone: detection finds one name six times in a booth; the AC in-charge opens the
// flags from the verification queue on a 360 px screen, reads why (in Hindi), opens the flag
// and resolves it as genuine with one tap. Nobody is rejected; the flag is closed on the server.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, AC_INCHARGE, browser, login, api, apiSend, freshMobile, shot, requested } from './lib.mjs';

const AC = 'UP-AC-86';
const BOOTH = 'UP-AC-86-B0005';
const KB = 1024;

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

/** Six members of one name at the booth, through the API (the operator's token): membership ids. */
async function sameName(name) {
  const ids = [];
  for (let i = 0; i < 6; i += 1) {
    const mobile = freshMobile();
    const r = await apiSend('POST', '/api/v1/members',
      { name, mobile, gender: 'F', birth_year: 1970 + i, unit: BOOTH },
      { 'Idempotency-Key': `e2e-flags-${mobile}` });
    assert.ok(r.status === 201 || r.status === 200, JSON.stringify(r.body));
    const m = await api(`/api/v1/members/${r.body.person_id}`);
    ids.push(m.memberships[0].id);
  }
  return ids;
}

/** The AC's flag whose members are exactly `ids` (resolved ones too). */
async function flagOf(ids) {
  const { flags } = await api(`/api/v1/units/${AC}/flags?all=true`);
  const want = [...ids].sort((a, b) => a - b).join(',');
  return flags.find((f) => f.rule === 'repeated_name'
    && f.members.map((m) => m.membership_id).sort((a, b) => a - b).join(',') === want);
}

/** Follow the list's "next page" links until the flag's card is there. */
async function findCard(page, id) {
  for (let i = 0; i < 100; i += 1) {
    if (await page.$(`#flag-${id}`)) return;
    const next = await page.$('#flags-next');
    assert.ok(next, `flag ${id} is not in the list`);
    const want = new URL(await next.getAttribute('href'), BASE).searchParams.get('after');
    await Promise.all([page.waitForURL((u) => u.searchParams.get('after') === want), next.click()]);
  }
  assert.fail('the list did not end');
}

test('an AC in-charge resolves a flag as genuine on a phone', async () => {
  const ids = await sameName('Flagvati Devi');
  const run = await apiSend('POST', '/api/v1/flags/detect');
  assert.equal(run.status, 200, JSON.stringify(run.body));
  const flag = await flagOf(ids);
  assert.ok(flag, 'detection flagged the six members of one name');
  assert.equal(flag.status, 'open');
  const before = (await api(`/api/v1/units/${AC}/progress`)).unit;

  const page = await phone.newPage();
  await login(page, AC_INCHARGE);
  // From the verification queue to the AC's flags.
  await Promise.all([page.waitForURL(/\/verification/), page.click('#nav-verify')]);
  const [listed] = await Promise.all([
    page.waitForResponse((r) => r.request().resourceType() === 'document' && new URL(r.url()).pathname === `/units/${AC}/flags`),
    page.click('#verify-flags'),
  ]);
  await page.waitForLoadState('load');
  assert.equal(listed.status(), 200);
  // A small page: the HTML itself well under the pages' budget (100 KB), no script of its own.
  const body = await listed.body();
  assert.ok(body.length < 100 * KB, `flags page is ${body.length} bytes`);
  assert.match(await page.textContent('h1'), /फ़्लैग/);
  await findCard(page, flag.id);
  const card = page.locator(`#flag-${flag.id}`);
  await card.scrollIntoViewIfNeeded();
  assert.match(await card.textContent(), /एक बूथ में एक ही नाम कई बार/);
  assert.ok((await card.textContent()).includes(flag.reason_hi), 'the reason in Hindi');
  assert.equal((await card.locator('dd.n').textContent()).trim(), '6');
  await fits(page);
  await shot(page, 'flags-phone');

  // The flag: why, its six members, and the two answers.
  await Promise.all([page.waitForURL(new RegExp(`/flags/${flag.id}$`)), card.locator('h2 a').click()]);
  assert.ok((await page.textContent('#flag-reason')).includes(flag.reason_hi));
  assert.equal(await page.locator('#flag-members li').count(), 6);
  await page.locator('#flag-resolve').scrollIntoViewIfNeeded();
  await fits(page);
  await shot(page, 'flag-phone');

  // One tap: genuine. Said back in Hindi; no answers left to give.
  await Promise.all([page.waitForURL(/done=genuine/), page.click('#flag-genuine button')]);
  assert.match(await page.textContent('#flag-done'), /सही के रूप में निपटाया गया/);
  assert.match(await page.textContent('#flag-status'), /सही पाया गया/);
  assert.equal(await page.$('#flag-resolve'), null);
  await fits(page);

  // On the server: closed as genuine by the AC in-charge, nobody rejected, counters unmoved.
  const done = await flagOf(ids);
  assert.equal(done.status, 'genuine');
  assert.ok(done.members.every((m) => m.status === 'pending'), JSON.stringify(done.members));
  const now = (await api(`/api/v1/units/${AC}/progress`)).unit;
  assert.equal(now.achieved, before.achieved);
  assert.equal(now.verified, before.verified);
  // The open list no longer holds it.
  await page.goto(BASE + `/units/${AC}/flags`);
  assert.equal(await page.$(`#flag-${flag.id}`), null);
  await page.close();
});
