"""At 360 px, the narrowest phone still common, in French, whose words are the longest, and
at 390 px in English: every page of every audience (the worker, the supporter, the
coordinator, the manager) fits the width with nothing scrolling sideways, and each link and
button a thumb uses is at least 44 px high. The screenshots are the README's."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page
from pss_testkit.testing import RunningPlatform, ref, self_referral, submit, wait_for

from tests.browser.conftest import frontend, sign_in
from tests.browser.test_worker import no_sideways_scroll, screenshot


@pytest.fixture(params=[(360, "fr"), (390, "en")], ids=["360px-fr", "390px-en"])
def narrow(request: pytest.FixtureRequest, browser: Browser) -> Iterator[BrowserContext]:
    width, language = request.param
    context = browser.new_context(
        viewport={"width": width, "height": 780}, locale=f"{language}-CA", timezone_id="America/Vancouver"
    )
    context.set_default_timeout(20_000)
    context.shot_suffix = f"{language}-{width}"  # type: ignore[attr-defined]
    yield context
    context.close()


def small_targets(page: Page) -> list[tuple[str, float]]:
    """Links and buttons shorter than 44 px; links inside running text are exempt (WCAG 2.5.8)."""
    found = page.eval_on_selector_all(
        "main button, main a.button, main input[type=submit], header a, header button",
        "nodes => nodes.filter(n => n.offsetParent !== null)"
        ".map(n => [n.textContent.trim() || n.value || '', n.getBoundingClientRect().height])",
    )
    return [(text, height) for text, height in found if height < 44]


def overflowing(page: Page) -> list[str]:
    """The innermost elements that reach past the right edge: what to fix."""
    return page.eval_on_selector_all(  # type: ignore[no-any-return]
        "body *",
        """nodes => nodes.filter(n => n.getBoundingClientRect().right > window.innerWidth
            && ![...n.children].some(c => c.getBoundingClientRect().right > window.innerWidth))
          .slice(0, 8).map(n => `${n.tagName.toLowerCase()}.${n.className}: `
            + `${n.textContent.trim().slice(0, 40)} (${Math.round(n.getBoundingClientRect().right)} px)`)""",
    )


def fits(page: Page, p: RunningPlatform, path: str, shot: str) -> None:
    page.goto(f"{frontend(p)}{path}")
    suffix = page.context.shot_suffix  # type: ignore[attr-defined]
    assert page.locator("html").get_attribute("lang") == suffix[:2], path
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert no_sideways_scroll(page), (path, width, overflowing(page))
    assert small_targets(page) == [], path
    screenshot(page, f"{shot}-{suffix}")


def paged(p: RunningPlatform, referral_id: str) -> str:
    ((recipient,),) = wait_for(
        lambda: p.sql("SELECT recipient FROM oncall.page WHERE referral_id = %s AND step = 0", referral_id),
        what="the first page",
    )
    return str(recipient)


def test_on_a_narrow_phone_no_page_of_the_coordinator_scrolls_sideways(
    running_platform: RunningPlatform, site, narrow: BrowserContext
):
    p = running_platform
    referral_id = submit(p, self_referral(site, ref(site, "rn1")))
    paged(p, referral_id)
    page = narrow.new_page()
    sign_in(page, p, p.coordinator_account(site))
    s = site.site_id
    for path, shot in (
        (f"/sites/{s}/queue", "coordinator-queue"),
        (f"/sites/{s}/cases/{referral_id}", "coordinator-case"),
        (f"/sites/{s}/history", "coordinator-history"),
        (f"/sites/{s}/roster", "coordinator-roster"),
        (f"/sites/{s}/schedule", "coordinator-schedule"),
        (f"/sites/{s}/metrics", "coordinator-metrics"),
    ):
        fits(page, p, path, shot)


def test_on_a_narrow_phone_no_page_of_the_supporter_scrolls_sideways(
    running_platform: RunningPlatform, site, narrow: BrowserContext
):
    p = running_platform
    referral_id = submit(p, self_referral(site, ref(site, "rn2")))
    primary = paged(p, referral_id)
    page = narrow.new_page()
    sign_in(page, p, p.supporter_account(site, primary))
    fits(page, p, "/me", "supporter-me")  # the page waiting, with its button
    fits(page, p, "/me/settings", "supporter-settings")


def test_on_a_narrow_phone_no_page_of_the_worker_or_the_manager_scrolls_sideways(
    running_platform: RunningPlatform, site, narrow: BrowserContext
):
    p = running_platform
    page = narrow.new_page()
    for path, shot in (
        (f"/help/{site.site_id}", "worker-ask"),
        (f"/help/{site.site_id}/colleague", "colleague-ask"),
        ("/my-case", "worker-my-case"),
    ):
        fits(page, p, path, shot)
    sign_in(page, p, p.manager_account(site, ref(site, "mgr")))
    fits(page, p, "/refer", "manager-refer")
