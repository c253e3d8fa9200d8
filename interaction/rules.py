"""Who may do what (SPEC §1): a role's permission, limited to its environments.

Roles are groups (:mod:`interaction.roles`); an environment lists the groups
and users who may work in it. Django asks every authentication backend and
grants on the first yes, so the rules here decide object-level checks
(``user.has_perm(perm, obj)``), which ``ModelBackend`` always refuses.
Model-level checks (``obj`` is ``None``) come out the same as the group
permission. Admin views and querysets reach the same answer through
:func:`can_work_in` and ``for_user()``.
"""

import rules
from django.db.models import QuerySet

from .models import CampaignPage, CampaignRun, Environment
from .roles import ADMINISTRATORS, DELIVERY_MANAGERS, OFFER_MANAGERS

MODELS = (
    "environment",
    "offercategory",
    "offer",
    "offerspace",
    "typologyrule",
    "proposition",
    "apikey",
)
ACTIONS = ("add", "change", "delete", "view", "publish", "lock", "unlock")

_CACHE_ATTRIBUTE = "_interaction_environment_ids"


def environment_ids_for(user) -> set[int]:
    """Ids of the environments ``user`` may work in, cached on the user object."""
    if not hasattr(user, _CACHE_ATTRIBUTE):
        ids = set(Environment.objects.for_user(user).values_list("pk", flat=True))
        setattr(user, _CACHE_ATTRIBUTE, ids)
    return getattr(user, _CACHE_ATTRIBUTE)


def environment_id_of(obj) -> int | None:
    if isinstance(obj, Environment):
        return obj.pk
    return getattr(obj, "environment_id", None)


def can_work_in(user, obj) -> bool:
    """True if ``user`` may work in the environment ``obj`` belongs to (in every
    one, for an object of several environments: e.g. an API key)."""
    if user.is_superuser:
        return True
    several = getattr(obj, "environment_ids", None)
    if callable(several):
        return several() <= environment_ids_for(user)
    environment_id = environment_id_of(obj)
    if environment_id is None:
        return True
    return environment_id in environment_ids_for(user)


def for_user(queryset: QuerySet, user) -> QuerySet:
    """``queryset`` limited to the environments ``user`` works in, when its
    model belongs to environments (its queryset has ``for_user``)."""
    if hasattr(queryset, "for_user"):
        return queryset.for_user(user)
    return queryset


def has_group_permission(permission: str):
    """The user holds ``permission`` through a group or directly.

    ``get_all_permissions`` is answered by ``ModelBackend`` alone, so this does not
    recurse into the rules backend.
    """

    @rules.predicate(name=f"has {permission}")
    def predicate(user):
        return user.is_active and permission in user.get_all_permissions()

    return predicate


@rules.predicate
def works_in_environment(user, obj):
    if obj is None:
        return None
    return can_work_in(user, obj)


for model in MODELS:
    for action in ACTIONS:
        permission = f"interaction.{action}_{model}"
        rules.add_perm(
            permission, has_group_permission(permission) & works_in_environment
        )


# -- Campaign runs ----------------------------------------------------------------

#: The roles that run campaigns (SPEC §1): delivery managers and administrators.
CAMPAIGN_ROLES = (ADMINISTRATORS, DELIVERY_MANAGERS)
_ROLES_ATTRIBUTE = "_interaction_runs_campaigns"


def campaign_environment_id(obj) -> int | None:
    """The environment of a campaign page (any page: its specific one) or of a
    run; ``None`` for anything else."""
    if isinstance(obj, CampaignRun):
        return obj.environment_id
    specific = getattr(obj, "specific", obj)
    if isinstance(specific, CampaignPage):
        return specific.environment_id
    return None


@rules.predicate
def has_campaign_role(user):
    """A delivery manager or an administrator (cached on the user object)."""
    if not user.is_active:
        return False
    if user.is_superuser:
        return True
    if not hasattr(user, _ROLES_ATTRIBUTE):
        member = user.groups.filter(name__in=CAMPAIGN_ROLES).exists()
        setattr(user, _ROLES_ATTRIBUTE, member)
    return getattr(user, _ROLES_ATTRIBUTE)


@rules.predicate
def works_on_campaign(user, obj):
    """``obj`` (a campaign page or run) is of an environment ``user`` works in."""
    if obj is None:
        return True
    environment_id = campaign_environment_id(obj)
    if environment_id is None:
        return False
    return user.is_superuser or environment_id in environment_ids_for(user)


#: ``user.has_perm("interaction.run_campaign", page_or_run)``: start, follow,
#: cancel, export and mark as sent the runs of a campaign.
can_run_campaigns = has_campaign_role & works_on_campaign
rules.add_perm("interaction.run_campaign", can_run_campaigns)


# -- Reports ----------------------------------------------------------------------

#: ``user.has_perm("interaction.view_reports")``: the Interaction reports and
#: the proposition history (SPEC §1, §7), for the roles that may view
#: propositions (delivery managers and administrators); what each shows is
#: limited to the user's environments.
REPORTS_PERMISSION = "interaction.view_reports"
rules.add_perm(REPORTS_PERMISSION, has_group_permission("interaction.view_proposition"))


# -- Simulations ---------------------------------------------------------------------

_OFFER_MANAGER_ATTRIBUTE = "_interaction_manages_offers"


@rules.predicate
def is_offer_manager(user):
    """A member of the offer managers' group (cached on the user object)."""
    if not user.is_active:
        return False
    if not hasattr(user, _OFFER_MANAGER_ATTRIBUTE):
        member = user.groups.filter(name=OFFER_MANAGERS).exists()
        setattr(user, _OFFER_MANAGER_ATTRIBUTE, member)
    return getattr(user, _OFFER_MANAGER_ATTRIBUTE)


@rules.predicate
def works_on_simulation(user, obj):
    """``obj`` (a simulation or an environment) is of an environment ``user``
    works in; ``None``: some environment (the simulations menu)."""
    if obj is None:
        return True
    return can_work_in(user, obj)


#: ``user.has_perm("interaction.run_simulation", simulation_or_environment)``:
#: start and cancel simulations (SPEC §6): delivery managers and
#: administrators of the environment.
can_run_simulations = has_campaign_role & works_on_simulation
rules.add_perm("interaction.run_simulation", can_run_simulations)
#: ``"interaction.see_simulation"``: their results, read-only for the offer
#: managers of the environment.
rules.add_perm(
    "interaction.see_simulation",
    (has_campaign_role | is_offer_manager) & works_on_simulation,
)


# -- Catalogue transfer ------------------------------------------------------------

#: ``user.has_perm("interaction.transfer_catalogue", environment)``: export an
#: environment's catalogue, import one into it (SPEC §8): administrators (who
#: change environments) working in it. Without an environment: whether the user
#: may use the import page at all.
TRANSFER_PERMISSION = "interaction.transfer_catalogue"
rules.add_perm(
    TRANSFER_PERMISSION,
    has_group_permission("interaction.change_environment") & works_in_environment,
)
