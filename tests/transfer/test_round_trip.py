"""Export, import into an empty database, export again: the same document;
a second import of the same file changes nothing."""

import json

from wagtail.models import Revision

from interaction.models import (
    Environment,
    Offer,
    OfferCategory,
    OfferSpace,
    TypologyRule,
)
from interaction.transfer.schema import FORMAT, SCHEMA_FILE, VERSION, json_schema


def empty_the_environment(environment):
    Offer.objects.filter(environment=environment).delete()
    for category in OfferCategory.objects.filter(environment=environment).order_by(
        "-tree_path"
    ):
        category.delete()
    OfferSpace.objects.filter(environment=environment).delete()
    TypologyRule.objects.filter(environment=environment).delete()
    environment.delete()


def test_the_live_catalogue_round_trips(catalogue, transfer):
    first = transfer.export()
    assert first["format"] == FORMAT and first["version"] == VERSION
    assert first["environment"]["target_filter"] == {
        "field": "age",
        "op": ">=",
        "value": 18,
    }
    # Live versions only: the offer that is only a draft is left out.
    assert [o["code"] for o in first["offers"]] == [
        "basic-card",
        "gold-card",
        "silver-card",
    ]
    gold = first["offers"][1]
    assert gold["category"] == "premium"
    assert gold["spaces"] == ["home-banner", "mail"]
    assert [(w["formula"], w["space"]) for w in gold["weights"]] == [
        ("10 + age / 10", "home-banner"),
        ("5", None),
    ]
    banner = first["spaces"][0]
    assert banner["fallback_space"] == "visitor-banner"
    assert banner["content_fields"] == [
        {"field": "title", "required": True},
        {"field": "text_content", "required": False},
    ]
    assert [c["code"] for c in first["categories"]] == ["cards", "premium"]
    empty_the_environment(catalogue)
    assert not Environment.objects.filter(code="customers").exists()

    output = transfer.run_import(first, "--publish")

    assert "offers: 3 created: basic-card, gold-card, silver-card" in output
    assert "offers: 3 published" in output
    assert transfer.export() == first
    assert Offer.objects.get(code="gold-card").live


def test_the_drafts_round_trip(catalogue, transfer):
    first = transfer.export("customers", "--drafts")
    assert "draft-card" in [o["code"] for o in first["offers"]]
    empty_the_environment(catalogue)

    transfer.run_import(first)

    assert transfer.export("customers", "--drafts") == first
    # Imported as drafts: nothing is live.
    assert transfer.export()["offers"] == []
    assert not Offer.objects.filter(environment__code="customers", live=True).exists()


def test_a_second_import_changes_nothing(catalogue, transfer):
    document = transfer.export()
    revisions = Revision.objects.count()

    output = transfer.run_import(document, "--publish")

    assert "Nothing changes." in output
    assert "offers: 3 unchanged" in output
    assert Revision.objects.count() == revisions
    assert transfer.export() == document


def test_an_import_updates_what_changed_as_a_draft(catalogue, transfer):
    document = transfer.export()
    document["offers"][1]["title"] = "Golden card"
    document["offers"][1]["weights"][1]["formula"] = "7"
    document["categories"][0]["themes"] = "money"

    output = transfer.run_import(document)

    assert "offers: 1 updated: gold-card" in output
    assert "categories: 1 updated: cards" in output
    assert "offers: 2 unchanged" in output
    gold = Offer.objects.get(code="gold-card")
    # The live version keeps serving; the change waits in a draft.
    assert gold.title == "Gold card" and gold.has_unpublished_changes
    draft = gold.get_latest_revision_as_object()
    assert draft.title == "Golden card"
    assert [row.value for row in draft.weights.all()] == ["10 + age / 10", "7"]
    assert transfer.export("customers", "--drafts")["offers"][2] == document["offers"][
        1
    ] | {"code": "gold-card"}
    # Importing it again changes nothing more.
    assert "Nothing changes." in transfer.run_import(document)


def test_the_shipped_schema_is_the_format():
    """schema.json is what the import validates with (regenerate it with
    `manage.py interaction_export --schema`)."""
    shipped = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert shipped == json_schema()
    assert shipped["properties"]["version"]["const"] == VERSION
    assert shipped["additionalProperties"] is False
