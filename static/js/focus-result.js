// After an htmx form answer (Buy, a bid, a form with errors) is swapped in, move the keyboard and
// screen-reader focus to its result: the element marked data-focus, else the first error shown.
(function () {
  "use strict";
  document.addEventListener("htmx:afterSwap", function (event) {
    var root = event.detail && event.detail.target;
    if (!root || !root.querySelector) return;
    var replaced = root.isConnected === false;  // an outerHTML swap: look where it landed
    var el = replaced ? document.querySelector("[data-focus]") : root.querySelector("[data-focus]");
    if (!el && !replaced) {
      var errors = root.querySelectorAll(".error");
      for (var i = 0; i < errors.length; i++) {
        if (errors[i].textContent.trim()) { el = errors[i]; break; }
      }
    }
    if (!el) return;
    if (!el.hasAttribute("tabindex")) el.setAttribute("tabindex", "-1");
    el.focus({ preventScroll: false });
  });
})();
