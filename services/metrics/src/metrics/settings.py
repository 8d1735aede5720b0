from pydantic import Field
from servicekit.settings import ServiceSettings


class MetricsSettings(ServiceSettings):
    http_port: int = 8105
    # a published count below this is suppressed: it could point at a person
    suppress_below: int = Field(default=5, ge=1)
