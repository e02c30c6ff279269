// The volunteer force on phones: the district's commander fills a duty from the roster on a
// 360 px screen; volunteers are checked in by their typed code on the scanner, one of them while
// the phone has no connection (the scan waits and lands exactly once when the connection
// returns); a worker reads the commander's bulletin and comments on it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  BASE, COMMANDER, VOLUNTEER, VOLUNTEER_2, browser, login, api, apiSend, session,
  freshMobile, shot, requested,
} from './lib.mjs';

const PHONE = { viewport: { width: 360, height: 740 }, isMobile: true };
const phone = await browser(PHONE);
const others = [];
after(async () => {
  await phone.close();
  for (const o of others) await o.close();
  const origin = new URL(BASE).origin;
  const foreign = requested.filter((u) => !u.startsWith(origin) && !u.startsWith('data:') && !u.startsWith('blob:'));
  assert.deepEqual(foreign, [], 'requests to other hosts');
});

/** Nothing wider than the screen. */
async function fits(page) {
  const w = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(w <= 360, `page is ${w}px wide`);
}

/** A member of the volunteer force at UP-AC-86 (the same person as a user of that name and mobile). */
async function enrolVolunteer(name, mobile) {
  const r = await apiSend('POST', '/api/v1/members',
    { name, mobile, gender: 'M', birth_year: 1990, unit: 'UP-AC-86', wing: 'volunteers' },
    { 'Idempotency-Key': `e2e-vol-${mobile}` });
  assert.ok(r.status === 201 || r.status === 200, JSON.stringify(r.body));
  return r.body.person_id;
}

let programme, gate, stage;

before(async () => {
  // The two demo volunteers of UP-AC-86 join the force; two more volunteers to fill places with.
  const v1 = await enrolVolunteer('Demo volunteer 1', VOLUNTEER);
  const v2 = await enrolVolunteer('Demo volunteer 2', VOLUNTEER_2);
  await enrolVolunteer('Sewa Dal Ek', freshMobile());
  await enrolVolunteer('Sewa Dal Do', freshMobile());
  // A jan sabha at the AC, under way now.
  const now = Date.now();
  const p = await apiSend('POST', '/api/v1/programmes', {
    wing: 'volunteers', unit: 'UP-DT-AGRA', venue: 'UP-AC-86', title: 'जनसभा एत्मादपुर', kind: 'jan-sabha',
    starts_at: new Date(now - 30 * 60000).toISOString(), ends_at: new Date(now + 3 * 3600000).toISOString(),
    expected: 300,
  });
  assert.equal(p.status, 201, JSON.stringify(p.body));
  programme = p.body;
  const s = await apiSend('POST', `/api/v1/programmes/${programme.id}/duties`, { kind: 'stage', label: 'मंच', headcount: 2 });
  assert.equal(s.status, 201, JSON.stringify(s.body));
  stage = s.body;
  for (const person of [v1, v2]) {
    const a = await apiSend('POST', `/api/v1/duties/${stage.id}/assign`, { person });
    assert.equal(a.status, 200, JSON.stringify(a.body));
  }
  const g = await apiSend('POST', `/api/v1/programmes/${programme.id}/duties`, { kind: 'gate', label: 'Gate 1', headcount: 2 });
  assert.equal(g.status, 201, JSON.stringify(g.body));
  gate = g.body;
});

