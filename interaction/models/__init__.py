from .api_key import ApiKey
from .approval import EnvironmentApprovalTask
from .catalogue_version import CatalogueVersion
from .category import OfferCategory
from .environment import Environment
from .log_entry import InteractionLogEntry
from .offer import Offer, OfferWeight
from .proposition import Proposition
from .space import OfferSpace, SpaceContentField
from .typology import TypologyRule

__all__ = [
    "ApiKey",
    "CatalogueVersion",
    "EnvironmentApprovalTask",
    "Environment",
    "InteractionLogEntry",
    "Offer",
    "OfferCategory",
    "OfferSpace",
    "OfferWeight",
    "Proposition",
    "SpaceContentField",
    "TypologyRule",
]
