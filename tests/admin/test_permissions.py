"""The permission matrix of SPEC §1, through the real admin.

Wagtail's admin answers a ``PermissionDenied`` with a redirect to the dashboard,
so "refused" below means a 302 to ``wagtailadmin_home`` and nothing changed.
"""

import pytest

from interaction.models import (
    Environment,
    Offer,
    OfferCategory,
    OfferSpace,
    TypologyRule,
)
from tests.builders import (
    admin_form_data,
    assert_refused,
    latest,
    make_category,
    make_offer,
    make_space,
    url,
)

# -- The matrix ----------------------------------------------------------------

MODELS = {
    "offer": Offer,
    "category": OfferCategory,
    "space": OfferSpace,
    "rule": TypologyRule,
    "environment": Environment,
}
WITH_DRAFTS = ("offer", "category", "space")

#: role -> model -> what it may do besides viewing (SPEC §1).
MATRIX = {
    "administrator": {
        model: {"create", "edit", "delete", "publish"} for model in MODELS
    },
    "manager": {
        "offer": {"create", "edit", "delete"},
        "category": {"create", "edit", "delete"},
    },
    # Approvers approve in the workflow, which publishes for them.
    "approver": {},
    "delivery": {},
}


def cases(actions, models=tuple(MODELS)):
    return [
        pytest.param(role, model, action in MATRIX[role].get(model, ()))
        for role in MATRIX
        for model in models
        for action in actions
    ]


@pytest.fixture
def fresh(environment, category, space):
    """``fresh(model, user)``: a new object of ``model`` that ``user`` works with."""

    def make(model, user):
        if model == "offer":
            return make_offer(category, "fresh-offer", spaces=[space], title="Fresh")
        if model == "category":
            return make_category(environment, "fresh-category")
        if model == "space":
            return make_space(environment, "fresh-space")
        if model == "rule":
            return TypologyRule.objects.create(
                environment=environment, code="fresh-rule", label="Fresh rule"
            )
        new = Environment.objects.create(code="fresh-env", label="Fresh env")
        new.users.add(user)
        return new

    return make


def required_fields(model, environment, category):
    """What a user types in the add form to create an object of ``model``."""
    data = {"label": "Brand new", "code": "brand-new"}
    if model == "offer":
        data["category"] = str(category.pk)
    elif model != "environment":
        data["environment"] = str(environment.pk)
    return data


@pytest.mark.parametrize(("role", "model", "allowed"), cases(["create"]))
def test_create(client, role_user, environment, category, role, model, allowed):
    user = role_user(role)
    client.force_login(user)
    Model = MODELS[model]
    add_url = url(Model, "add")

    listing = client.get(url(Model, "list"))
    assert listing.status_code == 200
    assert (add_url in listing.content.decode()) is allowed

    if allowed:
        data = admin_form_data(client, add_url)
        data.update(required_fields(model, environment, category))
        response = client.post(add_url, data)
        assert response.status_code == 302, response.context["form"].errors
        assert Model.objects.filter(code="brand-new").count() == 1
    else:
        assert_refused(client.get(add_url))
        response = client.post(add_url, required_fields(model, environment, category))
        assert_refused(response)
        assert not Model.objects.filter(code="brand-new").exists()


@pytest.mark.parametrize(("role", "model", "allowed"), cases(["edit"]))
def test_edit(client, role_user, fresh, role, model, allowed):
    user = role_user(role)
    obj = fresh(model, user)
    client.force_login(user)
    edit_url = url(MODELS[model], "edit", obj)

    assert user.has_perm(f"interaction.change_{obj._meta.model_name}", obj) is allowed
    if allowed:
        data = admin_form_data(client, edit_url, label="Renamed")
        response = client.post(edit_url, data)
        assert response.status_code == 302, response.context["form"].errors
        assert latest(obj).label == "Renamed"
    else:
        assert_refused(client.get(edit_url))
        assert_refused(client.post(edit_url, {"label": "Renamed", "code": obj.code}))
        assert latest(obj).label == obj.label


@pytest.mark.parametrize(("role", "model", "allowed"), cases(["delete"]))
def test_delete(client, role_user, fresh, role, model, allowed):
    user = role_user(role)
    obj = fresh(model, user)
    client.force_login(user)
    Model = MODELS[model]
    delete_url = url(Model, "delete", obj)

    assert user.has_perm(f"interaction.delete_{obj._meta.model_name}", obj) is allowed
    if allowed:
        assert client.get(delete_url).status_code == 200
        assert client.post(delete_url).status_code == 302
        assert not Model.objects.filter(pk=obj.pk).exists()
    else:
        assert_refused(client.get(delete_url))
        assert_refused(client.post(delete_url))
        assert Model.objects.filter(pk=obj.pk).exists()


@pytest.mark.parametrize(("role", "model", "allowed"), cases(["publish"], WITH_DRAFTS))
def test_publish(client, role_user, fresh, role, model, allowed):
    user = role_user(role)
    obj = fresh(model, user)
    client.force_login(user)

    assert user.has_perm(f"interaction.publish_{obj._meta.model_name}", obj) is allowed
    response = client.get(url(MODELS[model], "edit", obj))
    if "edit" in MATRIX[role].get(model, ()):
        assert response.status_code == 200
        assert ('name="action-publish"' in response.content.decode()) is allowed
    else:
        # Approvers publish through the workflow, not from the editor.
        assert_refused(response)


@pytest.mark.parametrize("role", list(MATRIX))
@pytest.mark.parametrize("model", list(MODELS))
def test_every_role_views(client, role_user, fresh, role, model):
    user = role_user(role)
    obj = fresh(model, user)
    client.force_login(user)
    Model = MODELS[model]

    listing = client.get(url(Model, "list"))
    assert listing.status_code == 200
    assert obj.label in listing.content.decode()
    inspect = client.get(url(Model, "inspect", obj))
    assert inspect.status_code == 200
    assert obj.code in inspect.content.decode()


