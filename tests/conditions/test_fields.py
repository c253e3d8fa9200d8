"""The fields a condition can use: a dimension model's fields as condition
schemas (``interaction.targeting.fields``), and the schemas environments build
from them, which the pure condition and formula tests of ``tests/engine/``
copy (``CONTACT_FIELDS``, ``OFFER_FIELDS``)."""

from django.db import models
from django.test.utils import isolate_apps

from interaction.engine.conditions import DATE, NUMBER, TEXT, ConditionSchema
from interaction.models import OfferCategory
from interaction.models.typology import OFFER_CONDITION_FIELDS
from interaction.targeting.fields import model_fields
from tests.engine.catalogue import CONTACT_FIELDS, OFFER_FIELDS
from tests.testapp.models import Contact


def test_contact_fields_have_their_kinds_and_choices():
    fields = model_fields(Contact)

    assert {
        "email",
        "first_name",
        "last_name",
        "age",
        "country",
        "loyalty_tier",
        "signup_date",
        "id",
        "pk",
    } <= set(fields)
    assert fields["age"].kind == NUMBER
    assert fields["country"].kind == TEXT
    assert fields["email"].kind == TEXT
    assert fields["signup_date"].kind == DATE
    assert fields["pk"].kind == NUMBER
    assert fields["loyalty_tier"].choices == ("none", "silver", "gold", "platinum")
    assert fields["country"].choices == ()


@isolate_apps("tests.testapp")
def test_related_fields_are_one_level_deep():
    # Contact has no foreign key: models built here show the naming instead.
    class Company(models.Model):  # noqa: DJ008
        name = models.CharField(max_length=50)
        parent = models.ForeignKey("self", null=True, on_delete=models.CASCADE)

        class Meta:
            app_label = "testapp"

    class Member(models.Model):  # noqa: DJ008
        company = models.ForeignKey(Company, on_delete=models.CASCADE)
        # Relations into framework internals (here the plugin's) are not followed.
        category = models.ForeignKey(OfferCategory, on_delete=models.CASCADE)

        class Meta:
            app_label = "testapp"

    fields = model_fields(Member)

    assert fields["company__name"].kind == TEXT
    assert "company__id" in fields
    assert "company" not in fields
    assert not any(name.count("__") > 1 for name in fields)
    assert not any(name.startswith("category") for name in fields)


def test_environment_schema_uses_its_dimension(environment, anonymous_environment):
    assert environment.condition_schema().contact_fields == model_fields(Contact)
    assert anonymous_environment.condition_schema().contact_fields == {}


def test_the_engine_tests_use_the_schemas_environments_build(
    environment, anonymous_environment
):
    assert model_fields(Contact) == CONTACT_FIELDS
    assert environment.condition_schema() == ConditionSchema(CONTACT_FIELDS)
    assert environment.condition_schema(
        allow_context=False, offer_fields=OFFER_CONDITION_FIELDS
    ) == ConditionSchema(CONTACT_FIELDS, allow_context=False, offer_fields=OFFER_FIELDS)
    assert anonymous_environment.condition_schema() == ConditionSchema(
        {}, dimension_label="visitors"
    )
