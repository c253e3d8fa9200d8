from wagtail.permission_policies.base import ModelPermissionPolicy


class RulesPermissionPolicy(ModelPermissionPolicy):
    """Wagtail's model policy, with instance checks answered by ``rules``."""

    def user_has_permission_for_instance(self, user, action, instance):
        return user.has_perm(self._get_permission_name(action), instance)

    def instances_user_has_any_permission_for(self, user, actions):
        if not self.user_has_any_permission(user, actions):
            return self.model._default_manager.none()
        return self.model._default_manager.for_user(user)
