/* Show the start time in the browser's time zone and send that zone's offset with the form. */
(function () {
  var form = document.getElementById("product-form");
  if (!form) return;
  var input = form.querySelector("[name=sale_starts_at]");
  var tz = form.querySelector("[name=tz_offset_minutes]");
  var pad = function (n) { return String(n).padStart(2, "0"); };
  var m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(input.value);
  if (m) {
    var given = parseInt(tz.value || "540", 10) || 0;
    var d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]) - given * 60000);
    input.value = d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) +
      "T" + pad(d.getHours()) + ":" + pad(d.getMinutes());
  }
  var sync = function () {
    var when = input.value ? new Date(input.value) : new Date();
    tz.value = String(-(isNaN(when) ? new Date() : when).getTimezoneOffset());
  };
  sync();
  input.addEventListener("change", sync);
  form.addEventListener("submit", sync);
})();
