"""A peer supporter's night in the browser: signed in, they find the page waiting for them
with its site, urgency and the time to answer by, and take the case with one button; an
answered page leaves the list, and the page passes axe-core at 390 px. The case they took is
then theirs to work on the same phone: how to reach the worker (read for a purpose, audited
once even when the page is reloaded), the call back, a meeting and its length, the close
with its outcome, after which it is listed as ended; to another supporter of the site the
same address is not found."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import httpx
import icalendar
import pytest
from playwright.sync_api import Browser, expect
from pss_testkit.testing import RunningPlatform, ref, self_referral, submit, wait_for

from tests.browser.conftest import frontend, sign_in
from tests.browser.test_worker import PHONE, axe_violations, english_shown, no_sideways_scroll, screenshot


@pytest.mark.usefixtures("unhurried_pages")
def test_a_supporter_signs_in_finds_their_page_and_takes_the_case(
    running_platform: RunningPlatform, site, browser: Browser
):
    p = running_platform
    referral_id = submit(p, self_referral(site, ref(site, "rn1")))
    wait_for(
        lambda: p.sql("SELECT recipient FROM oncall.page WHERE referral_id = %s AND step = 0", referral_id),
        what="the first page",
    )
    (primary,) = p.sql("SELECT recipient FROM oncall.page WHERE referral_id = %s AND step = 0", referral_id)[
        0
    ]
    context = browser.new_context(viewport=PHONE, locale="en-CA", timezone_id="America/Toronto")
    try:
        page = context.new_page()
        sign_in(page, p, p.supporter_account(site, primary))
        page.wait_for_url(f"{frontend(p)}/me")
        card = page.locator("#my-pages li").first
        expect(card).to_contain_text(f"Site: {site.site_id}")
        expect(card).to_contain_text("Within hours")
        expect(card).to_contain_text("Answer by")
        assert axe_violations(page) == []
        assert no_sideways_scroll(page)
        card.get_by_role("button", name="Take this case").click()
        page.wait_for_url(f"{frontend(p)}/me?done=take")
        expect(page.get_by_role("status")).to_contain_text("You have taken the case")
        expect(page.locator("#my-pages")).to_have_count(0)
        status = p.sql("SELECT status FROM oncall.page WHERE referral_id = %s AND step = 0", referral_id)
        assert status == [("acknowledged",)]
    finally:
        context.close()


@pytest.mark.usefixtures("unhurried_pages")
def test_a_supporter_works_their_case_from_the_call_back_to_the_close(
    running_platform: RunningPlatform, site, browser: Browser
):
    p = running_platform
    referral_id = submit(p, self_referral(site, ref(site, "rn2")))
    wait_for(
        lambda: p.sql("SELECT recipient FROM oncall.page WHERE referral_id = %s AND step = 0", referral_id),
        what="the first page",
    )
    ((primary,),) = p.sql(
        "SELECT recipient FROM oncall.page WHERE referral_id = %s AND step = 0", referral_id
    )
    context = browser.new_context(viewport=PHONE, locale="en-CA", timezone_id="America/Toronto")
    context.set_default_timeout(20_000)
    try:
        page = context.new_page()
        sign_in(page, p, p.supporter_account(site, primary))
        page.wait_for_url(f"{frontend(p)}/me")
        page.locator("#my-pages li").first.get_by_role("button", name="Take this case").click()
        page.wait_for_url(f"{frontend(p)}/me?done=take")

        def listed() -> bool:
            page.goto(f"{frontend(p)}/me")
            return page.locator("#my-cases li").count() > 0

        wait_for(listed, what="the taken case in the supporter's list")
        case = page.locator("#my-cases li").first
        expect(case).to_contain_text("Call the worker back")
        assert axe_violations(page) == [] and no_sideways_scroll(page)
        case.get_by_role("link").click()
        case_url = f"{frontend(p)}/me/cases/{referral_id}"
        page.wait_for_url(case_url)
        assert axe_violations(page) == [] and no_sideways_scroll(page)

        page.get_by_label("Purpose").select_option("call_back")
        page.get_by_role("button", name="Reveal the contact").click()
        page.wait_for_url(case_url)
        expect(page.locator("#contact")).to_contain_text("+1 555 0199")
        screenshot(page, "supporter-case-390")
        assert no_sideways_scroll(page)  # the access log is a list of cards at this width
        expect(page.locator("#access-log")).to_contain_text("Read the contact")
        page.reload()  # a GET: nothing is read again, and the contact is gone from the page
        expect(page.locator("#contact")).to_have_count(0)
        reads = p.sql(
            "SELECT actor_role, purpose FROM intake.personal_data_audit WHERE referral_id = %s", referral_id
        )
        assert reads == [("peer_supporter", "call_back")]

        page.get_by_role("button", name="Record the call back").click()
        page.wait_for_url(f"{case_url}?done=contacted")
        expect(page.locator("#case-status")).to_have_text("Called back")
        page.get_by_label("Meeting length in minutes (optional)").fill("45")
        page.get_by_role("button", name="Record a meeting").click()
        page.wait_for_url(f"{case_url}?done=encounters")
        page.get_by_text("Yes", exact=True).click()
        page.get_by_label("Outcome").select_option("referred_to_eap")
        page.get_by_role("button", name="Close the case").click()
        page.wait_for_url(f"{case_url}?done=close")
        expect(page.locator("#case-status")).to_have_text("Closed")
        page.goto(f"{frontend(p)}/me")
        expect(page.locator("#ended-cases")).to_contain_text("Closed")
        screenshot(page, "supporter-me-390")
        assert p.sql("SELECT status, outcome FROM intake.referral WHERE referral_id = %s", referral_id) == [
            ("closed", "referred_to_eap")
        ]
    finally:
        context.close()
    # the same address, for a supporter of the site who did not take the case: not found
    other = browser.new_context(viewport=PHONE, locale="en-CA")
    try:
        page = other.new_page()
        sign_in(page, p, p.supporter_account(site, site.backup if primary != site.backup else site.primary))
        answer = page.goto(case_url)
        assert answer is not None and answer.status == 404
        expect(page.locator("body")).not_to_contain_text("Alex Example")
        expect(page.locator("body")).not_to_contain_text("Referred to the EAP")
    finally:
        other.close()


@pytest.mark.usefixtures("unhurried_pages")
def test_a_supporter_steps_away_sets_how_pages_reach_them_reads_their_training_and_answers_a_debrief(
    running_platform: RunningPlatform, site, browser: Browser
):
    p = running_platform
    # a case taken and closed leaves a debrief offered to its supporter
    referral_id = submit(p, self_referral(site, ref(site, "rn2")))
    page_event = wait_for(
        lambda: p.sql(
            "SELECT page_id, recipient FROM oncall.page WHERE referral_id = %s AND step = 0", referral_id
        ),
        what="the first page",
    )
    ((page_id, supporter),) = page_event
    context = browser.new_context(viewport=PHONE, locale="en-CA", timezone_id="America/Toronto")
    context.set_default_timeout(20_000)
    try:
        page = context.new_page()
        sign_in(page, p, p.supporter_account(site, supporter))
        page.wait_for_url(f"{frontend(p)}/me")
        expect(page.locator(".brand")).to_have_text("Peer support: my cases")  # not "site coordination"
        page.locator("#my-pages li").first.get_by_role("button", name="Take this case").click()
        page.wait_for_url(f"{frontend(p)}/me?done=take")
        # the case is closed after a meeting: a debrief is offered to whoever took it
        with p.supporter(supporter) as client:
            case = f"{p.url('intake')}/referrals/{referral_id}"
            wait_for(lambda: client.get(case).status_code == 200, what="intake to assign the case")
            assert client.post(f"{case}/contacted").status_code == 200
            closing = {"contact_made": True, "outcome": "one_time_support"}
            assert client.post(f"{case}/close", json=closing).status_code == 200
        page.get_by_role("link", name="My settings").click()
        page.wait_for_url(f"{frontend(p)}/me/settings")

        # training: current, each course in words, with its expiry
        expect(page.locator("#standing-state")).to_contain_text("Your training is current")
        expect(page.locator("#certifications")).to_contain_text("Basic peer support training")

        # a debrief offered after the page was taken: answered with one tap, once
        prompts = page.locator("#prompts li")
        wait_for(lambda: (page.reload() or True) and prompts.count() > 0, what="the debrief offer")
        prompts.first.get_by_role("button", name="I had a debrief").click()
        page.wait_for_url(f"{frontend(p)}/me/settings?done=debriefed")
        expect(page.locator(".notice")).to_contain_text("your debrief is recorded")
        assert p.sql(
            "SELECT outcome FROM training.debrief_prompt WHERE staff_ref = %s AND answered_at IS NOT NULL",
            supporter,
        ) == [("debriefed",)]

        # a slip of the thumb: said plainly, and the form keeps what was typed
        page.get_by_label("Address").first.fill("amira.example.org")
        page.get_by_role("button", name="Save how pages reach me").click()
        expect(page.locator("#problem")).to_contain_text("Way 1: this is not an address that can be used")
        expect(page.get_by_label("Address").first).to_have_value("amira.example.org")
        page.get_by_label("Address").first.fill("amira@example.org")
        page.get_by_role("button", name="Save how pages reach me").click()
        page.wait_for_url(f"{frontend(p)}/me/settings?done=routes")
        expect(page.get_by_label("Address").first).to_have_value("amira@example.org")
        assert p.sql("SELECT channel FROM oncall.contact_route WHERE staff_ref = %s", supporter) == [
            ("email",)
        ]

        # stepping away needs no reason; matching stops offering cases, and coming back is one tap
        page.get_by_role("button", name="Step away for now").click()
        page.wait_for_url(f"{frontend(p)}/me/settings?done=away")
        expect(page.locator("#availability-state")).to_contain_text("You have stepped away")
        wait_for(
            lambda: (
                p.sql("SELECT self_paused FROM matching.supporter WHERE staff_ref = %s", supporter)
                == [(True,)]
            ),
            what="matching to learn of the step away",
        )
        screenshot(page, "supporter-settings-390")
        assert no_sideways_scroll(page)
        assert axe_violations(page) == []
        page.get_by_role("button", name="I am back: offer me cases").click()
        page.wait_for_url(f"{frontend(p)}/me/settings?done=back")
        expect(page.locator("#availability-state")).to_contain_text("You are taking new cases")
        # the same page in French: no English left, course names included
        page.goto(f"{frontend(p)}/language/fr?next=/me/settings")
        page.wait_for_url(f"{frontend(p)}/me/settings")
        expect(page.locator("#standing")).to_contain_text("Formation de base au soutien par les pairs")
        assert english_shown(page) == []
        assert axe_violations(page) == []
    finally:
        context.close()
    assert page_id is not None


def test_a_supporter_puts_their_shifts_in_their_calendar_app_and_can_stop_the_address(
    running_platform: RunningPlatform, site, browser: Browser
):
    p = running_platform
    supporter = ref(site, "sup2")
    today = datetime.now(UTC).date()
    schedule = {
        "time_zone": "America/Toronto",
        "rotations": [
            {
                "layer": "backup",
                "members": [supporter],
                "starts_local": f"{today}T08:00:00",
                "every": "weekly",
            }
        ],
    }
    with p.coordinator(site) as coordinator:
        answer = coordinator.put(f"{p.url('oncall')}/sites/{site.site_id}/schedule", json=schedule)
        assert answer.status_code == 204, answer.text
    context = browser.new_context(viewport=PHONE, locale="en-CA", timezone_id="America/Toronto")
    context.set_default_timeout(20_000)
    try:
        page = context.new_page()
        sign_in(page, p, p.supporter_account(site, supporter), "/me/settings")
        page.wait_for_url(f"{frontend(p)}/me/settings")
        page.get_by_role("button", name="Make a calendar address").click()
        page.wait_for_url(f"{frontend(p)}/me/settings?done=calendar#calendar")
        address = page.get_by_label("Calendar address (private)").input_value()
        expect(page.get_by_role("link", name="Subscribe in my calendar app")).to_have_attribute(
            "href", re.compile(r"^webcal://")
        )
        screenshot(page, "supporter-calendar-390")
        assert axe_violations(page) == [] and no_sideways_scroll(page)
        # what a calendar app reads: the supporter's own weekly backup shifts
        calendar = icalendar.Calendar.from_ical(httpx.get(address, timeout=30).text)
        summaries = {str(e.get("SUMMARY")) for e in calendar.walk("VEVENT")}
        assert summaries == {f"On call (backup), site {site.site_id}"}
        # shown once: a reload does not show it again
        page.reload()
        expect(page.get_by_label("Calendar address (private)")).to_have_count(0)
        page.get_by_role("button", name="Stop my calendar address").click()
        page.wait_for_url(f"{frontend(p)}/me/settings?done=calendar_stopped#calendar")
        expect(page.locator(".notice")).to_contain_text("Your calendar address no longer works.")
        assert httpx.get(address, timeout=30).status_code == 404
    finally:
        context.close()
