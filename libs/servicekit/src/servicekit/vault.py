"""Encryption of personal data at rest, with key rotation (MultiFernet)."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class PersonalDataVault:
    def __init__(self, keys: str) -> None:
        parsed = [k.strip() for k in keys.split(",") if k.strip()]
        if not parsed:
            raise ValueError(
                "PERSONAL_DATA_KEYS is empty: the service refuses to store personal data unencrypted"
            )
        self._fernet = MultiFernet([Fernet(k.encode()) for k in parsed])

    def seal(self, value: str | None) -> bytes | None:
        return None if value is None else self._fernet.encrypt(value.encode())

    def open(self, token: bytes | None) -> str | None:
        if token is None:
            return None
        try:
            return self._fernet.decrypt(bytes(token)).decode()
        except InvalidToken:
            raise ValueError("personal data could not be decrypted with the configured keys") from None

    def rotate(self, token: bytes) -> bytes:
        """Re-encrypt under the newest key."""
        return self._fernet.rotate(bytes(token))

    @staticmethod
    def new_key() -> str:
        return Fernet.generate_key().decode()
