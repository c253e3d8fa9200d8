from wagtail.permissions import register_permission_policy
from wagtail.snippets.models import register_snippet

from .models import (
    Environment,
    Offer,
    OfferCategory,
    OfferSpace,
    Proposition,
    TypologyRule,
)
from .permissions import RulesPermissionPolicy
from .snippets import InteractionViewSetGroup

# Policies first: registering a viewset creates a fallback policy otherwise.
for model in (Environment, Offer, OfferCategory, OfferSpace, Proposition, TypologyRule):
    register_permission_policy(model, RulesPermissionPolicy(model))

register_snippet(InteractionViewSetGroup)
