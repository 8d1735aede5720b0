"""The paging policy (timeouts, the chain's length, rounds), the refusals of an answer,
and what paging reports to operations."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from contracts.types import Urgency
from opentelemetry import metrics, trace

from oncall.eligibility import EligibleNow, trust_the_snapshot
from oncall.escalation import ServiceLevels, SiteTimeouts, acknowledge_timeout

tracer = trace.get_tracer("oncall")
# operations: how long a referral waits until someone takes it (its first acknowledgement);
# the buckets bracket the 30-minute call-back target
time_to_acknowledge = metrics.get_meter("oncall").create_histogram(
    "pss.referral.time_to_acknowledge",
    unit="s",
    description="seconds from a referral's first page to its first acknowledgement",
    explicit_bucket_boundaries_advisory=[15, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600, 7200],
)


ACKNOWLEDGE = "acknowledge"  # the timer kind of a page waiting for an answer


@dataclass(frozen=True)
class PagingPolicy:
    ack_timeout: timedelta
    crisis_ack_timeout: timedelta
    supporters_in_chain: int
    eligible_now: EligibleNow = trust_the_snapshot
    # a calmer request may wait longer for an answer (e.g. {within_days: 1 hour})
    ack_timeout_by_urgency: dict[Urgency, timedelta] = field(default_factory=dict)
    fallback: str | None = None  # the authority's last resort after the site coordinator
    rounds: int = 1  # how many times the whole chain is paged before the episode gives up
    levels: ServiceLevels = field(default_factory=ServiceLevels)
    time_zone: str = "America/Toronto"  # a site's times, where its schedule names no zone

    def timeout(
        self, crisis: bool, urgency: Urgency | None = None, site: SiteTimeouts | None = None
    ) -> timedelta:
        return acknowledge_timeout(
            crisis,
            urgency,
            default=self.ack_timeout,
            crisis_timeout=self.crisis_ack_timeout,
            by_urgency=self.ack_timeout_by_urgency,
            site=site,
        )


class PageNotFound(LookupError):
    pass


class PageClosed(RuntimeError):
    """The page can no longer be answered (someone else took the case, or it ended);
    ``status`` is the case's, for a page to say it in the reader's language."""

    def __init__(self, status: str) -> None:
        super().__init__(f"this page is closed: the case is {status}")
        self.status = status
