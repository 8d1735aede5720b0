"""A self-referral through all five services, on real Kafka and PostgreSQL."""

from __future__ import annotations

import importlib.util
import os
import time
from pathlib import Path
from types import ModuleType

from contracts import topics
from pss_testkit.testing import TEST_ACK_TIMEOUT_SECONDS, wait_for

from .helpers import distinct, pages_sent, ref, self_referral, submit, wait_for_page


def span_gaps() -> ModuleType:
    """bench/span_gaps.py, which is a script, not a package's module."""
    path = Path(__file__).parents[2] / "bench" / "span_gaps.py"
    spec = importlib.util.spec_from_file_location("span_gaps", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_self_referral_is_matched_paged_acknowledged_and_counted(running_platform, site):
    p = running_platform
    worker = ref(site, "rn1")
    referral_id = submit(p, self_referral(site, worker))

    # matching applied the hard rules to the seeded roster
    proposal = wait_for(
        lambda: p.kafka.events(topics.PROPOSALS, type_="matching.match.proposed.v1", referral_id=referral_id),
        what="a match proposal",
    )[0]["payload"]
    proposed = [c["supporter"] for c in proposal["candidates"]]
    assert proposed[0] == site.primary  # the on-duty primary ranks first
    assert proposed[1] == site.backup
    assert ref(site, "mgrs") not in proposed  # evaluates the worker (preceptor)
    assert ref(site, "stud") not in proposed  # more junior than the worker
    assert proposal["excluded_by_rule"] == {"non_evaluator": 1, "seniority": 1}

    # oncall paged the primary, with nothing about the worker in the page
    page = wait_for_page(p, referral_id, step=0)
    assert page["recipient"] == site.primary and page["recipient_role"] == "supporter"

    # the primary acknowledges over HTTP
    with p.supporter(site.primary) as supporter:
        answer = supporter.post(f"{p.url('oncall')}/pages/{page['page_id']}/acknowledge")
    assert answer.status_code == 200, answer.text
    acknowledged = wait_for(
        lambda: p.kafka.events(
            topics.ACKNOWLEDGEMENTS, type_="oncall.page.acknowledged.v1", referral_id=referral_id
        ),
        what="the acknowledgement event",
    )
    assert acknowledged[0]["payload"]["recipient"] == site.primary

    # intake assigned the case, so the supporter may now read the contact (audited)
    def contact():
        with p.supporter(site.primary) as supporter:
            r = supporter.get(f"{p.url('intake')}/referrals/{referral_id}/contact")
        return r if r.status_code == 200 else None

    assert wait_for(contact, what="intake to assign the supporter").json()["phone"] == "+1 555 0199"
    assert p.sql("SELECT actor_role FROM intake.personal_data_audit WHERE referral_id = %s", referral_id) == [
        ("peer_supporter",)
    ]

    # no escalation after the acknowledgement, even once the timeout has passed
    time.sleep(TEST_ACK_TIMEOUT_SECONDS + 1)
    assert [e["payload"]["step"] for e in pages_sent(p, referral_id)] == [0]


def test_metrics_counts_referrals_live_and_publishes_nothing_of_the_open_month(running_platform, site):
    p = running_platform
    month = time.strftime("%Y-%m", time.gmtime())

    def referrals_counted():
        rows = p.sql(
            "SELECT value FROM metrics.aggregate WHERE site_id = %s AND period = %s"
            " AND measure = 'referrals' AND dimension = 'total'",
            site.site_id,
            month,
        )
        return rows[0][0] if rows else 0

    submit(p, self_referral(site, ref(site, "rn1")))
    wait_for(lambda: referrals_counted() == 1, what="the first referral to be counted")
    for _ in range(4):
        submit(p, self_referral(site, ref(site, "rn2")))
    wait_for(lambda: referrals_counted() == 5, what="five referrals counted")

    # the month is still open: a view of it today and another tomorrow would give away who
    # came in between, so nothing of it is published until it has closed
    with p.coordinator(site) as coordinator:
        response = coordinator.get(
            f"{p.url('metrics')}/sites/{site.site_id}/aggregates", params={"period": month}
        )
    assert response.status_code == 409 and "still open" in response.json()["message"]


def test_an_unacknowledged_page_escalates_to_the_backup(running_platform, site):
    p = running_platform
    referral_id = submit(p, self_referral(site, ref(site, "rn1")))
    first = wait_for_page(p, referral_id, step=0)
    assert first["recipient"] == site.primary

    second = wait_for_page(p, referral_id, step=1, timeout=TEST_ACK_TIMEOUT_SECONDS + 30)
    assert second["recipient"] == site.backup
    escalations = distinct(
        p.kafka.events(topics.PAGES, type_="oncall.page.escalated.v1", referral_id=referral_id)
    )
    first_escalation = min(escalations, key=lambda e: e["payload"]["from_step"])["payload"]
    assert (first_escalation["from_step"], first_escalation["reason"]) == (0, "not_acknowledged")

    # the backup acknowledges; the primary's late answer is refused, the case is taken
    with p.supporter(site.backup) as backup:
        assert backup.post(f"{p.url('oncall')}/pages/{second['page_id']}/acknowledge").status_code == 200
    with p.supporter(site.primary) as primary:
        late = primary.post(f"{p.url('oncall')}/pages/{first['page_id']}/acknowledge")
    assert late.status_code == 409


def test_a_decline_pages_the_next_person_at_once(running_platform, site):
    p = running_platform
    referral_id = submit(p, self_referral(site, ref(site, "rn1")))
    first = wait_for_page(p, referral_id, step=0)
    declined_at = time.monotonic()
    with p.supporter(site.primary) as primary:
        assert primary.post(f"{p.url('oncall')}/pages/{first['page_id']}/decline").status_code == 200
    second = wait_for_page(p, referral_id, step=1, timeout=TEST_ACK_TIMEOUT_SECONDS)
    assert second["recipient"] == site.backup
    assert time.monotonic() - declined_at < TEST_ACK_TIMEOUT_SECONDS  # not by the timer


def test_one_referral_is_one_trace_across_every_service(running_platform, site):
    p = running_platform
    trace_id = os.urandom(16).hex()
    traceparent = f"00-{trace_id}-{os.urandom(8).hex()}-01"
    referral_id = submit(p, self_referral(site, ref(site, "rn1")), headers={"traceparent": traceparent})
    page = wait_for_page(p, referral_id, step=0)
    with p.supporter(site.primary) as supporter:
        assert supporter.post(f"{p.url('oncall')}/pages/{page['page_id']}/acknowledge").status_code == 200

    def services_in_trace():
        spans = p.telemetry.trace(trace_id)
        names = {(s.service, s.name) for s in spans}
        services = {s.service for s in spans}
        wanted = {"intake", "matching", "oncall", "metrics"}
        acknowledged = any(name == "page acknowledged" for _, name in names)
        return (wanted <= services and acknowledged) and spans

    spans = wait_for(services_in_trace, timeout=30, what="every service's spans in the referral's trace")
    consumers = {s.service for s in spans if s.kind == 5}  # SPAN_KIND_CONSUMER
    assert {"matching", "oncall", "metrics", "intake"} <= consumers
    assert any(s.service == "intake" and s.kind == 2 for s in spans)  # the HTTP request (server span)
    # and a request is that one span: no ASGI "http send" and "http receive" spans under it
    assert not [s.name for s in spans if s.name.endswith(("http send", "http receive"))]
    # the database work of each step is in the trace too: counted on the step's span (a slow
    # statement would have a span of its own, servicekit.sql_spans)
    sql_services = {
        s.service
        for s in spans
        if s.attributes.get("db.system") == "postgresql" and int(s.attributes.get("db.statements", 0)) > 0
    }
    assert {"intake", "matching", "oncall", "metrics"} <= sql_services
    # the bench that says where a referral's time goes finds its whole path in this trace (it
    # found none for three rounds once, looking for a topic that had been renamed)
    assert span_gaps().path_of(spans) is not None
    # nothing about the worker in any span name or attribute of the platform, whatever any
    # client put in an address (Schemathesis, as the admin, reads a contact and sends it back
    # in a URL): spans leave without the raw address, only its route (servicekit.telemetry)
    for span in p.telemetry.all_spans():
        text = span.name + repr(span.attributes)
        assert "Alex Example" not in text and "555 0199" not in text and "alex@example.org" not in text
