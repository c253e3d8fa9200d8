"""A campaign's runs in the admin: who may run them, starting one, its
progress, cancelling, the CSV export (streamed) and "Mark as sent"."""

import csv
import io

import pytest
from django.urls import reverse
from django_tasks_db.models import DBTaskResult
from wagtail import hooks

from interaction.campaigns import export, runs
from interaction.models import CampaignRun, Proposition
from tests.builders import NOW, assert_refused, make_campaign, publish

pytestmark = pytest.mark.django_db


def url(name, obj):
    return reverse(f"interaction_campaign_runs:{name}", args=[obj.pk])


@pytest.fixture
def campaign(mailing, offers, population):
    return make_campaign(
        mailing,
        count=2,
        contact_date=NOW,
        body=[
            ("paragraph", "<p>Hello</p>"),
            ("offer", {"rank": 1}),
        ],
    )


@pytest.fixture
def done(campaign):
    run = runs.start(campaign, seed=3, enqueue=False, chunk_size=5)
    return runs.run_to_end(run)


def test_a_delivery_manager_starts_a_run_and_follows_it(client, role_user, campaign):
    user = role_user("delivery")
    client.force_login(user)

    page = client.get(url("index", campaign))
    assert page.status_code == 200
    assert b"Start a run" in page.content

    response = client.post(url("start", campaign), {"seed": "12"})

    run = CampaignRun.objects.get()
    assert response.status_code == 302 and response.url == url("detail", run)
    assert (run.status, run.seed, run.created_by) == ("queued", 12, user)
    assert DBTaskResult.objects.filter(queue_name="interaction").count() == 1
    queued = client.get(url("detail", run) + "?fragment=1").content.decode()
    assert 'data-run-active="1"' in queued

    runs.run_to_end(run)  # what the workers do

    detail = client.get(url("detail", run)).content.decode()
    assert "Download CSV" in detail and "Mark as sent" in detail
    # The space by its label, as everywhere else, not its code.
    assert "<dt>Space</dt><dd>Mailing</dd>" in detail
    fragment = client.get(url("detail", run) + "?fragment=1").content.decode()
    assert 'data-run-active="0"' in fragment
    assert "24" in fragment  # propositions written
    history = client.get(url("index", campaign)).content.decode()
    assert f"#{run.pk}" in history and "Done" in history


def test_a_second_run_waits_for_the_first(client, role_user, campaign):
    client.force_login(role_user("delivery"))
    client.post(url("start", campaign), {"seed": ""})

    response = client.post(url("start", campaign), {"seed": ""}, follow=True)

    assert CampaignRun.objects.count() == 1
    assert b"queued or running" in response.content


def test_cancel_through_the_admin(client, role_user, campaign):
    client.force_login(role_user("delivery"))
    client.post(url("start", campaign), {"seed": "1"})
    run = CampaignRun.objects.get()

    client.post(url("cancel", run))

    run.refresh_from_db()
    assert run.status == "cancelled"
    runs.run_to_end(run)  # a worker picking the planning up does nothing
    assert not Proposition.objects.filter(run=run).exists()


def test_the_export_streams_one_row_per_proposition(
    client, role_user, mailing, campaign, done
):
    mailing.text_template = "{{ offer.label }} for {{ contact.first_name }}"
    publish(mailing)
    client.force_login(role_user("delivery"))

    response = client.get(url("export", done))

    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert f"run-{done.pk}.csv" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == [
        "contact",
        *("rank", "offer", "weight", "text", "body", "body_text"),
    ]
    stored = list(
        Proposition.objects.filter(run=done)
        .order_by("contact_key", "rank")
        .values_list("contact_key", "rank", "offer_code", "weight", "offer__label")
    )
    assert [row[:4] for row in rows[1:]] == [
        [key, str(rank), code, str(weight)] for key, rank, code, weight, _ in stored
    ]
    assert [row[4] for row in rows[1:]] == [f"{label} for Ada" for *_, label in stored]
    # The delivery body, on each contact's first row: its offer at rank 1.
    firsts = [row for row in rows[1:] if row[1] == "1"]
    assert all(
        "Hello" in row[5] and f'data-offer="{row[2]}"' in row[5] for row in firsts
    )
    assert all(row[5] == "" for row in rows[1:] if row[1] != "1")
    # And as plain text: no markup, the offer's text at its rank.
    labels = dict(
        Proposition.objects.filter(run=done).values_list("offer_code", "offer__label")
    )
    assert all(
        row[6].startswith("Hello") and f"{labels[row[2]]} for Ada" in row[6]
        for row in firsts
    )
    assert not any("<" in row[6] for row in rows[1:])
    assert all(row[6] == "" for row in rows[1:] if row[1] != "1")


