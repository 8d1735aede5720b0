"""The refusals a person meets on a page, and the words of a match's explanation, are said in
their language.

The services answer in English; the front-end recognises the refusals a page can show and
says them from its catalogue. Here the services' own messages (raised by their own code, not
copied) are run through the front-end's table: each is recognised, and the French says none
of the English. A message the table does not know is shown quoted, as the service's words.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from contracts.types import DutyLayer, MatchRule
from frontend.i18n import Translator
from frontend.refusals import said
from intake.domain import CaseStatus, LifecycleError, check_transition
from matching.proposals.handlers import _refusal
from oncall.paging.policy import PageClosed
from oncall.schedule import Schedule, swap


def _raised(call) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises((LifecycleError, ValueError)) as caught:
        call()
    return str(caught.value)


def _messages() -> list[str]:
    found = [
        _raised(lambda: check_transition(CaseStatus.WITHDRAWN, CaseStatus.CONTACTED)),
        _raised(lambda: check_transition(CaseStatus.SUBMITTED, CaseStatus.MET)),
        str(PageClosed("acknowledged")),
        *(f"override refused: {_refusal(rule)}" for rule in MatchRule),
    ]
    empty = Schedule(time_zone="America/Toronto", rotations=())
    moment = datetime.fromisoformat("2026-11-30T03:00:00+00:00")
    found.append(_raised(lambda: swap(empty, DutyLayer.PRIMARY, moment, moment, precedence=0)))
    return found


@pytest.mark.parametrize("message", _messages())
def test_a_services_refusal_is_recognised_and_said_in_french_without_its_english(message):
    english, french = said(Translator("en"), message), said(Translator("fr"), message)
    assert french != Translator("fr")("refusal.other", message=message), f"not recognised: {message}"
    assert message not in french and message not in english
    # no run of four English words of the service's message is left in the French
    words = message.split()
    runs = {" ".join(words[i : i + 4]) for i in range(len(words) - 3)}
    assert not [run for run in runs if run in french], (message, french)


def test_a_refusal_nobody_foresaw_is_quoted_as_the_services_own_words():
    assert said(Translator("fr"), "the moon is made of cheese") == (
        "« the moon is made of cheese » (réponse du service, en anglais)"
    )


def test_every_preference_a_match_is_explained_by_has_words_in_both_languages():
    from frontend.i18n import catalogue
    from matching.rules import Preference

    for language in ("en", "fr"):
        assert {f"preference.{p.value}" for p in Preference} <= set(catalogue(language)), language
