// Meetings on a phone: an AC in-charge files a meeting's report on a 360 px screen, the district
// president returns it from their inbox, and the correction — typed with no connection — waits
// on the phone and lands exactly once when the connection returns.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, AC_INCHARGE, browser, login, api, shot, requested } from './lib.mjs';

const phone = await browser({ viewport: { width: 360, height: 740 }, isMobile: true });
let desk = null;
after(async () => {
  await phone.close();
  if (desk) await desk.close();
  const origin = new URL(BASE).origin;
  const foreign = requested.filter((u) => !u.startsWith(origin) && !u.startsWith('data:') && !u.startsWith('blob:'));
  assert.deepEqual(foreign, [], 'requests to other hosts');
});

/** Today in India (the server counts dates in IST). */
function today() {
  return new Date(Date.now() + 330 * 60000).toISOString().slice(0, 10);
}

/** Nothing wider than the screen. */
async function fits(page) {
  const w = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(w <= 360, `page is ${w}px wide`);
}

test('file a report on a phone; a returned report corrected offline is sent once when back online', async () => {
  const page = await phone.newPage();
  await login(page, AC_INCHARGE);
  // The service worker takes control (it keeps the report form for offline use).
  await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
  await page.reload();
  await page.waitForFunction(() => !!navigator.serviceWorker.controller);

  // A workers' meeting at the AC today, called through the API with the session and its CSRF token.
  const made = await page.evaluate(async (date) => {
    const csrf = document.querySelector('meta[name=csrf-token]').content;
    const r = await fetch('/api/v1/meetings', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf },
      body: JSON.stringify({ wing: 'party', venue: 'UP-AC-86', date, time: '09:00', kind: 'workers' }),
    });
    return { status: r.status, body: await r.json() };
  }, today());
  assert.equal(made.status, 201, JSON.stringify(made.body));
  const id = made.body.id;
  const meetingUrl = `${BASE}/meetings/${id}`;

  // The meeting page, in Hindi, with a WhatsApp notice to share (a link, nothing loaded from there).
  await page.goto(meetingUrl);
  assert.match(await page.textContent('h1'), /कार्यकर्ता बैठक/);
  assert.match(await page.getAttribute('#meeting-share', 'href'), /^https:\/\/wa\.me\/\?text=/);
  assert.match(await page.textContent('#no-report'), /रिपोर्ट/);
  await fits(page);
  await shot(page, 'meeting-phone');

  // The form: "did not happen" needs a reason, said before anything is sent.
  await Promise.all([page.waitForURL(/\/report$/), page.click('#file-report')]);
  assert.equal(await page.getAttribute('#attendance', 'inputmode'), 'numeric');
  await page.check('#held-no');
  await page.click('#report-submit');
  assert.match(await page.textContent('#reason-err'), /बताइए कि बैठक क्यों नहीं हुई/);
  await page.check('#held-yes');
  await page.fill('#attendance', '42');
  await page.fill('#employees_met', '१२');
  await page.fill('#new_supporters', '5');
  await page.fill('#new_members', '3');
  await page.fill('#agenda', 'सदस्यता अभियान की समीक्षा');
  await page.fill('#issues', 'बूथ 7 पर सूची अधूरी');
  await fits(page);
  await shot(page, 'report-form');
  await Promise.all([page.waitForURL(/\?filed=1$/), page.click('#report-submit')]);
  assert.match(await page.textContent('#meeting-note'), /रिपोर्ट भेज दी गई/);
  const r1 = await api(`/api/v1/meetings/${id}/report`);
  assert.deepEqual([r1.revision, r1.attendance, r1.employees_met, r1.status], [1, 42, 12, 'filed']);
  // It skips its filer and waits for the district president (demo mobiles: 92000000NN).
  const waiting = r1.route.find((s) => s.state === 'waiting');
  assert.ok(waiting, JSON.stringify(r1.route));
  const dp = String(9200000000 + parseInt(/([0-9]+)$/.exec(waiting.name)[1], 10));

  // The district president finds it in their inbox and returns it with a comment.
  desk = await browser();
  const review = await desk.newPage();
  await login(review, dp);
  await review.goto(BASE + '/reports/inbox');
  await Promise.all([review.waitForURL(meetingUrl), review.click(`#inbox a[href="/meetings/${id}"]`)]);
  await review.fill('#comment', 'उपस्थिति दोबारा गिनें');
  await Promise.all([review.waitForURL(/\?acted=ret$/), review.click('#report-return')]);

  // Back on the phone: the comment, and the form (kept by the service worker as it is opened).
  await page.goto(meetingUrl);
  assert.match(await page.textContent('#report-returned'), /उपस्थिति दोबारा गिनें/);
  await Promise.all([page.waitForURL(/\/report$/), page.click('#file-report')]);
  assert.equal(await page.inputValue('#attendance'), '42');

  // No connection: the form still opens, and the correction waits on the phone.
  await phone.setOffline(true);
  await page.reload();
  assert.ok(await page.isVisible('#report-form'));
  assert.match(await page.textContent('#report-returned'), /उपस्थिति दोबारा गिनें/);
  await page.fill('#attendance', '44');
  await page.click('#report-submit');
  await page.waitForSelector('#report-outbox[data-state=waiting]');
  assert.match(await page.textContent('#report-outbox-text'), /फ़ोन में सहेजी गई/);
  await shot(page, 'report-offline');
  assert.equal((await api(`/api/v1/meetings/${id}/report`)).revision, 1, 'nothing sent yet');
  const person = await page.evaluate(() => parseInt(document.getElementById('report-form').dataset.person, 10));
  const copies = await page.evaluate((p) => Outbox.mine(p, 'report'), person);
  assert.equal(copies.length, 1);

  // Back online: the `online` event sends it; the server has the correction, once.
  await phone.setOffline(false);
  await page.waitForSelector('#report-outbox[data-state=sent]', { timeout: 20000 });
  const r2 = await api(`/api/v1/meetings/${id}/report`);
  assert.deepEqual([r2.revision, r2.attendance, r2.status], [2, 44, 'filed']);
  // Sent again (a retry after a lost answer), twice: nothing changes.
  const statuses = await page.evaluate(async (entries) => {
    const csrf = document.querySelector('meta[name=csrf-token]').content;
    const out = [];
    for (let i = 0; i < 2; i++) out.push((await Outbox.send(entries[0], csrf)).status);
    return out;
  }, copies);
  assert.deepEqual(statuses, [200, 200]);
  assert.equal((await api(`/api/v1/meetings/${id}/report`)).revision, 2);
  assert.deepEqual(await page.evaluate((p) => Outbox.mine(p, 'report'), person), []);

  // Meeting pages name office-bearers: never kept on the phone; the report form is.
  const kept = await page.evaluate(async () => {
    const urls = [];
    for (const name of await caches.keys()) {
      for (const req of await (await caches.open(name)).keys()) urls.push(new URL(req.url).pathname);
    }
    return urls;
  });
  assert.ok(kept.includes(`/meetings/${id}/report`), kept.join(' '));
  assert.ok(!kept.includes(`/meetings/${id}`), kept.join(' '));
  assert.ok(!kept.includes('/reports/inbox'), kept.join(' '));

  // The correction climbed to the district president again, who acknowledges it: on it goes,
  // to the next level up.
  await review.goto(meetingUrl);
  await Promise.all([review.waitForURL(/\?acted=ack$/), review.click('#report-ack')]);
  assert.match(await review.textContent('#meeting-note'), /आपने रिपोर्ट स्वीकार की/);
  const r3 = await api(`/api/v1/meetings/${id}/report`);
  assert.ok(r3.level > r2.level, JSON.stringify(r3));
  assert.ok(r3.route.some((s) => s.revision === 2 && s.state === 'acknowledged' && s.name === waiting.name));
  await page.goto(meetingUrl);
  assert.match(await page.textContent('#report-route'), /स्वीकार की/);
  await page.close();
  await review.close();
});
