"""A peer supporter's night in the browser: signed in, they find the page waiting for them
with its site, urgency and the time to answer by, and take the case with one button; an
answered page leaves the list, and the page passes axe-core at 390 px."""

from __future__ import annotations

from playwright.sync_api import Browser, expect
from pss_testkit.testing import RunningPlatform, ref, self_referral, submit, wait_for

from tests.browser.conftest import frontend, sign_in
from tests.browser.test_worker import PHONE, axe_violations, no_sideways_scroll


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
