"""The admin's export button and import page: administrators only, scoped to
the environments they work in; upload, dry-run report, confirm."""

import json

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from wagtail.models import Revision

from interaction.models import Environment, InteractionLogEntry, Offer
from interaction.roles import ADMINISTRATORS
from interaction.transfer import log as transfer_log
from interaction.views.transfer import SESSION_KEY
from tests.builders import assert_refused, url

IMPORT_URL = "/admin/interaction/catalogue/import/"


def export_url(environment, drafts=False):
    return reverse("interaction_transfer:export", args=[environment.pk]) + (
        "?drafts=1" if drafts else ""
    )


def upload(client, document, publish=False):
    text = document if isinstance(document, str) else json.dumps(document)
    data = {"file": SimpleUploadedFile("catalogue.json", text.encode())}
    if publish:
        data["publish"] = "on"
    return client.post(IMPORT_URL, data)


@pytest.fixture
def administrator(client, role_user):
    user = role_user("administrator")
    client.force_login(user)
    return user


@pytest.fixture
def regional_administrator(client, django_user_model, environment):
    """An administrator's permissions, in ``customers`` only."""
    group = Group.objects.create(name="Regional administrators")
    group.permissions.set(Group.objects.get(name=ADMINISTRATORS).permissions.all())
    user = django_user_model.objects.create_user("regional", password="x")
    user.groups.add(group)
    environment.users.add(user)
    client.force_login(user)
    return user


def test_export_button_downloads_the_document(
    catalogue, administrator, client, transfer
):
    listing = client.get(url(Environment, "list"))
    assert export_url(catalogue).encode() in listing.content
    assert IMPORT_URL.encode() in listing.content

    response = client.get(export_url(catalogue))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert (
        response["Content-Disposition"] == 'attachment; filename="customers-live.json"'
    )
    assert json.loads(response.content) == transfer.export()
    drafts = client.get(export_url(catalogue, drafts=True))
    assert json.loads(drafts.content) == transfer.export("customers", "--drafts")


def test_upload_shows_the_dry_run_then_confirm_imports(
    catalogue, administrator, client, transfer
):
    document = transfer.export()
    document["offers"][0]["title"] = "Basic card"

    response = upload(client, document, publish=True)

    assert response.status_code == 200
    page = response.content.decode()
    assert "offers: 1 would be updated: basic-card" in page
    assert "offers: 1 would be published: basic-card" in page
    assert "nothing has been written yet" in page
    assert Offer.objects.get(code="basic-card").title == "Basic"
    digest = client.session[SESSION_KEY]["digest"]

    confirmed = client.post(IMPORT_URL, {"confirm": "1", "digest": digest})

    assert confirmed.status_code == 302
    assert Offer.objects.get(code="basic-card").title == "Basic card"
    entry = InteractionLogEntry.objects.get(action=transfer_log.IMPORT)
    assert entry.user == administrator
    assert entry.data["source"] == "catalogue.json"
    assert InteractionLogEntry.objects.filter(
        action=transfer_log.PUBLISH, user=administrator
    ).exists()
    assert SESSION_KEY not in client.session
    # Confirming again imports nothing more.
    again = client.post(IMPORT_URL, {"confirm": "1", "digest": digest})
    assert again.status_code == 302
    assert InteractionLogEntry.objects.filter(action=transfer_log.IMPORT).count() == 1


def test_an_invalid_upload_shows_every_problem(
    catalogue, administrator, client, transfer
):
    document = transfer.export()
    document["offers"][1]["weights"][0]["formula"] = "loyalty * 2"
    document["offers"][0]["category"] = "loans"
    revisions = Revision.objects.count()

    response = upload(client, document)

    page = response.content.decode()
    assert "is refused: 1 problem" in page
    assert "<code>offers[0].category</code>: Unknown category “loans”." in page
    assert SESSION_KEY not in client.session
    assert Revision.objects.count() == revisions
    # Once references are right, the model checks speak.
    document["offers"][0]["category"] = "cards"
    page = upload(client, document).content.decode()
    assert "<code>offers[1].weights[0].formula</code>: Unknown field “loyalty”" in page

    assert "Not valid JSON" in upload(client, "{oops").content.decode()


@pytest.mark.parametrize("role", ["manager", "approver", "delivery"])
def test_only_administrators(catalogue, client, role_user, role, transfer):
    client.force_login(role_user(role))

    assert_refused(client.get(export_url(catalogue)))
    assert_refused(client.get(IMPORT_URL))
    assert_refused(upload(client, transfer.export()))
    listing = client.get(url(Environment, "list"))
    assert export_url(catalogue).encode() not in listing.content


def test_import_is_scoped_to_the_users_environments(
    catalogue, other_environment, regional_administrator, client, transfer
):
    assert client.get(export_url(catalogue)).status_code == 200
    assert_refused(client.get(export_url(other_environment)))

    document = transfer.export()
    document["environment"]["code"] = "partners"
    for offer in document["offers"]:
        offer["spaces"] = []
    for space in document["spaces"]:
        space["code"] += "-p"
    page = upload(client, document).content.decode()
    assert "You may not import into the environment “partners”." in page
    assert not Offer.objects.filter(environment=other_environment).exists()

    # Its own environment, yes.
    document = transfer.export()
    document["offers"][0]["title"] = "Basic card"
    page = upload(client, document).content.decode()
    assert "offers: 1 would be updated: basic-card" in page


def test_what_the_upload_names_is_escaped(administrator, client):
    name = "<img src=x onerror=alert(1)>.json"
    data = {"file": SimpleUploadedFile(name, b"{oops")}

    page = client.post(IMPORT_URL, data).content.decode()

    assert "“&lt;img src=x onerror=alert(1)&gt;.json” is refused: 1 problem" in page
    assert "<img src=x" not in page
