from .api_key import ApiKey
from .category import OfferCategory
from .environment import Environment
from .offer import Offer, OfferWeight
from .proposition import Proposition
from .space import OfferSpace, SpaceContentField
from .typology import TypologyRule

__all__ = [
    "ApiKey",
    "Environment",
    "Offer",
    "OfferCategory",
    "OfferSpace",
    "OfferWeight",
    "Proposition",
    "SpaceContentField",
    "TypologyRule",
]
