// Live following for the meeting page: ask "anything new after this ETag?" every half
// second; the server answers 304 (nothing changed) or the re-rendered live region.
// Without JavaScript the page simply shows what it had at load time (reload for more).
(function () {
  "use strict";
  var region = document.getElementById("live");
  if (!region) return;
  var url = region.dataset.liveUrl;
  var etag = region.dataset.etag;
  var state = document.getElementById("live-state");
  var INTERVAL = 500;
  var failures = 0;

  function busy() {
    // Do not replace the region while someone is typing in one of its forms.
    var el = document.activeElement;
    return el && region.contains(el) && /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName) && el.value;
  }

  function poll() {
    if (document.hidden) return setTimeout(poll, INTERVAL * 4);
    fetch(url, { headers: { "If-None-Match": '"' + etag + '"', "Accept": "application/json" }, credentials: "same-origin", cache: "no-store" })
      .then(function (r) {
        if (r.status === 304) return null;
        if (r.status === 401 || r.redirected) throw new Error("login");
        if (!r.ok) throw new Error("http " + r.status);
        return r.json();
      })
      .then(function (data) {
        failures = 0;
        if (state) state.hidden = true;
        if (data && !busy()) {
          etag = data.etag;
          region.innerHTML = data.html;
          var badge = document.getElementById("meeting-status");
          if (badge) { badge.textContent = data.status_label; badge.className = "badge meeting-" + data.status; }
          document.dispatchEvent(new CustomEvent("sanmai:live", { detail: data }));
        }
      })
      .catch(function (err) {
        failures += 1;
        if (state) { state.hidden = false; state.textContent = state.dataset.offline || "…"; }
      })
      .finally(function () { setTimeout(poll, Math.min(INTERVAL * Math.pow(2, failures), 10000)); });
  }
  setTimeout(poll, INTERVAL);
})();
