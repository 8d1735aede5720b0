"""Intake answers malformed referrals with 422 and a message a person can act on, and
stores nothing for them."""

from __future__ import annotations

import pytest

from .helpers import ref, self_referral


def _rows(p):
    return p.sql(
        "SELECT (SELECT count(*) FROM intake.referral), (SELECT count(*) FROM intake.contact), "
        "(SELECT count(*) FROM intake.outbox)"
    )[0]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda b: b.pop("urgency"), "urgency: Field required"),
        (lambda b: b["reason"].update(kind="near_miss"), "is not a kind of 'critical_incident'"),
        (lambda b: b.update(site_id="no-such-hospital"), "is not a site of this authority"),
        (lambda b: b["worker"].update(phone="call me maybe"), "worker.phone"),
        (lambda b: b["worker"].update(email="not-an-email"), "worker.email"),
        (lambda b: b["worker"].update(name=""), "worker.name"),
        (lambda b: b.update(excluded_supporters=["Dr Smith"]), "excluded_supporters.0"),
        (lambda b: b.update(notes="free text about the worker"), "notes: Extra inputs are not permitted"),
    ],
    ids=[
        "missing-urgency",
        "kind-of-another-category",
        "unknown-site",
        "bad-phone",
        "bad-email",
        "empty-name",
        "name-as-staff-ref",
        "free-text-field",
    ],
)
def test_a_malformed_referral_is_refused_with_a_clear_message_and_nothing_is_stored(
    running_platform, site, change, expected
):
    p = running_platform
    body = self_referral(site, ref(site, "rn1"))
    change(body)
    before = _rows(p)
    with p.client() as client:
        response = client.post(f"{p.url('intake')}/referrals", json=body)
    assert response.status_code == 422
    payload = response.json()
    assert expected in payload["message"]
    assert _rows(p) == before


def test_the_same_idempotency_key_creates_one_case(running_platform, site):
    p = running_platform
    body = self_referral(site, ref(site, "rn1"))
    with p.client() as client:
        first = client.post(
            f"{p.url('intake')}/referrals", json=body, headers={"Idempotency-Key": f"k-{site.site_id}"}
        )
        again = client.post(
            f"{p.url('intake')}/referrals", json=body, headers={"Idempotency-Key": f"k-{site.site_id}"}
        )
    assert first.status_code == again.status_code == 202
    # a replay gets the same answer, the worker's private link included (the first answer
    # may never have reached them)
    assert first.json() == again.json() and first.json()["worker_token"]
    assert p.sql("SELECT count(*) FROM intake.referral WHERE site_id = %s", site.site_id) == [(1,)]


def test_one_idempotency_key_with_another_request_is_refused_not_answered_with_the_first_case(
    running_platform, site
):
    p = running_platform
    key = {"Idempotency-Key": f"reused-{site.site_id}"}
    first = self_referral(site, ref(site, "rn1"))
    other = self_referral(site, ref(site, "rn2"), urgency="as_soon_as_possible")
    with p.client() as client:
        assert client.post(f"{p.url('intake')}/referrals", json=first, headers=key).status_code == 202
        before = _rows(p)
        # another person's request under the same key: refused, never "we already have it"
        refused = client.post(f"{p.url('intake')}/referrals", json=other, headers=key)
        assert refused.status_code == 422, refused.text
        assert "already used for a different request" in refused.json()["message"]
        assert "referral_id" not in refused.text and "worker_token" not in refused.text
        # nor on another path
        colleague = {k: first[k] for k in ("site_id", "reason", "urgency")} | {"caller": first["worker"]}
        again = client.post(f"{p.url('intake')}/referrals/colleague", json=colleague, headers=key)
        assert again.status_code == 422, again.text
    assert _rows(p) == before


def test_concurrent_retries_with_one_idempotency_key_create_one_case(running_platform, site):
    from concurrent.futures import ThreadPoolExecutor

    p = running_platform
    body = self_referral(site, ref(site, "rn1"))

    def post(_):
        with p.client() as client:
            return client.post(
                f"{p.url('intake')}/referrals", json=body, headers={"Idempotency-Key": f"race-{site.site_id}"}
            )

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(post, range(8)))
    assert {r.status_code for r in responses} == {202}
    assert len({r.json()["referral_id"] for r in responses}) == 1
    assert p.sql("SELECT count(*) FROM intake.referral WHERE site_id = %s", site.site_id) == [(1,)]
    assert p.sql("SELECT count(*) FROM intake.outbox WHERE key = %s", site.site_id) == [(1,)]


def test_a_broken_csv_export_is_refused_with_the_line_and_nothing_is_stored(running_platform, site):
    """Found by Schemathesis: a bare carriage return inside an unquoted field made the CSV
    reader raise, and intake answered 500."""
    p = running_platform
    before = _rows(p)
    header = "staff_ref,name,email,reason_category,reason_kind\n"
    broken = header + "st-x1,Jo\rRo,jo@example.org,patient_safety_incident,harmful_incident\n"
    with p.coordinator(site) as coordinator:
        answer = coordinator.post(
            f"{p.url('intake')}/outreach-offers/import",
            params={"site_id": site.site_id, "source": "safety_huddle"},
            content=broken,
            headers={"content-type": "text/csv"},
        )
    assert answer.status_code == 422, answer.text
    assert "not valid CSV" in answer.json()["message"] and "line 2" in answer.json()["message"]
    assert _rows(p) == before
