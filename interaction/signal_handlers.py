"""Invalidate the live snapshot whenever the live catalogue may have changed;
grant the campaign roles on a new campaigns index."""

from django.apps import apps
from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_save
from wagtail.signals import published, unpublished

from .delivery import caps
from .delivery.snapshot import invalidate
from .models import (
    CampaignIndexPage,
    Environment,
    Offer,
    OfferCategory,
    OfferSpace,
    TypologyRule,
)
from .roles import sync_campaign_permissions


def catalogue_changed(**kwargs):
    # Now, so this process and its transaction see the change, and again after
    # commit, in case another process rebuilt from the data before the commit.
    invalidate()
    transaction.on_commit(invalidate)


def rule_saving(instance, **kwargs):
    """Remember what the rule's counters depended on before this save."""
    before = (
        TypologyRule.objects.filter(pk=instance.pk).first() if instance.pk else None
    )
    instance._counting_before = caps.counting_of(before) if before else None


def rule_saved(instance, created, **kwargs):
    """A global cap counts from what its period already holds (see ``caps``);
    saving it again without changing how it counts keeps its counters."""
    if created or getattr(instance, "_counting_before", None) != caps.counting_of(
        instance
    ):
        caps.reset(instance)


def campaigns_index_created(instance, created=False, raw=False, **kwargs):
    """Delivery managers and administrators work under a new campaigns index,
    and no other group's grant on the root reaches it (see ``roles``)."""
    if created and not raw:
        sync_campaign_permissions(apps)


def register_signal_handlers():
    for model in (Offer, OfferCategory, OfferSpace):
        published.connect(catalogue_changed, sender=model)
        unpublished.connect(catalogue_changed, sender=model)
        post_delete.connect(catalogue_changed, sender=model)
    pre_save.connect(rule_saving, sender=TypologyRule)
    post_save.connect(rule_saved, sender=TypologyRule)
    for model in (Environment, TypologyRule):
        post_save.connect(catalogue_changed, sender=model)
        post_delete.connect(catalogue_changed, sender=model)
    post_save.connect(campaigns_index_created, sender=CampaignIndexPage)
