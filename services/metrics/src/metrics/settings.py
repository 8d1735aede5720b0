from pydantic import Field
from servicekit.settings import ServiceSettings


class MetricsSettings(ServiceSettings):
    http_port: int = 8105
    # metrics' counts are read when a month is published, never within seconds: its consumer
    # takes what came in a batch every 2 s (or 64 KiB, in a burst) rather than being woken,
    # with a transaction each, by every event of every referral (three a referral, in the
    # broker and in PostgreSQL too)
    kafka_fetch_max_wait_ms: int = Field(default=2000, ge=10, le=10_000)
    kafka_fetch_min_bytes: int = Field(default=64 * 1024, ge=1, le=16 * 1024 * 1024)
    # a published count below this is suppressed: it could point at a person
    suppress_below: int = Field(default=5, ge=1)
    # stricter thresholds for some measures, e.g. {"referrals_by_reason": 10}; never looser
    suppress_below_by_measure: dict[str, int] = Field(default_factory=dict)
    # a month is published this long after it ends, so that events still in flight count;
    # then it is frozen: a live month would let anyone difference two days' views
    month_closes_after_hours: float = Field(default=48, ge=0)
    # how often the publication loop looks for a month that has closed
    publish_poll_seconds: float = Field(default=300, gt=0)
