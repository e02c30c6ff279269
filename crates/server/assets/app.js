// Every page: the service worker (offline shell), the connection banner, the outbox count, the
// map's tap labels.
(function () {
  'use strict';
  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('/sw.js').catch(function () {});
  }
  var net = document.getElementById('net');
  function showNet() {
    if (!net) return;
    net.textContent = navigator.onLine ? '' : net.dataset.offline;
    net.hidden = navigator.onLine;
  }
  // Logging out forgets the pages kept for offline use (the outbox keeps each person's
  // unsent entries apart and sends them only under their own login).
  var logout = document.querySelector('form[action="/logout"]');
  if (logout && window.caches) {
    logout.addEventListener('submit', function () {
      caches.keys().then(function (ks) { ks.forEach(function (k) { caches.delete(k); }); });
    });
  }
  window.addEventListener('online', showNet);
  window.addEventListener('offline', showNet);
  showNet();
  // The map: the label of the tapped or focused constituency, in the reader's language.
  var label = document.getElementById('map-label');
  if (label) {
    var show = function (e) {
      var a = e.target.closest && e.target.closest('a');
      var t = a && a.querySelector('title');
      if (t) label.textContent = t.textContent;
    };
    document.addEventListener('mouseover', show);
    document.addEventListener('focusin', show);
    // On a touch screen the first tap on a constituency shows its label, the second opens it.
    var touch = window.matchMedia && window.matchMedia('(hover: none)').matches;
    document.addEventListener('click', function (e) {
      var a = e.target.closest && e.target.closest('figure.map a');
      if (!a || !touch) return;
      if (label.dataset.shown !== a.getAttribute('href')) {
        e.preventDefault();
        show(e);
        label.dataset.shown = a.getAttribute('href');
      }
    });
  }
})();
