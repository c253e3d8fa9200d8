"""Migration 0007 counts the budgets of existing global rules: an upgrade must
not hand out what the current period already proposed."""

import datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = [("interaction", "0006_versions_approval_and_log")]
AFTER = [("interaction", "0007_cap_usage")]


@pytest.mark.django_db(transaction=True)
def test_existing_budgets_start_from_the_current_periods_propositions():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    apps = executor.loader.project_state(BEFORE).apps
    Environment = apps.get_model("interaction", "Environment")
    Category = apps.get_model("interaction", "OfferCategory")
    Offer = apps.get_model("interaction", "Offer")
    Rule = apps.get_model("interaction", "TypologyRule")
    Proposition = apps.get_model("interaction", "Proposition")
    environment = Environment.objects.create(code="customers", label="Customers")
    category = Category.objects.create(
        environment=environment, code="cards", label="Cards", tree_path="cards"
    )
    offer = Offer.objects.create(
        environment=environment, category=category, code="gold", label="Gold"
    )
    rule = Rule.objects.create(
        environment=environment,
        code="budget",
        label="Budget",
        global_capping=True,
        quantity=10,
        period_days=1,
    )
    now = timezone.now()
    for when in (now, now, now - datetime.timedelta(days=2)):
        Proposition.objects.create(
            environment=environment,
            offer=offer,
            offer_code="gold",
            category=category,
            channel="web",
            contact_key="1",
            rank=1,
            weight=1.0,
            event_date=when,
        )

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    apps = executor.loader.project_state(AFTER).apps
    CapUsage = apps.get_model("interaction", "CapUsage")

    assert list(CapUsage.objects.values_list("rule_id", "offer_id", "used")) == [
        (rule.pk, offer.pk, 2)
    ]
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
