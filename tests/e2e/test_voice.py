"""A page by phone call on the running platform, through the local gateway that speaks and
signs as Twilio does: the call says the site and the time to answer by (never the worker),
1 takes the page and 2 declines it as the person called; a replayed, unsigned or unknown
answer changes nothing; a call nobody picks up falls through to the next route."""

from __future__ import annotations

import html
import re

from pss_dev.local.sms_gateway import PlacedCall
from pss_testkit.testing import RunningPlatform, wait_for

from .helpers import ref, self_referral, submit
from .test_sms import by_sms, fell_to_email, first_page, oncall, phone_of


def call_to(p: RunningPlatform, staff_ref: str) -> PlacedCall:
    assert p.sms is not None
    calls = wait_for(lambda: p.sms.calls_to(phone_of(staff_ref)), what=f"a call to {staff_ref}")
    return calls[-1]


def gather_action(twiml: str) -> str:
    found = re.search(r'<Gather [^>]*action="([^"]+)"', twiml)
    assert found, twiml
    return html.unescape(found[1])


def page_status(p: RunningPlatform, page_id: str) -> str:
    ((status,),) = p.sql("SELECT status FROM oncall.page WHERE page_id = %s", page_id)
    return str(status)


def test_a_supporter_takes_a_page_by_pressing_1_in_its_call_once(running_platform: RunningPlatform, site):
    p = running_platform
    assert p.sms is not None
    by_sms(p, site, "sup1", "sup2", "psy", channel="voice")
    referral_id = submit(p, self_referral(site, ref(site, "rn1")))
    page_id, primary = first_page(p, referral_id)
    call = call_to(p, primary)
    assert call.url.startswith(f"{oncall(p)}/voice/twilio/answer?code=")
    assert call.status_callback == f"{oncall(p)}/voice/twilio/status"

    heard = p.sms.pick_up(call)
    assert heard.status_code == 200 and heard.headers["content-type"].startswith("text/xml")
    assert f"Peer support request at {site.site_id}" in heard.text and "Press 1 to take it" in heard.text
    assert "Appuyez sur 1" in heard.text
    assert "rn1" not in heard.text and str(referral_id) not in heard.text  # nothing of the worker
    pressed = gather_action(heard.text)

    # not signed by the gateway: refused, nothing changed
    forged = p.sms.post_signed(pressed, {"CallSid": call.sid, "To": call.to, "Digits": "1"}, token="guess")
    assert forged.status_code == 403
    # a key that means nothing: said so and asked again, nothing changed
    stray = p.sms.press(call, pressed, "9")
    assert "That key does nothing" in stray.text and "<Redirect" in stray.text
    assert page_status(p, page_id) == "sent"

    taken = p.sms.press(call, pressed, "1")
    assert "the case is yours" in taken.text and taken.text.endswith("<Hangup/></Response>")
    assert page_status(p, page_id) == "acknowledged"
    # the gateway posts the same key again: the same words, nothing more
    assert p.sms.press(call, pressed, "1").text == taken.text
    # the call picked up again later, or the other key: the page has its answer
    assert "already answered" in p.sms.pick_up(call).text
    assert "already answered" in p.sms.press(call, pressed, "2").text
    assert page_status(p, page_id) == "acknowledged"
    # the code from another phone: it matches nothing there
    stranger = PlacedCall("CAstranger", "+15550000001", call.sender, call.url, call.status_callback)
    assert "matches no page" in p.sms.pick_up(stranger).text
    assert "matches no page" in p.sms.press(stranger, pressed, "1").text


def test_2_declines_and_a_call_nobody_picks_up_goes_to_the_next_route(
    running_platform: RunningPlatform, site
):
    p = running_platform
    assert p.sms is not None
    by_sms(p, site, "sup1", "sup2", "psy", channel="voice")
    referral_id = submit(p, self_referral(site, ref(site, "rn2")))
    page_id, primary = first_page(p, referral_id)
    call = call_to(p, primary)
    declined = p.sms.press(call, gather_action(p.sms.pick_up(call).text), "2")
    assert "the next person is being paged" in declined.text
    assert page_status(p, page_id) == "declined"
    ((second_page, second),) = wait_for(
        lambda: p.sql(
            "SELECT page_id, recipient FROM oncall.page WHERE referral_id = %s AND step = 1", referral_id
        ),
        what="the next page",
    )
    assert second != primary
    unanswered = call_to(p, str(second))
    wait_for(
        lambda: p.sql(
            "SELECT 1 FROM oncall.notification WHERE page_id = %s AND provider_ref = %s",
            second_page,
            unanswered.sid,
        ),
        what="the call's id on the notification",
    )
    assert p.sms.call_ended(unanswered, "no-answer").json() == {"changed": True}
    assert p.sms.call_ended(unanswered, "no-answer").json() == {"changed": False}  # a repeat
    # nobody picked up: the page goes to the next route, e-mail
    assert fell_to_email(p, second_page, second) == ("no-answer", "voice: no-answer")


def test_a_supporter_sets_a_call_route_in_international_form(running_platform: RunningPlatform, site):
    p = running_platform
    with p.supporter(ref(site, "sup2")) as me:
        bad = me.put(f"{oncall(p)}/me/contact-routes", json=[{"channel": "voice", "address": "555-0199"}])
        assert bad.status_code == 422 and "a call goes to a phone number in international form" in bad.text
        routes = [{"channel": "voice", "address": "+15550100199"}, {"channel": "email", "address": "a@b.org"}]
        good = me.put(f"{oncall(p)}/me/contact-routes", json=routes)
        assert good.status_code == 204, good.text
        assert me.get(f"{oncall(p)}/me/contact-routes").json() == routes
