"""English and French: one catalogue per language, the same keys in both (a test checks)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

LANGUAGES = ("en", "fr")
DEFAULT = "en"
COOKIE = "pss_lang"
_HERE = Path(__file__).parent / "catalogues"


@cache
def catalogue(language: str) -> dict[str, str]:
    return json.loads((_HERE / f"{language}.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def negotiate(cookie: str | None, accept_language: str | None) -> str:
    """The user's choice if they made one, else the browser's first language we have."""
    if cookie in LANGUAGES:
        return cookie
    for part in (accept_language or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return DEFAULT


@dataclass(frozen=True)
class Translator:
    language: str

    def __call__(self, key: str, **params: object) -> str:
        text = catalogue(self.language).get(key) or catalogue(DEFAULT).get(key, key)
        return text.format(**params) if params else text

    def has(self, key: str) -> bool:
        return key in catalogue(self.language)

    def label(self, kind: str, value: object) -> str:
        """A code shown to people (a status, a reason): its words, or the code itself."""
        key = f"{kind}.{value}"
        return self(key) if key in catalogue(self.language) else str(value).replace("_", " ")
