// Sangathan's service worker: keeps the app shell (the enrolment page, the report forms and
// check-in scanners opened online, my duties with my check-in code, and their assets) so that
// enrolment, meeting reports and check-in work with no connection, and
// sends the outbox when the connection returns (Background Sync where the browser has it; the
// pages also send on the `online` event).
'use strict';
var VERSION = '__VERSION__';
var CACHE = 'sangathan-' + VERSION;
var SHELL = ["__SHELL__"];
importScripts('/assets/outbox.js');

self.addEventListener('install', function (event) {
  event.waitUntil(caches.open(CACHE).then(function (c) {
    return c.addAll(SHELL.concat(['/offline', '/manifest.webmanifest']));
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener('activate', function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k !== CACHE; })
      .map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

// Only the enrolment page, the booth lists, the report forms, the check-in scanners and my own
// duties are kept: pages with members' records never are, nor meeting pages or rosters (they
// name office-bearers and volunteers). A report form names nobody: the meeting's kind, date and
// venue, and the filer's own report; a scanner names only the programme; my duties page holds
// only my own duties and check-in code.
function keepable(url) {
  return url.pathname === '/enrol' || url.pathname === '/enrol/booths' ||
    url.pathname === '/duties' ||
    /^\/meetings\/[0-9]+\/report$/.test(url.pathname) ||
    /^\/programmes\/[0-9]+\/checkin$/.test(url.pathname);
}

self.addEventListener('fetch', function (event) {
  var req = event.request;
  var url = new URL(req.url);
  if (req.method !== 'GET' || url.origin !== self.location.origin) return;
  if (url.pathname.indexOf('/assets/') === 0) {
    event.respondWith(caches.match(req).then(function (hit) {
      return hit || fetch(req).then(function (res) {
        if (res.ok) { var copy = res.clone(); caches.open(CACHE).then(function (c) { c.put(req, copy); }); }
        return res;
      });
    }));
    return;
  }
  if (keepable(url)) {
    event.respondWith(fetch(req).then(function (res) {
      if (res.ok && !res.redirected) {
        var copy = res.clone();
        caches.open(CACHE).then(function (c) { c.put(url.pathname + url.search, copy); });
      }
      return res;
    }).catch(function () {
      return caches.match(url.pathname + url.search).then(function (hit) {
        return hit || caches.match('/offline');
      });
    }));
    return;
  }
  if (req.mode === 'navigate') {
    event.respondWith(fetch(req).catch(function () { return caches.match('/offline'); }));
  }
});

self.addEventListener('sync', function (event) {
  if (event.tag !== 'outbox') return;
  // Tell the open pages, so that their count of waiting entries is right.
  event.waitUntil(self.Outbox.flush().then(function () {
    return self.clients.matchAll();
  }).then(function (cs) {
    cs.forEach(function (c) { c.postMessage('outbox'); });
  }));
});
