// The main pages in a real Chromium: login, enrolment and search across scripts, drill-down
// with counts that move, the map, the language switch, the phone viewport.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, STATE_ADMIN, AC_INCHARGE, browser, login, find, achieved, freshMobile, shot, requested, api, apiSend } from './lib.mjs';

const ctx = await browser();
after(async () => {
  await ctx.close();
  // Nothing any page did went to another host.
  const origin = new URL(BASE).origin;
  const foreign = requested.filter((u) => !u.startsWith(origin) && !u.startsWith('data:') && !u.startsWith('blob:'));
  assert.deepEqual(foreign, [], 'requests to other hosts');
  assert.ok(requested.length > 20, `${requested.length} requests seen`);
});

async function enrol(page, { name, mobile, booth, ac }) {
  await page.goto(BASE + '/enrol');
  if (ac) {
    await page.selectOption('#ac', ac);
    // The booths of that AC arrive from the server.
    await page.waitForFunction(() => document.querySelectorAll('#booths option').length > 0);
  }
  await page.fill('#name', name);
  await page.fill('#mobile', mobile);
  await page.check('input[name=gender][value=M]');
  await page.fill('#birth_year', '1980');
  await page.fill('#booth', String(booth));
  await page.check('#notice_shown');
  await page.click('#enrol-submit');
  await page.waitForSelector('#enrol-done:not([hidden])');
  return (await page.textContent('#done-number')).trim();
}

