"""Every select of an object's form lists only what fits the object: objects
of the user's environments (tests/security/test_admin_isolation.py), and of
the object's own environment once it has one, even for a user who works in
several (an administrator works in all); the category tree indented; the
offer-space block's category and themes from the live catalogue."""

import re

import pytest
from wagtail.blocks import StructBlockValidationError

from interaction.blocks import OfferSpaceBlock
from interaction.models import Offer, OfferCategory, OfferSpace
from tests.builders import make_category, make_space, url


def options(html: str, name: str) -> dict[str, str]:
    """The ``<option>``s of select ``name`` (value -> label), or the checkboxes
    of ``name`` (value -> label)."""
    select = re.search(
        rf'<select name="{re.escape(name)}"[^>]*>(.*?)</select>', html, re.S
    )
    if select:
        return {
            value: re.sub(r"[ \t\n]+", " ", label).strip(" ")
            for value, label in re.findall(
                r'<option value="([^"]*)"[^>]*>(.*?)</option>', select.group(1), re.S
            )
        }
    checkbox = rf'<input type="checkbox" name="{re.escape(name)}" value="([^"]*)"'
    return {
        value: re.sub(r"<[^>]+>|\s+", " ", label).strip()
        for value, label in re.findall(rf"{checkbox}[^>]*>(.*?)</label>", html, re.S)
    }


@pytest.fixture
def theirs(other_environment):
    """Environment B's objects, named so that they show if they leak."""
    category = make_category(other_environment, "b-category")
    space = make_space(other_environment, "b-space")
    return {"category": category, "space": space}


@pytest.fixture
def both(role_user, environment, other_environment):
    """A manager who works in A (customers) and B (partners)."""
    return role_user("manager", environments=(environment, other_environment))


def test_an_offers_selects_list_only_its_environments_objects(
    client, both, offer, theirs
):
    client.force_login(both)

    html = client.get(url(Offer, "edit", offer)).content.decode()

    assert set(options(html, "category")) == {"", str(offer.category.pk)}
    assert set(options(html, "spaces")) == {str(offer.spaces.get().pk)}
    # The weight row of the new rows' template.
    assert set(options(html, "weights-__prefix__-space")) == {
        "",
        str(offer.spaces.get().pk),
    }


def test_a_new_offers_choices_are_grouped_by_environment(
    client, both, category, space, theirs
):
    client.force_login(both)

    html = client.get(url(Offer, "add")).content.decode()

    select = re.search(r'<select name="category".*?</select>', html, re.S).group(0)
    assert re.search(
        rf'<optgroup label="Customers">\s*<option value="{category.pk}"', select
    )
    assert re.search(
        rf'<optgroup label="Partners">\s*<option value="{theirs["category"].pk}"',
        select,
    )


def test_a_category_chooses_its_parent_in_its_environments_tree(
    client, both, environment, category, theirs
):
    child = make_category(environment, "gold", parent=category)
    grandchild = make_category(environment, "gold-plus", parent=child)
    other = make_category(environment, "travel")
    client.force_login(both)

    html = client.get(url(OfferCategory, "edit", child)).content.decode()
    parents = options(html, "parent")

    # Not itself, nor below itself, nor another environment's.
    assert set(parents) == {"", str(category.pk), str(other.pk)}
    html = client.get(url(OfferCategory, "edit", grandchild)).content.decode()
    assert options(html, "parent")[str(child.pk)] == "\xa0" * 4 + "↳ Gold"


def test_a_spaces_selects_fit_the_space(
    client, role_user, environment, anonymous_environment, space, category, theirs
):
    visitors = make_space(anonymous_environment, "visitor-banner")
    client.force_login(role_user("administrator"))

    html = client.get(url(OfferSpace, "edit", space)).content.decode()

    assert set(options(html, "default_category")) == {"", str(category.pk)}
    # The fallback is an anonymous space: not this one, not B's identified one.
    assert set(options(html, "fallback_space")) == {"", str(visitors.pk)}


def test_an_administrator_sees_every_environment_but_only_the_objects(
    client, role_user, offer, theirs
):
    client.force_login(role_user("administrator"))

    html = client.get(url(Offer, "edit", offer)).content.decode()

    assert "b-category" not in html.lower()
    assert "B-Space" not in html


# The offer-space block ---------------------------------------------------------


def block_value(space, **values):
    block = OfferSpaceBlock()
    return block, block.to_python(
        {"space": space.pk, "count": 1, "category": "", "themes": "", **values}
    )


def test_an_unknown_category_in_the_block_is_refused(space):
    block, value = block_value(space, category="nonexistent-cat")

    with pytest.raises(StructBlockValidationError) as refused:
        block.clean(value)

    assert "category" in refused.value.block_errors
    assert "nonexistent-cat" in str(refused.value.block_errors["category"])


def test_a_category_of_another_environment_or_unpublished_is_refused(
    environment, space, theirs
):
    draft = make_category(environment, "draft-cat", live=False)
    for code in (theirs["category"].code, draft.code):
        block, value = block_value(space, category=code)
        with pytest.raises(StructBlockValidationError):
            block.clean(value)


def test_the_block_chooses_a_live_category_and_themes(environment, space):
    make_category(environment, "travel", themes="Summer, sun")
    make_category(environment, "draft-cat", live=False, themes="secret")
    block, value = block_value(space, category="travel", themes="summer")

    cleaned = block.clean(value)

    assert cleaned["category"] == "travel"
    assert cleaned["themes"] == "summer"
    html = block.child_blocks["category"].field.widget.render("category", "travel")
    assert "travel" in html and "draft-cat" not in html
    themes = dict(block.child_blocks["themes"].field.choices)
    assert set(themes) == {"summer", "sun"}


def test_the_page_editor_packs_the_blocks_choices(environment, space):
    from wagtail.admin.telepath import JSContext

    make_category(environment, "travel", themes="summer")

    packed = str(JSContext().pack(OfferSpaceBlock()))

    assert "travel" in packed
    assert "summer" in packed