def test_the_export_defuses_spreadsheet_formulas(
    client, role_user, mailing, offers, population
):
    """CSV injection (OWASP): a text cell starting with ``=``, ``+``, ``-``,
    ``@``, a tab or a carriage return is prefixed with ``'``."""
    mailing.text_template = "{{ offer.label }}"
    publish(mailing)
    gold = offers["gold"]
    gold.label = "=HYPERLINK(A1)"
    publish(gold)
    campaign = make_campaign(
        mailing,
        count=1,
        contact_date=NOW,
        body=[("paragraph", "<p>@SUM(1+1)</p>"), ("offer", {"rank": 1})],
    )
    run = runs.run_to_end(runs.start(campaign, seed=1, enqueue=False))
    client.force_login(role_user("delivery"))

    response = client.get(url("export", run))

    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    golds = [row for row in rows[1:] if row[2] == "gold"]
    assert golds and all(row[4] == "'=HYPERLINK(A1)" for row in golds)
    assert all(row[6].startswith("'@SUM(1+1)") for row in rows[1:])
    assert all(row[5].startswith("<") for row in rows[1:])  # HTML: left as it is


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=1+2", "'=1+2"),
        ("+33 6 12", "'+33 6 12"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("Gold card", "Gold card"),
        ("", ""),
        (-1.5, -1.5),  # a weight: a number, not text
        (3, 3),
    ],
)
def test_safe_cell(value, written):
    assert export.safe_cell(value) == written


def test_mark_as_sent_through_the_admin(client, role_user, done):
    client.force_login(role_user("delivery"))

    client.post(url("mark_sent", done))

    done.refresh_from_db()
    assert done.sent_at is not None
    assert set(
        Proposition.objects.filter(run=done).values_list("status", flat=True)
    ) == {"presented"}
    again = client.post(url("mark_sent", done), follow=True)
    assert b"already" in again.content


def test_an_administrator_may_run_campaigns(client, role_user, campaign, done):
    client.force_login(role_user("administrator"))

    assert client.get(url("index", campaign)).status_code == 200
    assert client.get(url("detail", done)).status_code == 200
    assert client.get(url("export", done)).status_code == 200


@pytest.mark.parametrize("role", ["manager", "approver"])
def test_offer_managers_and_approvers_cannot_run_campaigns(
    client, role_user, campaign, done, role
):
    client.force_login(role_user(role))

    for name, obj in (("index", campaign), ("detail", done), ("export", done)):
        assert_refused(client.get(url(name, obj)))
    for name, obj in (
        ("start", campaign),
        ("cancel", done),
        ("resume", done),
        ("mark_sent", done),
    ):
        assert_refused(client.post(url(name, obj)))
    assert CampaignRun.objects.count() == 1
    assert not CampaignRun.objects.filter(sent_at__isnull=False).exists()


def test_a_delivery_manager_of_another_environment_cannot(
    client, role_user, other_environment, campaign, done
):
    client.force_login(role_user("delivery", environments=[other_environment]))

    assert_refused(client.get(url("index", campaign)))
    assert_refused(client.get(url("export", done)))
    assert_refused(client.post(url("start", campaign)))


def test_permissions_as_rules(role_user, other_environment, campaign, done):
    delivery = role_user("delivery")
    manager = role_user("manager")
    elsewhere = role_user(
        "delivery", environments=[other_environment], username="elsewhere"
    )

    assert delivery.has_perm("interaction.run_campaign", campaign)
    assert delivery.has_perm("interaction.run_campaign", done)
    assert not manager.has_perm("interaction.run_campaign", campaign)
    assert not elsewhere.has_perm("interaction.run_campaign", done)
    # Any other page is not a campaign.
    assert not delivery.has_perm("interaction.run_campaign", campaign.get_parent())


# -- "Runs" in the campaign's menus ----------------------------------------------


def menu_buttons(hook_name, page, user, *args):
    """The buttons every ``hook_name`` hook gives ``page`` for ``user``."""
    return [
        button
        for hook in hooks.get_hooks(hook_name)
        for button in hook(page, user, *args)
    ]


def test_a_delivery_manager_finds_the_runs_in_the_campaign_menus(
    client, role_user, campaign
):
    user = role_user("delivery")
    client.force_login(user)
    runs_index = url("index", campaign)

    for hook_name, args in (
        ("register_page_header_buttons", ("edit",)),
        ("register_page_listing_more_buttons", ()),
    ):
        buttons = menu_buttons(hook_name, campaign, user, *args)
        assert [(str(b.label), b.url) for b in buttons if b.url == runs_index] == [
            ("Runs", runs_index)
        ]
    # In the page header's more-menu and in the explorer's listing.
    edit = client.get(reverse("wagtailadmin_pages:edit", args=[campaign.pk]))
    assert f'href="{runs_index}"' in edit.content.decode()
    explorer = client.get(
        reverse("wagtailadmin_explore", args=[campaign.get_parent().pk])
    )
    assert f'href="{runs_index}"' in explorer.content.decode()
    # And the runs link back to the page's edit view.
    history = client.get(runs_index).content.decode()
    assert f'href="{reverse("wagtailadmin_pages:edit", args=[campaign.pk])}"' in history
    assert "Edit campaign" in history


@pytest.mark.parametrize("role", ["manager", "approver"])
def test_others_do_not_get_the_runs_link(role_user, campaign, role):
    user = role_user(role)

    for hook_name, args in (
        ("register_page_header_buttons", ("edit",)),
        ("register_page_listing_more_buttons", ()),
    ):
        buttons = menu_buttons(hook_name, campaign, user, *args)
        assert url("index", campaign) not in [button.url for button in buttons]


def test_no_runs_link_on_other_pages(role_user, campaign):
    user = role_user("delivery")
    index = campaign.get_parent()

    buttons = menu_buttons("register_page_listing_more_buttons", index, user)
    assert not [button for button in buttons if str(button.label) == "Runs"]
