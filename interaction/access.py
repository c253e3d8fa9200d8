"""Which environments a user may work in (SPEC §1), cached on the user object."""

from .models import Environment

_CACHE_ATTRIBUTE = "_interaction_environment_ids"


def environment_ids_for(user) -> set[int]:
    if not hasattr(user, _CACHE_ATTRIBUTE):
        ids = set(Environment.objects.for_user(user).values_list("pk", flat=True))
        setattr(user, _CACHE_ATTRIBUTE, ids)
    return getattr(user, _CACHE_ATTRIBUTE)


def environment_id_of(obj) -> int | None:
    if isinstance(obj, Environment):
        return obj.pk
    return getattr(obj, "environment_id", None)


def can_work_in(user, obj) -> bool:
    """True if ``user`` may work in the environment ``obj`` belongs to."""
    if user.is_superuser:
        return True
    environment_id = environment_id_of(obj)
    if environment_id is None:
        return True
    return environment_id in environment_ids_for(user)
