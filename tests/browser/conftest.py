"""Real headless Chromium (Debian's package) driven by Playwright, against the running
platform: the front-end, the development sign-in provider and the five services."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright
from pss_dev.seed import Site
from pss_testkit.testing import RunningPlatform

CHROMIUM = "/usr/bin/chromium"
# without these Chromium reaches out to Google's services, which this network refuses
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


# package scope: Playwright's sync API keeps an event loop running in this thread while it
# lives, and the end-to-end tests after these call asyncio.run()
@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if shutil.which(CHROMIUM) is None:
        # a failure, not a skip: `make test` installs Debian's chromium first
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (make test does it)")
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
    yield browser
    browser.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh browser profile per test: no cookies carried from one test to the next."""
    context = browser.new_context(locale="en-CA", timezone_id="America/Toronto")
    context.set_default_timeout(20_000)
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


def frontend(p: RunningPlatform) -> str:
    return p.url("frontend")


def sign_in(page: Page, p: RunningPlatform, username: str, path: str = "/") -> None:
    """Through the provider's sign-in page, as a person does: the front-end sends the
    browser there and takes it back."""
    page.goto(f"{frontend(p)}{path}")
    assert page.url.startswith(p.issuer.issuer), page.url  # at the provider now
    page.get_by_label("Account").fill(username)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(f"{frontend(p)}/**")
    # a sign-in that failed lands on the callback's page: say what it said, not a timeout later
    # (CI once timed out waiting for the queue after this point, on a loaded machine)
    assert "/signin" not in page.url, f"{page.url}: {page.inner_text('body')[:400]}"


@pytest.fixture
def unhurried_pages(running_platform: RunningPlatform, site: Site) -> None:
    """The test's ``site`` has its pages wait ten minutes for an answer. The platform under
    test pages the next person after 5 s so that escalation tests are quick; a test that
    answers a page in the browser would race that chain on a busy machine. CI once lost it: a
    coordinator paged last saw the case exhausted (their take refused) while axe still read
    the page."""
    ten_minutes = {"default_seconds": 600, "crisis_seconds": 600}
    with running_platform.admin() as admin:
        url = f"{running_platform.url('oncall')}/sites/{site.site_id}/acknowledge-timeouts"
        answer = admin.put(url, json=ten_minutes)
    assert answer.status_code == 200, answer.text
