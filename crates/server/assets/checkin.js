// The check-in scanner: a volunteer's code, read by the camera (where the browser has
// BarcodeDetector) or typed, is sent to POST /api/v1/programmes/{id}/checkin. With no
// connection the scan waits in the outbox (with the time it was made) and is sent when the
// connection returns; a check-in is idempotent on the server, so a scan sent twice lands once.
(function () {
  'use strict';
  var form = document.getElementById('checkin-form');
  if (!form || !window.Outbox) return;
  var d = form.dataset;
  var lang = document.body.dataset.lang || 'hi';
  var csrfMeta = document.querySelector('meta[name=csrf-token]');
  var csrf = csrfMeta ? csrfMeta.content : '';
  var person = parseInt(d.person, 10);
  var programme = d.programme;
  var $ = function (id) { return document.getElementById(id); };
  var ALPHABET = /^[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{6}$/;

  // The code as the server reads it: an `SGV:` payload, case, spaces and hyphens ignored.
  function normal(s) {
    s = (s || '').trim();
    if (/^sgv:/i.test(s)) s = s.slice(4);
    return s.replace(/[\s-]/g, '').toUpperCase();
  }
  function keyOf(code) { return 'checkin-' + programme + '-' + code; }
  function clock(t) {
    var x = new Date(t);
    return ('0' + x.getHours()).slice(-2) + ':' + ('0' + x.getMinutes()).slice(-2);
  }

  // The last scan's answer, large.
  function result(state, name, duties, text) {
    var box = $('checkin-result');
    box.hidden = false;
    box.dataset.state = state;
    $('checkin-name').textContent = name || '';
    $('checkin-duties').textContent = duties || '';
    $('checkin-state').textContent = text || '';
    box.className = 'card' + (state === 'in' ? ' done' : '');
  }
  // One line of the scan log (newest first), kept by code.
  function log(code, state, text) {
    var id = 'log-' + code;
    var li = $(id);
    if (!li) {
      li = document.createElement('li');
      li.id = id;
      $('checkin-log').insertBefore(li, $('checkin-log').firstChild);
    }
    li.className = 'log-' + state;
    li.dataset.state = state;
    li.textContent = code + ' · ' + text;
  }
  function answered(code, r) {
    var b = r.body || {};
    var text = b.already ? d.msgAlready : d.msgIn + ' ' + clock(b.in_at);
    result(b.already ? 'already' : 'in', b.name, (b.duties || []).join(', '), text);
    log(code, 'sent', (b.name || '') + ' — ' + text);
  }
  function refused(code, reason) {
    result('refused', code, '', d.msgRefused + ' ' + reason);
    log(code, 'refused', d.msgRefused + ' ' + reason);
  }
  function queued(code) {
    waiting[keyOf(code)] = code;
    if (navigator.serviceWorker && navigator.serviceWorker.ready) {
      navigator.serviceWorker.ready.then(function (r) { if (r.sync) return r.sync.register('outbox'); }).catch(function () {});
    }
    result('waiting', code, '', d.msgQueued);
    log(code, 'waiting', d.msgWaiting);
    count();
  }

  // Scans of this programme still waiting on this phone.
  function mine() {
    return Outbox.mine(person, 'checkin').then(function (all) {
      return all.filter(function (e) { return e.programme === programme; });
    });
  }
  function count() {
    return mine().then(function (all) {
      var n = all.filter(function (e) { return e.state === 'waiting'; }).length;
      $('checkin-waiting-count').textContent = n ? '(' + n + ' ' + d.msgWaiting + ')' : '';
      return all;
    });
  }

  var busy = {};
  function scan(raw) {
    var code = normal(raw);
    if (!ALPHABET.test(code)) {
      $('code-err').textContent = d.msgBad;
      $('code').setAttribute('aria-invalid', 'true');
      return Promise.resolve();
    }
    $('code-err').textContent = '';
    $('code').setAttribute('aria-invalid', 'false');
    if (busy[code]) return Promise.resolve();
    busy[code] = true;
    var key = keyOf(code);
    var entry = {
      key: key, kind: 'checkin', person: person, programme: programme, lang: lang,
      url: '/api/v1/programmes/' + encodeURIComponent(programme) + '/checkin', method: 'POST',
      body: { code: code, at: new Date().toISOString() }, created: Date.now()
    };
    // Into the outbox first (a scan already waiting keeps its first time), so that nothing is
    // lost if the request never returns; it leaves once the server has answered.
    return mine().then(function (all) {
      var had = all.filter(function (e) { return e.key === key && e.state === 'waiting'; })[0];
      if (had) entry = had;
      return had ? null : Outbox.add(entry);
    }).then(function () {
      if (!navigator.onLine) { queued(code); return; }
      return Outbox.send(entry, csrf).then(function (r) {
        var v = Outbox.verdict(r);
        if (v === 'sent') return Outbox.remove(key).then(function () { answered(code, r); });
        if (v === 'refused') {
          return Outbox.remove(key).then(function () { refused(code, Outbox.reasonOf(r.status, r.body, lang)); });
        }
        queued(code);
      }, function () { queued(code); });
    }).then(function () { delete busy[code]; count(); }, function () { delete busy[code]; });
  }

  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var v = $('code').value;
    scan(v).then(function () { $('code').value = ''; $('code').focus(); });
  });

  // Scans shown as waiting on this page, by outbox key: when one has left the outbox (sent by
  // this page or by the service worker's background sync) it is shown as sent; when the server
  // refused it, with the reason (and it leaves the outbox: a scan is not corrected, it is redone).
  var waiting = {};
  function render() {
    return mine().then(function (all) {
      var now = {};
      all.forEach(function (e) {
        now[e.key] = e;
        if (e.state === 'waiting' && !waiting[e.key]) {
          waiting[e.key] = e.body.code;
          log(e.body.code, 'waiting', d.msgWaiting);
        }
      });
      Object.keys(waiting).forEach(function (k) {
        var e = now[k], code = waiting[k];
        if (!e) { delete waiting[k]; log(code, 'sent', d.msgSent); }
        else if (e.state === 'rejected') {
          delete waiting[k];
          refused(code, e.reason);
          Outbox.remove(k);
        }
      });
      return count();
    });
  }
  function flush() {
    if (!navigator.onLine) return render();
    return Outbox.flush().then(render, render);
  }
  window.addEventListener('online', flush);
  if (navigator.serviceWorker) navigator.serviceWorker.addEventListener('message', function () { render(); });
  setInterval(function () { if (navigator.onLine) flush(); else render(); }, 15000);
  window.sangathanFlush = flush;
  render().then(flush);

  // The camera, where the browser can read QR codes (never required: the typed code always works).
  if (!('BarcodeDetector' in window) || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return;
  var detector = null, stream = null, timer = null, last = {};
  try { detector = new window.BarcodeDetector({ formats: ['qr_code'] }); } catch (e) { return; }
  $('scanner').hidden = false;
  var video = $('camera');
  function stop() {
    if (timer) clearInterval(timer);
    timer = null;
    if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
    stream = null;
    video.srcObject = null;
    $('camera-start').hidden = false;
    $('camera-stop').hidden = true;
  }
  $('camera-start').addEventListener('click', function () {
    navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false }).then(function (s) {
      stream = s;
      video.srcObject = s;
      video.play();
      $('camera-start').hidden = true;
      $('camera-stop').hidden = false;
      timer = setInterval(function () {
        if (video.readyState < 2) return;
        detector.detect(video).then(function (codes) {
          codes.forEach(function (c) {
            var code = normal(c.rawValue);
            // The same card held in front of the camera counts once every few seconds.
            if (!ALPHABET.test(code) || (last[code] && Date.now() - last[code] < 4000)) return;
            last[code] = Date.now();
            if (navigator.vibrate) navigator.vibrate(80);
            scan(code);
          });
        }).catch(function () {});
      }, 350);
    }).catch(function () { $('scanner').hidden = true; });
  });
  $('camera-stop').addEventListener('click', stop);
  window.addEventListener('pagehide', stop);
})();
