"""The approval task of the "Offer approval" workflow, limited by environment."""

from django.contrib.contenttypes.models import ContentType
from django.db.models import CharField, Q
from django.db.models.functions import Cast
from django.utils.translation import gettext_lazy as _
from wagtail.models import AbstractGroupApprovalTask


class EnvironmentApprovalTask(AbstractGroupApprovalTask):
    """Members of the task's groups approve catalogue objects of the
    environments they work in, and only those: the dashboard's "Awaiting
    your review", the workflow reports and the approve/reject actions all
    ask the task, so another environment's offers neither show nor can be
    acted on."""

    def _works_in(self, obj, user) -> bool:
        from ..rules import can_work_in

        return can_work_in(user, obj)

    def user_can_access_editor(self, obj, user):
        return super().user_can_access_editor(obj, user) and self._works_in(obj, user)

    def locked_for_user(self, obj, user):
        return super().locked_for_user(obj, user) or not self._works_in(obj, user)

    def user_can_lock(self, obj, user):
        return super().user_can_lock(obj, user) and self._works_in(obj, user)

    def get_actions(self, obj, user):
        return super().get_actions(obj, user) if self._works_in(obj, user) else []

    def get_task_states_user_can_moderate(self, user, **kwargs):
        states = super().get_task_states_user_can_moderate(user, **kwargs)
        if user.is_superuser:
            return states
        from ..rules import environment_ids_for
        from . import Offer, OfferCategory, OfferSpace

        environments = environment_ids_for(user)
        allowed = Q()
        scoped_types = []
        for model in (Offer, OfferCategory, OfferSpace):
            content_type = ContentType.objects.get_for_model(model)
            scoped_types.append(content_type)
            ids = (
                model.objects.filter(environment_id__in=environments)
                .annotate(key=Cast("pk", CharField()))
                .values("key")
            )
            allowed |= Q(
                workflow_state__base_content_type=content_type,
                workflow_state__object_id__in=ids,
            )
        others = ~Q(workflow_state__base_content_type__in=scoped_types)
        return states.filter(allowed | others)

    @classmethod
    def get_description(cls):
        return _(
            "Members of the chosen groups approve the catalogue objects of the "
            "environments they work in"
        )

    class Meta:
        verbose_name = _("environment approval task")
        verbose_name_plural = _("environment approval tasks")
