// Shown inside the emulator's presenter view (a frame of another port), a page says which screen it is, so the
// view can show the guide's step for it. Only the screen's id is sent; nothing happens when not in a frame.
(function () {
  "use strict";
  if (window.parent === window) return;
  window.parent.postMessage({idpEmulatorScreen: document.body.getAttribute("data-screen")}, "*");
})();
