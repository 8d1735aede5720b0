"""Small helpers shared by the end-to-end tests (the most common, ``ref``, ``self_referral``
and ``submit``, live in ``pss_testkit.testing`` so the browser tests share them too)."""

from __future__ import annotations

import uuid
from typing import Any

from contracts import EVENT_TYPES, topics
from pss_testkit.testing import RunningPlatform, ref, self_referral, submit, wait_for

__all__ = ["ref", "self_referral", "submit"]  # shared with the browser tests


def pages_sent(p: RunningPlatform, referral_id: uuid.UUID) -> list[dict[str, Any]]:
    events = p.kafka.events(topics.PAGES, type_="oncall.page.sent.v1", referral_id=referral_id)
    return sorted({e["id"]: e for e in events}.values(), key=lambda e: e["payload"]["step"])


def wait_for_page(
    p: RunningPlatform, referral_id: uuid.UUID, step: int, timeout: float = 40
) -> dict[str, Any]:
    return wait_for(
        lambda: next(
            (e["payload"] for e in pages_sent(p, referral_id) if e["payload"]["step"] == step), None
        ),
        timeout=timeout,
        what=f"page step {step} of {referral_id}",
    )


def distinct(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Events by id: the outbox relay may publish an event twice, never two effects."""
    return list({e["id"]: e for e in events}.values())


# --- the ways in ---------------------------------------------------------------------------

WORKER_NAME = "Alex Example"
WORKER_PHONE = "+1 555 0199"


def person(tag: str, staff_ref: str | None = None) -> dict[str, Any]:
    """A person with contact details unique to the test, so a leak of them can be found."""
    return {
        "staff_ref": staff_ref,
        "name": f"Pat {tag.title()} Person",
        "phone": "+1 555 0177",
        "email": f"{tag}.{uuid.uuid4().hex[:6]}@example.org",
    }


def post(
    p: RunningPlatform, path: str, body: Any, *, client: Any = None, expect: int = 202
) -> dict[str, Any]:
    owned = client is None
    client = client or p.client()
    try:
        response = client.post(f"{p.url('intake')}{path}", json=body)
    finally:
        if owned:
            client.close()
    assert response.status_code == expect, response.text
    return response.json()  # type: ignore[no-any-return]


def offer_token(p: RunningPlatform, email: str) -> str:
    """The worker's private link arrives by mail, and only there."""
    mail = wait_for(lambda: p.mailbox.to(email), what=f"the offer mail to {email}")[0]
    return mail.body.split("#", 1)[1].split()[0]


def as_worker(p: RunningPlatform, token: str, step: str, expect: int = 200) -> dict[str, Any]:
    with p.client() as client:
        response = client.post(f"{p.url('intake')}/my-case/{step}", headers={"Worker-Token": token})
    assert response.status_code == expect, response.text
    return response.json()  # type: ignore[no-any-return]


def proposal(p: RunningPlatform, referral_id: uuid.UUID) -> dict[str, Any]:
    return wait_for(  # type: ignore[no-any-return]
        lambda: p.kafka.events(topics.PROPOSALS, type_="matching.match.proposed.v1", referral_id=referral_id),
        what=f"a match proposal for {referral_id}",
    )[0]["payload"]


def acknowledge(p: RunningPlatform, page: dict[str, Any], expect: int = 200) -> None:
    with p.supporter(page["recipient"]) as supporter:
        response = supporter.post(f"{p.url('oncall')}/pages/{page['page_id']}/acknowledge")
    assert response.status_code == expect, response.text


def intake_events(p: RunningPlatform, type_: str, referral_id: uuid.UUID) -> list[dict[str, Any]]:
    return distinct(p.kafka.events(EVENT_TYPES[type_].TOPIC, type_=type_, referral_id=referral_id))