test('a commander fills a duty from the roster on a phone', async () => {
  const page = await phone.newPage();
  await login(page, COMMANDER);
  // The home page lists the programme.
  await page.goto(BASE + '/');
  assert.ok(await page.isVisible(`#my-programmes a[href="/programmes/${programme.id}"]`));
  await page.click(`#my-programmes a[href="/programmes/${programme.id}"]`);
  await page.waitForURL(`**/programmes/${programme.id}`);
  assert.equal(await page.textContent('h1'), 'जनसभा एत्मादपुर');
  const duty = `#duty-${gate.id}`;
  assert.equal(await page.getAttribute(duty, 'data-gap'), '2');
  assert.equal(await page.getAttribute(duty, 'data-filled'), '0');
  assert.match(await page.textContent(`#duty-${stage.id} .people`), /Demo volunteer 1/);
  await fits(page);
  await shot(page, 'roster-phone');
  await Promise.all([page.waitForURL(/done=filled/), page.click(`${duty} button.fill`)]);
  assert.equal(await page.getAttribute(duty, 'data-gap'), '0');
  assert.equal(await page.getAttribute(duty, 'data-filled'), '2');
  assert.match(await page.textContent('#programme-note'), /स्वयंसेवक बल/);
  assert.equal(await page.$(`${duty} button.fill`), null, 'nothing left to fill');
  await fits(page);
  // The same as the API's roster.
  const roster = await api(`/api/v1/programmes/${programme.id}`);
  assert.equal(roster.duties.find((d) => d.id === gate.id).filled, 2);
  await page.close();
});

test('volunteers are checked in by typed code, one while offline, which lands once', async () => {
  // The volunteer's own phone: their duty, confirmed, and their code under the QR code.
  const vol = await browser(PHONE);
  others.push(vol);
  const vp = await vol.newPage();
  await login(vp, VOLUNTEER);
  await vp.goto(BASE + '/duties');
  assert.ok(await vp.isVisible('#my-qr svg'));
  const code = (await vp.textContent('#my-code')).trim();
  assert.match(code, /^[2-9A-Z]{6}$/);
  const mine = `#my-duties li[data-duty="${stage.id}"]`;
  assert.equal(await vp.getAttribute(mine, 'data-status'), 'asked');
  await Promise.all([vp.waitForURL(/done=confirmed/), vp.click(`${mine} button.confirm`)]);
  assert.equal(await vp.getAttribute(mine, 'data-status'), 'confirmed');
  await fits(vp);
  await shot(vp, 'duties-phone');
  // The second volunteer's code, from their own session.
  const code2 = (await (await session(VOLUNTEER_2)).get('/api/v1/me/checkin-code')).code;

  // The commander's scanner, kept by the service worker for use with no connection.
  const page = await phone.newPage();
  await page.goto(BASE + '/');
  await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
  await page.reload();
  await page.waitForFunction(() => !!navigator.serviceWorker.controller);
  const url = `${BASE}/programmes/${programme.id}/checkin`;
  await page.goto(url);
  await page.waitForFunction((p) => caches.match(p).then((r) => !!r), new URL(url).pathname);
  await fits(page);

  // A typed code (lower case, with a space, as people type it): checked in, by name.
  await page.fill('#code', code.slice(0, 3).toLowerCase() + ' ' + code.slice(3));
  await page.click('#checkin-submit');
  await page.waitForSelector('#checkin-result[data-state="in"]');
  assert.match(await page.textContent('#checkin-name'), /Demo volunteer 1/);
  assert.match(await page.textContent('#checkin-duties'), /मंच/);
  // The same code again: already checked in, nothing new.
  await page.fill('#code', code);
  await page.click('#checkin-submit');
  await page.waitForSelector('#checkin-result[data-state="already"]');
  // A code that is not one is said at once.
  await page.fill('#code', 'ABC10O');
  await page.click('#checkin-submit');
  assert.notEqual((await page.textContent('#code-err')).trim(), '');
  await shot(page, 'checkin-phone');

  // No connection: the page comes from the phone, and the scan waits there.
  await phone.setOffline(true);
  await page.reload();
  await page.waitForSelector('#checkin-form');
  await page.fill('#code', code2);
  await page.click('#checkin-submit');
  await page.waitForSelector('#checkin-result[data-state="waiting"]');
  await page.waitForSelector(`#log-${code2}[data-state="waiting"]`);
  assert.equal((await api(`/api/v1/programmes/${programme.id}/summary`)).checked_in, 1);
  await shot(page, 'checkin-offline-phone');

  // Back online: sent on its own, once; sending again changes nothing.
  await phone.setOffline(false);
  await page.waitForSelector(`#log-${code2}[data-state="sent"]`, { timeout: 20000 });
  await page.evaluate(() => window.sangathanFlush());
  const summary = await api(`/api/v1/programmes/${programme.id}/summary`);
  assert.equal(summary.checked_in, 2);
  const roster = await api(`/api/v1/programmes/${programme.id}`);
  const people = roster.duties.find((d) => d.id === stage.id).people;
  assert.equal(people.filter((a) => a.checked_in_at).length, 2);
  const left = await page.evaluate(() => Outbox.mine(Number(document.getElementById('checkin-form').dataset.person), 'checkin'));
  assert.deepEqual(left, [], 'nothing waits on the phone');
  // The roster shows them checked in.
  await page.goto(`${BASE}/programmes/${programme.id}`);
  assert.equal(await page.locator(`#duty-${stage.id} .in`).count(), 2);
  await page.close();
});

