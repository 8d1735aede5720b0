"""English and French say the same things, and every phrase a page asks for exists."""

import re
from pathlib import Path

from contracts.types import OverrideReason, ReasonCategory, ReasonKind, Urgency
from frontend.i18n import LANGUAGES, Translator, catalogue, negotiate

TEMPLATES = Path(__file__).parents[1] / "src" / "frontend" / "templates"
SOURCES = Path(__file__).parents[1] / "src" / "frontend"


def test_every_language_has_the_same_phrases_and_none_is_empty():
    english = catalogue("en")
    for language in LANGUAGES:
        found = catalogue(language)
        assert set(found) == set(english), f"{language}: {set(found) ^ set(english)}"
        assert all(text.strip() for text in found.values())


def test_every_phrase_a_template_or_view_asks_for_is_in_the_catalogue():
    asked = set()
    for path in [*TEMPLATES.glob("*.html"), *SOURCES.rglob("*.py")]:
        text = path.read_text()
        asked |= set(re.findall(r"""\bt\(\s*["']([a-z_]+\.[a-z_.]+)["']""", text))
        # a table's headings name a prefix and its columns (_tables.html)
        for prefix, names in re.findall(r'tables\.head\("([a-z_.]+)", \[([^]]*)\]\)', text):
            asked |= {prefix + name for name in re.findall(r'"([a-z_]+)"', names)}
    assert len(asked) > 100  # the pattern really finds them
    assert asked <= set(catalogue("en")), asked - set(catalogue("en"))


def test_the_placeholders_of_a_phrase_are_the_same_in_both_languages():
    for key, english in catalogue("en").items():
        assert set(re.findall(r"{(\\w+)}", english)) == set(re.findall(r"{(\\w+)}", catalogue("fr")[key])), (
            key
        )


def test_every_code_a_coordinator_sees_has_words_in_both_languages():
    for language in LANGUAGES:
        t = Translator(language)
        for kind, values in (
            ("category", ReasonCategory),
            ("kind", ReasonKind),
            ("urgency", Urgency),
            ("reason", OverrideReason),
        ):
            for value in values:
                assert f"{kind}.{value.value}" in catalogue(language), (language, kind, value)
        assert t.label("urgency", "within_hours") != "within hours"


def test_french_is_chosen_from_the_cookie_first_then_the_browser():
    assert negotiate("fr", "en-CA,en;q=0.9") == "fr"
    assert negotiate(None, "fr-CA,fr;q=0.9,en;q=0.5") == "fr"
    assert negotiate("de", "de-DE") == "en"
    assert Translator("fr")("queue.title", site="x") == "Demandes ouvertes à x"
