"""A FHIR R4 directory bundle read as the platform's directory, with no service: the sample
bundle in docs/examples gives its sites with their region, its people with their site,
profession, grade, languages and reporting line, and reports every entry it cannot use by
number, as a CSV import reports lines."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from pss_cli import fhir

SAMPLE = Path(__file__).parents[3] / "docs" / "examples" / "fhir-directory.json"


def sample() -> dict:
    return json.loads(SAMPLE.read_text())


def test_the_sample_bundle_gives_sites_people_professions_grades_and_reporting_lines():
    found = fhir.read_bundle(sample())
    assert found.entries == 18
    assert found.sites == {"riverside": "north", "east-clinic": "north"}
    people = {row["fields"]["staff_ref"]: (row["line"], row["fields"]) for row in found.people}
    assert people["st-fhir01"] == (
        4,
        {
            "staff_ref": "st-fhir01",
            "site_id": "riverside",
            "profession": "nursing",
            "grade": "registered_nurse",  # SNOMED CT 224535009, registered nurse
            "languages": "en;fr",
            "gender": "woman",
            "reports_to": "st-fhir02",
        },
    )
    assert people["st-fhir02"][1]["grade"] == "manager"  # the platform's own grade code wins
    assert people["st-fhir03"][1]["site_id"] == "east-clinic"  # a Location as the site
    assert set(people) == {"st-fhir01", "st-fhir02", "st-fhir03", "st-fhir04"}
    # no name is read: the directory holds no worker's name
    assert all("name" not in str(fields) for _, fields in people.values())


def test_every_entry_the_bundle_cannot_give_is_reported_by_its_number_and_why():
    rejected = dict(fhir.read_bundle(sample()).rejected)
    assert rejected == {
        12: "no identifier of the staff system urn:pss:fhir:staff-ref",
        13: rejected[13],
        14: "Patient is not read (Practitioner, PractitionerRole, Organization, Location are)",
        16: "st-fhir07: no profession in the role's code (HL7, SNOMED CT or urn:pss:fhir:profession)",
        17: "st-fhir01: a second active role; the directory keeps one site (entry 5)",
    }
    assert rejected[13].startswith("not valid FHIR R4: birthDate")


def test_a_file_that_is_not_a_bundle_and_references_to_nothing_are_said_plainly():
    assert fhir.read_bundle({"resourceType": "Patient"}).rejected == [
        (0, "not a FHIR Bundle: the file's resourceType must be Bundle")
    ]
    bundle = sample()
    broken = copy.deepcopy(bundle)
    broken["entry"][4]["resource"]["extension"][0]["valueReference"]["reference"] = "Practitioner/gone"
    broken["entry"][6]["resource"]["practitioner"]["reference"] = "Practitioner/gone"
    found = fhir.read_bundle(broken)
    rejected = dict(found.rejected)
    assert rejected[5] == "st-fhir01: reports-to names nobody of this bundle"
    assert rejected[7] == "names no Practitioner of this bundle"
    assert rejected[6] == "st-fhir02: no active PractitionerRole says where they work"
    # the person whose manager is unknown is still imported, without a reporting line
    (row,) = [r for r in found.people if r["fields"]["staff_ref"] == "st-fhir01"]
    assert "reports_to" not in row["fields"]


def test_other_identifier_systems_are_read_when_the_authority_names_them():
    text = json.dumps(sample()).replace("urn:pss:fhir:staff-ref", "https://hr.example.ca/staff")
    found = fhir.read_bundle(json.loads(text), staff_system="https://hr.example.ca/staff")
    assert len(found.people) == 4
