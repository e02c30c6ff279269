// Offline enrolment: with no connection the form still works, entries wait in the outbox, and
// when the connection returns each lands exactly once — even sent again, out of order — an
// entry the server refuses comes back with the reason, one it answers "already a member" says
// so with the membership on record, and each one sent shows its membership number.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, AC_INCHARGE, browser, login, find, freshMobile, shot, requested } from './lib.mjs';

const ctx = await browser({ viewport: { width: 360, height: 740 }, isMobile: true });
after(async () => {
  await ctx.close();
  const origin = new URL(BASE).origin;
  const foreign = requested.filter((u) => !u.startsWith(origin) && !u.startsWith('data:') && !u.startsWith('blob:'));
  assert.deepEqual(foreign, [], 'requests to other hosts');
});

async function fill(page, { name, mobile, epic, booth }) {
  await page.fill('#name', name);
  if (mobile) await page.fill('#mobile', mobile);
  if (epic) await page.fill('#epic', epic);
  await page.fill('#booth', String(booth));
  await page.check('#notice_shown');
  await page.click('#enrol-submit');
  await page.waitForSelector('#enrol-done:not([hidden])');
}

test('enrol offline, come back online: each entry exactly once; refused and duplicate ones come back', async () => {
  const page = await ctx.newPage();
  await login(page, AC_INCHARGE);
  await page.goto(BASE + '/enrol');
  // The service worker takes control and keeps the enrolment page.
  await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
  await page.reload();
  await page.waitForFunction(() => !!navigator.serviceWorker.controller);

  // A person on record with an EPIC and a mobile (online).
  const epic = 'ZQX' + String(Date.now()).slice(-7);
  const first = freshMobile();
  await fill(page, { name: 'Kamla Devi', mobile: first, epic, booth: 7 });
  const kamlaNumber = (await page.textContent('#done-number')).trim();
  assert.match(kamlaNumber, /^UP-/);

  await ctx.setOffline(true);
  // The page itself comes from the service worker's cache.
  await page.goto(BASE + '/enrol');
  assert.ok(await page.isVisible('#enrol-form'));
  const mobiles = [freshMobile(), freshMobile()];
  await fill(page, { name: 'Suresh Chandra', mobile: mobiles[0], booth: 8 });
  assert.match(await page.textContent('#done-heading'), /सहेजा/);
  await page.click('#enrol-next');
  await fill(page, { name: 'सुनीता यादव', mobile: mobiles[1], booth: 9 });
  await page.click('#enrol-next');
  // The same EPIC with another mobile: the server will refuse it (identity conflict).
  await fill(page, { name: 'Kamla Devi', mobile: freshMobile(), epic, booth: 7 });
  await page.click('#enrol-next');
  // Kamla again, as on record: the server will answer "already a member" (nothing new).
  await fill(page, { name: 'Kamla Devi', mobile: first, epic, booth: 7 });
  assert.match(await page.textContent('#outbox-waiting'), /4/);
  assert.equal((await page.textContent('#outbox-count')).trim(), '4');
  await shot(page, 'offline-outbox');
  // Nothing reached the server yet.
  for (const m of mobiles) assert.equal((await find('UP-AC-86', m)).length, 0);

  // Keep copies of the entries to send them again, out of order, after they have landed.
  const copies = await page.evaluate(() => Outbox.mine(parseInt(document.getElementById('enrol-form').dataset.person, 10)));
  assert.equal(copies.length, 4);

  await ctx.setOffline(false);
  // The `online` event sends the outbox.
  await page.waitForFunction(() => !/[0-9]/.test(document.getElementById('outbox-waiting').textContent), null, { timeout: 20000 });
  await page.waitForSelector('#outbox-rejected li');
  const refused = await page.textContent('#outbox-rejected');
  assert.match(refused, /Kamla Devi/);
  assert.match(refused, /मोबाइल|EPIC/);
  // Those sent: each with the membership number the server gave; the duplicate says it was
  // already a member, with the membership on record — not silently dropped.
  await page.waitForFunction(() => document.querySelectorAll('#outbox-sent li').length === 3);
  const sentList = await page.$$eval('#outbox-sent li', (lis) => lis.map((li) => ({ cls: li.className, text: li.textContent, number: li.dataset.number })));
  const dup = sentList.filter((l) => l.cls === 'duplicate');
  assert.equal(dup.length, 1, JSON.stringify(sentList));
  assert.equal(dup[0].number, kamlaNumber);
  assert.match(dup[0].text, /पहले से सदस्य/);
  assert.match(dup[0].text, /Kamla Devi/);
  const fresh = sentList.filter((l) => l.cls === 'sent');
  assert.equal(fresh.length, 2, JSON.stringify(sentList));
  for (const m of mobiles) {
    const [on] = await find('UP-AC-86', m);
    assert.ok(fresh.some((l) => l.number === on.membership_number && l.text.includes(on.membership_number)), `${m}: ${JSON.stringify(sentList)}`);
  }
  await shot(page, 'offline-refused');
  // They survive a reload (kept on the phone until the worker has seen them).
  await page.reload();
  await page.waitForFunction(() => document.querySelectorAll('#outbox-sent li').length === 3);

  // Send every entry again, newest first, twice: the server answers from the first result.
  const statuses = await page.evaluate(async (entries) => {
    const csrf = document.querySelector('meta[name=csrf-token]').content;
    const out = [];
    for (const round of [1, 2]) {
      for (const e of [...entries].reverse()) out.push((await Outbox.send(e, csrf)).status);
    }
    return out;
  }, copies);
  assert.ok(statuses.every((s) => [200, 201, 422].includes(s)), statuses.join(','));
  for (const m of mobiles) {
    const found = await find('UP-AC-86', m);
    assert.equal(found.length, 1, `${m} is on the server exactly once`);
  }
  // Pages with members' records are never kept on the phone: only the enrolment page, the
  // offline page and assets are in the service worker's cache.
  await page.goto(BASE + '/members?unit=UP-AC-86');
  await page.goto(BASE + '/enrol');
  const kept = await page.evaluate(async () => {
    const urls = [];
    for (const name of await caches.keys()) {
      for (const req of await (await caches.open(name)).keys()) urls.push(new URL(req.url).pathname);
    }
    return urls;
  });
  assert.ok(kept.includes('/enrol'), kept.join(' '));
  assert.deepEqual(kept.filter((u) => !/^\/(enrol|offline|manifest\.webmanifest|assets\/)/.test(u)), [], kept.join(' '));
  // The answers, once seen, are cleared; the refused entry can be fixed or removed; then the
  // outbox is empty.
  await page.waitForSelector('#outbox-sent li');
  await page.click('#outbox-clear');
  await page.waitForFunction(() => !document.querySelector('#outbox-sent li') && document.getElementById('outbox-clear').hidden);
  await page.click('#outbox-rejected li button:nth-of-type(2)');
  await page.waitForFunction(() => document.getElementById('outbox').hidden);
  await page.close();
});
