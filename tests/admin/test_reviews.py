"""Reviews that show everything: approvers compare revisions, the workflow
preview and the inspect view show every approvable attribute readably."""

import datetime
import re
from datetime import UTC

import pytest
from django.urls import reverse
from wagtail.models import Workflow

from interaction.models import Offer, OfferWeight
from interaction.snippets.reviews import labels_for
from interaction.targeting.describe import describe_condition
from tests.builders import make_category, make_offer, make_rule, url

FILTER = {
    "all": [
        {"field": "country", "op": "in", "value": ["FR", "BE"]},
        {
            "any": [
                {"field": "age", "op": ">=", "value": 18},
                {"not": {"field": "loyalty_tier", "op": "=", "value": "none"}},
            ]
        },
        {"field": "signup_date", "op": ">=", "value": {"today": -30}},
        {"field": "context.language", "op": "=", "value": "fr"},
    ]
}


def test_conditions_read_as_sentences():
    assert describe_condition(FILTER) == (
        "country is one of “FR”, “BE” and (age is at least 18 or "
        "not (loyalty_tier is “none”)) and signup_date is on or after 30 days "
        "before today and the call's language is “fr”"
    )
    assert describe_condition(None) == ""
    assert describe_condition({"field": "email", "op": "is empty"}) == (
        "email is empty"
    )
    assert describe_condition({"any": []}) == "never"
    assert describe_condition(["not", "a", "tree"]) == "(not a valid condition)"


def test_fields_and_choices_read_by_their_labels_in_an_environment(environment):
    # Found in the demo's workflow preview: "loyalty_tier is “gold”" where the
    # builder had shown "Loyalty tier is Gold".
    labels = labels_for(environment)
    assert describe_condition(FILTER, labels) == (
        "Country is one of “FR”, “BE” and (Age is at least 18 or "
        "not (Loyalty tier is “None”)) and Signup date is on or after 30 days "
        "before today and the call's language is “fr”"
    )
    condition = {"field": "loyalty_tier", "op": "in", "value": ["gold", "platinum"]}
    assert (
        describe_condition(condition, labels)
        == "Loyalty tier is one of “Gold”, “Platinum”"
    )


@pytest.mark.parametrize(
    ("op", "value", "sentence"),
    [
        # "at least 30 days before today" read as the opposite of the filter
        # (signed up within the last 30 days), found in the workflow preview.
        (">=", {"today": -30}, "signup_date is on or after 30 days before today"),
        ("<", {"today": 0}, "signup_date is before today"),
        ("<=", "2026-06-30", "signup_date is on or before “2026-06-30”"),
        ("=", "2026-06-30T10:00", "signup_date is on “2026-06-30T10:00”"),
        ("=", "20260630", "signup_date is “20260630”"),
    ],
)
def test_dates_are_compared_in_words_of_dates(op, value, sentence):
    condition = {"field": "signup_date", "op": op, "value": value}
    assert describe_condition(condition) == sentence


@pytest.fixture
def under_review(offer, space, role_user):
    """``offer`` edited (a target filter, a weight row) and submitted."""
    offer = Offer.objects.get(pk=offer.pk)
    offer.target_filter = {"field": "country", "op": "=", "value": "FR"}
    offer.weights.add(
        OfferWeight(
            label="Young",
            value="10 + age / 10",
            space=space,
            target_filter={"field": "age", "op": "<", "value": 30},
        )
    )
    manager = role_user("manager")
    offer.save_revision(user=manager)
    Workflow.objects.get(name="Offer approval").start(offer, manager)
    return Offer.objects.get(pk=offer.pk)


def compare_url(offer, first, latest):
    return reverse(
        Offer.snippet_viewset.get_url_name("revisions_compare"),
        args=[offer.pk, first.pk, latest.pk],
    )


def test_an_approver_compares_revisions(client, role_user, under_review):
    client.force_login(role_user("approver"))
    first, latest = under_review.revisions.order_by("pk")[:2]

    response = client.get(compare_url(under_review, first, latest))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Target filter" in html
    # Conditions compared as sentences, weight rows' too, never as dicts.
    assert "Country is “FR”" in html
    assert "Age is less than 30" in html
    assert "&#x27;op&#x27;" not in html


def test_a_changed_condition_reads_before_then_after(client, role_user, under_review):
    # Found in the demo: a word diff of two conditions read "“DE” orone of “gold”".
    under_review.target_filter = {
        "any": [
            {"field": "country", "op": "=", "value": "BE"},
            {"field": "age", "op": ">", "value": 60},
        ]
    }
    under_review.save_revision(user=role_user("manager", username="manager-2"))
    *_, before, after = under_review.revisions.order_by("pk")
    client.force_login(role_user("approver"))

    html = client.get(compare_url(under_review, before, after)).content.decode()

    assert (
        '<span class="deletion">Country is “FR”</span><br>'
        '<span class="addition">Country is “BE” or Age is more than 60</span>'
    ) in html


