// The presenter view follows the PC frame and the phone frame: on each page they load, it finds the page's
// `data-screen` and shows the guide's step for it (part, step n of N, title, callout), frames the element the
// callout points at (a box drawn in this page, over the frame: the real page is left as it is), and polls the
// codes of the moment. IdP pages are same-origin and read directly; Espace Client pages (another port) say
// their screen with postMessage.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("present-data").textContent);
  var pc = document.querySelector('[data-testid="present-pc"]');
  var phone = document.querySelector('[data-testid="present-phone"]');
  var box = document.querySelector('[data-testid="present-highlight"]');
  var rail = {
    part: document.querySelector('[data-testid="present-part"]'),
    step: document.querySelector('[data-testid="present-step"]'),
    title: document.querySelector('[data-testid="present-title"]'),
    callout: document.querySelector('[data-testid="present-callout"]'),
    phone: document.querySelector('[data-testid="present-phone-step"]')
  };
  var mailboxPages = ["mailbox", "mailbox-message"];
  var beforeCodeMail = [null, "mail-invitation", "email", "signup-password", "signup-profile"];
  var last = null; // the last guide step the PC frame showed
  var current = null;
  var smsPhone = null; // the number whose messages the phone frame was sent to

  function format(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (_, key) { return values[key]; });
  }

  function frameDocument(frame) {
    try {
      var doc = frame.contentDocument;
      return doc && doc.body ? doc : null;
    } catch (e) {
      return null; // another origin (the Espace Client)
    }
  }

  function stepFor(page) {
    if (mailboxPages.indexOf(page) >= 0) {
      return data.steps[beforeCodeMail.indexOf(last) >= 0 ? "mail-invitation" : "mail-code"];
    }
    return data.steps[page] || null;
  }

  function callouts(step) {
    var list = document.createElement("ol");
    (step ? step.callouts : []).forEach(function (c) {
      var item = document.createElement("li");
      item.textContent = c.text;
      list.appendChild(item);
    });
    return list;
  }

  function showPc(page) {
    var step = stepFor(page);
    current = step;
    document.body.setAttribute("data-present-screen", page || "");
    if (!step) {
      rail.part.textContent = data.labels.outside;
      rail.step.textContent = "";
      rail.title.textContent = page || "";
      rail.callout.replaceChildren(callouts(null));
      mark(null);
      return;
    }
    last = step.screen;
    rail.part.textContent = step.part ? format(data.labels.part, {n: step.part}) + " · " + step.part_title
                                      : step.part_title;
    rail.step.textContent = step.number !== null ? format(data.labels.step, {n: step.number, total: step.total}) : "";
    rail.title.textContent = step.title;
    rail.callout.replaceChildren(callouts(step));
    mark(step.screen);
    highlight();
  }

  function mark(screen) {
    document.querySelectorAll("[data-step]").forEach(function (item) {
      if (item.getAttribute("data-step") === screen) {
        item.setAttribute("aria-current", "step");
      } else {
        item.removeAttribute("aria-current");
      }
    });
  }

  function showPhone(page) {
    var step = data.steps[page];
    rail.phone.replaceChildren();
    if (!step || step.device !== "phone") return;
    var title = document.createElement("p");
    title.className = "phone-step-title";
    title.textContent = (step.number === 0 ? data.labels.prerequisite
                         : step.number !== null ? format(data.labels.phone_step, {n: step.number, total: step.total})
                         : "") + " — " + step.title;
    rail.phone.appendChild(title);
    rail.phone.appendChild(callouts(step));
  }

  // The frame drawn around the element the callout points at: positioned over the PC frame, in this page.
  function highlight() {
    var doc = frameDocument(pc);
    var target = null;
    if (doc && current) {
      for (var i = 0; i < current.callouts.length && !target; i++) {
        if (current.callouts[i].target) target = doc.querySelector(current.callouts[i].target);
      }
    }
    if (!target) {
      box.hidden = true;
      return;
    }
    var r = target.getBoundingClientRect();
    box.style.left = (pc.offsetLeft + r.left - 6) + "px";
    box.style.top = (pc.offsetTop + r.top - 6) + "px";
    box.style.width = (r.width + 12) + "px";
    box.style.height = (r.height + 12) + "px";
    box.hidden = false;
  }

  // A mail's links open a new tab in the mailbox; in the presenter view they open in the PC frame instead.
  function keepMailLinksInFrame(doc) {
    var mail = doc.querySelector('[data-testid="message-html"]');
    if (!mail) return;
    function hook() {
      var mailDoc = frameDocument(mail);
      if (!mailDoc || mailDoc.presentHooked) return;
      mailDoc.presentHooked = true;
      mailDoc.addEventListener("click", function (event) {
        var link = event.target.closest && event.target.closest("a[href]");
        if (link && /^https?:/.test(link.href)) {
          event.preventDefault();
          pc.src = link.href;
        }
      }, true);
    }
    mail.addEventListener("load", hook);
    hook();
  }

  pc.addEventListener("load", function () {
    var doc = frameDocument(pc);
    if (!doc) return; // the Espace Client tells its screen by postMessage
    var page = doc.body.getAttribute("data-screen");
    showPc(page);
    if (mailboxPages.indexOf(page) >= 0) keepMailLinksInFrame(doc);
    doc.addEventListener("scroll", highlight, true);
  });
  window.addEventListener("message", function (event) {
    if (event.source !== pc.contentWindow || !event.data || typeof event.data.idpEmulatorScreen !== "string") return;
    showPc(event.data.idpEmulatorScreen);
  });
  phone.addEventListener("load", function () {
    var doc = frameDocument(phone);
    if (doc) showPhone(doc.body.getAttribute("data-screen"));
  });
  window.addEventListener("resize", highlight);
  // A frame that finished loading before this script ran (the script is deferred): read it now.
  [[pc, function (doc) { showPc(doc.body.getAttribute("data-screen")); }],
   [phone, function (doc) { showPhone(doc.body.getAttribute("data-screen")); }]].forEach(function (pair) {
    var doc = frameDocument(pair[0]);
    if (doc && doc.readyState === "complete" && doc.body.getAttribute("data-screen")) pair[1](doc);
  });

  var every = parseInt(document.body.getAttribute("data-poll-ms"), 10) || 1500;  // IDP_POLL_MS
  // A question left unanswered for four intervals (at least 2 s) is given up and asked again (as wait.js does).
  function deadline() {
    return window.AbortSignal && AbortSignal.timeout ? AbortSignal.timeout(Math.max(4 * every, 2000)) : undefined;
  }
  function poll() {
    fetch(data.state_url, {headers: {Accept: "application/json"}, cache: "no-store", signal: deadline()})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (state) {
        if (!state) return;
        // SMS branch: once the code is sent, the phone beside shows the messages of the number typed.
        if (state.sms_phone && state.sms_phone !== smsPhone && current && current.screen === "proofup-sms-code") {
          smsPhone = state.sms_phone;
          phone.src = data.phone_base + encodeURIComponent(state.sms_phone) + "/messages";
        }
        var codes = state.codes || {};
        [["code-email", codes.email_code], ["code-sms", codes.sms_code], ["code-number", codes.push_number]]
          .forEach(function (pair) {
            document.querySelector('[data-testid="' + pair[0] + '"]').textContent =
              pair[1] === null || pair[1] === undefined ? "—" : String(pair[1]);
          });
      })
      .catch(function () { /* the server restarts: try again at the next tick */ })
      .then(function () { window.setTimeout(poll, every); });
  }
  poll();
  window.setInterval(highlight, 700);
})();
