"""Two-way SMS on the running platform, through a local gateway that speaks and signs as
Twilio does: a supporter paged by text takes the case by replying "T" and its code, or
declines with "D" and the next person is paged; the coordinator paged last can take it the
same way; a replayed, reused, unknown or unsigned reply gets its answer and changes nothing;
delivery reports update the notification once, and a failed text falls through to e-mail."""

from __future__ import annotations

import re
import uuid

from pss_testkit.testing import RunningPlatform, wait_for

from .helpers import ref, self_referral, submit


def oncall(p: RunningPlatform) -> str:
    return p.url("oncall")


def phone_of(staff_ref: str) -> str:
    """A phone number of this test's own (the gateway is shared by the session)."""
    return "+1555" + str(int(uuid.uuid5(uuid.NAMESPACE_OID, staff_ref)) % 10**7).zfill(7)


def text_by(p: RunningPlatform, staff_ref: str) -> list[str]:
    assert p.sms is not None
    return [t.body for t in p.sms.texts_to(phone_of(staff_ref))]


def by_sms(p: RunningPlatform, site, *names: str, channel: str = "sms") -> None:
    """Each named person is reached by text (or ``channel``) first, then by e-mail."""
    with p.admin() as admin:
        for name in names:
            staff_ref = site.coordinator if name == "coordinator" else ref(site, name)
            routes = [
                {"channel": channel, "address": phone_of(staff_ref)},
                {"channel": "email", "address": f"{staff_ref}@example.org"},
            ]
            answer = admin.put(f"{oncall(p)}/people/{staff_ref}/contact-routes", json=routes)
            assert answer.status_code == 204, answer.text


def first_page(p: RunningPlatform, referral_id) -> tuple[str, str]:
    ((page_id, recipient),) = wait_for(
        lambda: p.sql(
            "SELECT page_id, recipient FROM oncall.page WHERE referral_id = %s AND step = 0", referral_id
        ),
        what="the first page",
    )
    return str(page_id), str(recipient)


def code_in(p: RunningPlatform, staff_ref: str) -> str:
    texts = wait_for(lambda: text_by(p, staff_ref), what=f"a text to {staff_ref}")
    found = re.search(r"Reply T (\d{4}) to take it, D \1 to decline\.", texts[-1])
    assert found, texts[-1]
    return found[1]


def inbound(p: RunningPlatform) -> str:
    return f"{oncall(p)}/sms/twilio/inbound"


def fell_to_email(p: RunningPlatform, page_id: str, staff_ref: str) -> tuple[str, str]:
    """The page's e-mail, once delivery has recorded it (the mail is in before the record):
    the gateway's status and the reason it fell through, as that notification keeps them."""
    wait_for(lambda: p.mailbox.to(f"{staff_ref}@example.org"), what="the page by e-mail")
    ((gateway_status, error),) = wait_for(
        lambda: p.sql(
            "SELECT gateway_status, last_error FROM oncall.notification"
            " WHERE page_id = %s AND channel = 'email'",
            page_id,
        ),
        what="the notification delivered by e-mail",
    )
    return gateway_status, error


def test_a_supporter_takes_a_page_by_replying_to_its_text_once(running_platform: RunningPlatform, site):
    p = running_platform
    assert p.sms is not None
    by_sms(p, site, "sup1", "sup2", "psy")
    referral_id = submit(p, self_referral(site, ref(site, "rn1")))
    page_id, primary = first_page(p, referral_id)
    code = code_in(p, primary)
    (text,) = text_by(p, primary)
    assert f"Peer support request at {site.site_id}" in text and "/answer?t=" in text
    # nothing of the worker in the text
    assert "rn1" not in text and str(referral_id) not in text

    # someone else's phone with the right code: matched to nothing, nothing changed
    stranger = p.sms.reply(inbound(p), "+15550000001", f"T {code}")
    assert stranger.status_code == 200 and "matches no page" in stranger.text
    # a reply not signed by the gateway: refused
    forged = p.sms.post_signed(
        inbound(p), {"MessageSid": "SMforged", "From": phone_of(primary), "Body": f"T {code}"}, token="guess"
    )
    assert forged.status_code == 403
    assert p.sql("SELECT status FROM oncall.page WHERE page_id = %s", page_id) == [("sent",)]

    taken = p.sms.reply(inbound(p), phone_of(primary), f"t {code}", sid="SMtake" + page_id[:8])
    assert taken.status_code == 200 and taken.headers["content-type"].startswith("text/xml")
    assert "<Response><Message>Thank you: the case is yours." in taken.text
    assert p.sql("SELECT status FROM oncall.page WHERE page_id = %s", page_id) == [("acknowledged",)]
    # the gateway retries the same message: the same reply, nothing more
    again = p.sms.reply(inbound(p), phone_of(primary), f"t {code}", sid="SMtake" + page_id[:8])
    assert again.text == taken.text
    # a new text with the used code: said so, nothing changed
    reused = p.sms.reply(inbound(p), phone_of(primary), f"D {code}")
    assert "already used" in reused.text
    assert p.sql("SELECT status FROM oncall.page WHERE page_id = %s", page_id) == [("acknowledged",)]
    # not understood: told how to answer
    assert "Reply T and the code" in p.sms.reply(inbound(p), phone_of(primary), "yes please").text


