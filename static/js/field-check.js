// A field checked while it is typed: when its error paragraph is swapped in (empty or not), the
// field's red border and its input's aria-invalid follow it, so a corrected field looks corrected.
(function () {
  function sync(error) {
    if (!error || !error.id || error.id.indexOf("e-") !== 0) return;
    var field = error.closest(".field");
    if (!field) return;
    var input = field.querySelector("input, textarea, select");
    var bad = error.textContent.trim() !== "";
    field.classList.toggle("has-error", bad);
    if (!input) return;
    if (bad) {
      input.setAttribute("aria-invalid", "true");
      var described = (input.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
      if (described.indexOf(error.id) < 0) described.unshift(error.id);
      input.setAttribute("aria-describedby", described.join(" "));
    } else {
      input.removeAttribute("aria-invalid");
    }
  }
  // an outerHTML swap replaces the paragraph: find the new one by its id
  function swapped(event) {
    var target = event.detail && event.detail.target;
    if (target && target.id) sync(document.getElementById(target.id));
  }
  document.addEventListener("htmx:afterSettle", swapped);
  document.addEventListener("htmx:oobAfterSwap", swapped);
})();
