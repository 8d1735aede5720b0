"""A coordinator acts on a case in the browser, with nothing but the page: a referral whose
worker the directory does not know pages the coordinator at once; they take their own page,
record the call back and a meeting, close the case with its outcome; every action redirects
(a reload sends nothing again) and an ended case offers no action. A manager suggests support
for a worker, who is asked privately."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect
from pss_testkit.testing import RunningPlatform, ref, submit, wait_for

from tests.browser.conftest import frontend, sign_in
from tests.browser.test_worker import PHONE, axe_violations, no_sideways_scroll, screenshot


@pytest.mark.usefixtures("unhurried_pages")
def test_a_coordinator_takes_their_own_page_records_the_case_and_closes_it(
    running_platform: RunningPlatform, site, page: Page
):
    p = running_platform
    body = {
        "site_id": site.site_id,
        "reason": {"category": "critical_incident", "kind": "unexpected_patient_death"},
        "urgency": "within_hours",
        "worker": {"name": "Alex Example", "phone": "+1 555 0199"},  # in no directory
    }
    referral_id = submit(p, body)
    wait_for(
        lambda: p.sql(
            "SELECT 1 FROM oncall.page WHERE referral_id = %s AND recipient = %s",
            referral_id,
            site.coordinator,
        ),
        what="the coordinator's page",
    )
    sign_in(page, p, p.coordinator_account(site), f"/sites/{site.site_id}/cases/{referral_id}")
    case_url = f"{frontend(p)}/sites/{site.site_id}/cases/{referral_id}"
    expect(page.locator(".actions")).to_contain_text("You are paged for this case.")
    assert axe_violations(page) == []

    page.get_by_role("button", name="Take this case").click()
    page.wait_for_url(f"{case_url}?done=take")
    expect(page.get_by_role("status")).to_have_text("You have taken this case.")
    expect(page.get_by_role("button", name="Take this case")).to_have_count(0)

    page.get_by_role("button", name="Record the call back").click()
    page.wait_for_url(f"{case_url}?done=contacted")
    expect(page.locator("#case-status")).to_have_text("Called back")

    page.get_by_label("Meeting length in minutes (optional)").fill("45")
    page.get_by_role("button", name="Record a meeting").click()
    page.wait_for_url(f"{case_url}?done=encounters")
    page.reload()  # a GET: the meeting is not recorded twice
    assert p.sql("SELECT encounters FROM intake.referral WHERE referral_id = %s", referral_id) == [(1,)]

    page.get_by_label("Yes", exact=True).check()
    page.get_by_label("Outcome").select_option(label="Follow-up planned")
    page.get_by_role("button", name="Close the case").click()
    page.wait_for_url(f"{case_url}?done=close")
    expect(page.locator("#case-status")).to_have_text("Closed")
    expect(page.locator(".actions")).to_contain_text("This case has ended")
    expect(page.get_by_role("button", name="Close the case")).to_have_count(0)
    assert axe_violations(page) == []
    assert p.sql("SELECT status FROM intake.referral WHERE referral_id = %s", referral_id) == [("closed",)]

    # the closed case is in the site's history: by the start of its id, its month, its outcome,
    # in the site's own time: this site now keeps Vancouver's, not the authority's Toronto time
    vancouver = {
        "time_zone": "America/Vancouver",
        "rotations": [
            {"layer": "primary", "members": [ref(site, "sup1")], "starts_local": "2026-01-01T08:00:00"}
        ],
    }
    with p.coordinator(site) as coordinator:
        answer = coordinator.put(f"{p.url('oncall')}/sites/{site.site_id}/schedule", json=vancouver)
        assert answer.status_code == 204, answer.text
    ((ended_at,),) = p.sql("SELECT ended_at FROM intake.referral WHERE referral_id = %s", referral_id)
    page.get_by_role("link", name="History").click()
    page.get_by_label("Case number (its first characters)").fill(str(referral_id)[:6])
    page.get_by_label("Ended in (month)").fill(ended_at.strftime("%Y-%m"))
    page.get_by_label("Outcome").select_option(label="Follow-up planned")
    page.get_by_role("button", name="Search").click()
    found = page.locator("#history tbody tr")
    expect(found).to_have_count(1)
    expect(found).to_contain_text("Follow-up planned")
    expect(found).to_contain_text(re.compile(r"\d\d:\d\d P[SD]T"))
    assert axe_violations(page) == []
    page.goto(f"{frontend(p)}/sites/{site.site_id}/history?case={str(referral_id)[:6]}&month=9999-12")
    expect(page.locator("#history")).to_have_count(0)  # nothing ended then
    page.goto(f"{frontend(p)}/sites/{site.site_id}/history?case=zz%27--&month=0000-13")
    # what was typed wrong is said, in words a person can act on, and nothing is searched
    expect(page.get_by_role("alert")).to_contain_text("A case number is made of")
    expect(page.get_by_role("alert")).to_contain_text("for example 2026-11")


def test_an_action_without_the_sessions_form_token_is_refused(running_platform, site, page: Page):
    p = running_platform
    sign_in(page, p, p.coordinator_account(site), f"/sites/{site.site_id}/queue")
    answer = page.request.post(
        f"{frontend(p)}/sites/{site.site_id}/cases/{uuid.uuid4()}/steps",
        form={"form_token": "forged", "step": "withdraw"},
    )
    assert answer.status == 403


def test_a_manager_suggests_support_for_a_worker_who_is_asked_privately(running_platform, site, browser):
    p = running_platform
    context = browser.new_context(viewport=PHONE, locale="en-CA", timezone_id="America/Toronto")
    context.set_default_timeout(20_000)
    email = f"rn2-{uuid.uuid4().hex[:6]}@example.org"
    try:
        page = context.new_page()
        sign_in(page, p, p.manager_account(site, ref(site, "mgr")))
        page.wait_for_url(f"{frontend(p)}/refer")  # a manager lands where they can act
        expect(page.get_by_role("heading", level=1)).to_have_text("Suggest peer support for a worker")
        assert axe_violations(page) == [] and no_sideways_scroll(page)
        page.get_by_label("Their name").fill("Jordan")
        page.get_by_role("button", name="Suggest support").click()
        # what is missing is said; what was typed stays
        expect(page.locator("#problem")).to_contain_text("Please give the worker's e-mail address")
        expect(page.get_by_label("Their name")).to_have_value("Jordan")
        page.get_by_label("Their e-mail").fill(email)
        page.get_by_label("Their staff ID (optional)").fill(ref(site, "rn2"))
        page.get_by_label("What happened?").select_option(label="Unexpected patient death")
        page.get_by_label("Within days").check()
        page.get_by_role("button", name="Suggest support").click()
        page.wait_for_url(re.compile(r"/refer\?done=offered"))
        expect(page.locator("#done")).to_contain_text("we will not tell you their answer")
        screenshot(page, "manager-refer-390")
        # the worker is asked privately; the case waits for their answer
        wait_for(lambda: p.mailbox.to(email), what="the private offer to the worker")
        offered = "SELECT path, status FROM intake.referral WHERE site_id = %s AND path = 'manager'"
        assert ("manager", "offered") in p.sql(offered, site.site_id)
        assert "Jordan" not in page.content()  # the page after the POST does not echo it
    finally:
        context.close()


def test_eap_staff_refer_a_worker_who_consented_of_any_site_and_every_control_is_44_px(
    running_platform, site, browser
):
    p = running_platform
    context = browser.new_context(viewport=PHONE, locale="en-CA", timezone_id="America/Toronto")
    context.set_default_timeout(20_000)
    try:
        page = context.new_page()
        sign_in(page, p, p.eap_account())
        page.wait_for_url(f"{frontend(p)}/refer")
        expect(page.get_by_role("heading", level=1)).to_have_text("Refer a worker to peer support")
        heights = page.eval_on_selector_all(
            "main button, main select, main input:not([type=hidden]):not([type=radio]):not([type=checkbox]),"
            " main .choice",
            "nodes => nodes.map(n => [n.id || n.textContent.trim(), n.getBoundingClientRect().height])",
        )
        assert heights and all(h >= 44 for _, h in heights), heights
        assert axe_violations(page) == [] and no_sideways_scroll(page)
        page.get_by_label("Their site").select_option(site.site_id)
        page.get_by_label("Their name").fill("Casey")
        page.get_by_label("Their phone (optional)").fill("+1 555 0177")
        page.get_by_label("What happened?").select_option(label="Unexpected patient death")
        page.get_by_label("Within days").check()
        page.get_by_role("button", name="Refer the worker").click()
        # without the worker's consent nobody is referred
        expect(page.locator("#problem")).to_contain_text("only with their consent")
        expect(page.get_by_label("Their name")).to_have_value("Casey")
        page.get_by_label("How they consented").select_option("verbal")
        page.get_by_label("The worker consented, just now, to be contacted by a peer supporter").check()
        page.get_by_role("button", name="Refer the worker").click()
        page.wait_for_url(re.compile(r"/refer\?done=received"))
        expect(page.locator("#done")).to_contain_text("A trained peer supporter will contact the worker")
        found = "SELECT path, status FROM intake.referral WHERE site_id = %s AND path = 'eap'"
        assert [row[0] for row in p.sql(found, site.site_id)] == ["eap"]
    finally:
        context.close()
