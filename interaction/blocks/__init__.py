"""StreamField blocks that show offers in a page body.

Render them with ``{% include_block block %}`` so that they see the request
(the contact and visitor, and the offers the page shows so far: an offer
rendered above by a block or ``{% offer_space %}`` is not rendered again);
``{{ block }}`` renders without it, as do previews, which the blocks accept
(no contact: anonymous spaces only, nothing stored).

The chosen space and offer are published rows of the compiled catalogue
(:func:`interaction.delivery.snapshot.get_snapshot`), not read from the
database on each render: a page showing offers makes no query the catalogue
can answer. Only a space or offer that is not live (a draft in the editor) is
read from the database. The admin's choosers are Wagtail's own.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Model
from django.utils.translation import gettext_lazy as _
from wagtail import blocks
from wagtail.snippets.blocks import SnippetChooserBlock

from ..delivery.snapshot import Snapshot, get_snapshot
from ..delivery.web import (
    presentation_context,
    propose_for_request,
    propose_offer_for_request,
)
from ..engine.call import MAX_COUNT
from ..engine.catalogue import split_themes
from ..models import Offer, OfferCategory, OfferSpace


def _live_rows(model: type[Model], snapshot: Snapshot) -> Mapping[Any, Model]:
    """The published rows of ``model`` in ``snapshot``, by primary key."""
    if issubclass(model, Offer):
        return snapshot.offers
    if issubclass(model, OfferSpace):
        return snapshot.derived.get(
            ("interaction.blocks", "spaces by pk"),
            lambda: {space.pk: space for space in snapshot.spaces.values()},
        )
    return {}


class LiveSnippetChooserBlock(SnippetChooserBlock):
    """Wagtail's snippet chooser, whose live values come from the compiled
    catalogue (a copy of the row per value); other values from the database.

    Migrations see a plain ``SnippetChooserBlock``: the stored value (the
    primary key) and the admin's chooser are the same.
    """

    def deconstruct(self):
        _path, args, kwargs = super().deconstruct()
        return "wagtail.snippets.blocks.SnippetChooserBlock", args, kwargs

    def to_python(self, value):
        if value is None:
            return None
        return self.bulk_to_python([value])[0]

    def bulk_to_python(self, values: Sequence[Any]) -> list[Any]:
        live = _live_rows(self.model_class, get_snapshot())
        found: list[Any] = []
        missing: list[int] = []
        for index, value in enumerate(values):
            row = live.get(_pk(value)) if value is not None else None
            found.append(copy.copy(row) if row is not None else None)
            if row is None and value is not None:
                missing.append(index)
        if missing:
            rows = super().bulk_to_python([values[index] for index in missing])
            for index, row in zip(missing, rows, strict=True):
                found[index] = row
        return found


def _pk(value: Any) -> Any:
    try:
        return int(value)
    except (TypeError, ValueError):
        return value


def _live_categories() -> list[tuple[str, Any]]:
    """The live categories' codes, per environment, as trees (indented)."""
    # Not at the top: the blocks are imported while models load.
    from ..snippets.forms import tree_label

    groups: dict[str, list[tuple[str, str]]] = {}
    for category in OfferCategory.objects.live().select_related("environment"):
        groups.setdefault(category.environment.label, []).append(
            (category.code, tree_label(category))
        )
    return [("", str(_("Any category"))), *groups.items()]


def _live_themes() -> list[tuple[str, str]]:
    """Every theme of a live category."""
    themes = {
        theme
        for text in OfferCategory.objects.live().values_list("themes", flat=True)
        for theme in split_themes(text)
    }
    return [(theme, theme) for theme in sorted(themes)]


class CategoryCodeBlock(blocks.CharBlock):
    """A live category's code, chosen from a list (stored as the code, as the
    text block it replaces: migrations still see that block)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.field.widget = forms.Select(choices=_live_categories)  # type: ignore[arg-type]

    def deconstruct(self):
        _path, args, kwargs = super().deconstruct()
        return "wagtail.blocks.CharBlock", args, kwargs


class ThemesBlock(blocks.CharBlock):
    """Themes of the live catalogue, ticked; stored comma-separated, as the
    text block it replaces (migrations still see that block)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        text: forms.Field = self.field  # type: ignore[has-type]
        self.field = forms.MultipleChoiceField(
            choices=_live_themes,
            required=text.required,
            help_text=text.help_text,
            widget=forms.CheckboxSelectMultiple,
        )

    def deconstruct(self):
        _path, args, kwargs = super().deconstruct()
        return "wagtail.blocks.CharBlock", args, kwargs

    def value_for_form(self, value):
        return list(split_themes(value))

    def value_from_form(self, value):
        return ", ".join(value or ())


class OfferSpaceBlock(blocks.StructBlock):
    """The best offers of a space, chosen by the engine at render time."""

    space = LiveSnippetChooserBlock("interaction.OfferSpace", label=_("offer space"))
    count = blocks.IntegerBlock(
        label=_("number of offers"), min_value=1, max_value=MAX_COUNT, default=1
    )
    category = CategoryCodeBlock(
        label=_("category code"),
        required=False,
        max_length=50,
        help_text=_("Only offers of this category and its subcategories."),
    )
    themes = ThemesBlock(
        label=_("themes"),
        required=False,
        max_length=500,
        help_text=_("Comma-separated: offers of any of these themes."),
    )

    class Meta:
        icon = "pick"
        label = _("Offer space")
        template = "interaction/blocks/offer_space.html"

    def clean(self, value):
        """Refuse a category that is not a live one of the space's environment
        (the page would silently show only the fallback offers)."""
        value = super().clean(value)
        space, code = value.get("space"), value.get("category")
        if space is not None and code:
            known = OfferCategory.objects.live().filter(
                environment_id=space.environment_id, code=code
            )
            if not known.exists():
                raise blocks.StructBlockValidationError(
                    block_errors={
                        "category": ValidationError(
                            _(
                                "“%(code)s” is not a published category of the "
                                "space's environment."
                            )
                            % {"code": code}
                        )
                    }
                )
        return value

    def get_context(self, value, parent_context=None):
        context = super().get_context(value, parent_context=parent_context)
        space = value.get("space")
        result = None
        if space is not None:
            result = propose_for_request(
                context.get("request"),
                space.code,
                count=value.get("count") or 1,
                category=value.get("category") or None,
                themes=value.get("themes") or (),
            )
        context.update(presentation_context(result))
        return context


class OfferBlock(blocks.StructBlock):
    """One chosen live offer through a space, if it is eligible for the visitor."""

    offer = LiveSnippetChooserBlock("interaction.Offer", label=_("offer"))
    space = LiveSnippetChooserBlock(
        "interaction.OfferSpace",
        label=_("offer space"),
        help_text=_("The offer is rendered by this space and must be published on it."),
    )

    class Meta:
        icon = "tag"
        label = _("Offer")
        template = "interaction/blocks/offer.html"

    def get_context(self, value, parent_context=None):
        context = super().get_context(value, parent_context=parent_context)
        offer, space = value.get("offer"), value.get("space")
        result = None
        if offer is not None and offer.live and space is not None:
            result = propose_offer_for_request(
                context.get("request"), space.code, offer
            )
        context.update(presentation_context(result))
        return context
