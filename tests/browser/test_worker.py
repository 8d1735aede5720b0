"""The worker's path in the browser, on a phone (390 px) and without an account: ask for
help through the site's form, read what happens next, follow the case by its private link,
withdraw. The crisis lines show as soon as "yes" is chosen; an HR matter gets the kind
answer and no case. axe-core finds nothing in English or in French, no page scrolls
sideways, and a French page shows none of the English catalogue."""

from __future__ import annotations

import glob
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from pss_testkit.testing import RunningPlatform

from tests.browser.conftest import frontend

PHONE = {"width": 390, "height": 844}
CATALOGUES = Path(__file__).parents[2] / "services" / "frontend" / "src" / "frontend" / "catalogues"


def _axe_script() -> str:
    found = os.environ.get("PSS_AXE") or next(
        iter(
            sorted(glob.glob(os.path.expanduser("~/.cache/pss/tools/axe-*/node_modules/axe-core/axe.min.js")))
        ),
        "",
    )
    if not found or not Path(found).is_file():
        pytest.fail("axe-core is missing: `make browser` installs it from npm (PSS_AXE names the file)")
    return found


def axe_violations(page: Page) -> list[str]:
    """axe-core, injected into the page as it is, on the WCAG 2 A and AA rules."""
    page.add_script_tag(path=_axe_script())
    return page.evaluate(  # type: ignore[no-any-return]
        """async () => (await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}))
            .violations.map(v => `${v.id}: ${v.help} (${v.nodes.map(n => n.target.join(' ')).join(', ')})`)"""
    )


def screenshot(page: Page, name: str) -> None:
    """For the README: PSS_SCREENSHOTS=docs/screenshots keeps each page as the worker saw it."""
    if folder := os.environ.get("PSS_SCREENSHOTS"):
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def english_shown(page: Page) -> list[str]:
    """The English phrases on a page meant to be in French: those that differ between the
    two catalogues and are long enough to be telling."""
    english = json.loads((CATALOGUES / "en.json").read_text())
    french = json.loads((CATALOGUES / "fr.json").read_text())
    telltales = [text for key, text in english.items() if text != french.get(key) and len(text) > 12]
    text = page.locator("body").inner_text()
    return [phrase for phrase in telltales if phrase in text]


