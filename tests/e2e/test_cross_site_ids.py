"""The class, not only the instances: built from every service's OpenAPI document, each
operation that takes a reference (a site, a supporter, a person) in its body or its path is
sent by a site's coordinator twice: once naming another site's real ids, once naming ids
that exist nowhere. The two answers must be the same (status, and message once the id is
blanked out) and must not mention the other site: so an id of another site reaches nothing
that an unknown one would not, and a refusal is no look-up of another site's state. Each
must be a refusal: a signed-in caller of one site never binds another site's id."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from .helpers import ref

# metrics takes no reference but the site in its own paths (refused as any other site)
SERVICES = ("intake", "matching", "oncall", "training")

# body and path fields that name a site or a person, by what they name
SITE_FIELDS = {"site_id", "home_site"}
PERSON_FIELDS = {
    "supporter",
    "staff_ref",
    "primary",
    "backup",
    "coordinator",
    "attendees",
    "members",
    "referee",
    "evaluator_ref",
    "evaluatee_ref",
    "reports_to",
}
# the public forms: anyone may ask any site for help, for themself or a colleague, signed in
# or not (the site list is public too)
PUBLIC = {("intake", "POST /referrals"), ("intake", "POST /referrals/colleague")}
# authority-wide directories other tests share (their trust is tested in test_api_fuzz)
SHARED = {("training", "PUT /courses/{code}"), ("metrics", "PUT /sites/{site_id}")}


# rules across fields a schema cannot say (an end after a start, a real time zone): set so a
# drawn request passes them and the references in it are what is judged
FIXUPS: dict[tuple[str, str], dict[str, Any]] = {
    ("oncall", "POST /sites/{site_id}/overrides"): {
        "starts_at": "2030-01-01T00:00:00Z",
        "ends_at": "2030-01-02T00:00:00Z",
    },
    ("oncall", "PUT /sites/{site_id}/schedule"): {
        "time_zone": "UTC",
        "rotations": [
            {"layer": "primary", "members": ["st-x"], "starts_local": "2030-01-01T08:00:00", "every": "daily"}
        ],
    },
}


def _valid_cases(operation: Any, count: int = 8) -> list[Any]:
    """Requests the schema accepts (Schemathesis draws them: patterns, formats, bounds)."""
    drawn: list[Any] = []

    @given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE))
    @settings(max_examples=count, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def draw(case: Any) -> None:
        drawn.append(case)

    try:
        draw()
    except Unsatisfiable:
        return []
    return drawn


def _with_ids(value: Any, site_id: str, person: str) -> tuple[Any, int]:
    """``value`` with every reference field set to ``site_id`` or ``person``; how many."""
    if isinstance(value, list):
        pairs = [_with_ids(v, site_id, person) for v in value]
        return [v for v, _ in pairs], sum(n for _, n in pairs)
    if not isinstance(value, dict):
        return value, 0
    out, found = {}, 0
    for key, v in value.items():
        if key in SITE_FIELDS and isinstance(v, str):
            out[key], found = site_id, found + 1
        elif key in PERSON_FIELDS and isinstance(v, str):
            out[key], found = person, found + 1
        elif key in PERSON_FIELDS and isinstance(v, list) and all(isinstance(x, str) for x in v):
            out[key], found = [person], found + 1
        else:
            out[key], n = _with_ids(v, site_id, person)
            found += n
    return out, found


def _blank(text: str, *ids: str) -> str:
    for i in ids:
        text = text.replace(i, "<id>")
    return text


def _send(
    p: Any, token: str, base_url: str, operation: Any, case: Any, path: dict[str, str], ids: tuple[str, str]
):  # type: ignore[no-untyped-def]
    """The case with every reference set to ``ids`` (a site, a person); None if it has none."""
    person = ids[1]
    body, in_body = _with_ids(copy.deepcopy(case.body if isinstance(case.body, dict | list) else None), *ids)
    if not in_body and "staff_ref" not in path:
        return None
    params = {k: (person if k == "staff_ref" else v) for k, v in path.items()}
    with p.client(token) as client:
        return client.request(
            case.method, base_url + operation.path.format(**params), json=body, params=case.query
        )


def _usable(response: Any) -> bool:
    """The request passed the schema's checks and the role's: the ids are what is judged."""
    if response.status_code == 403:
        return False
    return not (response.status_code == 422 and response.json()["message"].startswith("Please correct"))


# who may send references in a body: each site role, with a token for the caller's site only
ROLES = ("site_coordinator", "manager", "peer_supporter")


@pytest.mark.parametrize("service", SERVICES)
def test_another_sites_ids_are_answered_as_unknown_ones_are(running_platform, site, other_site, service):
    p = running_platform
    base_url = p.url(service)
    with p.client() as client:
        schema = schemathesis.openapi.from_dict(client.get(f"{base_url}/openapi.json").json())
    tokens = {
        role: p.issuer.token(f"cross-site-{role}", [role], [site.site_id], staff_ref=ref(site, "sup2"))
        for role in ROLES
    }
    own = (site.site_id, ref(site, "sup1"))
    theirs_ids = (other_site.site_id, ref(other_site, "sup1"))
    tried, differences = [], []
    for operation in (r.ok() for r in schema.get_all_operations()):
        if (service, operation.label) in PUBLIC | SHARED:
            continue
        fixup = FIXUPS.get((service, operation.label), {})
        for role, token in tokens.items():
            for case in _valid_cases(operation):
                if fixup and isinstance(case.body, dict):
                    case.body = {**case.body, **fixup}
                path = dict(case.path_parameters or {})
                if "site_id" in path:
                    path["site_id"] = site.site_id  # the caller's own site: the ids inside are judged
                mine = _send(p, token, base_url, operation, case, path, own)
                if mine is None or not _usable(mine):
                    continue  # no reference drawn, or the schema's or the role's checks refused
                nowhere = uuid.uuid4().hex[:8]
                unknown_ids = (f"t-nowhere{nowhere}", f"st-nobody{nowhere}")
                theirs = _send(p, token, base_url, operation, case, path, theirs_ids)
                unknown = _send(p, token, base_url, operation, case, path, unknown_ids)
                assert theirs is not None and unknown is not None
                where = f"{role}: {operation.label}"
                tried.append(f"{where} ({theirs.status_code})")
                if theirs.status_code < 400:
                    differences.append(f"{where}: another site's ids accepted ({theirs.status_code})")
                elif theirs.status_code != unknown.status_code:
                    differences.append(
                        f"{where}: {theirs.status_code} for theirs, {unknown.status_code} for unknown"
                    )
                elif other_site.site_id in theirs.text:
                    differences.append(f"{where}: the answer names the other site: {theirs.text[:200]}")
                elif theirs.status_code >= 400:
                    told, untold = _blank(theirs.text, *theirs_ids), _blank(unknown.text, *unknown_ids)
                    if told != untold:
                        differences.append(f"{where}: {told[:200]} != {untold[:200]}")
                break
    assert tried, f"{service}: no operation takes a reference"  # the judged ones: `tried`
    assert not differences, "\n".join(differences)
