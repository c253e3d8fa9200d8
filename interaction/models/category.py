from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from wagtail.models import (
    DraftStateMixin,
    LockableMixin,
    RevisionMixin,
    WorkflowMixin,
)
from wagtail.search import index

from ..engine.catalogue import split_themes
from ..targeting.validation import check_condition
from .base import CatalogueQuerySet, check_dates, condition_field

PATH_SEPARATOR = "/"


class OfferCategory(
    WorkflowMixin,
    DraftStateMixin,
    LockableMixin,
    RevisionMixin,
    index.Indexed,
    models.Model,
):
    """A node of an environment's category tree; offers inherit its constraints."""

    environment = models.ForeignKey(
        "interaction.Environment",
        verbose_name=_("environment"),
        on_delete=models.PROTECT,
        related_name="categories",
    )
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent category"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        help_text=_("Leave empty for a top-level category."),
    )
    code = models.SlugField(_("code"), max_length=50)
    label = models.CharField(_("label"), max_length=255)
    enabled = models.BooleanField(
        _("enabled"),
        default=True,
        help_text=_("A disabled category makes every offer below it ineligible."),
    )
    start_date = models.DateTimeField(
        _("start date"),
        null=True,
        blank=True,
        help_text=_("Offers in this category are eligible only from this date."),
    )
    end_date = models.DateTimeField(
        _("end date"),
        null=True,
        blank=True,
        help_text=_("Offers in this category are eligible only until this date."),
    )
    themes = models.CharField(
        _("themes"),
        max_length=500,
        blank=True,
        help_text=_(
            "Keywords separated by commas, e.g. “travel, summer”. Subcategories "
            "inherit them."
        ),
    )
    weight_multiplier = models.FloatField(
        _("weight multiplier"),
        default=1.0,
        help_text=_("Weights of the offers below are multiplied by this value."),
    )
    multiplier_start = models.DateTimeField(
        _("multiplier active from"), null=True, blank=True
    )
    multiplier_end = models.DateTimeField(
        _("multiplier active until"), null=True, blank=True
    )
    target_filter = condition_field(_("target filter"), source="environment")
    always_include = models.BooleanField(
        _("always include in recommendations"),
        default=False,
        help_text=_(
            "A fallback category: its offers join every call in the environment, "
            "whatever category or themes were asked for. Give them low weights."
        ),
    )
    tree_path = models.CharField(
        max_length=1000,
        editable=False,
        db_index=True,
        help_text="Codes from the root down, kept for tree ordering and subtrees.",
    )

    objects = CatalogueQuerySet.as_manager()

    search_fields = [
        index.SearchField("code"),
        index.SearchField("label"),
        index.AutocompleteField("label"),
        index.FilterField("environment"),
        index.FilterField("live"),
    ]

    class Meta:
        verbose_name = _("offer category")
        verbose_name_plural = _("offer categories")
        ordering = ["environment", "tree_path"]
        constraints = [
            models.UniqueConstraint(
                fields=["environment", "code"], name="interaction_category_code_unique"
            )
        ]

    def __str__(self):
        return self.label

    @property
    def depth(self) -> int:
        return self.tree_path.count(PATH_SEPARATOR)

    @property
    def theme_list(self) -> tuple[str, ...]:
        return split_themes(self.themes)

    def ancestors(self):
        """The parent chain, nearest first."""
        chain, node, seen = [], self.parent, {self.pk}
        while node is not None and node.pk not in seen:
            chain.append(node)
            seen.add(node.pk)
            node = node.parent
        return chain

    def clean(self):
        errors: dict[str, list] = {}
        check_dates(errors, self.start_date, self.end_date)
        check_dates(
            errors,
            self.multiplier_start,
            self.multiplier_end,
            "multiplier_start",
            "multiplier_end",
        )
        if self.weight_multiplier is not None and self.weight_multiplier < 0:
            errors["weight_multiplier"] = [_("The multiplier cannot be negative.")]
        if self.parent_id and self.environment_id and self.parent is not None:
            if self.parent.environment_id != self.environment_id:
                errors["parent"] = [
                    _("The parent category belongs to another environment.")
                ]
            elif self.pk and (
                self.parent_id == self.pk
                or any(node.pk == self.pk for node in self.parent.ancestors())
            ):
                errors["parent"] = [
                    _("A category cannot be placed below itself or its subcategories.")
                ]
        if self.environment_id:
            check_condition(
                errors,
                "target_filter",
                self.target_filter,
                self.environment.condition_schema(),
            )
        if errors:
            raise ValidationError(errors)

    def _compute_tree_path(self) -> str:
        codes = [node.code for node in reversed(self.ancestors())] + [self.code]
        return PATH_SEPARATOR.join(codes)

    def save(self, *args, **kwargs):
        update_fields = kwargs.get("update_fields")
        if update_fields is None or {"code", "parent"} & set(update_fields):
            old_path = self.tree_path
            self.tree_path = self._compute_tree_path()
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "tree_path"}
            super().save(*args, **kwargs)
            if old_path and old_path != self.tree_path:
                for child in self.children.all():
                    child.save()
            return
        super().save(*args, **kwargs)
