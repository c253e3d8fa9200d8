"""Object permissions: a role's model permission, limited to its environments.

Django asks every authentication backend and grants on the first yes, so these
rules decide object-level checks (``user.has_perm(perm, obj)``), which
``ModelBackend`` always refuses. Model-level checks (``obj`` is ``None``) come out
the same as the group permission.
"""

import rules

from .access import can_work_in

MODELS = (
    "environment",
    "offercategory",
    "offer",
    "offerspace",
    "typologyrule",
    "proposition",
)
ACTIONS = ("add", "change", "delete", "view", "publish", "lock", "unlock")


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