def no_sideways_scroll(page: Page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")  # type: ignore[no-any-return]


def _phone(browser: Browser, locale: str) -> BrowserContext:
    context = browser.new_context(viewport=PHONE, locale=locale, timezone_id="America/Toronto")
    context.set_default_timeout(20_000)
    return context


@pytest.fixture
def phone(browser: Browser) -> Iterator[BrowserContext]:
    context = _phone(browser, "en-CA")
    yield context
    context.close()


@pytest.fixture
def phone_fr(browser: Browser) -> Iterator[BrowserContext]:
    context = _phone(browser, "fr-CA")
    yield context
    context.close()


def _cases(p: RunningPlatform, site_id: str) -> int:
    return int(p.sql("SELECT count(*) FROM intake.referral WHERE site_id = %s", site_id)[0][0])


def test_axe_finds_a_violation_where_there_is_one(running_platform: RunningPlatform, phone: BrowserContext):
    """The check itself works: an image with no text and a field with no label are found.
    (The platform first: Playwright's sync API holds an event loop the launcher cannot share.)"""
    page = phone.new_page()
    page.set_content('<html lang="en"><title>x</title><main><img src="x.png"><input></main></html>')
    found = " ".join(axe_violations(page))
    assert "image-alt" in found and "label" in found


def test_a_worker_asks_for_help_on_a_phone_and_follows_their_case(
    running_platform: RunningPlatform, site, phone: BrowserContext
):
    p = running_platform
    page = phone.new_page()
    page.goto(f"{frontend(p)}/help/{site.site_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Ask for peer support")
    assert axe_violations(page) == []
    assert no_sideways_scroll(page)

    # the crisis lines are hidden until "yes", then there at once (no script runs for it)
    crisis = page.locator("#crisis-help")
    expect(crisis).to_be_hidden()
    page.get_by_label("Yes", exact=True).check()
    expect(crisis).to_be_visible()
    expect(crisis.get_by_role("link", name="911")).to_be_visible()
    expect(crisis.get_by_role("link", name="988")).to_be_visible()
    screenshot(page, "worker-ask-crisis-390")
    page.get_by_label("No", exact=True).check()
    expect(crisis).to_be_hidden()

    before = _cases(p, site.site_id)
    page.get_by_label("What happened?").select_option(label="Unexpected patient death")
    page.get_by_label("Within hours").check()
    page.get_by_label("By phone").check()
    page.get_by_label("What should we call you?").fill("Robin")
    page.get_by_label("Phone", exact=True).fill("+1 555 0142")
    page.get_by_role("button", name="Ask for support").click()

    page.wait_for_url(f"{frontend(p)}/my-case?sent=yes")
    expect(page.get_by_role("status")).to_contain_text("Your request has been received")
    expect(page.locator("#case-status")).not_to_be_empty()
    screenshot(page, "worker-sent-390")
    link = page.locator(".key a").get_attribute("href")
    assert link and "/my-case/k/" in link
    assert axe_violations(page) == []
    assert no_sideways_scroll(page)
    assert _cases(p, site.site_id) == before + 1
    # a reload reads the page again: nothing is sent twice
    page.reload()
    assert _cases(p, site.site_id) == before + 1
    # nothing the worker typed is echoed on their own page either
    assert "Robin" not in page.content() and "0142" not in page.content()

    # later, on another browser, by the private link
    other = _phone(phone.browser, "en-CA")  # type: ignore[arg-type]
    try:
        later = other.new_page()
        later.goto(link)
        later.wait_for_url(f"{frontend(p)}/my-case")
        assert "/k/" not in later.url  # the key leaves the address bar
        later.get_by_role("button", name="Withdraw my request").click()
        later.wait_for_url(f"{frontend(p)}/my-case?done=withdraw")
        expect(later.locator("#case-status")).to_have_text("Withdrawn: nobody will call you")
        screenshot(later, "worker-case-withdrawn-390")
        expect(later.get_by_role("button", name="Withdraw my request")).to_have_count(0)
    finally:
        other.close()


def test_an_hr_matter_gets_the_kind_answer_and_no_case(running_platform: RunningPlatform, site, phone):
    p = running_platform
    page = phone.new_page()
    page.goto(f"{frontend(p)}/help/{site.site_id}")
    before = _cases(p, site.site_id)
    page.get_by_label("No", exact=True).check()
    page.get_by_label("What happened?").select_option(label="Performance")
    page.get_by_label("Within days").check()
    page.get_by_label("What should we call you?").fill("Robin")
    page.get_by_label("E-mail").fill("robin@example.org")
    page.get_by_role("button", name="Ask for support").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("This is handled elsewhere")
    expect(page.locator("main")).to_contain_text("Nothing has been recorded about you")
    assert axe_violations(page) == []
    assert _cases(p, site.site_id) == before
    expect(page.locator("#crisis-help")).to_have_count(0)
    # in danger, and choosing an HR matter: the danger is what is answered, with the crisis
    # lines and a case that pages at once
    page.goto(f"{frontend(p)}/help/{site.site_id}")
    page.get_by_label("Yes", exact=True).check()
    page.get_by_label("What happened?").select_option(label="Discipline")
    page.get_by_label("Within days").check()
    page.get_by_label("What should we call you?").fill("Robin")
    page.get_by_label("E-mail").fill("robin@example.org")
    page.get_by_role("button", name="Ask for support").click()
    page.wait_for_url(f"{frontend(p)}/my-case?sent=crisis&site={site.site_id}")
    expect(page.locator("#crisis-lines").get_by_role("link", name="988")).to_be_visible()
    assert _cases(p, site.site_id) == before + 1


def test_a_form_with_something_missing_says_what_in_the_workers_words(running_platform, site, phone):
    p = running_platform
    page = phone.new_page()
    page.goto(f"{frontend(p)}/help/{site.site_id}")
    page.get_by_role("button", name="Ask for support").click()
    problem = page.get_by_role("alert")
    expect(problem).to_contain_text("Please say whether anyone is in danger right now.")
    expect(problem).to_contain_text("Please give a phone number or an e-mail address.")
    assert axe_violations(page) == []


def test_the_workers_pages_in_french_show_no_english_and_pass_axe(running_platform, site, phone_fr):
    p = running_platform
    page = phone_fr.new_page()
    for path in (f"/help/{site.site_id}", f"/help/{site.site_id}/colleague", "/my-case"):
        page.goto(f"{frontend(p)}{path}")
        assert page.locator("html").get_attribute("lang") == "fr"
        assert english_shown(page) == [], path
        assert axe_violations(page) == [], path
        assert no_sideways_scroll(page), path
    page.goto(f"{frontend(p)}/help/{site.site_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Demander le soutien d'un pair")
    screenshot(page, "worker-ask-fr-390")


def test_a_worker_worried_about_a_colleague_asks_for_support_in_helping_them(
    running_platform: RunningPlatform, site, phone: BrowserContext
):
    p = running_platform
    page = phone.new_page()
    page.goto(f"{frontend(p)}/help/{site.site_id}")
    page.get_by_role("link", name="Worried about a colleague?").click()
    page.wait_for_url(f"{frontend(p)}/help/{site.site_id}/colleague")
    expect(page.get_by_role("heading", level=1)).to_have_text("Worried about a colleague?")
    # the crisis lines come first, with no question to answer before them
    expect(page.locator("#crisis-help").get_by_role("link", name="911")).to_be_visible()
    assert axe_violations(page) == [] and no_sideways_scroll(page)

    # a missing choice: said plainly, and nothing typed has to be typed again
    page.get_by_label("What should we call you?").fill("Robin")
    page.get_by_label("Phone", exact=True).fill("+1 555 0143")
    page.get_by_role("button", name="Ask for support in helping them").click()
    expect(page.locator("#problem")).to_contain_text("Please choose what happened.")
    expect(page.get_by_label("What should we call you?")).to_have_value("Robin")
    expect(page.get_by_label("Phone", exact=True)).to_have_value("+1 555 0143")

    before = _cases(p, site.site_id)
    page.get_by_label("What happened?").select_option(label="Unexpected patient death")
    page.get_by_label("Within days").check()
    page.get_by_role("button", name="Ask for support in helping them").click()
    page.wait_for_url(f"{frontend(p)}/my-case?sent=yes")
    expect(page.locator("#case-status")).not_to_be_empty()
    assert _cases(p, site.site_id) == before + 1
    # the case is the caller's, on the colleague path: nobody is sent to the colleague
    assert p.sql(
        "SELECT path FROM intake.referral WHERE site_id = %s ORDER BY submitted_at DESC LIMIT 1", site.site_id
    ) == [("colleague",)]
