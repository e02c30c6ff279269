// The enrolment form: checks as the worker types (in their language), warns when a mobile or
// voter ID is already recorded in their scope, sends to the API with an idempotency key, and
// with no connection keeps the entry in the outbox until it can be sent.
(function () {
  'use strict';
  var form = document.getElementById('enrol-form');
  if (!form || !window.Outbox) return;
  var d = form.dataset;
  var lang = document.body.dataset.lang || 'hi';
  var csrfMeta = document.querySelector('meta[name=csrf-token]');
  var csrf = csrfMeta ? csrfMeta.content : '';
  var person = parseInt(d.person, 10);
  var $ = function (id) { return document.getElementById(id); };
  var DEV = '०१२३४५६७८९';

  function digits(s) {
    return s.replace(/[०-९]/g, function (c) { return String(DEV.indexOf(c)); });
  }
  function cleanMobile(s) {
    var m = digits(s).replace(/[\s\-().]/g, '');
    if (m.indexOf('+91') === 0) { m = m.slice(3); if (m.length === 11 && m[0] === '0') m = m.slice(1); }
    else if (m.indexOf('0091') === 0) m = m.slice(4);
    else if (m.length === 12 && m.indexOf('91') === 0) m = m.slice(2);
    else if (m.length === 11 && m[0] === '0') m = m.slice(1);
    return m;
  }
  function mobileOk(s) { return /^[6-9][0-9]{9}$/.test(cleanMobile(s)); }
  function cleanEpic(s) { return s.replace(/\s+/g, '').toUpperCase(); }
  function epicOk(s) { return /^[A-Z]{3}[0-9]{7}$/.test(cleanEpic(s)); }
  function say(field, msg) {
    var p = $(field + '-err');
    if (p) p.textContent = msg || '';
    var input = $(field);
    if (input) input.setAttribute('aria-invalid', msg ? 'true' : 'false');
  }
  function boothOptions() { return Array.prototype.slice.call($('booths').options).map(function (o) { return o.value; }); }
  function boothNumber(s) { var m = /^\s*([0-9]+)/.exec(digits(s)); return m ? parseInt(m[1], 10) : null; }
  function unitCode() {
    var ac = $('ac').value;
    var b = $('booth').value.trim();
    if (!b) return ac;
    var n = boothNumber(b);
    return n === null ? null : ac + '-B' + ('000' + n).slice(-4);
  }
  function check(all) {
    var ok = true;
    var name = $('name').value.trim();
    var mob = $('mobile').value.trim(), epic = $('epic').value.trim();
    if (all || name) { say('name', name ? '' : d.msgName); ok = ok && !!name; }
    if (mob && !mobileOk(mob)) { say('mobile', d.msgMobile); ok = false; } else if (!all || mob || epic) say('mobile', '');
    if (epic && !epicOk(epic)) { say('epic', d.msgEpic); ok = false; } else say('epic', '');
    if (all && !mob && !epic) { say('mobile', d.msgIdent); ok = false; }
    var y = $('birth_year').value.trim();
    var year = parseInt(digits(y), 10), now = parseInt(d.year, 10);
    if (y && !(/^[0-9०-९]{4}$/.test(y) && now - year >= 18 && now - year <= 120)) { say('birth_year', d.msgYear); ok = false; } else say('birth_year', '');
    var b = $('booth').value.trim(), opts = boothOptions();
    var badBooth = (all && !$('ac').value) || (b && (boothNumber(b) === null ||
      (opts.length && !opts.some(function (o) { return boothNumber(o) === boothNumber(b); }))));
    if (badBooth) { say('booth', d.msgBooth); ok = false; } else if (all || b) say('booth', '');
    if (all) { say('notice_shown', $('notice_shown').checked ? '' : d.msgNotice); ok = ok && $('notice_shown').checked; }
    return ok;
  }
  ['name', 'mobile', 'epic', 'birth_year', 'booth'].forEach(function (id) {
    $(id).addEventListener('blur', function () { check(false); });
  });

  // A mobile or voter ID already recorded in the worker's scope: warn while typing (each field
  // with its own pause, so typing one does not cancel the other's check).
  var timers = {};
  function dupCheck(id, value) {
    var out = $(id + '-dup');
    out.textContent = '';
    if (!navigator.onLine) return;
    fetch('/enrol/check?value=' + encodeURIComponent(value), { credentials: 'same-origin' })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (b) {
        if (!b || !b.recorded) return;
        out.textContent = d.msgDup + (b.members.length ? ' ' + b.members.join(', ') : '');
      }).catch(function () {});
  }
  $('mobile').addEventListener('input', function () {
    clearTimeout(timers.mobile);
    var v = this.value;
    $('mobile-dup').textContent = '';
    if (mobileOk(v)) timers.mobile = setTimeout(function () { dupCheck('mobile', cleanMobile(v)); }, 300);
  });
  $('epic').addEventListener('input', function () {
    clearTimeout(timers.epic);
    var v = this.value;
    $('epic-dup').textContent = '';
    if (epicOk(v)) timers.epic = setTimeout(function () { dupCheck('epic', cleanEpic(v)); }, 300);
  });

  // Booths of the chosen constituency, when the page did not carry them.
  function loadBooths() {
    var ac = $('ac').value;
    if (!ac || $('booths').dataset.ac === ac || ($('booths').options.length && !$('booths').dataset.ac)) return;
    fetch('/enrol/booths?ac=' + encodeURIComponent(ac), { credentials: 'same-origin' })
      .then(function (r) { return r.ok ? r.json() : []; })
      .then(function (list) {
        var dl = $('booths');
        dl.textContent = '';
        list.forEach(function (b) { var o = document.createElement('option'); o.value = b; dl.appendChild(o); });
        dl.dataset.ac = ac;
      }).catch(function () {});
  }
  $('ac').addEventListener('change', function () { $('booth').value = ''; loadBooths(); });
  loadBooths();

  function body() {
    var g = form.querySelector('input[name=gender]:checked');
    var y = digits($('birth_year').value.trim());
    return {
      name: $('name').value.trim(),
      mobile: $('mobile').value.trim() || null,
      epic: $('epic').value.trim() || null,
      gender: g ? g.value : null,
      birth_year: y ? parseInt(y, 10) : null,
      unit: unitCode(),
      wing: $('wing').value,
      consent_notice: d.notice
    };
  }
  function showDone(outcome, queued) {
    $('done-heading').textContent = queued ? d.msgQueued : (outcome.created_membership ? d.msgDone : d.msgAlready);
    $('done-number').textContent = queued ? '' : outcome.membership_number;
    $('done-number').parentNode.hidden = queued;
    $('done-unit').textContent = queued ? '' : outcome.unit;
    form.hidden = true;
    $('enrol-done').hidden = false;
    $('enrol-next').focus();
  }
  function showServerErrors(b) {
    var e = b && b.error;
    if (!e) return;
    var f = lang === 'en' ? e.fields : e.fields_hi;
    if (f) Object.keys(f).forEach(function (k) { say(k === 'unit' ? 'booth' : k, f[k]); });
    if (!f || !Object.keys(f).length) say('form', lang === 'en' ? e.message : e.message_hi);
  }
  $('enrol-next').addEventListener('click', function (ev) {
    ev.preventDefault();
    form.reset();
    ['mobile-dup', 'epic-dup'].forEach(function (id) { $(id).textContent = ''; });
    $('enrol-done').hidden = true;
    form.hidden = false;
    loadBooths();
    $('name').focus();
  });
  // Every entry goes to the outbox first, so that nothing typed is lost (a reload, a dead
  // connection, a request that never returns); it leaves once the server has answered.
  var fixing = null;
  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    if (!check(true)) { var bad = form.querySelector('[aria-invalid=true]'); if (bad) bad.focus(); return; }
    var entry = { key: Outbox.newKey(), person: person, body: body(), lang: lang };
    var replaced = fixing;
    fixing = null;
    $('enrol-submit').disabled = true;
    var done = function () { $('enrol-submit').disabled = false; render(); };
    var queued = function () {
      if (navigator.serviceWorker && navigator.serviceWorker.ready) {
        navigator.serviceWorker.ready.then(function (r) { if (r.sync) return r.sync.register('outbox'); }).catch(function () {});
      }
      showDone(null, true);
    };
    Outbox.add(entry).then(function () {
      return replaced ? Outbox.remove(replaced) : null;
    }).then(function () {
      if (!navigator.onLine) { queued(); return; }
      return Outbox.send(entry, csrf).then(function (r) {
        var v = Outbox.verdict(r);
        if (v === 'sent') return Outbox.remove(entry.key).then(function () { showDone(r.body, false); });
        if (v === 'refused') return Outbox.remove(entry.key).then(function () { showServerErrors(r.body); });
        queued();
      }, queued);
    }).then(done, done);
  });

  // The outbox: how many of mine are waiting, those the server refused (with the reason), and
  // those sent since: each one's membership number, or that they were already a member.
  function render() {
    return Outbox.mine(person, 'enrol').then(function (all) {
      var waiting = all.filter(function (e) { return e.state === 'waiting'; });
      var rejected = all.filter(function (e) { return e.state === 'rejected'; });
      var answered = all.filter(function (e) { return e.state === 'sent' || e.state === 'duplicate'; });
      var done = $('outbox-sent');
      done.textContent = '';
      answered.forEach(function (e) {
        var o = e.outcome || {};
        var li = document.createElement('li');
        li.className = e.state;
        li.dataset.number = o.membership_number || '';
        var head = e.state === 'duplicate' ? d.msgDuplicate : d.msgSent;
        li.appendChild(document.createTextNode(head + ' ' + e.body.name + ' — '));
        var b = document.createElement('strong');
        b.textContent = o.membership_number || '';
        li.appendChild(b);
        li.appendChild(document.createTextNode(' (' + (o.unit || '') + ')'));
        if (e.state === 'duplicate') {
          var why = document.createElement('small');
          why.className = 'reason';
          why.textContent = ' ' + d.msgDuplicateWhy;
          li.appendChild(why);
        }
        done.appendChild(li);
      });
      $('outbox-clear').hidden = !answered.length;
      $('outbox').hidden = !all.length;
      $('outbox-waiting').textContent = waiting.length ? d.msgWaiting + ' ' + waiting.length : '';
      var badge = $('outbox-count');
      if (badge) { badge.textContent = waiting.length; badge.hidden = !waiting.length; }
      var ul = $('outbox-rejected');
      ul.textContent = '';
      rejected.forEach(function (e) {
        var li = document.createElement('li');
        li.className = 'rejected';
        li.appendChild(document.createTextNode(d.msgRejected + ' ' + e.body.name + ' — ' + e.reason + ' '));
        var fix = document.createElement('button');
        fix.type = 'button'; fix.className = 'button secondary'; fix.textContent = d.msgFix;
        fix.addEventListener('click', function () { refill(e); });
        var drop = document.createElement('button');
        drop.type = 'button'; drop.className = 'button secondary'; drop.textContent = d.msgDiscard;
        drop.addEventListener('click', function () { Outbox.remove(e.key).then(render); });
        li.appendChild(fix); li.appendChild(drop);
        ul.appendChild(li);
      });
    });
  }
  // Puts a refused entry back in the form; it stays in the outbox until its correction is sent.
  function refill(e) {
    var b = e.body;
    form.reset();
    $('name').value = b.name || ''; $('mobile').value = b.mobile || '';
    $('epic').value = b.epic || ''; $('birth_year').value = b.birth_year || '';
    var g = b.gender && form.querySelector('input[name=gender][value=' + b.gender + ']');
    if (g) g.checked = true;
    var m = /^(.*?)(?:-B0*([0-9]+))?$/.exec(b.unit || '');
    if (m) {
      $('ac').value = m[1];
      $('booth').value = m[2] || '';
    }
    $('wing').value = b.wing || 'party';
    fixing = e.key;
    $('enrol-done').hidden = true; form.hidden = false;
    showServerErrors(e.body_error);
    $('name').focus();
  }
  // The worker has seen the answers: they leave the phone.
  $('outbox-clear').addEventListener('click', function () {
    Outbox.mine(person, 'enrol').then(function (all) {
      return Promise.all(all.filter(function (e) { return e.state === 'sent' || e.state === 'duplicate'; })
        .map(function (e) { return Outbox.remove(e.key); }));
    }).then(render, render);
  });
  function flush() {
    if (!navigator.onLine) return render();
    return Outbox.flush().then(render, render);
  }
  window.addEventListener('online', flush);
  // The service worker's Background Sync may have sent them; and a connection that came back
  // without an `online` event (a captive portal, a flaky tower) is tried every 15 s.
  if (navigator.serviceWorker) navigator.serviceWorker.addEventListener('message', render);
  setInterval(function () { if (navigator.onLine) flush(); }, 15000);
  window.sangathanFlush = flush;
  flush();
})();
