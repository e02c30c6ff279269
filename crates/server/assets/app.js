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
  }
})();
