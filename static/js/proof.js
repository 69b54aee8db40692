// The proof-of-work widget (ALTCHA, vendored; app/web/proof.py checks what it sends). Its "external"
// build brings no worker and no inline style, so the page's policy stays as it is: the SHA-256
// worker is the shop's own file (worker-src 'self'), and the widget's words are the shop's own, in
// the page's language, handed over by each widget's data-strings (JSON made by the server).
import "/static/vendor/altcha-3.2.2.min.js";

const WORKER = "/static/vendor/altcha-3.2.2-sha-worker.js";
const altcha = globalThis.$altcha;

altcha.algorithms.set("SHA-256", () => new Worker(WORKER));

function useOurWords(root) {
  for (const widget of root.querySelectorAll("altcha-widget[data-strings][language]")) {
    const language = widget.getAttribute("language");
    try {
      const words = JSON.parse(widget.getAttribute("data-strings"));
      altcha.i18n.set(language, Object.assign({}, altcha.i18n.get("en"), words));
    } catch (error) {
      console.error("proof widget: unreadable data-strings", error);
    }
  }
}

useOurWords(document);
// A page swapped in by htmx (a boosted link) runs no module again: its widgets get their words here.
document.addEventListener("htmx:load", (event) => useOurWords(event.target.parentNode || document));
