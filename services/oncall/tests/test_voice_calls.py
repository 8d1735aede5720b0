"""A page's phone call, as pure parts: what it says (TwiML, both languages, nothing of the
worker), which key does what, and that delivery rings a phone for pages only."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from oncall.delivery import Delivery, Route, _attempt
from oncall.links import LinkSigner
from oncall.notifiers import Channel, Message, RecordingNotifier
from oncall.sms.replies import Action, Reply
from oncall.voice import speech

PRESSED = "https://oncall.example.ca/voice/twilio/pressed?code=0412"


def _tree(twiml: str) -> ET.Element:
    return ET.fromstring(twiml)  # noqa: S314 (the platform's own TwiML, not untrusted input)


def _page(**changes: object) -> speech.OpenPage:
    found = {
        "site_id": "north-general",
        "crisis": True,
        "acknowledge_by": datetime(2026, 11, 1, 9, 30, tzinfo=UTC),
        "time_zone": "America/Vancouver",
    }
    return speech.OpenPage(**{**found, **changes})  # type: ignore[arg-type]


def test_the_call_names_the_site_the_crisis_and_the_time_in_both_languages_then_listens_for_one_key():
    twiml = _tree(speech.ask(_page(), PRESSED))
    (gather,) = twiml.findall("Gather")
    assert gather.get("numDigits") == "1" and gather.get("action") == PRESSED
    english, french = gather.findall("Say")
    assert english.get("language") == "en-CA" and french.get("language") == "fr-CA"
    assert "north-general, a crisis" in (english.text or "") and "Press 1 to take it" in (english.text or "")
    assert "01:30 PST" in (english.text or "")  # the site's zone, after daylight time ended that night
    assert "en crise" in (french.text or "") and "Appuyez sur 1" in (french.text or "")
    # no key: it says so, the page stays open, and the call ends
    assert [e.tag for e in twiml] == ["Gather", "Say", "Say", "Hangup"]
    quiet = _tree(speech.ask(_page(crisis=False), PRESSED))
    assert "crisis" not in ET.tostring(quiet, encoding="unicode")


def test_the_address_a_key_goes_to_is_escaped_in_the_twiml():
    twiml = speech.ask(_page(), "https://oncall/voice/twilio/pressed?code=0412&x=<y>")
    gather = _tree(twiml).find("Gather")
    assert (
        gather is not None and gather.get("action") == "https://oncall/voice/twilio/pressed?code=0412&x=<y>"
    )


def test_1_takes_2_declines_and_every_outcome_is_said_then_the_call_ends():
    assert speech.KEYS == {"1": Action.TAKE, "2": Action.DECLINE}
    for reply in Reply:
        said = _tree(speech.told(reply))
        assert [e.tag for e in said] == ["Say", "Say", "Hangup"], reply
    again = _tree(speech.again("https://oncall/voice/twilio/answer?code=0412"))
    redirect = again.find("Redirect")
    assert redirect is not None and redirect.text == "https://oncall/voice/twilio/answer?code=0412"


class Phone(RecordingNotifier):
    channel = Channel.VOICE

    async def deliver(self, message: Message, address: str) -> str:  # type: ignore[override]
        await super().deliver(message, address)
        return "CA1"


def test_a_phone_rings_for_a_page_with_its_code_and_for_nothing_else():
    phone = Phone()
    delivery = Delivery(
        notifiers={Channel.VOICE: phone},
        vault=None,
        signer=LinkSigner("s" * 40, valid_for=timedelta(hours=1)),
        public_base_url="https://oncall",
    )
    now = datetime(2026, 11, 21, 3, 0, tzinfo=UTC)
    routes = [Route(Channel.VOICE, "+15550100199"), Route(Channel.EMAIL, "a@b.org")]

    def row(kind: str) -> SimpleNamespace:
        return SimpleNamespace(
            notification_id=1,
            kind=kind,
            page_id=None if kind != "page" else "00000000-0000-0000-0000-000000000001",
            recipient="st-a",
            detail={"site_id": "s"},
            route=0,
            attempts=0,
            last_error=None,
        )

    called = asyncio.run(_attempt(row("page"), routes, delivery, now, "0412"))
    assert (called["status"], called["provider_ref"]) == ("delivered", "CA1")
    assert phone.sent[0].code == "0412"
    # a filled team, a reminder: not a call at 3 a.m., the next route at once, no retries
    for kind in ("filled", "reminder", "debrief"):
        skipped = asyncio.run(_attempt(row(kind), routes, delivery, now))
        assert (skipped["status"], skipped["route"], skipped["attempts"]) == ("pending", 1, 0), kind
    # a page with no code free for the phone: its keys could not answer it
    assert asyncio.run(_attempt(row("page"), routes, delivery, now, None))["route"] == 1
    assert len(phone.sent) == 1
