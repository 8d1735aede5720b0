from typing import Literal

from contracts.types import StaffRef, Urgency
from pydantic import Field
from servicekit.settings import ServiceSettings


class OncallSettings(ServiceSettings):
    http_port: int = 8103
    # how long a page waits for an acknowledgement before the next person is paged
    ack_timeout_seconds: float = Field(default=300, gt=0)
    crisis_ack_timeout_seconds: float = Field(default=120, gt=0)
    # per urgency, e.g. ACK_TIMEOUT_BY_URGENCY='{"within_days": 3600}'; unset: ack_timeout_seconds
    ack_timeout_by_urgency: dict[Urgency, float] = Field(default_factory=dict)
    # how many matched supporters the chain holds before the coordinator
    supporters_in_chain: int = Field(default=2, ge=1)
    # the authority's last resort after the site coordinator (a staff reference)
    authority_fallback: StaffRef | None = None
    # a site with no schedule (and so no zone of its own) says its times in this zone
    authority_time_zone: str = "America/Toronto"
    # how many times the whole chain is paged before the episode gives up
    chain_rounds: int = Field(default=1, ge=1, le=5)
    # service levels (RISE): call back within 30 minutes, meet within 12 hours
    callback_within_seconds: float = Field(default=30 * 60, gt=0)
    meet_within_seconds: float = Field(default=12 * 3600, gt=0)
    # the timer loop sleeps until the next timer is due, and wakes when one due sooner than
    # its next look starts here; this is how soon it sees one another replica started
    # (at most servicekit.timers.LOOKS_WITHIN, or a timer due sooner may fire late)
    timer_poll_seconds: float = Field(default=2.0, gt=0, le=2.0)
    # notifications are sent when the transaction that queued them commits; this poll is
    # for the rest (another replica's, retries after their backoff)
    delivery_poll_seconds: float = Field(default=1.0, gt=0)
    # schedules: duty is re-derived this often; gaps in the next 4 weeks looked for this often
    duty_poll_seconds: float = Field(default=15, gt=0)
    coverage_poll_seconds: float = Field(default=300, gt=0)
    public_base_url: str = "http://127.0.0.1:8103"
    # the front-end, where a supporter who took a page from a message's link finds the case
    frontend_url: str | None = None
    # before paging the next supporter, ask matching who is eligible now (unset: trust
    # the episode's snapshot); the token is the service's own, from the identity provider
    matching_url: str | None = None
    service_token: str | None = None
    # notifications: each contact route is tried this many times, backing off, then the next
    notify_attempts_per_route: int = Field(default=3, ge=1)
    notify_backoff_seconds: float = Field(default=5, ge=0)
    # answer links in messages: HMAC secret (32+ characters) and how long a link works
    page_link_secret: str = Field(default="", repr=False)
    page_link_valid_seconds: float = Field(default=24 * 3600, gt=0)
    # supporters' contact routes are sealed at rest with these keys (comma-separated Fernet keys)
    personal_data_keys: str = Field(default="", repr=False)
    # development only: a person without a contact route gets the recording notifier
    record_unrouted: bool = False
    # where webhooks may go (the authority's SMS gateway, pager system): URL prefixes as a
    # JSON list, e.g. '["https://sms.example-gateway.ca/hooks/"]'; anything else is refused
    webhook_allowed: list[str] = Field(default_factory=list)
    # two-way SMS through the authority's gateway (README, "Two-way SMS"): "twilio" (its
    # Messages API; its auth token signs the replies and reports) or "signed_json" (any
    # other gateway: HMAC-SHA256 with SMS_SECRET both ways); unset: no SMS channel
    sms_gateway: Literal["twilio", "signed_json"] | None = None
    sms_gateway_url: str = "https://api.twilio.com"
    sms_account: str = ""  # Twilio's Account SID
    sms_secret: str = Field(default="", repr=False)  # Twilio's auth token, or the shared secret
    sms_from: str = ""  # the number texts come from
