// Every htmx request carries the CSRF token of the csrftoken cookie. The token changes at sign-in
// and sign-out and the cookie follows it, while a page htmx swaps in keeps the <body> it started
// with (and its hx-headers): the cookie is the token of the session now.
(function () {
  "use strict";
  document.addEventListener("htmx:configRequest", function (evt) {
    var found = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (found) evt.detail.headers["x-csrftoken"] = decodeURIComponent(found[1]);
  });
})();
