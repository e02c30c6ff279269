// The offline outbox: enrolments wait in IndexedDB, each with the idempotency key made when it
// was typed, until the server has answered them. Shared by the enrolment page and the service
// worker (Background Sync). The server's idempotency makes a repeated send land once.
(function (scope) {
  'use strict';
  var DB = 'sangathan', STORE = 'outbox';
  function open() {
    return new Promise(function (resolve, reject) {
      var r = indexedDB.open(DB, 1);
      r.onupgradeneeded = function () { r.result.createObjectStore(STORE, { keyPath: 'key' }); };
      r.onsuccess = function () { resolve(r.result); };
      r.onerror = function () { reject(r.error); };
    });
  }
  function tx(mode, fn) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(STORE, mode);
        var out = fn(t.objectStore(STORE));
        t.oncomplete = function () { resolve(out && out.result !== undefined ? out.result : out); };
        t.onerror = function () { reject(t.error); };
      });
    });
  }
  function newKey() {
    if (scope.crypto && crypto.randomUUID) return 'web-' + crypto.randomUUID();
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return 'web-' + Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join('');
  }
  function reasonOf(status, body, lang) {
    var e = body && body.error;
    if (!e) return 'HTTP ' + status;
    var f = lang === 'en' ? e.fields : e.fields_hi;
    if (f && Object.keys(f).length) return Object.keys(f).map(function (k) { return f[k]; }).join('; ');
    return lang === 'en' ? e.message : e.message_hi;
  }
  // Sends one entry. Resolves {ok, status, body} or rejects on a network failure.
  function send(entry, csrf) {
    return fetch('/api/v1/members', {
      method: 'POST',
      credentials: 'same-origin',
      headers: {
        'Content-Type': 'application/json',
        'Idempotency-Key': entry.key,
        'X-CSRF-Token': csrf || entry.csrf || ''
      },
      body: JSON.stringify(entry.body)
    }).then(function (res) {
      return res.json().catch(function () { return null; }).then(function (body) {
        return { ok: res.ok, status: res.status, body: body };
      });
    });
  }
  var Outbox = {
    newKey: newKey,
    send: send,
    reasonOf: reasonOf,
    add: function (entry) {
      entry.state = 'waiting';
      entry.created = entry.created || Date.now();
      return tx('readwrite', function (s) { s.put(entry); });
    },
    put: function (entry) { return tx('readwrite', function (s) { s.put(entry); }); },
    remove: function (key) { return tx('readwrite', function (s) { s.delete(key); }); },
    all: function () { return tx('readonly', function (s) { return s.getAll(); }); },
    // Sends every waiting entry, oldest first. An accepted one leaves the outbox; one the server
    // refuses (invalid, conflict) stays, marked with the reason, for the worker to fix; anything
    // else (no connection, logged out, server trouble) stays waiting for the next try.
    flush: function (csrf, lang) {
      if (Outbox.busy) return Outbox.busy;
      Outbox.busy = Outbox.all().then(function (entries) {
        entries = entries.filter(function (e) { return e.state === 'waiting'; })
          .sort(function (a, b) { return a.created - b.created; });
        var sent = [];
        var chain = Promise.resolve();
        entries.forEach(function (e) {
          chain = chain.then(function () {
            if (e.stop) return;
            return send(e, csrf).then(function (r) {
              if (r.ok) { sent.push({ entry: e, body: r.body }); return Outbox.remove(e.key); }
              if (r.status === 422 || r.status === 409) {
                e.state = 'rejected';
                e.reason = reasonOf(r.status, r.body, lang || e.lang);
                e.body_error = r.body;
                return Outbox.put(e);
              }
              entries.forEach(function (x) { x.stop = true; });
            }, function () { entries.forEach(function (x) { x.stop = true; }); });
          });
        });
        return chain.then(function () { return sent; });
      }).finally(function () { Outbox.busy = null; });
      return Outbox.busy;
    }
  };
  scope.Outbox = Outbox;
})(typeof self !== 'undefined' ? self : window);
