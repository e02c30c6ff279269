// The offline outbox: enrolments and meeting reports wait in IndexedDB, each with a key made
// when it was typed and the person who typed it, until the server has answered them. Shared by
// the enrolment page, the report form and the service worker (Background Sync). A repeated send
// lands once: enrolments carry an idempotency key; a report is a PUT of the whole report, and
// filing the same report again changes nothing. Only the logged-in person's entries are shown
// or sent: on a shared phone nobody sends, or sees, another worker's entries.
// An entry: {key, person, kind ('enrol' when absent, or 'report'), url and method (default
// POST /api/v1/members), body, lang, state ('waiting', 'rejected' with a reason, or for an
// enrolment sent later 'sent' / 'duplicate' with the server's outcome), created}.
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
  // Who is logged in, and the session's CSRF token; null when nobody is.
  function session() {
    return fetch('/api/v1/session', { credentials: 'same-origin' }).then(function (r) {
      return r.ok ? r.json() : null;
    });
  }
  // Sends one entry. Resolves {ok, status, body}; rejects on a network failure or a timeout.
  function send(entry, csrf) {
    var ctl = typeof AbortController !== 'undefined' ? new AbortController() : null;
    var timer = ctl ? setTimeout(function () { ctl.abort(); }, 20000) : null;
    var method = entry.method || 'POST';
    var headers = { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf || '' };
    if (method === 'POST') headers['Idempotency-Key'] = entry.key;
    return fetch(entry.url || '/api/v1/members', {
      method: method,
      credentials: 'same-origin',
      signal: ctl ? ctl.signal : undefined,
      headers: headers,
      body: JSON.stringify(entry.body)
    }).then(function (res) {
      return res.json().catch(function () { return null; }).then(function (body) {
        clearTimeout(timer);
        return { ok: res.ok, status: res.status, body: body };
      });
    }, function (e) { clearTimeout(timer); throw e; });
  }
  // What an answer means for an entry: sent, refused (shown with the reason), or try later
  // (no connection, logged out, server trouble).
  function verdict(r) {
    if (r.ok) return 'sent';
    if (r.status === 422 || r.status === 409 || r.status === 400) return 'refused';
    return 'later';
  }
  // One sender at a time across the page and the service worker.
  function exclusive(fn) {
    if (scope.navigator && navigator.locks && navigator.locks.request) {
      return navigator.locks.request('sangathan-outbox', fn);
    }
    return fn();
  }
  var Outbox = {
    newKey: newKey,
    send: send,
    verdict: verdict,
    reasonOf: reasonOf,
    session: session,
    add: function (entry) {
      entry.state = 'waiting';
      entry.created = entry.created || Date.now();
      return tx('readwrite', function (s) { s.put(entry); });
    },
    put: function (entry) { return tx('readwrite', function (s) { s.put(entry); }); },
    remove: function (key) { return tx('readwrite', function (s) { s.delete(key); }); },
    // The entries of `person` (of one kind, when given), oldest first.
    mine: function (person, kind) {
      return tx('readonly', function (s) { return s.getAll(); }).then(function (all) {
        return all.filter(function (e) { return e.person === person && (!kind || (e.kind || 'enrol') === kind); })
          .sort(function (a, b) { return a.created - b.created; });
      });
    },
    // Sends the logged-in person's waiting entries, oldest first, with a fresh CSRF token.
    // Accepted ones leave (an enrolment stays as 'sent' or 'duplicate' with the server's
    // answer until the worker clears it); refused ones stay, marked with the reason, for the
    // worker to fix; on anything else the rest wait for the next try.
    flush: function () {
      return exclusive(function () {
        return session().then(function (me) {
          if (!me || me.person_id == null) return [];
          return Outbox.mine(me.person_id).then(function (entries) {
            var sent = [], stop = false, chain = Promise.resolve();
            entries.filter(function (e) { return e.state === 'waiting'; }).forEach(function (e) {
              chain = chain.then(function () {
                if (stop) return;
                return send(e, me.csrf_token).then(function (r) {
                  var v = verdict(r);
                  if (v === 'sent' && (e.kind || 'enrol') === 'enrol' && r.body && r.body.membership_number) {
                    // An enrolment sent from the outbox stays, answered, until the worker has
                    // seen its membership number; one the server answered "already a member"
                    // (nothing new enrolled) says so, with the membership on record.
                    sent.push(e);
                    e.state = r.body.created_membership === false ? 'duplicate' : 'sent';
                    e.outcome = {
                      membership_number: r.body.membership_number,
                      unit: r.body.unit,
                      status: r.body.status,
                      created_membership: r.body.created_membership
                    };
                    e.answered = Date.now();
                    return Outbox.put(e);
                  }
                  if (v === 'sent') { sent.push(e); return Outbox.remove(e.key); }
                  if (v === 'refused') {
                    e.state = 'rejected';
                    e.reason = reasonOf(r.status, r.body, e.lang);
                    e.body_error = r.body;
                    return Outbox.put(e);
                  }
                  stop = true;
                }, function () { stop = true; });
              });
            });
            return chain.then(function () { return sent; });
          });
        }, function () { return []; });
      });
    }
  };
  scope.Outbox = Outbox;
})(typeof self !== 'undefined' ? self : window);
