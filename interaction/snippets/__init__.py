from django.utils.translation import gettext_lazy as _
from wagtail.snippets.views.snippets import SnippetViewSetGroup

from .api_keys import ApiKeyViewSet
from .categories import OfferCategoryViewSet
from .environments import EnvironmentViewSet
from .offers import OfferViewSet
from .spaces import OfferSpaceViewSet
from .typology import TypologyRuleViewSet


class InteractionViewSetGroup(SnippetViewSetGroup):
    items = (
        OfferViewSet,
        OfferCategoryViewSet,
        OfferSpaceViewSet,
        TypologyRuleViewSet,
        EnvironmentViewSet,
        ApiKeyViewSet,
    )
    menu_label = _("Interaction")
    menu_icon = "tag"
    menu_order = 250
    menu_name = "interaction"