test('wrong password is refused in the reader language; the right one opens the home page', async () => {
  const page = await ctx.newPage();
  await page.goto(BASE + '/');
  assert.match(page.url(), /\/login\?next=/);
  await page.fill('#mobile', AC_INCHARGE);
  await page.fill('#password', 'wrong');
  await page.click('#login-submit');
  assert.match(await page.textContent('#login-error'), /सही नहीं/);
  await shot(page, 'login');
  await login(page, AC_INCHARGE);
  assert.equal(new URL(page.url()).pathname, '/');
  assert.match(await page.textContent('main'), /लक्ष्य|\//);
  assert.ok(await page.locator('.unit-card').count() >= 1);
  await shot(page, 'home');
  await page.close();
});

test('enrol a member in Latin letters, find them by searching in Devanagari', async () => {
  const page = await ctx.newPage();
  const mobile = freshMobile();
  const number = await enrol(page, { name: 'Ram Prakash Nishad', mobile, booth: 3 });
  assert.match(number, /^UP-/);
  await shot(page, 'enrol-done');
  await page.goto(BASE + '/members?unit=UP-AC-86&q=' + encodeURIComponent('राम प्रकाश निषाद'));
  const table = await page.textContent('#member-table');
  assert.ok(table.includes(number), 'the new member is found in the other script');
  await shot(page, 'members');
  // Exactly one person on the server with that mobile.
  assert.equal((await find('UP-AC-86', mobile)).length, 1);
  // The member's page names who enrolled them.
  await page.click(`#member-table tr:has-text("${number}") a`);
  assert.match(await page.textContent('main'), new RegExp(number));
  await page.close();
});

test('the form checks as the worker types and warns about a mobile already recorded', async () => {
  const page = await ctx.newPage();
  const mobile = freshMobile();
  await enrol(page, { name: 'Sita Devi', mobile, booth: 4 });
  await page.goto(BASE + '/enrol');
  await page.fill('#mobile', '12345');
  await page.fill('#name', 'x');
  await page.locator('#mobile').blur();
  assert.match(await page.textContent('#mobile-err'), /10 अंकों/);
  await page.fill('#mobile', mobile);
  await page.waitForFunction(() => document.getElementById('mobile-dup').textContent.length > 0);
  assert.match(await page.textContent('#mobile-dup'), /Sita Devi/);
  // Submitting with no booth, no notice: every problem at once, nothing sent.
  await page.fill('#mobile', freshMobile());
  await page.click('#enrol-submit');
  assert.match(await page.textContent('#notice_shown-err'), /सहमति/);
  assert.ok(await page.isVisible('#enrol-form'));
  await page.close();
});

test('drill down from the state to a booth; an enrolment there moves every level', async () => {
  const ctx2 = await browser();
  ctx2.on('request', (r) => requested.push(r.url()));
  const page = await ctx2.newPage();
  await login(page, STATE_ADMIN);
  await page.click('.unit-card h2 a');
  assert.equal(new URL(page.url()).pathname, '/units/UP');
  await page.setViewportSize({ width: 720, height: 760 });
  await shot(page, 'drill-state');
  await page.setViewportSize({ width: 1100, height: 900 });
  const path = ['UP'];
  for (let level = 0; level < 5; level++) {
    const link = page.locator('table.progress tbody tr th a').first();
    await Promise.all([page.waitForURL(/\/units\//), link.click()]);
    path.push(decodeURIComponent(new URL(page.url()).pathname.split('/')[2]));
  }
  const booth = path[path.length - 1];
  assert.match(booth, /^UP-AC-\d+-B\d{4}$/, path.join(' > '));
  // The breadcrumb leads back up.
  const crumbs = await page.locator('.crumbs a').count();
  assert.ok(crumbs >= 4, `${crumbs} breadcrumb links`);
  await shot(page, 'drill-booth');
  const before = { booth: await achieved(booth), state: await achieved('UP') };
  const shown = Number((await page.textContent('#unit-achieved')).replace(/,/g, ''));
  assert.equal(shown, before.booth);
  const ac = booth.replace(/-B\d+$/, '');
  const boothNo = Number(booth.split('-B')[1]);
  await enrol(page, { name: 'Mohan Lal Verma', mobile: freshMobile(), booth: boothNo, ac });
  await page.goto(BASE + '/units/' + booth);
  const now = Number((await page.textContent('#unit-achieved')).replace(/,/g, ''));
  assert.equal(now, before.booth + 1);
  await page.goto(BASE + '/units/UP');
  const state = Number((await page.textContent('#unit-achieved')).replace(/,/g, ''));
  assert.equal(state, before.state + 1);
  // Sorting by percentage: the column's links sort the table.
  await page.click('th a[href*="sort=percent"]');
  const pcts = await page.locator('table.progress tbody tr td.percent').allTextContents();
  const values = pcts.map((t) => parseFloat(t.replace(/[^0-9.]/g, '')));
  assert.deepEqual(values, [...values].sort((a, b) => a - b));

  // The map of the whole state: 403 constituencies, each a link to its page.
  await page.goto(BASE + '/map');
  assert.equal(await page.locator('figure.map svg path').count(), 403);
  assert.equal(await page.locator('.legend li').count(), 5);
  await page.setViewportSize({ width: 720, height: 760 });
  await shot(page, 'map');
  await page.setViewportSize({ width: 1100, height: 900 });
  const first = page.locator('figure.map svg a').first();
  const href = await first.getAttribute('href');
  assert.match(href, /^\/units\/UP-AC-\d+$/);
  await page.goto(BASE + href);
  assert.equal(new URL(page.url()).pathname, href);
  await ctx2.close();
});

test('switching the language is remembered across pages', async () => {
  const page = await ctx.newPage();
  await page.goto(BASE + '/');
  assert.equal(await page.getAttribute('html', 'lang'), 'hi');
  await page.click('#lang-switch');
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
  assert.match(await page.textContent('nav'), /Home/);
  await page.goto(BASE + '/enrol');
  assert.match(await page.textContent('h1'), /New member/);
  await shot(page, 'enrol-en');
  await page.click('#lang-switch');
  assert.equal(await page.getAttribute('html', 'lang'), 'hi');
  assert.match(await page.textContent('h1'), /नया सदस्य/);
  await page.close();
});

test('the enrolment flow on a 360x740 phone', async () => {
  const phone = await browser({ viewport: { width: 360, height: 740 }, isMobile: true });
  phone.on('request', (r) => requested.push(r.url()));
  const page = await phone.newPage();
  await login(page, AC_INCHARGE);
  await page.goto(BASE + '/enrol');
  // Nothing wider than the screen; the number field brings up the numeric keypad.
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 360, `page is ${width}px wide`);
  assert.equal(await page.getAttribute('#mobile', 'inputmode'), 'numeric');
  const box = await page.locator('#enrol-submit').boundingBox();
  assert.ok(box.height >= 44 && box.width >= 300, 'a big thumb-sized button');
  await shot(page, 'enrol-phone');
  const mobile = freshMobile();
  const number = await enrol(page, { name: 'गीता कुमारी', mobile, booth: 5 });
  assert.match(number, /^UP-/);
  await shot(page, 'enrol-phone-done');
  await page.click('#enrol-next');
  assert.ok(await page.isVisible('#enrol-form'));
  assert.equal(await page.inputValue('#name'), '');
  assert.equal((await find('UP-AC-86', mobile)).length, 1);
  await phone.close();
});

test('log in with a one-time code on the page (the code from the server log: no SMS provider)', async () => {
  const { readFileSync } = await import('node:fs');
  const log = process.env.SANGATHAN_SERVER_LOG;
  assert.ok(log, 'SANGATHAN_SERVER_LOG is set (run through e2e/run)');
  const codes = () => readFileSync(log, 'utf8').replace(/\x1b\[[0-9;]*m/g, '').split('\n')
    .filter((l) => l.includes('one-time code') && /mobile_ends\W+001\b/.test(l))
    .map((l) => /\bcode\W+(\d{6})\b/.exec(l)).filter(Boolean).map((m) => m[1]);
  const before = codes().length;
  const fresh = await browser();
  fresh.on('request', (r) => requested.push(r.url()));
  const page = await fresh.newPage();
  await page.goto(BASE + '/members');
  assert.match(page.url(), /\/login\?next=/);
  await page.fill('#code-mobile', AC_INCHARGE);
  await page.click('form[action="/login/code"] button');
  await page.waitForSelector('#code');
  assert.equal(await page.inputValue('#mobile'), AC_INCHARGE);
  assert.equal(await page.getAttribute('#code', 'autocomplete'), 'one-time-code');
  let all = codes();
  for (let i = 0; i < 50 && all.length === before; i++) { await new Promise((r) => setTimeout(r, 100)); all = codes(); }
  assert.ok(all.length > before, 'a code was issued');
  // A wrong code first: refused in Hindi, the form still there.
  const code = all[all.length - 1];
  await page.fill('#code', code === '000000' ? '111111' : '000000');
  await page.click('#login-submit');
  assert.ok(await page.isVisible('#login-error'));
  // The form stays for the code; the right one logs in and goes where the reader was going.
  assert.ok(await page.isVisible('#code'));
  await page.fill('#code', code);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/login')), page.click('#login-submit')]);
  assert.equal(new URL(page.url()).pathname, '/members');
  assert.ok(await page.isVisible('#member-table, #no-members'));
  await fresh.close();
});

test('warns while typing about a voter ID and a mobile already recorded, each on its own', async () => {
  const page = await ctx.newPage();
  await login(page, AC_INCHARGE);
  const epic = 'EPW' + String(Date.now()).slice(-7);
  const mobile = freshMobile();
  const r = await apiSend('POST', '/api/v1/members',
    { name: 'Champa Devi', mobile, epic, gender: 'F', birth_year: 1975, unit: 'UP-AC-86-B0006' },
    { 'Idempotency-Key': 'e2e-' + epic });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  await page.goto(BASE + '/enrol');
  await page.fill('#epic', epic.toLowerCase());
  await page.waitForFunction(() => document.getElementById('epic-dup').textContent.length > 0);
  assert.match(await page.textContent('#epic-dup'), /Champa Devi/);
  // Typed one after the other within the pause: both are checked (separate timers).
  await page.fill('#epic', '');
  await page.fill('#mobile', '');
  await page.fill('#epic', epic);
  await page.fill('#mobile', mobile);
  await page.waitForFunction(() => document.getElementById('mobile-dup').textContent.length > 0
    && document.getElementById('epic-dup').textContent.length > 0, null, { timeout: 5000 });
  assert.match(await page.textContent('#epic-dup'), /Champa Devi/);
  assert.match(await page.textContent('#mobile-dup'), /Champa Devi/);
  // One not on record: no warning.
  await page.fill('#epic', 'ZZZ0000001');
  await page.waitForTimeout(800);
  assert.equal((await page.textContent('#epic-dup')).trim(), '');
  await page.close();
});

test('a district\'s and a division\'s maps: their constituencies, a label on hover and on tap', async () => {
  const page = await ctx.newPage();
  await login(page, STATE_ADMIN);
  const unit = await api('/api/v1/units/UP-AC-86');
  const district = unit.parent;
  assert.match(district, /^UP-DT-/);
  const acs = (await api(`/api/v1/units/${district}/children`)).children.filter((c) => c.kind === 'ac');
  await page.goto(BASE + `/units/${district}/map`);
  assert.equal(await page.locator('figure.map svg path').count(), acs.length);
  const hrefs = await page.locator('figure.map svg a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
  assert.deepEqual(hrefs.sort(), acs.map((c) => `/units/${c.code}`).sort());
  // Hover: the constituency's label in the reader's language.
  const first = page.locator('figure.map svg a').first();
  const title = await first.locator('title').textContent();
  await first.hover();
  await page.waitForFunction((t) => document.getElementById('map-label').textContent === t, title);
  assert.match(title, /%/);
  const division = (await api(`/api/v1/units/${district}`)).parent;
  assert.match(division, /^UP-DIV-/);
  let count = 0;
  for (const d of (await api(`/api/v1/units/${division}/children`)).children) {
    count += (await api(`/api/v1/units/${d.code}/children`)).children.filter((c) => c.kind === 'ac').length;
  }
  await page.goto(BASE + `/units/${division}/map`);
  assert.equal(await page.locator('figure.map svg path').count(), count);
  await page.close();

  // On a touch screen: the first tap shows the label, the second opens the constituency.
  const phone = await browser({ viewport: { width: 360, height: 740 }, isMobile: true });
  phone.on('request', (r) => requested.push(r.url()));
  const tap = await phone.newPage();
  await login(tap, STATE_ADMIN);
  await tap.goto(BASE + `/units/${district}/map`);
  const a = tap.locator('figure.map svg a').first();
  const href = await a.getAttribute('href');
  const label = await a.locator('title').textContent();
  await a.tap();
  await tap.waitForFunction((t) => document.getElementById('map-label').textContent === t, label);
  assert.equal(new URL(tap.url()).pathname, `/units/${district}/map`);
  await shot(tap, 'map-district-phone');
  await Promise.all([tap.waitForURL((u) => u.pathname === href), a.tap()]);
  await phone.close();
});

test('members are paged: the next link shows the following members', async () => {
  const page = await ctx.newPage();
  await login(page, STATE_ADMIN);
  await page.goto(BASE + '/members?unit=UP');
  const firstPage = await page.locator('#member-table tbody tr').allTextContents();
  assert.equal(firstPage.length, 25);
  await Promise.all([page.waitForURL(/after=/), page.click('#members-next')]);
  const second = await page.locator('#member-table tbody tr').allTextContents();
  assert.ok(second.length > 0);
  assert.ok(second.every((r) => !firstPage.includes(r)), 'no member twice');
  await page.close();
});

test('a correction filed on a member page is reviewed and applied by the AC in-charge', async () => {
  const page = await ctx.newPage();
  await login(page, AC_INCHARGE);
  const mobile = freshMobile();
  await enrol(page, { name: 'Bhola Ram', mobile, booth: 6 });
  const [m] = await find('UP-AC-86', mobile);
  // Someone else files it (nobody applies a correction they asked for themselves).
  await login(page, STATE_ADMIN);
  await page.goto(BASE + `/members/${m.person_id}`);
  await page.selectOption('#field', 'name');
  await page.fill('#value', 'Bhola Ram Yadav');
  await Promise.all([page.waitForURL(/saved=1/), page.click('#correction-form button[type=submit]')]);
  assert.match(await page.textContent('#open-corrections'), /Bhola Ram Yadav/);
  await login(page, AC_INCHARGE);
  await page.goto(BASE + `/members/${m.person_id}`);
  await Promise.all([page.waitForURL(/\/corrections/), page.click('#review-corrections')]);
  await shot(page, 'corrections');
  const row = page.locator('#corrections li', { hasText: 'Bhola Ram Yadav' });
  await Promise.all([page.waitForURL(/done=applied/), row.locator('button.apply').click()]);
  assert.ok(await page.isVisible('#corrections-note'));
  const [after] = await find('UP-AC-86', mobile);
  assert.equal(after.name, 'Bhola Ram Yadav');
  await page.close();
});
