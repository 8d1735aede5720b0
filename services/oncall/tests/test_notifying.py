"""Answer links, message wording and the retry / fall-through rule of delivery, as pure
functions with fake notifiers (the real SMTP and webhook paths run in tests/e2e)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from contracts.types import ServiceLevel, Urgency
from oncall.delivery import Delivery, Route, _attempt
from oncall.escalation import ServiceLevels, build_chain, reopen_step
from oncall.links import LinkRefused, LinkSigner
from oncall.messages import compose
from oncall.notifiers import Channel, DeliveryFailed, Message

NOW = datetime(2026, 11, 21, 3, 0, tzinfo=UTC)
SECRET = "s" * 40


def test_a_link_verifies_for_its_page_and_person_and_not_once_altered_or_expired() -> None:
    signer = LinkSigner(SECRET, valid_for=timedelta(hours=1))
    page_id = uuid.uuid4()
    token = signer.sign(page_id, "st-sup1", NOW)
    link = signer.verify(token, NOW + timedelta(minutes=59))
    assert (link.page_id, link.recipient) == (page_id, "st-sup1")
    assert signer.sign(page_id, "st-sup1", NOW) != token  # a fresh nonce each time
    with pytest.raises(LinkRefused, match="expired"):
        signer.verify(token, NOW + timedelta(hours=1))
    body, mac = token.split(".")
    with pytest.raises(LinkRefused, match="not valid"):
        signer.verify(body[:-2] + "AA." + mac, NOW)
    with pytest.raises(LinkRefused, match="not valid"):
        LinkSigner("t" * 40, valid_for=timedelta(hours=1)).verify(token, NOW)
    with pytest.raises(ValueError, match="32"):
        LinkSigner("short", valid_for=timedelta(hours=1))


def test_a_link_with_characters_no_signature_has_is_refused_not_a_crash() -> None:
    signer = LinkSigner(SECRET, valid_for=timedelta(hours=1))
    for token in ("abc.é", "é.é", "body.\u0000"):
        with pytest.raises(LinkRefused):
            signer.verify(token, NOW)


def test_a_page_message_names_the_site_and_the_links_and_nothing_else() -> None:
    subject, body = compose(
        "page",
        {
            "site_id": "north-general",
            "crisis": True,
            "role": "supporter",
            "acknowledge_by": "2026-11-21 03:05",
        },
        {
            "acknowledge": "https://x/answer?t=abc&a=acknowledge",
            "decline": "https://x/answer?t=abc&a=decline",
        },
    )
    assert subject == "URGENT (crisis) Peer support request at north-general"
    assert "https://x/answer?t=abc&a=acknowledge" in body and "https://x/answer?t=abc&a=decline" in body
    with pytest.raises(ValueError):
        compose("gossip", {}, {})


class Flaky:
    def __init__(self, channel: Channel, fails: bool) -> None:
        self.channel, self.fails, self.sent = channel, fails, 0

    async def deliver(self, message: Message, address: str) -> None:
        if self.fails:
            raise DeliveryFailed(f"{self.channel.value}: down")
        self.sent += 1


def _row(**values: Any) -> SimpleNamespace:
    base = {
        "notification_id": 1,
        "kind": "filled",
        "page_id": None,
        "recipient": "st-a",
        "detail": {"site_id": "s"},
        "route": 0,
        "attempts": 0,
        "last_error": None,
    }
    return SimpleNamespace(**{**base, **values})


def _delivery(webhook_fails: bool) -> Delivery:
    return Delivery(
        notifiers={
            Channel.WEBHOOK: Flaky(Channel.WEBHOOK, webhook_fails),
            Channel.EMAIL: Flaky(Channel.EMAIL, False),
        },
        vault=None,
        signer=LinkSigner(SECRET, valid_for=timedelta(hours=1)),
        public_base_url="https://oncall",
        attempts_per_route=3,
        backoff=timedelta(seconds=2),
    )


ROUTES = [Route(Channel.WEBHOOK, "https://hook"), Route(Channel.EMAIL, "a@b.org")]


def test_a_failing_route_backs_off_then_falls_through_then_fails_when_none_is_left() -> None:
    delivery = _delivery(webhook_fails=True)
    first = asyncio.run(_attempt(_row(), ROUTES, delivery, NOW))
    assert first["next_attempt_at"] == NOW + timedelta(seconds=2) and first["attempts"] == 1
    second = asyncio.run(_attempt(_row(attempts=1), ROUTES, delivery, NOW))
    assert second["next_attempt_at"] == NOW + timedelta(seconds=4)
    third = asyncio.run(_attempt(_row(attempts=2), ROUTES, delivery, NOW))
    assert (third["route"], third["attempts"], third["next_attempt_at"]) == (1, 0, NOW)
    assert third["last_error"] == "webhook: down"
    by_mail = asyncio.run(_attempt(_row(route=1), ROUTES, delivery, NOW))
    assert (by_mail["status"], by_mail["channel"]) == ("delivered", "email")
    only_webhook = asyncio.run(_attempt(_row(attempts=2), ROUTES[:1], delivery, NOW))
    assert only_webhook["status"] == "failed"
    assert asyncio.run(_attempt(_row(), [], delivery, NOW)) == {
        "status": "failed",
        "last_error": "no contact route",
    }


def test_the_clocks_of_a_case_follow_its_urgency() -> None:
    levels = ServiceLevels(callback_within=timedelta(minutes=30), meet_within=timedelta(hours=12))
    assert levels.clocks(NOW, Urgency.AS_SOON_AS_POSSIBLE, crisis=False) == {
        ServiceLevel.CALLBACK: NOW + timedelta(minutes=30),
        ServiceLevel.MEETING: NOW + timedelta(hours=12),
    }
    assert set(levels.clocks(NOW, Urgency.WITHIN_DAYS, crisis=False)) == {ServiceLevel.CALLBACK}
    assert set(levels.clocks(NOW, Urgency.WITHIN_DAYS, crisis=True)) == {
        ServiceLevel.CALLBACK,
        ServiceLevel.MEETING,
    }
    assert levels.target_minutes(ServiceLevel.MEETING) == 720


def test_a_case_never_called_back_reopens_at_the_next_step_once() -> None:
    chain = build_chain(["st-p", "st-b"], coordinator="st-c")
    levels = ServiceLevels(reopen_at_most=1)
    assert reopen_step(chain, 0, reopened=0, levels=levels) == 1
    assert reopen_step(chain, 0, reopened=1, levels=levels) is None
    assert reopen_step(chain, 2, reopened=0, levels=levels) is None  # the coordinator took it: nobody after


def test_a_second_round_pages_the_whole_chain_again() -> None:
    chain = build_chain(["st-p", "st-b"], coordinator="st-c", fallback="st-f", rounds=2)
    assert [link.recipient for link in chain] == ["st-p", "st-b", "st-c", "st-f"] * 2