def test_an_added_weight_row_shows_its_empty_fields_empty(
    client, role_user, under_review
):
    # Found in user trials: an added row read "Applies from: None".
    draft = under_review.get_latest_revision_as_object()
    draft.weights.add(OfferWeight(label="Everyone", value="2"))
    draft.save_revision(user=role_user("manager", username="manager-2"))
    *_, before, after = under_review.revisions.order_by("pk")
    client.force_login(role_user("approver"))

    html = client.get(compare_url(under_review, before, after)).content.decode()

    added = re.search(
        r'<div class="comparison__child-object addition">(.*?)</div>', html, re.S
    )
    assert added is not None
    fields = dict(
        (label, value.strip())
        for label, value in re.findall(
            r"<dt>(.*?)</dt>\s*<dd>(.*?)</dd>", added.group(1), re.S
        )
    )
    assert fields == {
        "Label": "Everyone",
        "Value": "2",
        "Applies from": "",
        "Applies until": "",
        "Only in space": "",
        "Only for contacts matching": "",
    }
    assert ">None<" not in html


def test_an_added_date_reads_as_a_date(client, role_user, under_review):
    under_review.start_date = datetime.datetime(2026, 7, 1, 9, 30, tzinfo=UTC)
    under_review.save_revision(user=role_user("manager", username="manager-2"))
    *_, before, after = under_review.revisions.order_by("pk")
    client.force_login(role_user("approver"))

    html = client.get(compare_url(under_review, before, after)).content.decode()

    assert '<span class="addition">July 1, 2026, 9:30 a.m.</span>' in html
    assert "None" not in re.sub(r"<[^>]+>", "", html)


def test_an_approver_of_another_environment_cannot_compare(
    client, role_user, other_environment, under_review
):
    client.force_login(role_user("approver", environments=(other_environment,)))
    first, latest = under_review.revisions.order_by("pk")[:2]

    response = client.get(compare_url(under_review, first, latest))

    assert response.status_code == 302


def test_the_workflow_preview_shows_the_filter_and_weights(
    client, role_user, under_review
):
    client.force_login(role_user("approver"))
    task = under_review.current_workflow_task

    html = client.get(
        url(Offer, "workflow_preview", under_review, task.pk)
    ).content.decode()

    assert "What is approved" in html
    assert "Country is “FR”" in html
    assert "10 + age / 10" in html
    assert "Age is less than 30" in html
    assert "Home-Banner" in html
    assert "Gold card" in html


def test_the_inspect_view_is_readable(client, role_user, environment, space):
    category = make_category(environment, "travel")
    offer = make_offer(
        category,
        "trip",
        spaces=[space],
        target_filter={"field": "age", "op": ">=", "value": 18},
        html_content="<p>Sun <b>and</b> sea</p>",
    )
    OfferWeight.objects.create(offer=offer, label="Base", value="2")
    client.force_login(role_user("approver"))

    html = client.get(url(Offer, "inspect", offer)).content.decode()

    assert "Age is at least 18" in html
    assert "{&#x27;field&#x27;" not in html and "{'field'" not in html
    assert "<p>Sun <b>and</b> sea</p>" in html
    assert "&lt;p&gt;" not in html
    assert "<code>2</code>" in html


def test_environments_and_rules_are_inspected_readably(client, role_user, environment):
    # Found in the demo: their inspect views showed a condition as a dict and
    # every empty value as "None".
    environment.target_filter = {"field": "country", "op": "=", "value": "FR"}
    environment.save()
    rule = make_rule(
        environment,
        "weekly",
        contact_condition={"field": "age", "op": "<", "value": 30},
    )
    client.force_login(role_user("administrator"))

    for obj, sentence in (
        (environment, "Country is “FR”"),
        (rule, "Age is less than 30"),
    ):
        html = client.get(url(type(obj), "inspect", obj)).content.decode()
        assert sentence in html
        assert "{&#x27;field&#x27;" not in html
        values = re.findall(r"<dd[^>]*>\s*(.*?)\s*</dd>", html, re.S)
        assert values and "None" not in values


def test_an_anonymous_environment_is_listed_as_such(
    client, role_user, environment, anonymous_environment
):
    # Found in the demo: the Visitors environment's dimension cell was empty.
    client.force_login(role_user("administrator"))
    html = client.get(url(type(environment), "list")).content.decode()
    cells = re.findall(r"<td[^>]*>\s*([^<]*?)\s*</td>", html)
    assert "Anonymous visitors" in cells
    assert "Contact (testapp.contact)" in cells
