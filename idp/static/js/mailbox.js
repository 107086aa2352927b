// The dev mailbox: size the mail's frame to the mail, so the whole mail shows in the page with no scrollbar of its own.
// The frame is same-origin without scripts (sandbox), which lets this page read the mail's height.
(function () {
  var frame = document.querySelector('[data-testid="message-html"]');
  if (!frame) return;
  function fit() {
    var doc;
    try { doc = frame.contentDocument; } catch (e) { return; }
    if (!doc || !doc.documentElement) return;
    frame.style.height = "0";  // measure the mail at the frame's width, not at the frame's current height
    frame.style.height = doc.documentElement.scrollHeight + "px";
  }
  frame.addEventListener("load", fit);
  window.addEventListener("resize", fit);
  if (frame.contentDocument && frame.contentDocument.readyState === "complete") fit();
})();
