from pydantic import Field
from servicekit.settings import ServiceSettings


class IntakeSettings(ServiceSettings):
    http_port: int = 8101
    # Fernet keys, newest first, comma separated. Encrypt with the first; decrypt with any,
    # so a key can be rotated in without re-encrypting everything at once.
    personal_data_keys: str = Field(default="", description="PERSONAL_DATA_KEYS")
