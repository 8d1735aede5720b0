"""Who is signed in: an encrypted cookie, so the front-end keeps no session store.

The cookie holds the user's access token (sent to the services on every call), what the
ID token said about them (roles, sites, staff reference) and a token for forms (CSRF). It
is encrypted and authenticated (Fernet): a user can neither read the token out of it nor
change the sites they act for.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import asdict, dataclass, field

from cryptography.fernet import Fernet, InvalidToken

COOKIE = "pss_session"
SIGNIN_COOKIE = "pss_signin"  # state, nonce and PKCE verifier while the provider is asked
SIGNIN_SECONDS = 600

AUTHORITY_ADMIN = "authority_admin"
SITE_COORDINATOR = "site_coordinator"


@dataclass(frozen=True)
class Session:
    subject: str
    name: str
    roles: list[str]
    sites: list[str]
    access_token: str
    expires_at: float
    staff_ref: str | None = None
    form_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    last_seen: float = field(default_factory=time.time)  # the last request someone made

    def ends_at(self, idle_seconds: float) -> float:
        """When it ends: at the sign-in's end, or after ``idle_seconds`` of nothing done."""
        return min(self.expires_at, self.last_seen + idle_seconds)

    @property
    def is_admin(self) -> bool:
        return AUTHORITY_ADMIN in self.roles

    @property
    def may_coordinate(self) -> bool:
        return self.is_admin or SITE_COORDINATOR in self.roles

    def acts_for(self, site_id: str) -> bool:
        """As the services decide it (servicekit.auth.Principal.acts_for); the services
        check again on every call, this only avoids showing pages that would be empty."""
        return self.may_coordinate and (self.is_admin or site_id in self.sites)


class Sealer:
    def __init__(self, key: str) -> None:
        if not key:
            raise ValueError("set SESSION_KEY (a Fernet key): sessions are sealed with it")
        self._fernet = Fernet(key.encode())

    def seal(self, value: dict[str, object]) -> str:
        return self._fernet.encrypt(json.dumps(value).encode()).decode()

    def open(self, sealed: str | None, *, max_age: float | None = None) -> dict[str, object] | None:
        if not sealed:
            return None
        try:
            raw = self._fernet.decrypt(sealed.encode(), ttl=int(max_age) if max_age else None)
        except (InvalidToken, ValueError):
            return None
        value = json.loads(raw)
        return value if isinstance(value, dict) else None

    def seal_session(self, session: Session) -> str:
        return self.seal(asdict(session))

    def open_session(self, sealed: str | None, idle_seconds: float | None = None) -> Session | None:
        value = self.open(sealed)
        if value is None:
            return None
        try:
            session = Session(**value)  # type: ignore[arg-type]
        except TypeError:
            return None  # a cookie from an older front-end: sign in again
        ends = session.ends_at(idle_seconds) if idle_seconds else session.expires_at
        return session if ends > time.time() else None
