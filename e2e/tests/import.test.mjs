// Import a sheet from the browser, watch it finish, download the error report; export the
// scope's members.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { BASE, AC_INCHARGE, browser, login, find, freshMobile, shot, requested } from './lib.mjs';

const ctx = await browser({ acceptDownloads: true });
after(async () => {
  await ctx.close();
  const origin = new URL(BASE).origin;
  const foreign = requested.filter((u) => !u.startsWith(origin) && !u.startsWith('data:'));
  assert.deepEqual(foreign, [], 'requests to other hosts');
});

test('upload a sheet, see it finish, download the rejected rows; export the unit', async () => {
  const page = await ctx.newPage();
  await login(page, AC_INCHARGE);
  await page.goto(BASE + '/import');
  const [m1, m2] = [freshMobile(), freshMobile()];
  // Hindi headers, a BOM, CRLF; two good rows, a bad mobile, and an AC outside the scope.
  const csv = '\ufeffनाम,मोबाइल,विधानसभा संख्या,बूथ संख्या\r\n' +
    `Import Ek,${m1},86,1\r\n` +
    `इम्पोर्ट दो,${m2},86,2\r\n` +
    'Import Teen,12345,86,3\r\n' +
    `Import Char,${freshMobile()},1,1\r\n`;
  await page.setInputFiles('#file', { name: 'members.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
  await Promise.all([page.waitForURL(/\/import\/[0-9a-f]+$/), page.click('#import-submit')]);
  // The status page refreshes itself until the import is done.
  await page.waitForSelector('#import-done', { timeout: 30000 });
  assert.equal((await page.textContent('#import-created')).trim(), '2');
  assert.equal((await page.textContent('#import-rejected')).trim(), '2');
  await shot(page, 'import-done');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#import-errors')]);
  const report = readFileSync(await download.path(), 'utf8');
  const lines = report.trim().split(/\r?\n/);
  assert.equal(lines.length, 3, report);
  assert.match(report, /(^|\n)4,/);
  assert.match(report, /(^|\n)5,/);
  assert.match(report, /मोबाइल/);
  for (const m of [m1, m2]) assert.equal((await find('UP-AC-86', m)).length, 1);

  await page.goto(BASE + '/import');
  const [exp] = await Promise.all([page.waitForEvent('download'), page.click('button.export-csv')]);
  const sheet = readFileSync(await exp.path(), 'utf8');
  assert.match(sheet.split('\n')[0], /name/i);
  assert.ok(sheet.includes('Import Ek') && sheet.includes('इम्पोर्ट दो'));
  assert.ok(!sheet.includes('Import Char'));
  await page.close();
});
