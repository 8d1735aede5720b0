"""A coordinator of site A reaches nothing of site B: no page, no data, no action, by a
link typed in or by a form posted by hand. The front-end refuses first; the services,
which get the user's own token, would refuse anyway."""

from __future__ import annotations

import uuid

from playwright.sync_api import Page
from pss_dev.seed import sample_site
from pss_testkit.testing import RunningPlatform, ref, seed_and_wait, self_referral, submit, wait_for

from tests.browser.conftest import frontend, sign_in


def test_a_coordinator_of_one_site_cannot_reach_another_sites_pages_data_or_forms(
    running_platform: RunningPlatform, site, page: Page
):
    p = running_platform
    suffix = uuid.uuid4().hex[:6]
    other = seed_and_wait(p, sample_site(f"t-{suffix}", f"Other hospital {suffix}", suffix))
    theirs = submit(p, self_referral(other, ref(other, "rn1")))
    ours = submit(p, self_referral(site, ref(site, "rn1")))
    wait_for(
        lambda: p.sql("SELECT 1 FROM matching.proposal WHERE referral_id = %s", theirs),
        what="matching to decide the other site's referral",
    )
    sign_in(page, p, p.coordinator_account(site))
    base = frontend(p)
    http = page.context.request  # the signed-in browser's own cookies

    # by link: every page of the other site, and its case under either site's address
    for path in (
        f"/sites/{other.site_id}/queue",
        f"/sites/{other.site_id}/queue/rows",
        f"/sites/{other.site_id}/cases/{theirs}",
        f"/sites/{site.site_id}/cases/{theirs}",
        f"/sites/{other.site_id}/roster",
        f"/sites/{other.site_id}/schedule",
        f"/sites/{other.site_id}/metrics",
        f"/sites/{other.site_id}/metrics.csv?period=2026-01",
    ):
        answer = http.get(f"{base}{path}", max_redirects=0)
        assert answer.status == 404, (path, answer.status)
        # what the page says (its links only repeat the address that was typed)
        text = answer.text().split('<main id="main"', 1)[-1]
        assert "Not found for the sites you act for." in text, path
        assert str(theirs)[:8] not in text and other.site_id not in text, path

    # in the browser, the same: a page saying so, and nothing of the case
    page.goto(f"{base}/sites/{site.site_id}/cases/{theirs}")
    assert "Not found for the sites you act for." in page.content()

    # by form: the session's own form token, aimed at the other site's case
    page.goto(f"{base}/sites/{site.site_id}/cases/{ours}")
    token = page.locator("input[name=form_token]").first.get_attribute("value")
    assert token
    for path, form in (
        (f"/sites/{site.site_id}/cases/{theirs}/reveal", {"purpose": "call_back"}),
        (f"/sites/{other.site_id}/cases/{theirs}/reveal", {"purpose": "call_back"}),
        (
            f"/sites/{site.site_id}/cases/{theirs}/override",
            {"supporter": ref(other, "sup3"), "reason": "continuity"},
        ),
        (
            f"/sites/{other.site_id}/schedule/overrides",
            {
                "layer": "backup",
                "supporter": ref(other, "sup3"),
                "starts": "2026-12-01T20:00",
                "ends": "2026-12-02T08:00",
            },
        ),
    ):
        answer = http.post(f"{base}{path}", form={"form_token": token, **form}, max_redirects=0)
        assert answer.status == 404, (path, answer.status)
    assert p.sql("SELECT 1 FROM intake.personal_data_audit WHERE referral_id = %s", theirs) == []
    assert p.sql("SELECT 1 FROM matching.override WHERE referral_id = %s", theirs) == []
    assert p.sql("SELECT 1 FROM oncall.duty_override WHERE site_id = %s", other.site_id) == []

    # a form without this session's token is refused, even on the coordinator's own site
    answer = http.post(
        f"{base}/sites/{site.site_id}/cases/{ours}/reveal",
        form={"form_token": "forged", "purpose": "call_back"},
        max_redirects=0,
    )
    assert answer.status == 403
    assert p.sql("SELECT 1 FROM intake.personal_data_audit WHERE referral_id = %s", ours) == []

    # and the services themselves refuse the user's token for the other site
    session_token = p.issuer.token("x", ["site_coordinator"], [site.site_id], staff_ref=site.coordinator)
    with p.client(session_token) as api:
        assert api.get(f"{p.url('intake')}/referrals/{theirs}/contact").status_code == 404
        assert api.get(f"{p.url('oncall')}/sites/{other.site_id}/episodes").status_code == 404
        assert api.get(f"{p.url('matching')}/sites/{other.site_id}/supporters").status_code == 404


def test_signed_out_visitors_are_sent_to_sign_in_and_the_provider_checks_the_return_address(
    running_platform: RunningPlatform, site, page: Page
):
    p = running_platform
    answer = page.context.request.get(f"{frontend(p)}/sites/{site.site_id}/queue", max_redirects=0)
    assert answer.status == 303 and answer.headers["location"].startswith("/signin")
    # a callback with a state the browser did not start is refused
    page.goto(f"{frontend(p)}/signin/callback?code=x&state=y")
    assert "Sign-in did not complete" in page.content()
    # after signing in, the user lands where they were going
    sign_in(page, p, p.coordinator_account(site), f"/sites/{site.site_id}/roster")
    assert page.url == f"{frontend(p)}/sites/{site.site_id}/roster"
    assert page.locator(f'tr[data-supporter="{site.primary}"]').count() == 1
    # signing out ends the session: the queue asks for sign-in again
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{frontend(p)}/signed-out")
    answer = page.context.request.get(f"{frontend(p)}/sites/{site.site_id}/queue", max_redirects=0)
    assert answer.status == 303


def test_an_admin_sees_a_case_only_under_its_own_sites_address(
    running_platform: RunningPlatform, site, browser
):
    """The services let an authority admin read every site, so only the front-end's own
    check keeps one site's case from being shown under another site's address."""
    from pss_dev.local.identity import Account, add_account

    p = running_platform
    referral_id = submit(p, self_referral(site, ref(site, "rn1")))
    add_account(p.platform.accounts_file, Account("admin@test", "Administrator", ["authority_admin"], []))
    context = browser.new_context()
    try:
        page = context.new_page()
        sign_in(page, p, "admin@test")
        elsewhere = context.request.get(f"{frontend(p)}/sites/not-{site.site_id}/cases/{referral_id}")
        own = context.request.get(f"{frontend(p)}/sites/{site.site_id}/cases/{referral_id}")
        assert elsewhere.status == 404 and str(referral_id)[:8] not in elsewhere.text().split("<main", 1)[-1]
        assert own.status == 200 and str(referral_id)[:8] in own.text()
    finally:
        context.close()
