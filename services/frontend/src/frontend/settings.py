from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class FrontendSettings(BaseSettings):
    """Read from the environment. The front-end has no database and no Kafka: it calls
    the services' APIs with the signed-in user's token."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    http_host: str = "127.0.0.1"
    http_port: int = 8100
    # where browsers reach the front-end: the sign-in callback is registered under it
    public_base_url: str = "http://127.0.0.1:8100"

    # the authority's OpenID Connect provider (pss dev runs a development one)
    oidc_issuer: str = "http://127.0.0.1:8109"
    oidc_client_id: str = "pss-frontend"
    oidc_client_secret: str = Field(
        default="", description="Given by the provider when the client is registered"
    )
    # a Fernet key: sessions live in an encrypted cookie, so the front-end stores nothing
    session_key: str = Field(default="", description="Fernet key (32 url-safe base64 bytes)")
    # a session lasts a night shift, and ends sooner after this long with nothing done (an
    # unattended screen; the queue refreshing itself is not someone doing something)
    session_hours: float = Field(default=12, gt=0, le=24)
    idle_minutes: float = Field(default=60, gt=0, le=12 * 60)

    intake_url: str = "http://127.0.0.1:8101"
    matching_url: str = "http://127.0.0.1:8102"
    oncall_url: str = "http://127.0.0.1:8103"
    training_url: str = "http://127.0.0.1:8104"
    metrics_url: str = "http://127.0.0.1:8105"
    service_timeout_seconds: float = Field(default=10, gt=0)

    # the queue refreshes itself this often in the browser
    queue_refresh_seconds: float = Field(default=10, ge=1)

    # times on pages are shown in the authority's zone (a schedule in the site's own)
    display_time_zone: str = "America/Toronto"

    log_level: str = "INFO"
    log_json: bool = True
