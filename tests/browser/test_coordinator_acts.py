"""A coordinator acts on a case in the browser, with nothing but the page: a referral whose
worker the directory does not know pages the coordinator at once; they take their own page,
record the call back and a meeting, close the case with its outcome; every action redirects
(a reload sends nothing again) and an ended case offers no action."""

from __future__ import annotations

import uuid

from playwright.sync_api import Page, expect
from pss_testkit.testing import RunningPlatform, submit, wait_for

from tests.browser.conftest import frontend, sign_in
from tests.browser.test_worker import axe_violations


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

    # the closed case is in the site's history: by the start of its id, its month, its outcome
    ((ended_at,),) = p.sql("SELECT ended_at FROM intake.referral WHERE referral_id = %s", referral_id)
    page.get_by_role("link", name="History").click()
    page.get_by_label("Case number (its first characters)").fill(str(referral_id)[:6])
    page.get_by_label("Ended in (month)").fill(ended_at.strftime("%Y-%m"))
    page.get_by_label("Outcome").select_option(label="Follow-up planned")
    page.get_by_role("button", name="Search").click()
    found = page.locator("#history tbody tr")
    expect(found).to_have_count(1)
    expect(found).to_contain_text("Follow-up planned")
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
