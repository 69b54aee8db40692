// A waiting room's line page, live. Each message of the line's stream (swapped into #line-shared
// by the htmx SSE extension) is the line's shared state: its data attributes say whether the
// places are drawn, how many members are in the line, how many places are let in and whether the
// units are gone. From them and the member's own place and the line's rate (data-place and
// data-rate on #line-box) this keeps "N places ahead of you", the estimated wait and the line's
// length current, in the page's own words: each sentence with a number carries its forms in the
// page's language (data-one, data-other, with {n} for the number), chosen by the language's plural
// rules. When the member's phase changes (the places were drawn, their turn came, the units went
// or came back) it asks for their part of the page again (#line-box answers "line-phase" with an
// htmx GET), which from their turn holds the Buy form with their admission. Without this script
// the page reloads itself every 10 seconds (a <noscript> refresh).
(function () {
  "use strict";
  var plurals = null;

  function say(el, n) {
    if (!el) return;
    if (plurals === null) {
      plurals = window.Intl && Intl.PluralRules ? new Intl.PluralRules(document.documentElement.lang || undefined) : false;
    }
    var one = plurals ? plurals.select(n) === "one" : n === 1;
    var words = el.getAttribute(one ? "data-one" : "data-other");
    if (!words) return;
    var text = words.replace("{n}", String(n));
    if (el.textContent !== text) el.textContent = text;
  }

  function number(el, name) {
    var n = parseInt(el.getAttribute(name), 10);
    return isNaN(n) ? null : n;
  }

  // The member's phase as the server names it (data-phase of #line-box), from the shared state.
  function phase(line, box) {
    var place = number(box, "data-place");
    if (place === null) return line.started ? "drawn" : "before";
    if (place <= line.admitted) return "turn";
    return line.gone ? "gone" : "wait";
  }

  function follow() {
    var shared = document.querySelector("#line-shared [data-line-state]");
    if (!shared) return;
    var line = {
      started: shared.getAttribute("data-started") === "1",
      total: number(shared, "data-total") || 0,
      admitted: number(shared, "data-admitted") || 0,
      gone: shared.getAttribute("data-gone") === "1"
    };
    document.querySelectorAll("#line [data-line-total]").forEach(function (el) {
      if (el.textContent !== String(line.total)) el.textContent = String(line.total);
    });
    var box = document.getElementById("line-box");
    if (!box) return; // the member pressed Buy: its answer stands in the box's place
    var now = phase(line, box);
    if (now === "wait") {
      var ahead = number(box, "data-place") - line.admitted;
      var rate = number(box, "data-rate");
      say(document.getElementById("line-ahead"), ahead);
      if (rate) say(document.getElementById("line-wait"), Math.ceil(Math.ceil(ahead * 60 / rate) / 60));
    }
    // Ask once per change: the box that comes back names the phase the server saw.
    if (now !== box.getAttribute("data-phase") && now !== box.getAttribute("data-asked") && window.htmx) {
      box.setAttribute("data-asked", now);
      htmx.trigger(box, "line-phase");
    }
  }

  document.addEventListener("htmx:sseMessage", function (evt) {
    if (evt.target && evt.target.id === "line-shared") follow();
  });
})();
