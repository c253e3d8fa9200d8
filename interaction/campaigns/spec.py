"""What a campaign asks of a run: plain data, read from its page once."""

from __future__ import annotations

import datetime
from dataclasses import dataclass


@dataclass(frozen=True)
class CampaignSpec:
    #: The campaign page's id (``Proposition.campaign``).
    campaign_id: int
    environment_id: int
    space_code: str
    #: A condition on the environment's dimension (SPEC §4); ``None``: every
    #: contact of the dimension.
    population: dict | None
    #: Offers per contact (N).
    count: int
    #: A category code, and themes: the scope, as a call's.
    category: str | None
    themes: tuple[str, ...]
    #: The contact date; ``None``: when the run starts.
    date: datetime.datetime | None
    #: Leave out contacts who would get fewer than ``count`` offers.
    exclude_fewer: bool
    #: Explicit live offers (eligibility and typology still apply, no
    #: arbitration); empty: the engine chooses.
    offer_ids: tuple[int, ...] = ()
