from pydantic import Field
from servicekit.settings import UNHURRIED_FETCH_MAX_WAIT_MS, UNHURRIED_FETCH_MIN_BYTES, ServiceSettings


class MetricsSettings(ServiceSettings):
    http_port: int = 8105
    # its counts are read when a month is published: its events come in batches
    kafka_fetch_max_wait_ms: int = Field(default=UNHURRIED_FETCH_MAX_WAIT_MS, ge=10, le=10_000)
    kafka_fetch_min_bytes: int = Field(default=UNHURRIED_FETCH_MIN_BYTES, ge=1, le=16 * 1024 * 1024)
    # a published count below this is suppressed: it could point at a person
    suppress_below: int = Field(default=5, ge=1)
    # stricter thresholds for some measures, e.g. {"referrals_by_reason": 10}; never looser
    suppress_below_by_measure: dict[str, int] = Field(default_factory=dict)
    # a month is published this long after it ends, so that events still in flight count;
    # then it is frozen: a live month would let anyone difference two days' views
    month_closes_after_hours: float = Field(default=48, ge=0)
    # how often the publication loop looks for a month that has closed
    publish_poll_seconds: float = Field(default=300, gt=0)
