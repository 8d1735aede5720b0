"""Small helpers shared by the end-to-end tests."""

from __future__ import annotations

import uuid
from typing import Any

from contracts import topics
from pss_cli.seed import Site
from pss_cli.testing import RunningPlatform, wait_for


def ref(site: Site, name: str) -> str:
    """The staff reference of a seeded person by role name, e.g. 'rn1', 'sup1', 'mgrs'."""
    prefix = site.people[0].ref[: -len("mgr")]
    return f"{prefix}{name}"


def self_referral(site: Site, worker: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "site_id": site.site_id,
        "reason": {"category": "critical_incident", "kind": "unexpected_patient_death"},
        "urgency": "within_hours",
        "modality": "phone",
        "worker": {
            "staff_ref": worker,
            "name": "Alex Example",
            "phone": "+1 555 0199",
            "email": "alex@example.org",
        },
    }
    body.update(overrides)
    return body


def submit(p: RunningPlatform, body: dict[str, Any], headers: dict[str, str] | None = None) -> uuid.UUID:
    with p.client() as client:
        response = client.post(f"{p.url('intake')}/referrals", json=body, headers=headers or {})
    assert response.status_code == 202, response.text
    return uuid.UUID(response.json()["referral_id"])


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
