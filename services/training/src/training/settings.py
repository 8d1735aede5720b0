from pydantic import Field
from servicekit.settings import UNHURRIED_FETCH_MAX_WAIT_MS, UNHURRIED_FETCH_MIN_BYTES, ServiceSettings


class TrainingSettings(ServiceSettings):
    http_port: int = 8104
    # a debrief after a close, the authority's sites: nobody waits for them within seconds
    kafka_fetch_max_wait_ms: int = Field(default=UNHURRIED_FETCH_MAX_WAIT_MS, ge=10, le=10_000)
    kafka_fetch_min_bytes: int = Field(default=UNHURRIED_FETCH_MIN_BYTES, ge=1, le=16 * 1024 * 1024)
    # a completion given as a date counts from midnight there; expiries and reminders fire
    # at exact moments
    authority_time_zone: str = "America/Toronto"
    # reminders to the supporter and the site coordinator, this many days before expiry
    reminder_days: list[float] = Field(default_factory=lambda: [60.0, 30.0, 7.0])
    # the timer loop sleeps until the next timer is due, and wakes when one due sooner than
    # its next look starts here; this is how soon it sees one another replica started
    # (at most servicekit.timers.LOOKS_WITHIN, or a timer due sooner may fire late)
    timer_poll_seconds: float = Field(default=2.0, gt=0, le=2.0)
    # a closed case's id is kept this long, so that an acknowledgement read after the close
    # (another topic, a lagging consumer) still prompts the debrief; then it is dropped
    closure_kept_hours: float = Field(default=7 * 24, gt=0)
