"""What a supporter texts back and what they are told: pure, no I/O. The replies are in
English and French at once (the platform does not know which the phone's owner reads), and
never name the worker. They are written without accents: a text in the GSM alphabet carries
160 characters a part, one with an accent only 70."""

from __future__ import annotations

import re
from enum import StrEnum

TAKE_WORDS = {"t", "take", "y", "yes", "ok", "p", "prendre", "oui"}
DECLINE_WORDS = {"d", "decline", "n", "no", "r", "refuser", "non"}
_REPLY = re.compile(r"^\s*([a-zA-Zé]+)\W*(\d{4})\s*$")


class Action(StrEnum):
    TAKE = "take"
    DECLINE = "decline"


def parse(text: str) -> tuple[Action, str] | None:
    """'T 4821', 'take 4821', 'p4821' -> (take, '4821'); anything else -> None."""
    found = _REPLY.match(text or "")
    if not found:
        return None
    word = found[1].lower()
    if word in TAKE_WORDS:
        return Action.TAKE, found[2]
    if word in DECLINE_WORDS:
        return Action.DECLINE, found[2]
    return None


class Reply(StrEnum):
    TAKEN = "taken"
    DECLINED = "declined"
    NOT_UNDERSTOOD = "not_understood"
    UNKNOWN = "unknown"
    USED = "used"
    CLOSED = "closed"


TEXTS = {
    Reply.TAKEN: "Thank you: the case is yours. Open the link in the message and sign in to see how to "
    "reach the person. / Merci : le dossier est a vous. Ouvrez le lien du message et connectez-vous.",
    Reply.DECLINED: "Thank you: the next person is being paged now. / Merci : la personne suivante est "
    "appelee.",
    Reply.NOT_UNDERSTOOD: "Reply T and the code to take the case, or D and the code to decline, e.g. T 4821. "
    "/ Repondez P et le code pour le prendre, ou R et le code pour refuser.",
    Reply.UNKNOWN: "This reply matches no page sent to this phone: nothing was changed. Use the link in the "
    "message. / Cette reponse ne correspond a aucun appel : rien n'a change.",
    Reply.USED: "This code was already used: nothing was changed. / Ce code a deja servi : rien n'a change.",
    Reply.CLOSED: "This page is no longer open (taken, moved on or ended): nothing was changed. Thank you. "
    "/ Cet appel n'est plus ouvert : rien n'a change. Merci.",
}
