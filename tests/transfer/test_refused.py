"""Every kind of invalid document is refused with its path, exit status 1,
and nothing written."""

import json

import pytest
from wagtail.models import Revision

from interaction.models import InteractionLogEntry, Offer, OfferSpace, TypologyRule


@pytest.fixture
def document(catalogue, transfer):
    return transfer.export()


@pytest.fixture
def nothing_written(catalogue, transfer):
    """Checks, after the test, that the catalogue is as it was."""
    before = transfer.export("customers", "--drafts")
    revisions = Revision.objects.count()
    entries = InteractionLogEntry.objects.count()
    yield
    assert transfer.export("customers", "--drafts") == before
    assert Revision.objects.count() == revisions
    assert InteractionLogEntry.objects.count() == entries


pytestmark = pytest.mark.usefixtures("nothing_written")


def test_bad_json(transfer):
    assert transfer.refused('{"format": "wagtail-interaction-catalogue",') == [
        "Not valid JSON: Expecting property name enclosed in double quotes "
        "(line 1, column 44)."
    ]


def test_not_a_catalogue(transfer):
    assert transfer.refused(json.dumps([1, 2])) == [
        "The document must be a JSON object."
    ]
    assert transfer.refused({"format": "something", "version": 1}) == [
        "format: This is not a catalogue document: “format” must be "
        "“wagtail-interaction-catalogue”."
    ]


def test_a_newer_version_is_refused(document, transfer):
    document["version"] = 2
    (problem,) = transfer.refused(document)
    assert problem.startswith("version: Version 2 is newer than this site reads")
    assert "upgrade wagtail-interaction" in problem


def test_an_older_version_is_refused(document, transfer):
    document["version"] = 0
    (problem,) = transfer.refused(document)
    assert problem.startswith("version: Version 0 is no longer read")


def test_schema_problems_have_their_paths(document, transfer):
    document["offers"][1]["weights"][0]["formula"] = 12
    document["offers"][0]["colour"] = "red"
    document["spaces"][1]["code"] = "not a slug"
    del document["categories"][0]["label"]
    document["offers"][2]["start_date"] = "2026-01-01T00:00:00"

    problems = transfer.refused(document)

    assert set(problems) == {
        "offers[1].weights[0].formula: Input should be a valid string",
        "offers[0].colour: Extra inputs are not permitted",
        "spaces[1].code: String should match pattern '^[-a-zA-Z0-9_]+$'",
        "categories[0].label: Field required",
        "offers[2].start_date: Input should have timezone info",
    }


def test_missing_references(document, transfer):
    document["offers"][0]["category"] = "loans"
    document["offers"][1]["spaces"].append("sidebar")
    document["offers"][1]["weights"][0]["space"] = "sidebar"
    document["categories"][1]["parent"] = "nowhere"
    document["spaces"][0]["fallback_space"] = "nowhere"
    document["offers"][2]["image"] = "missing.jpg"

    assert set(transfer.refused(document)) == {
        "offers[0].category: Unknown category “loans”.",
        "offers[1].spaces[2]: Unknown space “sidebar” in this environment.",
        "offers[1].weights[0].space: Unknown space “sidebar” in this environment.",
        "categories[1].parent: Unknown category “nowhere”.",
        "spaces[0].fallback_space: Unknown space “nowhere”.",
        "offers[2].image: No image “missing.jpg” on this site.",
    }


def test_duplicate_codes(document, transfer):
    document["offers"].append(dict(document["offers"][0]))
    document["spaces"][1]["content_fields"] = [
        {"field": "title"},
        {"field": "title", "required": True},
    ]
    document["offers"][1]["spaces"] = ["mail", "mail"]

    assert set(transfer.refused(document)) == {
        "offers[3].code: Duplicate “basic-card” (also at offers[0]).",
        "spaces[1].content_fields[1].field: Duplicate “title” (also at "
        "spaces[1].content_fields[0]).",
        "offers[1].spaces[1]: Duplicate “mail” (also at offers[1].spaces[0]).",
    }


def test_a_space_code_of_another_environment(document, transfer):
    document["spaces"][1]["code"] = "visitor-banner"
    document["offers"][2]["spaces"] = ["visitor-banner"]

    assert transfer.refused(document) == [
        "spaces[1].code: The space “visitor-banner” belongs to the environment "
        "“visitors” on this site (space codes are unique on a site)."
    ]


def test_category_cycles(document, transfer):
    document["categories"][0]["parent"] = "premium"

    assert set(transfer.refused(document)) == {
        "categories[0].parent: A category cannot be placed below itself.",
        "categories[1].parent: A category cannot be placed below itself.",
    }


