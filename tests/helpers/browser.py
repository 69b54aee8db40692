"""Steps a shopper takes in Chromium (through Playwright), a browser context that records every
Content-Security-Policy violation its pages report, contexts in a language (Korean or English) and
at a phone's width, the words of the page in that language (``t``; ``tn`` for a number's form),
and the checks the phone-width and accessibility tests make on a page."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Page, expect

from app.core.i18n import gettext, ngettext, using
from tests.helpers.factories import PASSWORD

LANGUAGES = ("ko", "en")
PHONE = {"width": 360, "height": 800}
DESKTOP = {"width": 1280, "height": 800}
_BROWSER_LOCALES = {"ko": "ko-KR", "en": "en-US"}
AXE = Path(__file__).resolve().parent.parent / "browser" / "vendor" / "axe-4.14.1.min.js"


def t(text: str, language: str, **params: Any) -> str:
    """``text`` as the shop shows it in ``language`` (its catalog's translation, English if none)."""
    with using(language):
        return gettext(text, **params)


def tn(singular: str, plural: str, n: int, language: str, **params: Any) -> str:
    """The form of ``singular``/``plural`` for ``n`` as the shop shows it in ``language``."""
    with using(language):
        return ngettext(singular, plural, n, **params)


def words(english: str, language: str, *, whole: bool = False) -> str | re.Pattern[str]:
    """What a page in ``language`` says for ``english``: in English the text itself; in Korean its
    translation or, while a page is not translated yet, the English (both are accepted). ``whole``:
    the entire text of the element, else a part of it."""
    if language == "en":
        return english
    forms = "|".join(re.escape(form) for form in dict.fromkeys((t(english, language), english)))
    return re.compile(f"^\\s*(?:{forms})\\s*$" if whole else f"(?:{forms})")


async def language_context(
    browser: Browser, base: str, language: str, *, viewport: dict[str, int] | None = None, **options: Any
) -> BrowserContext:
    """A browser context whose visitor reads ``language``: the browser's locale (its
    Accept-Language) and the shop's ``lang`` cookie both say so."""
    context = await browser.new_context(
        base_url=base, locale=_BROWSER_LOCALES[language], viewport=viewport or DESKTOP, **options
    )
    await context.add_cookies([{"name": "lang", "value": language, "url": base}])
    return context


async def language_page(browser: Browser, base: str, language: str, email: str | None = None, **options: Any):
    """A page in a context of its own in ``language``, signed in as ``email`` when given."""
    context = await language_context(browser, base, language, **options)
    page = await context.new_page()
    if email:
        await sign_in(page, email)
    return context, page


# The page's width beyond the screen, and the elements that stick out furthest (to name the culprit).
_OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [];
  for (const el of document.body.querySelectorAll("*")) {
    const box = el.getBoundingClientRect();
    if (box.right > width + 0.5 && box.width > 0) {
      let name = el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
        (typeof el.className === "string" && el.className ? "." + el.className.trim().split(/\\s+/).join(".") : "");
      wide.push([Math.round(box.right), name]);
    }
  }
  wide.sort((a, b) => b[0] - a[0]);
  return {scroll: document.documentElement.scrollWidth, wide: wide.slice(0, 3).map(w => w[1] + " to " + w[0] + "px")};
}"""


async def overflow(page: Page, width: int = PHONE["width"]) -> str | None:
    """None when the page fits ``width``; else how wide it is and what sticks out."""
    found = await page.evaluate(_OVERFLOW)
    if found["scroll"] <= width:
        return None
    return f"{found['scroll']} px wide ({', '.join(found['wide'])})"


async def axe_violations(page: Page, impacts: tuple[str, ...] = ("serious", "critical")) -> list[str]:
    """axe-core's violations of ``impacts`` on the page as it is: "rule-id (impact): target, …".
    axe is evaluated as the file's text (a <script> element would be refused by the page's policy)."""
    if not await page.evaluate("() => typeof window.axe !== 'undefined'"):
        await page.evaluate(AXE.read_text(encoding="utf-8"))
    results = await page.evaluate(
        """async () => {
          const r = await axe.run(document, {resultTypes: ["violations"]});
          return r.violations.map(v => ({id: v.id, impact: v.impact, targets: v.nodes.map(n => n.target.join(" "))}));
        }"""
    )
    return [f"{v['id']} ({v['impact']}): {', '.join(v['targets'][:5])}" for v in results if v["impact"] in impacts]


async def signed_in_page(browser: Browser, base: str, email: str) -> tuple[BrowserContext, Page]:
    """A browser context of its own, signed in as ``email`` through the login form."""
    context = await browser.new_context(base_url=base)
    page = await context.new_page()
    await sign_in(page, email)
    return context, page


async def sign_in(page: Page, email: str) -> None:
    """Through the login form, as ``email``."""
    await page.goto("/login")
    await page.fill("#f-email", email)
    await page.fill("#f-password", PASSWORD)
    await page.click("main button[type=submit]")
    await expect(page.locator('[data-nav="me"]')).to_be_attached()  # in the header's menu (folded on a phone)


async def pay_with_the_approve_card(page: Page, amount: str, language: str = "en") -> None:
    """On an order's page: Pay, then in the gateway's hosted checkout (asking ``amount``) the card
    that approves; back on the order, paid (the page in ``language``)."""
    await expect(page.locator("#order-state")).to_have_text(words("Awaiting payment", language, whole=True))
    await page.click("#pay-button")

    # the gateway's hosted checkout
    await page.wait_for_url("**/sandbox-gateway/checkout?**")
    await expect(page.locator(".amount")).to_contain_text(amount)
    await page.check("input[name=card][value=approve]")
    await page.click("button.pay")

    await expect(page.locator("#order-state")).to_have_text(words("Paid", language, whole=True))
    await expect(page.locator(".flash")).to_contain_text(words("Paid. Thank you!", language))


VIOLATION = "csp-violation:"
# Runs in every document before the page's own scripts (injected by the browser, outside the policy).
_REPORT_VIOLATIONS = """document.addEventListener("securitypolicyviolation", function (e) {
  console.error("csp-violation: " + e.effectiveDirective + " refused " + (e.blockedURI || "inline code")
    + " in " + e.documentURI + (e.sample ? " (" + e.sample + ")" : ""));
});"""


async def watch_policy(context: BrowserContext) -> list[str]:
    """The list the policy violations ``context``'s pages report will be added to: the
    ``securitypolicyviolation`` events and the browser's own console messages about the policy."""
    violations: list[str] = []
    await context.add_init_script(script=_REPORT_VIOLATIONS)

    def on_console(message: ConsoleMessage) -> None:
        if message.text.startswith(VIOLATION) or "Content Security Policy" in message.text:
            violations.append(message.text)

    context.on("console", on_console)
    return violations


async def policy_watched_context(browser: Browser, base: str) -> tuple[BrowserContext, list[str]]:
    """A browser context and the list of the policy violations its pages report (``watch_policy``)."""
    context = await browser.new_context(base_url=base)
    return context, await watch_policy(context)
