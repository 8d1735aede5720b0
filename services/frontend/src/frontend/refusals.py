"""A service's refusal in the reader's language.

The services answer in English, for operators and integrators. A person reading a page in
French should not meet an English sentence inside a French one, so the refusals a person can
meet on a page are recognised here and said from the catalogue; one not recognised is said
to be the service's own words, in quotation marks, rather than passed off as the page's.

Pure: a table of patterns, tested against the services' messages in test_pages_logic.
"""

from __future__ import annotations

import re

from frontend.i18n import Translator

# pattern of the service's message -> the catalogue's key; named groups become its values,
# and a group named status or to is said as a case status
KNOWN: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), key)
    for pattern, key in (
        (r"the case is already (?P<status>\w+); nothing more can be recorded", "refusal.case_ended"),
        (r"a case that is (?P<status>\w+) cannot become (?P<to>\w+)", "refusal.transition"),
        (r"record the call back first", "refusal.call_back_first"),
        (r"outcome 'no_contact' goes with contact_made false", "refusal.no_contact_outcome"),
        (r"this page is closed: the case is (?P<status>\w+)", "refusal.page_closed"),
        (r"this case has ended \((?P<status>\w+)\): nobody can be assigned", "refusal.case_ended"),
        (r"not on the roster of supporters who serve this site", "refusal.not_on_roster"),
        (r"a conflict of interest rule applies", "refusal.conflict_of_interest"),
        (r"needs a mental-health professional", "refusal.needs_professional"),
        (r"is junior to the worker", "refusal.junior"),
        (r"required certifications are not current", "refusal.certification"),
        (r"has paused", "refusal.paused"),
        (r"reached the deployment limit", "refusal.deployment_cap"),
        (r"this proposal predates overrides", "refusal.predates"),
        (r"this is an offer: decline it instead", "refusal.offer"),
        (r"not supporters of this site: (?P<who>[\w, -]+)", "refusal.not_supporters"),
        (r"not people of this site: (?P<who>[\w, -]+)", "refusal.not_people"),
        (r"a swap trades two covered shifts", "refusal.swap_uncovered"),
        (r"both shifts belong to the same supporter", "refusal.swap_same"),
        (r"`to` must be after `from`", "refusal.window"),
    )
)

STATUS_GROUPS = ("status", "to")


def said(t: Translator, message: str) -> str:
    """The service's refusal as the reader's page says it."""
    for pattern, key in KNOWN:
        found = pattern.search(message)
        if found:
            values = {
                name: t.label("status", value) if name in STATUS_GROUPS else value
                for name, value in found.groupdict().items()
            }
            return t(key, **values)
    return t("refusal.other", message=message)
