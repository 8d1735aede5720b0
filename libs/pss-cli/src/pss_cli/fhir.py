"""A FHIR R4 directory export read as the platform's directory: pure, no I/O.

An authority's HR or provider directory exports a Bundle of Practitioner, PractitionerRole,
Organization and Location resources. Each entry is validated on its own with the FHIR
models of ``fhir.resources`` (its R4B package: R4B changed nothing in these four resources),
so one broken entry is reported with its number, as a CSV import reports a line, and the
rest are imported.

What becomes what:
- a **site** is an Organization or a Location with an identifier of the site system
  (``urn:pss:fhir:site`` unless told otherwise); its region, where expressed, is the
  identifier of the region system on the Organization it is ``partOf`` (for a Location, on
  its ``managingOrganization``);
- a **person** is a Practitioner with an identifier of the staff system
  (``urn:pss:fhir:staff-ref``); their languages come from ``communication``, their gender
  (only to honour a worker's preference) from ``gender``;
- their **site, profession and grade** come from their active PractitionerRole: the site
  from its ``organization`` or ``location``, the profession and grade from its ``code``
  (HL7's practitioner-role codes, a few SNOMED CT occupations, or the platform's own
  ``urn:pss:fhir:profession`` and ``urn:pss:fhir:grade`` codes, which always win);
- a **reporting line**, where expressed, is the PractitionerRole's extension
  ``urn:pss:fhir:reports-to`` whose valueReference names the manager's Practitioner or
  PractitionerRole.

Names are not read: the directory holds no worker's name (DOMAIN.md, "Confidentiality").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

SITE_SYSTEM = "urn:pss:fhir:site"
REGION_SYSTEM = "urn:pss:fhir:region"
STAFF_SYSTEM = "urn:pss:fhir:staff-ref"
PROFESSION_SYSTEM = "urn:pss:fhir:profession"
GRADE_SYSTEM = "urn:pss:fhir:grade"
REPORTS_TO = "urn:pss:fhir:reports-to"
HL7_ROLE = "http://terminology.hl7.org/CodeSystem/practitioner-role"
SNOMED = "http://snomed.info/sct"
READ = ("Practitioner", "PractitionerRole", "Organization", "Location")

# (profession, grade or None): what a standard code says
STANDARD_CODES: dict[tuple[str, str], tuple[str, str | None]] = {
    (HL7_ROLE, "doctor"): ("medicine", None),
    (HL7_ROLE, "nurse"): ("nursing", None),
    (HL7_ROLE, "pharmacist"): ("pharmacy", None),
    (SNOMED, "224535009"): ("nursing", "registered_nurse"),  # registered nurse
    (SNOMED, "309343006"): ("medicine", None),  # physician
    (SNOMED, "158965000"): ("medicine", None),  # medical practitioner
    (SNOMED, "46255001"): ("pharmacy", None),  # pharmacist
    (SNOMED, "59944000"): ("psychology", None),  # psychologist
    (SNOMED, "106328005"): ("social_work", None),  # social worker
    (SNOMED, "36682004"): ("physiotherapy", None),  # physiotherapist
    (SNOMED, "80546007"): ("occupational_therapy", None),  # occupational therapist
    (SNOMED, "40127002"): ("respiratory", None),  # respiratory therapist
}
GENDERS = {"female": "woman", "male": "man"}


@dataclass
class Directory:
    """What the bundle says, ready for matching: sites with their region, and people as
    import rows (``line`` is the Practitioner's entry number, from 1)."""

    entries: int = 0
    sites: dict[str, str | None] = field(default_factory=dict)  # site_id -> region
    people: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (entry, problem)


@dataclass
class _Entry:
    number: int
    kind: str
    resource: Any  # the validated fhir.resources model


def _model(kind: str) -> Any:
    from fhir.resources.R4B import get_fhir_model_class

    return get_fhir_model_class(kind)


def _problem(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    return f"not valid FHIR R4: {where}: {first['msg']}" + (
        f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    )


def _identifier(resource: Any, system: str) -> str | None:
    for identifier in resource.identifier or []:
        if identifier.system == system and identifier.value:
            return str(identifier.value)
    return None


def _key(reference: Any) -> str | None:
    return str(reference.reference) if reference is not None and reference.reference else None


def _codes(concepts: list[Any] | None) -> list[tuple[str, str]]:
    return [
        (str(c.system or ""), str(c.code))
        for concept in concepts or []
        for c in concept.coding or []
        if c.code
    ]


def read_bundle(
    bundle: Any, *, staff_system: str = STAFF_SYSTEM, site_system: str = SITE_SYSTEM
) -> Directory:
    """The directory the bundle expresses; every entry not used is reported with why."""
    found = Directory()
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        found.rejected.append((0, "not a FHIR Bundle: the file's resourceType must be Bundle"))
        return found
    raw_entries = bundle.get("entry") or []
    found.entries = len(raw_entries)
    entries: list[_Entry] = []
    by_reference: dict[str, _Entry] = {}
    for number, raw in enumerate(raw_entries, start=1):
        resource = raw.get("resource") if isinstance(raw, dict) else None
        kind = resource.get("resourceType") if isinstance(resource, dict) else None
        if kind not in READ:
            found.rejected.append(
                (number, f"{kind or 'an entry with no resource'} is not read ({', '.join(READ)} are)")
            )
            continue
        try:
            model = _model(kind).model_validate(resource)
        except ValidationError as exc:
            found.rejected.append((number, _problem(exc)))
            continue
        entry = _Entry(number, kind, model)
        entries.append(entry)
        if model.id:
            by_reference[f"{kind}/{model.id}"] = entry
        if isinstance(raw.get("fullUrl"), str):
            by_reference[raw["fullUrl"]] = entry

    def resolve(reference: Any, *kinds: str) -> _Entry | None:
        entry = by_reference.get(_key(reference) or "")
        return entry if entry is not None and entry.kind in kinds else None

    # sites, and the region of each where its parent organisation names one
    site_of: dict[int, str] = {}
    for entry in entries:
        if entry.kind not in ("Organization", "Location"):
            continue
        site_id = _identifier(entry.resource, site_system)
        if site_id is None:
            continue  # a region, a department: an organisation that is not a site
        parent = resolve(
            entry.resource.partOf if entry.kind == "Organization" else entry.resource.managingOrganization,
            "Organization",
        )
        found.sites[site_id] = _identifier(parent.resource, REGION_SYSTEM) if parent else None
        site_of[entry.number] = site_id

    staff_of = {
        e.number: ref
        for e in entries
        if e.kind == "Practitioner" and (ref := _identifier(e.resource, staff_system))
    }
    roles: dict[int, list[_Entry]] = {}
    for entry in entries:
        if entry.kind != "PractitionerRole":
            continue
        if entry.resource.active is False:
            continue  # an ended role says nothing of where the person works now
        practitioner = resolve(entry.resource.practitioner, "Practitioner")
        if practitioner is None:
            found.rejected.append((entry.number, "names no Practitioner of this bundle"))
            continue
        roles.setdefault(practitioner.number, []).append(entry)

    for entry in entries:
        if entry.kind != "Practitioner":
            continue
        staff_ref = staff_of.get(entry.number)
        if staff_ref is None:
            found.rejected.append((entry.number, f"no identifier of the staff system {staff_system}"))
            continue
        held = roles.get(entry.number, [])
        if not held:
            found.rejected.append(
                (entry.number, f"{staff_ref}: no active PractitionerRole says where they work")
            )
            continue
        role = held[0]
        place = resolve(role.resource.organization, "Organization") or next(
            (e for loc in role.resource.location or [] if (e := resolve(loc, "Location"))), None
        )
        site_id = site_of.get(place.number) if place else None
        if site_id is None:
            found.rejected.append(
                (
                    role.number,
                    f"{staff_ref}: the role's organization or location has no identifier of {site_system}",
                )
            )
            continue
        for other in held[1:]:
            found.rejected.append(
                (
                    other.number,
                    f"{staff_ref}: a second active role; the directory keeps one site (entry {role.number})",
                )
            )
        fields: dict[str, Any] = {"staff_ref": staff_ref, "site_id": site_id}
        codes = _codes(role.resource.code)
        own = dict(codes)
        standard = [STANDARD_CODES[c] for c in codes if c in STANDARD_CODES]
        profession = own.get(PROFESSION_SYSTEM) or (standard[0][0] if standard else None)
        grade = own.get(GRADE_SYSTEM) or next((g for _, g in standard if g), None)
        if profession is None:
            found.rejected.append(
                (
                    role.number,
                    f"{staff_ref}: no profession in the role's code (HL7, SNOMED CT or {PROFESSION_SYSTEM})",
                )
            )
            continue
        fields["profession"] = profession
        if grade is not None:
            fields["grade"] = grade
        languages = sorted({code[:2].lower() for _, code in _codes(entry.resource.communication)})
        if languages:
            fields["languages"] = ";".join(languages)  # a list cell, as in the CSV
        if entry.resource.gender in GENDERS:
            fields["gender"] = GENDERS[entry.resource.gender]
        for extension in role.resource.extension or []:
            if extension.url == REPORTS_TO:
                manager = resolve(extension.valueReference, "Practitioner", "PractitionerRole")
                if manager is not None and manager.kind == "PractitionerRole":
                    manager = resolve(manager.resource.practitioner, "Practitioner")
                if manager is None or manager.number not in staff_of:
                    found.rejected.append(
                        (role.number, f"{staff_ref}: reports-to names nobody of this bundle")
                    )
                else:
                    fields["reports_to"] = staff_of[manager.number]
        found.people.append({"line": entry.number, "fields": fields})
    found.rejected.sort()
    return found