def test_a_decline_by_text_pages_the_next_person_and_the_coordinator_takes_it_by_text(
    running_platform: RunningPlatform, site
):
    p = running_platform
    assert p.sms is not None
    by_sms(p, site, "sup1", "sup2", "psy", "coordinator")
    referral_id = submit(p, self_referral(site, ref(site, "rn2")))
    _, primary = first_page(p, referral_id)
    declined = p.sms.reply(inbound(p), phone_of(primary), f"D {code_in(p, primary)}")
    assert "the next person is being paged" in declined.text
    ((second,),) = wait_for(
        lambda: p.sql("SELECT recipient FROM oncall.page WHERE referral_id = %s AND step = 1", referral_id),
        what="the next page",
    )
    assert second != primary
    # the second declines too; the coordinator, paged last, takes it by text
    declined = p.sms.reply(inbound(p), phone_of(second), f"D {code_in(p, second)}")
    assert "the next person" in declined.text
    ((last,),) = wait_for(
        lambda: p.sql(
            "SELECT recipient FROM oncall.page WHERE referral_id = %s AND recipient = %s",
            referral_id,
            site.coordinator,
        ),
        what="the coordinator's page",
    )
    taken = p.sms.reply(inbound(p), phone_of(last), f"T {code_in(p, last)}")
    assert "the case is yours" in taken.text, taken.text
    assert p.sql(
        "SELECT status FROM oncall.page WHERE referral_id = %s AND recipient = %s", referral_id, last
    ) == [("acknowledged",)]


def test_delivery_reports_update_the_notification_once_and_a_failed_text_falls_through_to_email(
    running_platform: RunningPlatform, site
):
    p = running_platform
    assert p.sms is not None
    by_sms(p, site, "sup1", "sup2", "psy")
    referral_id = submit(p, self_referral(site, ref(site, "rn2")))
    page_id, primary = first_page(p, referral_id)
    wait_for(lambda: text_by(p, primary), what="the text")
    (sent,) = p.sms.texts_to(phone_of(primary))
    status = f"{oncall(p)}/sms/twilio/status"
    assert sent.status_callback == status
    ((ref_stored,),) = wait_for(
        lambda: p.sql(
            "SELECT provider_ref FROM oncall.notification WHERE page_id = %s AND provider_ref IS NOT NULL",
            page_id,
        ),
        what="the gateway's id on the notification",
    )
    assert ref_stored == sent.sid
    assert p.sms.report(status, sent.sid, "sent").json() == {"changed": True}
    assert p.sms.report(status, sent.sid, "sent").json() == {"changed": False}  # a repeat
    assert p.sms.report(status, sent.sid, "failed").json() == {"changed": True}
    # the text did not reach the phone: the page goes to the next route, e-mail
    assert fell_to_email(p, page_id, primary) == ("failed", "sms: failed")
    assert p.sms.report(status, sent.sid, "delivered").json() == {"changed": False}  # too late
    assert p.sms.report(status, "SMnothing", "delivered").json() == {"changed": False}
    unsigned = p.sms.post_signed(status, {"MessageSid": sent.sid, "MessageStatus": "delivered"}, token="x")
    assert unsigned.status_code == 403


def test_a_supporter_sets_a_text_message_route_in_international_form(running_platform: RunningPlatform, site):
    p = running_platform
    with p.supporter(ref(site, "sup2")) as me:
        bad = me.put(f"{oncall(p)}/me/contact-routes", json=[{"channel": "sms", "address": "555-0199"}])
        assert bad.status_code == 422 and "international form" in bad.text
        good = me.put(f"{oncall(p)}/me/contact-routes", json=[{"channel": "sms", "address": "+15550100199"}])
        assert good.status_code == 204, good.text
        assert me.get(f"{oncall(p)}/me/contact-routes").json() == [
            {"channel": "sms", "address": "+15550100199"}
        ]
