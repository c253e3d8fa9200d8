from .api_key import ApiKey
from .approval import EnvironmentApprovalTask
from .campaign import CampaignIndexPage, CampaignPage
from .campaign_run import CampaignRun, CampaignRunChunk
from .cap_usage import CapUsage
from .catalogue_version import CatalogueVersion
from .category import OfferCategory
from .environment import Environment
from .log_entry import InteractionLogEntry
from .offer import Offer, OfferWeight
from .proposition import Proposition
from .simulation import Simulation
from .space import OfferSpace, SpaceContentField
from .typology import TypologyRule

__all__ = [
    "ApiKey",
    "CampaignIndexPage",
    "CampaignPage",
    "CampaignRun",
    "CampaignRunChunk",
    "CapUsage",
    "CatalogueVersion",
    "EnvironmentApprovalTask",
    "Environment",
    "InteractionLogEntry",
    "Offer",
    "OfferCategory",
    "OfferSpace",
    "OfferWeight",
    "Proposition",
    "Simulation",
    "SpaceContentField",
    "TypologyRule",
]