def test_administrator_publishes_a_draft_offer_from_the_editor(
    client, role_user, category, space
):
    draft = make_offer(category, "draft-offer", spaces=[space], live=False)
    client.force_login(role_user("administrator"))
    edit_url = url(Offer, "edit", draft)

    data = admin_form_data(client, edit_url, title="Now live")
    data["action-publish"] = "action-publish"
    response = client.post(edit_url, data)

    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.live
    assert Offer.objects.live().get(pk=draft.pk).title == "Now live"


def test_manager_cannot_publish_from_the_editor(client, role_user, category, space):
    draft = make_offer(category, "draft-offer", spaces=[space], live=False)
    live = make_offer(category, "live-offer", spaces=[space], title="Live title")
    client.force_login(role_user("manager"))

    for offer in (draft, live):
        edit_url = url(Offer, "edit", offer)
        data = admin_form_data(client, edit_url, title="Forced")
        data["action-publish"] = "action-publish"
        client.post(edit_url, data)

    draft.refresh_from_db()
    assert not draft.live
    assert not Offer.objects.live().filter(pk=draft.pk).exists()
    # The POST only saved a draft: the live version still serves its old title.
    assert Offer.objects.live().get(pk=live.pk).title == "Live title"
    assert latest(live).title == "Forced"


# -- Environments --------------------------------------------------------------


@pytest.fixture
def other_offer(other_environment):
    category = make_category(other_environment, "partner-cards")
    space = make_space(other_environment, "partner-banner")
    return make_offer(category, "partner-offer", spaces=[space], title="Partner")


@pytest.mark.parametrize("view", ["edit", "delete", "inspect", "history"])
def test_manager_cannot_open_offers_of_another_environment(
    client, role_user, offer, other_offer, view
):
    client.force_login(role_user("manager"))

    assert_refused(client.get(url(Offer, view, other_offer)))
    assert client.get(url(Offer, view, offer)).status_code == 200


def test_manager_cannot_change_offers_of_another_environment(
    client, role_user, other_offer
):
    client.force_login(role_user("manager"))
    revisions = other_offer.revisions.count()

    edit = client.post(
        url(Offer, "edit", other_offer),
        {"label": "Hijacked", "code": other_offer.code, "weights-TOTAL_FORMS": "0"},
    )
    delete = client.post(url(Offer, "delete", other_offer))

    assert_refused(edit)
    assert_refused(delete)
    other_offer = Offer.objects.get(pk=other_offer.pk)
    assert other_offer.label == "Partner-Offer"
    assert other_offer.revisions.count() == revisions
    assert latest(other_offer).label == "Partner-Offer"


def test_manager_lists_only_offers_of_own_environment(
    client, role_user, offer, other_offer
):
    client.force_login(role_user("manager"))

    listing = client.get(url(Offer, "list")).content.decode()

    assert url(Offer, "edit", offer) in listing
    assert url(Offer, "edit", other_offer) not in listing
    assert other_offer.label not in listing


def test_manager_cannot_create_an_offer_in_a_category_of_another_environment(
    client, role_user, other_offer
):
    client.force_login(role_user("manager"))
    add_url = url(Offer, "add")
    data = admin_form_data(client, add_url)
    data.update(label="Sneaky", code="sneaky", category=str(other_offer.category_id))

    response = client.post(add_url, data)

    assert response.status_code == 200
    assert "category" in response.context["form"].errors
    assert not Offer.objects.filter(code="sneaky").exists()


def test_object_permissions_follow_environments(
    role_user, django_user_model, offer, other_offer
):
    manager = role_user("manager")
    approver = role_user("approver")
    administrator = role_user("administrator")
    superuser = django_user_model.objects.create_superuser("root", password="x")

    assert manager.has_perm("interaction.change_offer", offer)
    assert not manager.has_perm("interaction.change_offer", other_offer)
    assert not manager.has_perm("interaction.delete_offer", other_offer)
    assert approver.has_perm("interaction.view_offer", offer)
    assert not approver.has_perm("interaction.view_offer", other_offer)
    assert not approver.has_perm("interaction.publish_offer", offer)
    # Administrators work in every environment, listed or not.
    assert administrator.has_perm("interaction.change_offer", other_offer)
    assert superuser.has_perm("interaction.change_offer", other_offer)


# -- Spaces and typology rules -------------------------------------------------


@pytest.fixture
def rule(environment):
    return TypologyRule.objects.create(environment=environment, code="cap", label="Cap")


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("administrator", True),
        ("superuser", True),
        ("manager", False),
        ("approver", False),
        ("delivery", False),
    ],
)
def test_only_administrators_edit_spaces_and_typology_rules(
    client, role_user, django_user_model, space, rule, role, allowed
):
    if role == "superuser":
        user = django_user_model.objects.create_superuser("root", password="x")
    else:
        user = role_user(role)
    client.force_login(user)

    for obj in (space, rule):
        Model = type(obj)
        perm = f"interaction.change_{Model._meta.model_name}"
        assert user.has_perm(perm, obj) is allowed
        response = client.get(url(Model, "edit", obj))
        if allowed:
            assert response.status_code == 200
        else:
            assert_refused(response)
            assert_refused(client.get(url(Model, "add")))


def test_approvers_cannot_unpublish_outside_the_workflow(client, role_user, offer):
    client.force_login(role_user("approver"))

    assert_refused(client.get(url(Offer, "unpublish", offer)))
    assert_refused(client.post(url(Offer, "unpublish", offer)))
    offer.refresh_from_db()
    assert offer.live
