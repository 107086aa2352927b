/* The virtual phone enhanced: codes count down and refresh, a new notification or SMS shows up by itself. */
(function () {
  "use strict";
  var body = document.body;
  document.querySelectorAll("[data-expires-in]").forEach(function (el) {
    var left = parseInt(el.getAttribute("data-expires-in"), 10);
    window.setInterval(function () {
      left -= 1;
      if (left <= 0) { window.location.reload(); return; }
      el.textContent = left + " s";
    }, 1000);
  });
  var url = body.getAttribute("data-status-url");
  if (!url || !window.fetch) { return; }
  var push = body.getAttribute("data-push") || "";
  var sms = body.getAttribute("data-sms") || "0";
  var onNotification = body.getAttribute("data-screen") === "phone-notification";
  // Once a form is sent (the notification answered), this page is on its way out: a reload now would cancel the
  // answer's page (the answer itself already counted) and show an empty phone instead of its result.
  var leaving = false;
  window.addEventListener("submit", function () { leaving = true; }, true);
  function tick() {
    if (leaving) { return; }
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" }, signal: deadline() })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (status) {
        if (leaving) { return; }
        if (!status) { return schedule(); }
        var newPush = status.push ? String(status.push) : "";
        if (newPush && newPush !== push && !onNotification) {
          window.location.href = body.getAttribute("data-notification-url");
          return;
        }
        if (newPush !== push || String(status.sms) !== sms) { window.location.reload(); return; }
        schedule();
      })
      .catch(schedule);
  }
  var every = parseInt(body.getAttribute("data-poll-ms"), 10) || 1500;  // IDP_POLL_MS
  // A question left unanswered for four intervals (at least 2 s) is given up and asked again (as wait.js does).
  function deadline() {
    return window.AbortSignal && AbortSignal.timeout ? AbortSignal.timeout(Math.max(4 * every, 2000)) : undefined;
  }
  function schedule() { window.setTimeout(tick, every); }
  schedule();
})();
