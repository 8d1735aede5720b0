from pydantic import Field
from servicekit.settings import ServiceSettings


class IntakeSettings(ServiceSettings):
    http_port: int = 8101
    # Fernet keys, newest first, comma separated. Encrypt with the first; decrypt with any,
    # so a key can be rotated in without re-encrypting everything at once.
    personal_data_keys: str = Field(default="", description="PERSONAL_DATA_KEYS")
    # identifiers of an ended case are erased this many days after it ended (DOMAIN.md)
    purge_after_days: float = Field(default=30, ge=0)
    # an offer nobody answers lapses: the worker chose to ignore it, and that is respected
    offer_expires_after_days: float = Field(default=14, gt=0)
    # purge and offer expiry run at this interval; neither is urgent
    housekeeping_poll_seconds: float = Field(default=60, gt=0)
    # a worker waiting for an offer should not wait for the mail
    mail_poll_seconds: float = Field(default=2, gt=0)
    # where a worker answers an offer or follows their case (the link in a message)
    worker_portal_url: str = "http://127.0.0.1:8101/my-case/page"
    # a manager's offers mail an address they typed: so many an hour per requester at most
    offers_per_requester_per_hour: int = Field(default=10, ge=1)
