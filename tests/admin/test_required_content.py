"""Publishing on a space refuses an offer that lacks the content it requires."""

import re

import pytest
from django.core.exceptions import ValidationError

from interaction.models import Offer, SpaceContentField
from tests.builders import (
    admin_form_data,
    make_offer,
    make_space,
    publish,
    url,
    workflow_action_url,
)


@pytest.fixture
def titled_space(environment):
    """A space that shows a required title and an optional text."""
    space = make_space(environment, "hero-banner", live=False)
    SpaceContentField.objects.create(space=space, field="title", required=True)
    SpaceContentField.objects.create(space=space, field="text_content")
    return publish(space)


def test_publishing_without_a_required_field_is_refused(category, titled_space):
    offer = make_offer(category, "no-title", spaces=[titled_space], live=False)

    with pytest.raises(ValidationError) as refused:
        offer.save_revision().publish()

    message = " ".join(refused.value.messages)
    assert re.search(r"Hero-Banner\W*requires: Title\.", message)
    assert "Text content" not in message
    offer.refresh_from_db()
    assert not offer.live
    assert not Offer.objects.live().filter(pk=offer.pk).exists()

    offer.title = "Hero offer"
    offer.save_revision().publish()

    assert Offer.objects.live().get(pk=offer.pk).title == "Hero offer"


def test_optional_fields_do_not_block_publishing(category, space):
    SpaceContentField.objects.create(space=space, field="title")
    offer = make_offer(category, "no-title", spaces=[space], live=False)

    offer.save_revision().publish()

    assert Offer.objects.live().filter(pk=offer.pk).exists()


def test_admin_explains_which_space_needs_which_field(
    client, role_user, category, titled_space
):
    offer = make_offer(category, "no-title", spaces=[titled_space], live=False)
    client.force_login(role_user("administrator"))
    edit_url = url(Offer, "edit", offer)

    data = admin_form_data(client, edit_url, title="")
    data["action-publish"] = "action-publish"
    response = client.post(edit_url, data)

    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(r"Hero-Banner\W*requires: Title\.", html)
    offer.refresh_from_db()
    assert not offer.live

    data["title"] = "Hero offer"
    response = client.post(edit_url, data)

    assert response.status_code == 302
    assert Offer.objects.live().get(pk=offer.pk).title == "Hero offer"


def test_saving_a_draft_without_the_required_field_is_allowed(
    client, role_user, category, titled_space
):
    offer = make_offer(category, "no-title", spaces=[titled_space], live=False)
    client.force_login(role_user("manager"))
    edit_url = url(Offer, "edit", offer)

    response = client.post(
        edit_url, admin_form_data(client, edit_url, title="", label="Work in progress")
    )

    assert response.status_code == 302
    offer.refresh_from_db()
    assert offer.get_latest_revision_as_object().label == "Work in progress"
    assert not offer.live


def test_approval_is_undone_when_a_space_now_requires_missing_content(
    client, role_user, category, titled_space
):
    offer = make_offer(
        category, "late", spaces=[titled_space], title="Late", live=False
    )
    offer.save_revision()
    offer.get_default_workflow().start(offer, role_user("manager"))
    offer = Offer.objects.get(pk=offer.pk)
    titled_space.content_fields.filter(field="text_content").update(required=True)

    client.force_login(role_user("approver"))
    response = client.post(
        workflow_action_url(offer, "approve"), {"comment": ""}, follow=True
    )

    assert response.status_code == 200
    assert "requires: Text content" in response.content.decode()
    offer = Offer.objects.get(pk=offer.pk)
    assert not offer.live
    assert offer.workflow_in_progress
    assert offer.current_workflow_task_state.status == "in_progress"
