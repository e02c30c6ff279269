// The meeting report form: checks as the worker types (in their language) and sends the report
// through the outbox to PUT /api/v1/meetings/{id}/report. With no connection the report waits
// on the phone (one per meeting: a newer one replaces it) and is sent when the connection
// returns. Filing the same report again changes nothing on the server, so a repeated send is
// safe.
(function () {
  'use strict';
  var form = document.getElementById('report-form');
  if (!form || !window.Outbox) return;
  var d = form.dataset;
  var lang = document.body.dataset.lang || 'hi';
  var csrfMeta = document.querySelector('meta[name=csrf-token]');
  var csrf = csrfMeta ? csrfMeta.content : '';
  var person = parseInt(d.person, 10);
  var meeting = d.meeting;
  var key = 'report-' + meeting + '-' + person;
  var $ = function (id) { return document.getElementById(id); };
  var DEV = '०१२३४५६७८९';
  var COUNTS = ['attendance', 'employees_met', 'new_supporters', 'new_members'];
  var TEXTS = ['agenda', 'issues', 'notes'];

  function digits(s) {
    return s.replace(/[०-९]/g, function (c) { return String(DEV.indexOf(c)); });
  }
  function say(field, msg) {
    var p = $(field + '-err');
    if (p) p.textContent = msg || '';
    var input = $(field);
    if (input) input.setAttribute('aria-invalid', msg ? 'true' : 'false');
  }
  function held() {
    var r = form.querySelector('input[name=held]:checked');
    return r ? r.value : null;
  }
  // A count as typed: blank is 0; anything but digits is NaN.
  function count(id) {
    var v = digits($(id).value.trim());
    if (!v) return 0;
    return /^[0-9]{1,7}$/.test(v) ? parseInt(v, 10) : NaN;
  }
  function check(all) {
    var ok = true, h = held();
    if (all && !h) { say('held', d.msgHeld); ok = false; } else say('held', '');
    var needReason = h === 'no' && !$('reason').value.trim();
    if (needReason && (all || $('reason').getAttribute('aria-invalid') === 'true')) { say('reason', d.msgReason); ok = false; }
    else if (!needReason) say('reason', '');
    COUNTS.forEach(function (f) {
      if (isNaN(count(f))) { say(f, d.msgCount); ok = false; } else say(f, '');
    });
    return ok;
  }
  // The reason is required when the meeting did not happen: say so as soon as "no" is chosen.
  function syncReason() {
    var no = held() === 'no';
    $('reason').required = no;
    $('reason').setAttribute('aria-required', no ? 'true' : 'false');
  }
  form.addEventListener('change', function (e) {
    if (e.target.name === 'held') { syncReason(); check(false); }
  });
  COUNTS.concat(['reason']).forEach(function (id) {
    $(id).addEventListener('blur', function () { check(false); });
  });
  syncReason();

  // The same shape, and the same trimming, as the page's own form post.
  function body() {
    var h = held() === 'yes';
    var b = { held: h, reason: h ? null : ($('reason').value.trim() || null) };
    COUNTS.forEach(function (f) { b[f] = count(f); });
    TEXTS.forEach(function (f) { b[f] = $(f).value.trim(); });
    return b;
  }
  function fill(b) {
    var r = form.querySelector('input[name=held][value=' + (b.held ? 'yes' : 'no') + ']');
    if (r) r.checked = true;
    $('reason').value = b.reason || '';
    COUNTS.forEach(function (f) { $(f).value = b[f] == null ? '' : String(b[f]); });
    TEXTS.forEach(function (f) { $(f).value = b[f] || ''; });
    syncReason();
  }
  function showServerErrors(b) {
    var e = b && b.error;
    if (!e) return;
    if (e.code === 'conflict') { say('form', d.msgConflict); return; }
    var f = lang === 'en' ? e.fields : e.fields_hi;
    if (f) Object.keys(f).forEach(function (k) { say($(k + '-err') ? k : 'form', f[k]); });
    if (!f || !Object.keys(f).length) say('form', lang === 'en' ? e.message : e.message_hi);
  }
  // The box above the form: waiting on this phone, sent, or refused (with the reason).
  function status(state, text) {
    var box = $('report-outbox');
    box.hidden = !state;
    box.dataset.state = state || '';
    $('report-outbox-text').textContent = text || '';
    $('report-discard').hidden = state !== 'rejected';
  }
  function queued() {
    if (navigator.serviceWorker && navigator.serviceWorker.ready) {
      navigator.serviceWorker.ready.then(function (r) { if (r.sync) return r.sync.register('outbox'); }).catch(function () {});
    }
    status('waiting', d.msgQueued);
    had = true;
    $('report-outbox').focus();
  }

  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    if (!check(true)) { var bad = form.querySelector('[aria-invalid=true]') || $('held-yes'); if (bad) bad.focus(); return; }
    say('form', '');
    var entry = {
      key: key, kind: 'report', person: person, meeting: meeting, lang: lang,
      url: '/api/v1/meetings/' + encodeURIComponent(meeting) + '/report', method: 'PUT',
      body: body(), created: Date.now()
    };
    $('report-submit').disabled = true;
    var done = function () { $('report-submit').disabled = false; };
    // Into the outbox first (replacing any report of this meeting still waiting), so that a
    // reload or a request that never returns loses nothing; it leaves once the server answers.
    Outbox.add(entry).then(function () {
      if (!navigator.onLine) { queued(); return; }
      return Outbox.send(entry, csrf).then(function (r) {
        var v = Outbox.verdict(r);
        if (v === 'sent') {
          return Outbox.remove(key).then(function () { location.href = '/meetings/' + encodeURIComponent(meeting) + '?filed=1'; });
        }
        if (v === 'refused') return Outbox.remove(key).then(function () { status(null); showServerErrors(r.body); });
        queued();
      }, queued);
    }).then(done, done);
  });
  $('report-discard').addEventListener('click', function () {
    Outbox.remove(key).then(function () { had = false; status(null); });
  });

  // Was a report of this meeting waiting on this phone when last looked at?
  var had = false;
  function render() {
    return Outbox.mine(person, 'report').then(function (all) {
      var e = all.filter(function (x) { return x.key === key; })[0];
      if (!e) {
        if (had) status('sent', d.msgSent);
        had = false;
        return;
      }
      if (e.state === 'waiting') {
        if (!had) fill(e.body);
        had = true;
        status('waiting', d.msgQueued);
      } else if (e.state === 'rejected') {
        had = false;
        fill(e.body);
        var conflict = e.body_error && e.body_error.error && e.body_error.error.code === 'conflict';
        status('rejected', d.msgRejected + ' ' + (conflict ? d.msgConflict : e.reason));
        showServerErrors(e.body_error);
      }
    });
  }
  function flush() {
    if (!navigator.onLine) return render();
    return Outbox.flush().then(render, render);
  }
  window.addEventListener('online', flush);
  if (navigator.serviceWorker) navigator.serviceWorker.addEventListener('message', render);
  setInterval(function () { if (navigator.onLine) flush(); }, 15000);
  window.sangathanFlush = flush;
  render().then(flush);
})();
