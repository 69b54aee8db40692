// Every live element (one with sse-connect) says how its stream is doing in data-live: "open" once
// the stream is open, "connected" after its first message (the server subscribes before it sends
// the current state), "reconnecting" after an error. The stream's events bubble up from the
// element that swaps a message, so a listener on the document sees them all, swapped pages too.
(function () {
  "use strict";
  function mark(state, unlessConnected) {
    return function (evt) {
      var live = evt.target.closest && evt.target.closest("[sse-connect]");
      if (!live || (unlessConnected && live.dataset.live === "connected")) return;
      live.dataset.live = state;
    };
  }
  document.addEventListener("htmx:sseOpen", mark("open", true));
  document.addEventListener("htmx:sseMessage", mark("connected", false));
  document.addEventListener("htmx:sseError", mark("reconnecting", false));
})();
