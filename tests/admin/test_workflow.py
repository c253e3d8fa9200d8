"""The "Offer approval" workflow: managers submit, approvers approve or reject."""

import pytest
from django.contrib.auth.models import Group
from wagtail.models import Workflow, WorkflowState

from interaction.models import EnvironmentApprovalTask, Offer, OfferCategory, OfferSpace
from interaction.roles import OFFER_APPROVERS, WORKFLOW_NAME
from tests.builders import (
    admin_form_data,
    assert_refused,
    latest,
    make_category,
    make_offer,
    make_space,
    url,
    workflow_action_url,
)


def submit(client, offer, **changes):
    """The manager's "Submit for moderation" button, with ``changes`` typed first."""
    edit_url = url(Offer, "edit", offer)
    data = admin_form_data(client, edit_url, **changes)
    data["action-submit"] = "action-submit"
    response = client.post(edit_url, data)
    assert response.status_code == 302, response.context["form"].errors
    return Offer.objects.get(pk=offer.pk)


def act(client, offer, action, comment=""):
    """An approver's workflow button (approve / request changes) in the admin."""
    response = client.post(workflow_action_url(offer, action), {"comment": comment})
    assert response.status_code == 302
    return Offer.objects.get(pk=offer.pk)


@pytest.fixture
def manager(role_user):
    return role_user("manager")


@pytest.fixture
def approver(role_user):
    return role_user("approver")


def test_offer_approval_workflow_is_assigned_to_the_catalogue(db):
    workflow = Workflow.objects.get(name=WORKFLOW_NAME)

    assert workflow.active
    for model in (Offer, OfferCategory, OfferSpace):
        assert model.get_default_workflow() == workflow
    tasks = [task.specific for task in workflow.tasks.all()]
    assert len(tasks) == 1
    assert isinstance(tasks[0], EnvironmentApprovalTask)
    assert list(tasks[0].groups.all()) == [Group.objects.get(name=OFFER_APPROVERS)]


def test_submitted_offer_goes_live_when_approved(
    client, manager, approver, category, space
):
    client.force_login(manager)
    add_url = url(Offer, "add")
    data = admin_form_data(client, add_url)
    data.update(
        category=str(category.pk),
        label="Silver card",
        code="silver-card",
        title="Silver card, no fees",
        spaces=[str(space.pk)],
    )
    assert client.post(add_url, data).status_code == 302
    offer = Offer.objects.get(code="silver-card")
    assert not offer.live

    offer = submit(client, offer)
    assert offer.workflow_in_progress
    assert not offer.live
    editor = client.get(url(Offer, "edit", offer))
    assert 'data-workflow-action-name="approve"' not in editor.content.decode()

    client.force_login(approver)
    editor = client.get(url(Offer, "edit", offer))
    assert editor.status_code == 200
    assert 'data-workflow-action-name="approve"' in editor.content.decode()
    offer = act(client, offer, "approve")

    assert offer.live
    assert offer.current_workflow_state is None
    assert Offer.objects.live().get(pk=offer.pk).title == "Silver card, no fees"
    state = WorkflowState.objects.get(base_content_type__model="offer")
    assert state.status == WorkflowState.STATUS_APPROVED


def test_rejected_offer_stays_draft_with_the_comment(
    client, manager, approver, category, space
):
    offer = make_offer(category, "silver-card", spaces=[space], live=False)
    client.force_login(manager)
    offer = submit(client, offer, title="Silver card")

    client.force_login(approver)
    offer = act(client, offer, "reject", comment="Fix the title")

    assert not offer.live
    assert not Offer.objects.live().filter(pk=offer.pk).exists()
    state = offer.workflow_states.get()
    assert state.status == WorkflowState.STATUS_NEEDS_CHANGES

    client.force_login(manager)
    history = client.get(url(Offer, "workflow_history_detail", offer, state.pk))
    assert history.status_code == 200
    assert "Fix the title" in history.content.decode()
    editor = client.get(url(Offer, "edit", offer))
    assert "Changes requested" in editor.content.decode()


def test_editing_a_live_offer_keeps_the_live_content_until_approved(
    client, manager, approver, offer
):
    client.force_login(manager)
    edit_url = url(Offer, "edit", offer)
    response = client.post(
        edit_url, admin_form_data(client, edit_url, title="Platinum card")
    )
    assert response.status_code == 302

    def live_title():
        return Offer.objects.live().get(pk=offer.pk).title

    assert Offer.objects.get(pk=offer.pk).title == "Gold card"
    assert live_title() == "Gold card"
    assert latest(offer).title == "Platinum card"

    submitted = submit(client, offer)
    assert submitted.workflow_in_progress
    assert submitted.title == "Gold card"
    assert live_title() == "Gold card"

    client.force_login(approver)
    act(client, submitted, "approve")

    assert Offer.objects.get(pk=offer.pk).title == "Platinum card"
    assert live_title() == "Platinum card"


def test_programmatic_workflow_matches_the_admin(manager, approver, category, space):
    offer = make_offer(category, "silver-card", spaces=[space], live=False)
    offer.title = "Silver card"
    offer.save_revision(user=manager)

    Offer.get_default_workflow().start(offer, manager)
    offer = Offer.objects.get(pk=offer.pk)
    offer.current_workflow_task.on_action(
        offer.current_workflow_task_state, approver, "approve"
    )

    offer = Offer.objects.get(pk=offer.pk)
    assert offer.live
    assert offer.title == "Silver card"


def test_approver_of_another_environment_cannot_approve(
    client, manager, role_user, other_environment
):
    category = make_category(other_environment, "partner-cards")
    space = make_space(other_environment, "partner-banner")
    offer = make_offer(category, "partner-offer", spaces=[space], live=False)
    offer.save_revision()
    manager_there = role_user(
        "manager", environments=[other_environment], username="partner-manager"
    )
    Offer.get_default_workflow().start(offer, manager_there)
    offer = Offer.objects.get(pk=offer.pk)

    client.force_login(role_user("approver"))
    assert_refused(client.get(url(Offer, "edit", offer)))
    assert_refused(client.post(workflow_action_url(offer, "approve"), {"comment": ""}))

    offer = Offer.objects.get(pk=offer.pk)
    assert not offer.live
    assert offer.workflow_in_progress