test('a worker reads a bulletin and comments on it', async () => {
  // The commander posts to the district's volunteer force, pinned, from the feed's form.
  const page = await phone.newPage();
  await page.goto(BASE + '/bulletins');
  await page.selectOption('#b-unit', 'UP-DT-AGRA');
  await page.fill('#b-title', 'रविवार की जनसभा');
  await page.fill('#b-hi', 'सभी कार्यकर्ता रविवार सुबह 9 बजे पहुँचें।');
  await page.fill('#b-en', 'All workers please reach by 9 on Sunday morning.');
  await page.check('#b-pinned');
  await fits(page);
  await Promise.all([page.waitForURL(/\/bulletins\/[0-9]+$/), page.click('#post-bulletin button[type=submit]')]);
  const id = Number(new URL(page.url()).pathname.split('/').pop());
  await page.close();

  // A volunteer of the district (the commander writes to the force): unread on the home page,
  // marked in the feed, counted once when read.
  const worker = await browser(PHONE);
  others.push(worker);
  const wp = await worker.newPage();
  await login(wp, VOLUNTEER);
  await wp.goto(BASE + '/');
  assert.match(await wp.textContent('#home-bulletins'), /अपठित बुलेटिन: [1-9]/);
  await Promise.all([wp.waitForURL('**/bulletins'), wp.click('#home-bulletins a')]);
  const item = `#bulletins li[data-bulletin="${id}"]`;
  assert.equal(await wp.getAttribute(item, 'data-read'), 'false');
  assert.match(await wp.getAttribute(item, 'class'), /pinned/);
  await fits(wp);
  await shot(wp, 'bulletins-phone');
  // Views so far (the commander's own look after posting); the operator's look counts none.
  const views = (await api(`/api/v1/bulletins/${id}`)).bulletin.views;
  await Promise.all([wp.waitForURL(`**/bulletins/${id}`), wp.click(`${item} h2 a`)]);
  assert.match(await wp.textContent('#bulletin-text'), /रविवार सुबह 9 बजे/);
  assert.equal(await wp.getAttribute('#bulletin-counts', 'data-views'), String(views + 1));
  await wp.reload();
  assert.equal(await wp.getAttribute('#bulletin-counts', 'data-views'), String(views + 1));
  // A comment.
  await wp.fill('#comment-body', 'हम समय पर पहुँचेंगे।');
  await Promise.all([wp.waitForURL(/done=commented/), wp.click('#comment-submit')]);
  assert.match(await wp.textContent('#comments'), /हम समय पर पहुँचेंगे।/);
  assert.equal(await wp.getAttribute('#bulletin-counts', 'data-comments'), '1');
  await fits(wp);
  await shot(wp, 'bulletin-phone');
  // Read now, in the feed.
  await wp.goto(BASE + '/bulletins');
  assert.equal(await wp.getAttribute(item, 'data-read'), 'true');
});
