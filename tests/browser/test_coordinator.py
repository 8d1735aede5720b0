"""A site coordinator's day in the browser: sign in, a referral arrives, open it, reveal
the worker's contact (and find the audit row), override the match, find the gap in the
on-call schedule, read it all in French."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import Browser, Page, expect
from pss_testkit.testing import RunningPlatform, ref, self_referral, submit, wait_for

from tests.browser.conftest import frontend, sign_in
from tests.browser.test_worker import PHONE, axe_violations, no_sideways_scroll, screenshot


def _reload_until(page: Page, selector: str, timeout: float = 30) -> None:
    def present() -> bool:
        page.reload()
        return page.locator(selector).count() > 0

    wait_for(present, timeout=timeout, interval=0.5, what=selector)


def test_a_coordinator_signs_in_sees_a_referral_arrive_reveals_overrides_and_reads_the_schedule(
    running_platform: RunningPlatform, site, page: Page
):
    p = running_platform
    username = p.coordinator_account(site)
    sign_in(page, p, username)

    # one site in the sign-in: straight to its queue
    expect(page).to_have_url(f"{frontend(p)}/sites/{site.site_id}/queue")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Open referrals at {site.site_id}")
    expect(page.locator("#queue-rows")).to_contain_text("No open referrals.")

    # a referral arrives while the page is open: the list refreshes itself
    worker = ref(site, "rn1")
    name = f"Sam {uuid.uuid4().hex[:6]} Rivera"
    body = self_referral(site, worker)
    body["worker"] = {**body["worker"], "name": name}
    referral_id = submit(p, body)
    row = page.locator(f'tr[data-referral="{referral_id}"]')
    expect(row).to_be_visible(timeout=30_000)
    expect(row).to_contain_text("Unexpected patient death")
    expect(row).to_contain_text("Within hours")
    expect(page.locator("#arrivals")).to_contain_text(f"New referral: {str(referral_id)[:8]}")
    # the clocks count down from the page oncall sent
    expect(row.locator("td.clock-running").first).to_contain_text(re.compile(r"\d+ min left"), timeout=30_000)

    # open it: the match with its explanation, and the page history
    row.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Case {str(referral_id)[:8]}")
    _reload_until(page, "#candidates")
    first = page.locator("#candidates tbody tr").first
    expect(first).to_contain_text(site.primary or "")
    # by their work name, as the directory gives it, beside the reference
    primary_name = next(person.name for person in site.people if person.ref == site.primary)
    assert primary_name
    expect(first).to_contain_text(primary_name)
    _reload_until(page, "#pages")
    expect(page.locator("#pages")).to_contain_text(site.primary or "")
    # the worker's name is nowhere on the page before it is asked for
    assert name not in page.content()

    # reveal: shown once, and intake recorded who read it and why
    page.get_by_label("Purpose").select_option("call_back")
    page.get_by_role("button", name="Reveal the contact").click()
    expect(page.locator("#contact")).to_contain_text(name)
    expect(page.locator("#contact")).to_contain_text("+1 555 0199")
    expect(page.locator("#access-log")).to_contain_text(username)
    expect(page.locator("#access-log")).to_contain_text("Call the worker back")
    assert p.sql(
        "SELECT actor, actor_role, action, purpose FROM intake.personal_data_audit WHERE referral_id = %s",
        referral_id,
    ) == [(username, "site_coordinator", "read_contact", "call_back")]
    # the contact is in that one answer only: the case page shows it no more
    page.goto(f"{frontend(p)}/sites/{site.site_id}/cases/{referral_id}")
    expect(page.locator("#contact")).to_have_count(0)
    assert name not in page.content()

    # override the match: matching records who chose whom and why, oncall pages them
    chosen = ref(site, "sup3")
    page.get_by_label("Supporter (eligible now, best first)").select_option(chosen)
    page.get_by_label("Reason").select_option("continuity")
    page.get_by_role("button", name="Assign and page them").click()
    expect(page.locator(".notice")).to_contain_text(f"{chosen} is assigned and being paged.")
    expect(page.locator("#overrides")).to_contain_text(chosen)
    assert p.sql(
        "SELECT supporter, reason, decided_by FROM matching.override WHERE referral_id = %s", referral_id
    ) == [(chosen, "continuity", username)]
    wait_for(
        lambda: p.sql(
            "SELECT 1 FROM oncall.page WHERE referral_id = %s AND recipient = %s", referral_id, chosen
        ),
        what="oncall to page the chosen supporter",
    )
    page.reload()
    expect(page.locator("#pages")).to_contain_text(chosen)

    # the schedule: nights have no backup, and the page says so
    zone = ZoneInfo("America/Toronto")
    today = datetime.now(zone).replace(tzinfo=None, hour=8, minute=0, second=0, microsecond=0)
    schedule = {
        "time_zone": "America/Toronto",
        "rotations": [
            {
                "layer": "primary",
                "members": [site.primary, ref(site, "sup3")],
                "starts_local": (today - timedelta(days=1)).isoformat(),
                "every": "daily",
            },
            {
                "layer": "backup",
                "members": [site.backup],
                "starts_local": (today - timedelta(days=1)).isoformat(),
                "every": "daily",
                "restriction": {"starts": "08:00", "ends": "20:00"},
            },
        ],
    }
    with p.coordinator(site) as api:
        answer = api.put(f"{p.url('oncall')}/sites/{site.site_id}/schedule", json=schedule)
        assert answer.status_code == 204, answer.text
    page.get_by_role("link", name="On-call schedule").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"On-call schedule of {site.site_id}")
    gaps = page.locator("#gaps li")
    night_gap = gaps.filter(has_text=re.compile(r"Gap \(Backup\): nobody from \S+ 20:00 to \S+ 08:00"))
    expect(night_gap.first).to_be_visible()
    assert gaps.count() >= 6  # every night of the week
    expect(page.locator("#calendar tr.has-gap").first).to_contain_text("nobody on duty")

    # add an override from the page: it is in force, and listed
    night = (today + timedelta(days=1)).replace(hour=20)
    page.get_by_label("Layer", exact=True).first.select_option("backup")
    page.get_by_label("Supporter (staff reference)").fill(ref(site, "sup3"))
    page.get_by_label("From (local time)").fill(night.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("To (local time)").fill((night + timedelta(hours=12)).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Add the override").click()
    expect(page.locator(".notice")).to_contain_text("The override is in force.")
    expect(page.locator("#overrides")).to_contain_text(ref(site, "sup3"))
    assert gaps.count() >= 5

    # French, and it stays French from page to page
    page.get_by_role("link", name="Français").click()
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Horaire de garde de {site.site_id}")
    expect(page.locator("#gaps li").first).to_contain_text("Trou (Relève) : personne de")
    page.get_by_role("link", name="Demandes").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Demandes ouvertes à {site.site_id}")
    expect(page.locator(f'tr[data-referral="{referral_id}"]')).to_contain_text("Décès inattendu d'un patient")


def test_the_queue_and_a_reveal_work_with_the_keyboard_alone(
    running_platform: RunningPlatform, site, page: Page
):
    p = running_platform
    referral_id = submit(p, self_referral(site, ref(site, "rn2")))
    sign_in(page, p, p.coordinator_account(site))
    link = page.locator(f'tr[data-referral="{referral_id}"] a')
    expect(link).to_be_visible()

    def tab_to(locator) -> None:  # type: ignore[no-untyped-def]
        for _ in range(60):
            page.keyboard.press("Tab")
            if locator.evaluate("node => node === document.activeElement"):
                return
        raise AssertionError(f"Tab never reached {locator}")

    # the first Tab reaches the skip link, which leads past the navigation
    page.keyboard.press("Tab")
    expect(page.locator("a.skip")).to_be_focused()
    tab_to(link)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text(str(referral_id)[:8])
    tab_to(page.get_by_label("Purpose"))
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Reveal the contact")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#contact")).to_contain_text("Alex Example")


def test_when_the_session_ends_the_queue_says_so_at_once_and_offers_to_sign_in(
    running_platform: RunningPlatform, site, page: Page
):
    p = running_platform
    sign_in(page, p, p.coordinator_account(site))
    page.wait_for_url(f"{frontend(p)}/sites/{site.site_id}/queue")
    expect(page.locator("#session-ended")).to_be_hidden()
    # the session ends (the night is over, or an hour passed with nothing done): the queue's
    # next refresh is sent to sign in, and the page says so instead of going quietly stale
    page.context.clear_cookies()
    ended = page.get_by_role("alert")
    expect(ended).to_contain_text("Your session has ended")
    expect(ended.get_by_role("link", name="Sign in again")).to_be_focused()
    assert axe_violations(page) == []


def test_on_a_phone_the_queue_puts_a_crisis_first_in_its_own_colour_counts_it_and_names_who_is_paged(
    running_platform: RunningPlatform, site, browser: Browser
):
    p = running_platform
    calm = submit(p, self_referral(site, ref(site, "rn2")))
    crisis = submit(p, self_referral(site, ref(site, "rn1"), imminent_risk=True))
    context = browser.new_context(viewport=PHONE, locale="en-CA", timezone_id="America/Toronto")
    context.set_default_timeout(20_000)
    try:
        page = context.new_page()
        sign_in(page, p, p.coordinator_account(site))
        page.wait_for_url(f"{frontend(p)}/sites/{site.site_id}/queue")
        row = page.locator(f'tr[data-referral="{crisis}"]')
        expect(row).to_be_visible(timeout=30_000)  # a crisis row was once hidden by the form's style
        expect(page.locator(f'tr[data-referral="{calm}"]')).to_be_visible()
        # first, in its own words and colour, and counted above the list
        expect(page.locator("#queue-rows tr[data-referral]").first).to_have_attribute(
            "data-referral", str(crisis)
        )
        expect(row.locator(".flag-crisis")).to_have_text("Crisis")
        colour = row.evaluate("node => getComputedStyle(node).backgroundColor")
        calm_colour = page.locator(f'tr[data-referral="{calm}"]').evaluate(
            "node => getComputedStyle(node).backgroundColor"
        )
        assert colour != calm_colour
        expect(page.locator("#queue-counts")).to_contain_text("1 crisis")
        # who is paged, by their work name, and since when in the site's time
        ((recipient,),) = wait_for(
            lambda: p.sql("SELECT recipient FROM oncall.page WHERE referral_id = %s AND step = 0", crisis),
            what="the crisis page",
        )
        named = {
            ref(site, "sup1"): "Amira K.",
            ref(site, "sup2"): "Jean-Luc B.",
            ref(site, "psy"): "Dr. Chen",
        }
        expect(row).to_contain_text(
            re.compile(rf"{re.escape(named.get(recipient, recipient))} \(.+\) since \d\d:\d\d")
        )
        # a list of cards at 390 px: nothing scrolls sideways, and axe finds nothing
        screenshot(page, "coordinator-queue-390")
        assert no_sideways_scroll(page)
        assert axe_violations(page) == []
    finally:
        context.close()


def test_on_a_phone_every_link_and_button_of_the_header_is_44_px_high(
    running_platform: RunningPlatform, site, browser: Browser
):
    p = running_platform
    context = browser.new_context(viewport=PHONE, locale="en-CA")
    try:
        page = context.new_page()
        sign_in(page, p, p.coordinator_account(site))
        page.wait_for_url(f"{frontend(p)}/sites/{site.site_id}/queue")
        heights = page.eval_on_selector_all(
            ".top a, .top button",
            "nodes => nodes.map(n => [n.textContent.trim(), n.getBoundingClientRect().height])",
        )
        assert heights and all(h >= 44 for _, h in heights), heights
    finally:
        context.close()
