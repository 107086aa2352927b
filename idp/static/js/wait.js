/* While a screen waits for the virtual phone (QR scanned, notification answered), poll its status and continue. */
(function () {
  "use strict";
  var marker = document.querySelector("[data-status-url]");
  var button = document.querySelector("[data-auto-continue]");
  if (!marker || !button || !window.fetch) { return; }
  var url = marker.getAttribute("data-status-url");
  var waitFor = marker.getAttribute("data-wait-for");
  function done(status) {
    if (waitFor === "activated") { return status.activated === true; }
    return status.push && status.push !== "pending";
  }
  // Once a form is sent (the person clicked on), stop asking: clicking the button again would send it twice.
  var leaving = false;
  window.addEventListener("submit", function () { leaving = true; }, true);
  var every = parseInt(document.body.getAttribute("data-poll-ms"), 10) || 1500;  // IDP_POLL_MS
  // A question left unanswered for four intervals (at least 2 s) is given up and asked again: one lost request
  // (a server restarted, a laptop woken up) must not stop the page from ever going on by itself.
  function deadline() {
    return window.AbortSignal && AbortSignal.timeout ? AbortSignal.timeout(Math.max(4 * every, 2000)) : undefined;
  }
  function schedule() { window.setTimeout(tick, every); }
  function tick() {
    if (leaving) { return; }
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" }, signal: deadline() })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (status) {
        if (leaving) { return; }
        if (status && done(status)) { button.click(); } else { schedule(); }
      })
      .catch(schedule);
  }
  schedule();
})();
