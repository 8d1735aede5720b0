"""What an operator sees on the running platform, as on `make run`: a referral's trace in
Zipkin (its query API, which its UI reads), the pages sent in Prometheus (its query API),
and the production alert rules loaded there."""

from __future__ import annotations

import os

import httpx
from pss_testkit.testing import wait_for

from .helpers import ref, self_referral, submit, wait_for_page


def test_a_referral_is_one_trace_in_zipkin_with_every_service(running_platform, site):
    p = running_platform
    assert p.observability is not None
    trace_id = os.urandom(16).hex()
    referral_id = submit(
        p,
        self_referral(site, ref(site, "rn1")),
        headers={"traceparent": f"00-{trace_id}-{os.urandom(8).hex()}-01"},
    )
    page = wait_for_page(p, referral_id, step=0)
    with p.supporter(site.primary) as supporter:
        assert supporter.post(f"{p.url('oncall')}/pages/{page['page_id']}/acknowledge").status_code == 200

    def services_in_zipkin() -> set[str] | None:
        answer = httpx.get(f"{p.observability.zipkin_url}/api/v2/trace/{trace_id}", timeout=10)
        if answer.status_code != 200:
            return None
        services = {span["localEndpoint"]["serviceName"] for span in answer.json() if "localEndpoint" in span}
        return services if {"intake", "matching", "oncall", "metrics"} <= services else None

    services = wait_for(services_in_zipkin, timeout=30, what="the referral's trace in Zipkin")
    assert {"intake", "matching", "oncall", "metrics"} <= services
    # the UI lists the services, so an operator can find the trace without knowing its id
    listed = httpx.get(f"{p.observability.zipkin_url}/api/v2/services", timeout=10).json()
    assert {"intake", "matching", "oncall", "metrics", "training"} <= set(listed)
    # no span in Zipkin carries the worker's details (the same spans as in the collector)
    text = httpx.get(f"{p.observability.zipkin_url}/api/v2/trace/{trace_id}", timeout=10).text
    assert "555 0199" not in text and "Alex Example" not in text and "alex@example.org" not in text


def test_prometheus_counts_pages_sent_and_holds_the_production_alert_rules(running_platform, site):
    p = running_platform
    assert p.observability is not None
    prometheus = p.observability.prometheus_url
    referral_id = submit(p, self_referral(site, ref(site, "rn1")))
    wait_for_page(p, referral_id, step=0)

    def pages_sent() -> float | None:
        answer = httpx.get(
            f"{prometheus}/api/v1/query",
            params={
                "query": 'sum(pss_outbox_published_total{event_type="oncall.page.sent.v1",job="pss/oncall"})'
            },
            timeout=10,
        ).json()
        result = answer["data"]["result"]
        return float(result[0]["value"][1]) if result and float(result[0]["value"][1]) > 0 else None

    assert wait_for(pages_sent, timeout=30, what="pages sent in Prometheus") >= 1
    # every service is scraped under the job name the production rules select
    up = httpx.get(f"{prometheus}/api/v1/query", params={"query": "up"}, timeout=10).json()["data"]["result"]
    assert {f"pss/{s}" for s in ("intake", "matching", "oncall", "training", "metrics")} <= {
        r["metric"]["job"] for r in up if r["value"][1] == "1"
    }
    # the alert rules are production's own file, loaded and evaluated
    groups = httpx.get(f"{prometheus}/api/v1/rules", timeout=10).json()["data"]["groups"]
    assert {"pss-referral-flow", "pss-plumbing"} <= {g["name"] for g in groups}
    assert all(rule["health"] != "err" for g in groups for rule in g["rules"])
