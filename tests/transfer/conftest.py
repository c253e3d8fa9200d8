"""A catalogue with every kind of object and reference, and the helpers of
the transfer tests (export and import through the commands)."""

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from interaction.models import Environment, SpaceContentField
from tests.builders import (
    DAY,
    NOW,
    add_weight,
    make_category,
    make_offer,
    make_rule,
    make_space,
    publish,
)


@pytest.fixture
def catalogue(environment, anonymous_environment):
    """``customers``: a rule, a two-level tree, two spaces (one falling back on
    the visitors' space, one requiring a title), three live offers with
    weights, conditions and spaces, and one offer that is only a draft."""
    environment.target_filter = {"field": "age", "op": ">=", "value": 18}
    environment.description = "Our customers"
    environment.save()
    make_rule(
        environment,
        "weekly",
        contact_condition={"field": "country", "op": "=", "value": "FR"},
        offer_condition={"field": "offer.category", "op": "=", "value": "cards"},
    )
    visitors_space = make_space(anonymous_environment, "visitor-banner")
    cards = make_category(environment, "cards", themes="money, cards")
    premium = make_category(
        environment,
        "premium",
        parent=cards,
        weight_multiplier=1.5,
        start_date=NOW - DAY,
        target_filter={"field": "loyalty_tier", "op": "in", "value": ["gold"]},
    )
    banner = make_space(
        environment,
        "home-banner",
        live=False,
        fallback_space=visitors_space,
        html_template="<b>{{ offer.title }}</b> {{ contact.first_name }}",
        default_category=cards,
        default_themes="cards",
    )
    SpaceContentField.objects.create(space=banner, field="title", required=True)
    SpaceContentField.objects.create(space=banner, field="text_content")
    publish(banner)
    mail = make_space(environment, "mail", channel="email", max_offers=1)
    gold = make_offer(
        premium,
        "gold-card",
        spaces=[banner, mail],
        title="Gold card",
        text_content="Shiny.",
        html_content="<p>Gold <b>card</b></p>",
        destination_url="https://example.com/gold",
        target_filter={"field": "age", "op": "<", "value": 70},
    )
    add_weight(gold, "10 + age / 10", label="by age", space=banner)
    add_weight(
        gold,
        5,
        label="French",
        target_filter={"field": "country", "op": "=", "value": "FR"},
        start_date=NOW,
    )
    make_offer(cards, "basic-card", spaces=[banner], title="Basic")
    make_offer(cards, "silver-card", spaces=[mail], end_date=NOW + DAY)
    make_offer(cards, "draft-card", live=False, title="Not yet")
    return Environment.objects.get(pk=environment.pk)


class Transfer:
    """The commands as a test runs them: export to JSON, write a document to a
    file, import it, or read the problems of a refused import."""

    def __init__(self, tmp_path):
        self.tmp_path = tmp_path

    def export(self, code="customers", *args) -> dict:
        out = io.StringIO()
        call_command(
            "interaction_export", code, *args, stdout=out, stderr=io.StringIO()
        )
        return json.loads(out.getvalue())

    def write(self, document, name="catalogue.json"):
        path = self.tmp_path / name
        text = document if isinstance(document, str) else json.dumps(document)
        path.write_text(text, encoding="utf-8")
        return path

    def run_import(self, document, *args) -> str:
        path = self.write(document)
        out = io.StringIO()
        call_command("interaction_import", str(path), *args, stdout=out)
        return out.getvalue()

    def refused(self, document, *args) -> list[str]:
        """The problems ``interaction_import`` prints, refusing ``document``."""
        path = self.write(document)
        err = io.StringIO()
        with pytest.raises(CommandError) as raised:
            call_command(
                "interaction_import",
                str(path),
                *args,
                stdout=io.StringIO(),
                stderr=err,
            )
        assert raised.value.returncode == 1
        assert "nothing was written" in str(raised.value)
        return err.getvalue().splitlines()


@pytest.fixture
def transfer(tmp_path):
    return Transfer(tmp_path)
