from pydantic import Field
from servicekit.settings import ServiceSettings


class MatchingSettings(ServiceSettings):
    http_port: int = 8102
    # AHS (001, Box 4.13): no more than twice a month, to prevent burnout
    deployment_cap: int = Field(default=2, ge=1)
    deployment_window_days: int = Field(default=30, ge=1)
    max_candidates: int = Field(default=5, ge=1)
    # a group activation's broadcast: at most this many eligible supporters are messaged
    broadcast_limit: int = Field(default=50, ge=2)
