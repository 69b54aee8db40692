// Every [data-countdown="2026-11-27T09:00:00Z"] element shows "starts in 2d 03:04:05" and counts
// down each second. When one reaches zero the page reloads (once the sale has had a moment to
// open). The server already renders the start time and the remaining time, so without this
// script the page still says when the sale starts. Elements added by htmx swaps are picked up on
// the next tick.
// Every [data-deadline="ISO time"] element (a purchase right waiting for its payment) shows
// "9:59 left to pay", counting down each second, and "expired" at zero. The server renders the
// time left when the page is made, so without this script the text is still right at that moment.
(function () {
  "use strict";
  var pad = function (n) { return (n < 10 ? "0" : "") + n; };
  var reloading = false;

  // The words come from the element (the page's language): data-left is the sentence with {time}
  // in it, data-expired / data-ended / data-now what it says at zero, data-day the days' unit.
  function words(el, name, fallback) { return el.getAttribute("data-" + name) || fallback; }

  function clock(el, ms) {
    var s = Math.floor(ms / 1000);
    var d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
    return (d ? d + words(el, "day", "d") + " " : "") + pad(h) + ":" + pad(m) + ":" + pad(s % 60);
  }

  function text(el, ms, fallback) { return words(el, "left", fallback).replace("{time}", clock(el, ms)); }

  function deadlineText(el, ms) {
    var s = Math.ceil(ms / 1000);
    return words(el, "left", "{time} left to pay").replace("{time}", Math.floor(s / 60) + ":" + pad(s % 60));
  }

  function tickDeadlines(now) {
    document.querySelectorAll("[data-deadline]").forEach(function (el) {
      var at = Date.parse(el.getAttribute("data-deadline"));
      if (isNaN(at)) return;
      var left = at - now;
      var label = left > 0 ? deadlineText(el, left) : words(el, "expired", "expired");
      if (el.textContent !== label) el.textContent = label;
      el.classList.toggle("deadline-passed", left <= 0);
    });
  }

  // Every [data-ends="ISO time"] element (a live auction) shows "ends in 00:04:12", and "ended"
  // at zero. The live stream replaces the element when a late bid pushes the end back.
  function tickEnds(now) {
    document.querySelectorAll("[data-ends]").forEach(function (el) {
      var at = Date.parse(el.getAttribute("data-ends"));
      if (isNaN(at)) return;
      var left = at - now;
      var label = left > 0 ? text(el, left, "ends in {time}") : words(el, "ended", "ended");
      if (el.textContent !== label) el.textContent = label;
    });
  }

  function tick() {
    var now = Date.now();
    tickDeadlines(now);
    tickEnds(now);
    document.querySelectorAll("[data-countdown]").forEach(function (el) {
      var at = Date.parse(el.getAttribute("data-countdown"));
      if (isNaN(at)) return;
      var left = at - now;
      if (left > 0) {
        el.textContent = text(el, left, "starts in {time}");
        el.dataset.countdownRunning = "1";  // it was still counting on this page
      } else {
        el.textContent = words(el, "now", "starting now");
        // reload only when the countdown crossed zero here, so a page served just before the
        // sale opened cannot reload in a loop
        if (el.dataset.countdownRunning && !reloading) {
          reloading = true;
          setTimeout(function () { window.location.reload(); }, 1500);
        }
      }
    });
  }

  tick();
  setInterval(tick, 1000);
})();
