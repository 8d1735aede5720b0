"""What a page's phone call says and how it is answered, as TwiML: pure, no I/O.

The call speaks English, then French (the platform does not know which the phone's owner
prefers), names the site, whether it is a crisis and the time to answer by, never the worker.
Pressing 1 takes the page and 2 declines it, as the person called: the call's reply code is
in the address Twilio posts the key pressed to, and that address is signed by Twilio.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode
from xml.sax.saxutils import escape, quoteattr

from contracts.time_text import time_text, zone_of

from oncall.sms.replies import Action, Reply

KEYS = {"1": Action.TAKE, "2": Action.DECLINE}
WAIT_SECONDS = 8  # for a key, after the words end; then the call says goodbye


@dataclass(frozen=True)
class OpenPage:
    """What a call may say of the page it is about."""

    site_id: str
    crisis: bool
    acknowledge_by: datetime
    time_zone: str | None


SAID: dict[Reply, tuple[str, str]] = {
    Reply.TAKEN: (
        "Thank you: the case is yours. Sign in to the platform to see how to reach the person.",
        "Merci : le dossier est à vous. Connectez-vous à la plateforme pour savoir comment joindre "
        "la personne.",
    ),
    Reply.DECLINED: (
        "Thank you: the next person is being paged now.",
        "Merci : la personne suivante est appelée maintenant.",
    ),
    Reply.NOT_UNDERSTOOD: ("That key does nothing.", "Cette touche ne fait rien."),
    Reply.UNKNOWN: (
        "This call matches no page sent to this phone: nothing was changed.",
        "Cet appel ne correspond à aucun appel de garde envoyé à ce téléphone : rien n'a changé.",
    ),
    Reply.USED: ("This page was already answered: nothing was changed.", "Cet appel a déjà eu sa réponse."),
    Reply.CLOSED: (
        "This page is no longer open: it was taken, moved on or ended. Nothing was changed. Thank you.",
        "Cet appel n'est plus ouvert : rien n'a changé. Merci.",
    ),
}
NO_KEY = (
    "No key was pressed. The page stays open: you can still answer it from your messages. Goodbye.",
    "Aucune touche. L'appel reste ouvert : vous pouvez encore répondre depuis vos messages. Au revoir.",
)


def _say(english: str, french: str) -> str:
    return f'<Say language="en-CA">{escape(english)}</Say><Say language="fr-CA">{escape(french)}</Say>'


def _twiml(inner: str) -> str:
    return f'<?xml version="1.0" encoding="UTF-8"?><Response>{inner}</Response>'


def with_code(url: str, code: str) -> str:
    return f"{url}?{urlencode({'code': code})}"


def ask(page: OpenPage, pressed_url: str) -> str:
    """The call's first words: the page, then the keys; a key goes to ``pressed_url``."""
    zone = zone_of(page.time_zone)
    english = (
        f"Peer support request at {page.site_id}{', a crisis' if page.crisis else ''}. "
        f"Please answer by {time_text(page.acknowledge_by, zone, 'en')}. "
        "Press 1 to take it. Press 2 to decline."
    )
    french = (
        f"Demande de soutien par les pairs à {page.site_id}{', en crise' if page.crisis else ''}. "
        f"Répondez avant {time_text(page.acknowledge_by, zone, 'fr')}. "
        "Appuyez sur 1 pour la prendre, sur 2 pour refuser."
    )
    gather = (
        f'<Gather numDigits="1" timeout="{WAIT_SECONDS}" method="POST" action={quoteattr(pressed_url)}>'
        f"{_say(english, french)}</Gather>"
    )
    return _twiml(gather + _say(*NO_KEY) + "<Hangup/>")


def told(reply: Reply) -> str:
    """What the call says once the page is answered (or cannot be), then it ends."""
    return _twiml(_say(*SAID[reply]) + "<Hangup/>")


def again(answer_url: str) -> str:
    """A key that means nothing: say so, and ask again from the start."""
    return _twiml(
        _say(*SAID[Reply.NOT_UNDERSTOOD]) + f'<Redirect method="POST">{escape(answer_url)}</Redirect>'
    )
