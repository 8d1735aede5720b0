from pydantic import Field
from servicekit.settings import ServiceSettings


class OncallSettings(ServiceSettings):
    http_port: int = 8103
    # how long a page waits for an acknowledgement before the next person is paged
    ack_timeout_seconds: float = Field(default=300, gt=0)
    crisis_ack_timeout_seconds: float = Field(default=120, gt=0)
    # how many matched supporters the chain holds before the coordinator
    supporters_in_chain: int = Field(default=2, ge=1)
    timer_poll_seconds: float = Field(default=0.25, gt=0)
    public_base_url: str = "http://127.0.0.1:8103"
    # before paging the next supporter, ask matching who is eligible now (unset: trust
    # the episode's snapshot); the token is the service's own, from the identity provider
    matching_url: str | None = None
    service_token: str | None = None