def test_unknown_fields_in_conditions_and_formulas(document, transfer):
    """Conditions and formulas are checked against the site's dimension."""
    document["offers"][1]["weights"][0]["formula"] = "10 + loyalty / 10"
    document["offers"][0]["target_filter"] = {
        "field": "shoe_size",
        "op": ">",
        "value": 40,
    }
    document["typology_rules"][0]["offer_condition"] = {
        "field": "offer.colour",
        "op": "=",
        "value": "red",
    }
    document["environment"]["target_filter"] = {"field": "password", "op": "is empty"}
    document["categories"][1]["target_filter"] = {"field": "age", "op": "~", "value": 1}

    problems = transfer.refused(document)

    assert len(problems) == 5
    by_path = dict(problem.split(": ", 1) for problem in problems)
    assert by_path["offers[1].weights[0].formula"].startswith(
        "Unknown field “loyalty” on contact."
    )
    assert by_path["offers[0].target_filter"].startswith(
        "Unknown field “shoe_size” on contact."
    )
    assert by_path["typology_rules[0].offer_condition"].startswith(
        "Unknown offer field “offer.colour”."
    )
    assert by_path["environment.target_filter"].startswith(
        "Unknown field “password” on contact."
    )
    assert "unknown operator “~”" in by_path["categories[1].target_filter"]


def test_bad_formulas(document, transfer):
    document["offers"][1]["weights"][0]["formula"] = "__import__('os').system('x')"
    document["offers"][1]["weights"][1]["formula"] = "2 ** 10"

    problems = transfer.refused(document)

    assert [p.split(": ", 1)[0] for p in problems] == [
        "offers[1].weights[0].formula",
        "offers[1].weights[1].formula",
    ]


def test_bad_templates(document, transfer):
    """Space templates go through the sandbox, as in the admin."""
    document["spaces"][0]["html_template"] = "{% load static %}{{ offer.title }}"
    document["spaces"][1]["text_template"] = "{% include 'x.html' %}"
    document["spaces"][1]["html_template"] = "{% if %}x{% endif %}"

    problems = transfer.refused(document)

    assert [p.split(": ", 1)[0] for p in problems] == [
        "spaces[0].html_template",
        "spaces[1].html_template",
        "spaces[1].text_template",
    ]
    assert all(": Template error" in p for p in problems)


def test_required_content(document, transfer):
    """An offer on a space requiring a field must fill it (the space as the
    document has it)."""
    document["offers"][0]["title"] = ""
    document["spaces"][1]["content_fields"] = [{"field": "image", "required": True}]

    assert set(transfer.refused(document)) == {
        "offers[0].spaces: “Home-Banner” requires: Title.",
        "offers[1].spaces: “Mail” requires: Image.",
        "offers[2].spaces: “Mail” requires: Image.",
    }


def test_model_rules(document, transfer):
    """Choices, dates, URLs, bounds: the models' own checks, with paths."""
    document["typology_rules"][0]["channel"] = "pigeon"
    document["typology_rules"][0]["quantity"] = 0
    document["offers"][1]["destination_url"] = "javascript:alert(1)"
    document["offers"][1]["end_date"] = "2020-01-01T00:00:00Z"
    document["offers"][1]["start_date"] = "2021-01-01T00:00:00Z"
    document["categories"][1]["weight_multiplier"] = -1
    document["spaces"][1]["max_offers"] = 500
    document["spaces"][1]["identification_fields"] = "email,password"

    problems = transfer.refused(document)

    assert {p.split(": ", 1)[0] for p in problems} == {
        "typology_rules[0].channel",
        "typology_rules[0].quantity",
        "offers[1].destination_url",
        "offers[1].end_date",
        "categories[1].weight_multiplier",
        "spaces[1].max_offers",
        "spaces[1].identification_fields",
    }


def test_another_dimension(document, transfer):
    document["environment"]["dimension"] = "auth.user"

    assert transfer.refused(document) == [
        "environment.dimension: The environment “customers” of this site "
        "targets “testapp.contact”, the document “auth.user”."
    ]


def test_a_dry_run_writes_nothing(document, transfer):
    document["offers"][0]["title"] = "Basic card"
    document["typology_rules"].append({"code": "daily", "label": "Daily"})

    output = transfer.run_import(document, "--dry-run", "--publish")

    assert output.splitlines()[0] == "Dry run: nothing was written."
    assert "typology rules: 1 would be created: daily" in output
    assert "offers: 1 would be updated: basic-card" in output
    assert "offers: 1 would be published: basic-card" in output
    assert "offers: 2 unchanged: gold-card, silver-card" in output
    assert not TypologyRule.objects.filter(code="daily").exists()
    assert Offer.objects.get(code="basic-card").title == "Basic"
    assert OfferSpace.objects.filter(environment__code="customers").count() == 2


def test_hostile_nesting_is_refused_cleanly(document, transfer):
    assert transfer.refused("[" * 100_000 + "]" * 100_000) == [
        "Not valid JSON: nested too deeply."
    ]
    deep = {"field": "age", "op": "=", "value": 1}
    for _ in range(40):
        deep = {"not": deep}
    document["offers"][0]["target_filter"] = deep
    (problem,) = transfer.refused(document)
    assert problem.startswith("offers[0].target_filter: ")
    assert "32" in problem  # the conditions' own depth bound

    for _ in range(200):
        deep = {"not": deep}
    document["offers"][0]["target_filter"] = deep
    (problem,) = transfer.refused(document)
    assert problem.startswith("Invalid JSON: recursion limit exceeded")
