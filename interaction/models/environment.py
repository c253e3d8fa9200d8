from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from wagtail.search import index

from ..engine.conditions import ConditionSchema
from ..roles import ADMINISTRATORS
from ..targeting.fields import dimension_choices, is_dimension, targetable_fields
from ..targeting.validation import check_condition
from .base import condition_field


class EnvironmentQuerySet(models.QuerySet):
    def for_user(self, user):
        """Environments ``user`` may work in: listed directly or through a group."""
        if not user.is_authenticated:
            return self.none()
        if user.is_superuser or user.groups.filter(name=ADMINISTRATORS).exists():
            return self
        return self.filter(
            models.Q(users=user) | models.Q(groups__in=user.groups.all())
        ).distinct()


class Environment(index.Indexed, models.Model):
    """A targeting dimension with its catalogue, typology and allowed teams."""

    code = models.SlugField(_("code"), max_length=50, unique=True)
    label = models.CharField(_("label"), max_length=255)
    description = models.TextField(_("description"), blank=True)
    dimension = models.CharField(
        _("targeting dimension"),
        max_length=100,
        blank=True,
        choices=dimension_choices,
        help_text=_(
            "The model whose rows are the contacts offers are proposed to. Leave "
            "empty for an anonymous environment: visitors known only by an opaque id."
        ),
    )
    target_filter = condition_field(_("target filter"), source="dimension")
    groups = models.ManyToManyField(
        "auth.Group",
        verbose_name=_("groups"),
        blank=True,
        related_name="interaction_environments",
        help_text=_("Members of these groups may work in this environment."),
    )
    users = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("users"),
        blank=True,
        related_name="interaction_environments",
        help_text=_("These users may work in this environment."),
    )

    objects = EnvironmentQuerySet.as_manager()

    search_fields = [
        index.SearchField("code"),
        index.SearchField("label"),
        index.AutocompleteField("label"),
    ]

    class Meta:
        verbose_name = _("offer environment")
        verbose_name_plural = _("offer environments")
        ordering = ["label"]

    def __str__(self):
        return self.label

    @property
    def is_anonymous(self) -> bool:
        return not self.dimension

    @cached_property
    def dimension_model(self):
        """The dimension's model; ``None`` if anonymous or no longer installed."""
        if not self.dimension:
            return None
        try:
            return apps.get_model(self.dimension)
        except (LookupError, ValueError):
            return None

    def condition_schema(self, *, allow_context=True, offer_fields=None):
        model = self.dimension_model
        return ConditionSchema(
            contact_fields=targetable_fields(model),
            allow_context=allow_context,
            offer_fields=offer_fields,
            dimension_label=model._meta.verbose_name if model else "visitors",
        )

    def clean(self):
        errors = {}
        if self.dimension:
            try:
                apps.get_model(self.dimension)
            except (LookupError, ValueError):
                errors["dimension"] = [_("This model is not installed.")]
            else:
                self.__dict__.pop("dimension_model", None)
                if not is_dimension(self.dimension_model):
                    errors["dimension"] = [
                        _(
                            "This model cannot be a targeting dimension: Wagtail "
                            "pages, framework internals and models that "
                            "INTERACTION_DIMENSIONS leaves out are not targetable."
                        )
                    ]
        if "dimension" not in errors:
            check_condition(
                errors, "target_filter", self.target_filter, self.condition_schema()
            )
        if errors:
            raise ValidationError(errors)
