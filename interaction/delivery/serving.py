"""Why a catalogue object would not be served now, said before anyone wonders.

An offer can be live and still never proposed: a category above it is a draft
or disabled, its dates are past, none of its spaces is published, it lacks a
space's required content, its weight is 0 or less for everyone (SPEC §5,
step 4). The admin shows these reasons in the listings and at the top of the
edit view (the approver's too). An offer's reasons come from its terms
compiled exactly as the engine's catalogue compiles them
(:func:`.snapshot._compile_offer`, over the same rows), so the admin and the
engine cannot disagree; categories and spaces are checked with the same
rules (a category is blocked by every unpublished or disabled ancestor,
dates intersect down the tree).

The texts describe the object's row: for a live object, its published
version.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Sequence

from django.db.models import Count, Q
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ..engine.catalogue import CompiledOffer
from ..engine.evaluation import (
    NOT_TARGETABLE,
    OfferTerms,
    WeightRow,
    Window,
    intersect,
    unreadable_fields,
)
from ..engine.formulas import FormulaError, names, parse
from ..models import Environment, Offer, OfferCategory, OfferSpace, OfferWeight
from .snapshot import _chain, _compile_offer


def _date(value: datetime.datetime) -> str:
    return formats.date_format(timezone.localtime(value), "DATETIME_FORMAT")


def _window_warnings(window: Window | None, now: datetime.datetime) -> list[str]:
    """The dates (of the object and every category above it) leave no
    moment from now on."""
    if window is None:
        return []
    if window.start and window.end and window.start > window.end:
        return [
            _(
                "Never served: its dates and those of the categories above it do "
                "not overlap."
            )
        ]
    if window.end and window.end < now:
        return [
            _(
                "Not served: its eligibility dates (its own or a category's above "
                "it) ended on %(date)s."
            )
            % {"date": _date(window.end)}
        ]
    if window.start and window.start > now:
        return [
            _("Not served before %(date)s (its own dates or a category's above it).")
            % {"date": _date(window.start)}
        ]
    return []


def _blocked(chain: Sequence[OfferCategory], itself: OfferCategory | None) -> str:
    """Why a category of ``chain`` (nearest first) blocks what is below it,
    as the engine compiles it; ``itself`` not live is left to its status."""
    for category in chain:
        if not category.live and category is not itself:
            return _(
                "Not served: the category “%(category)s” above it is not published."
            ) % {"category": category.label}
        if not category.enabled:
            return _("Not served: the category “%(category)s” is disabled.") % {
                "category": category.label
            }
    return ""


def _constant(formula: str) -> float | None:
    """The value of a weight formula that reads nothing, computed by the
    engine's compiled code; ``None`` for a formula over fields or context."""
    try:
        if names(parse(formula)):
            return None
        result = OfferTerms(weight_rows=(WeightRow(formula),)).evaluate(
            {}, datetime.date.today(), timezone.now(), 0
        )
    except (FormulaError, ArithmeticError, ValueError):
        return None
    return result if isinstance(result, float | int) else None


def _weight_warnings(terms: OfferTerms, now: datetime.datetime) -> list[str]:
    """The weight is 0 or less whoever the contact: every row a constant ≤ 0
    (no row applying also gives 0), or a multiplier of 0 in force now."""
    constants = [_constant(row.formula) for row in terms.weight_rows]
    numbers = [value for value in constants if value is not None]
    if constants and len(numbers) == len(constants) and max(numbers) <= 0:
        return [_("Not served: its weight is 0 or less for every contact.")]
    for multiplier in terms.multipliers:
        window = multiplier.window
        active = (window.start is None or window.start <= now) and (
            window.end is None or now <= window.end
        )
        if multiplier.value == 0 and active:
            return [_("Not served: a category above it multiplies weights by 0 now.")]
    return []


class _Catalogue:
    """The rows compiling needs, read once for every object of a listing page."""

    def __init__(self, environment_ids: Iterable[int]):
        ids = set(environment_ids)
        self.environments = {
            env.pk: env for env in Environment.objects.filter(pk__in=ids)
        }
        self.kinds = {
            env_id: {
                name: spec.kind
                for name, spec in env.condition_schema().contact_fields.items()
            }
            for env_id, env in self.environments.items()
        }
        self.categories = {
            category.pk: category
            for category in OfferCategory.objects.filter(environment_id__in=ids)
        }
        self.spaces = {
            space.pk: space
            for space in OfferSpace.objects.filter(
                environment_id__in=ids
            ).prefetch_related("content_fields")
        }
        self.live_spaces = {pk: s for pk, s in self.spaces.items() if s.live}

    def compile(
        self, offer: Offer, space_ids: frozenset[int], weights
    ) -> CompiledOffer:
        """``offer``'s terms as the engine's catalogue compiles them."""
        return _compile_offer(
            offer,
            self.environments,
            self.categories,
            self.live_spaces,
            self.kinds,
            space_ids,
            weights,
        )


def offer_warnings(
    offers: Iterable[Offer], now: datetime.datetime | None = None
) -> dict[int, list[str]]:
    """Offer id -> why it would not be served now (empty: nothing stops it)."""
    offers = list(offers)
    if not offers:
        return {}
    now = now or timezone.now()
    catalogue = _Catalogue(offer.environment_id for offer in offers)
    ids = [offer.pk for offer in offers]
    offer_spaces: dict[int, set[int]] = defaultdict(set)
    for offer_id, space_id in Offer.spaces.through.objects.filter(
        offer_id__in=ids
    ).values_list("offer_id", "offerspace_id"):
        offer_spaces[offer_id].add(space_id)
    weights: dict[int, list[OfferWeight]] = defaultdict(list)
    for row in OfferWeight.objects.filter(offer_id__in=ids).order_by(
        "sort_order", "pk"
    ):
        weights[row.offer_id].append(row)
    return {
        offer.pk: _offer_warnings(
            offer, catalogue, frozenset(offer_spaces[offer.pk]), weights[offer.pk], now
        )
        for offer in offers
    }


def _offer_warnings(offer, catalogue, space_ids, weights, now) -> list[str]:
    if offer.category_id not in catalogue.categories:
        return []
    terms = catalogue.compile(offer, space_ids, weights).terms
    chain = _chain(catalogue.categories[offer.category_id], catalogue.categories)
    if terms.blocked:
        return [_blocked(chain, None)]
    warnings = []
    if unreadable := unreadable_fields(terms):
        warnings.append(
            _("Not served: %(reason)s: %(fields)s.")
            % {"reason": NOT_TARGETABLE, "fields": ", ".join(unreadable)}
        )
    warnings += _window_warnings(terms.window, now)
    spaces = [
        catalogue.spaces[pk] for pk in sorted(space_ids) if pk in catalogue.spaces
    ]
    live = [space for space in spaces if space.live]
    if not spaces:
        warnings.append(_("Not served: it is published on no space."))
    elif not live:
        warnings.append(
            _("Not served: none of its spaces is published (%(spaces)s).")
            % {"spaces": ", ".join(space.label for space in spaces)}
        )
    incomplete = [space for space in live if space.pk in terms.incomplete_space_ids]
    for space, fields in offer.missing_content(incomplete).items():
        warnings.append(
            _("Not served in “%(space)s”: the space requires %(fields)s.")
            % {"space": space.label, "fields": ", ".join(str(f) for f in fields)}
        )
    warnings += _weight_warnings(terms, now)
    return warnings


def category_warnings(
    categories: Iterable[OfferCategory], now: datetime.datetime | None = None
) -> dict[int, list[str]]:
    """Category id -> why the offers below it would not be served now."""
    categories = list(categories)
    if not categories:
        return {}
    now = now or timezone.now()
    catalogue = _Catalogue(category.environment_id for category in categories)
    live_offers = dict(
        OfferCategory.objects.filter(pk__in=[c.pk for c in categories])
        .annotate(n=Count("offers", filter=Q(offers__live=True)))
        .values_list("pk", "n")
    )
    result = {}
    for category in categories:
        row = catalogue.categories.get(category.pk, category)
        chain = _chain(row, catalogue.categories)
        warnings = []
        if not category.live and live_offers.get(category.pk):
            count = live_offers[category.pk]
            warnings.append(
                ngettext(
                    "Not published: its %(count)d live offer is not served.",
                    "Not published: its %(count)d live offers are not served.",
                    count,
                )
                % {"count": count}
            )
        if blocked := _blocked(chain, row):
            warnings.append(blocked)
        warnings += _window_warnings(
            intersect([Window(c.start_date, c.end_date) for c in chain]), now
        )
        result[category.pk] = warnings
    return result


def space_warnings(spaces: Iterable[OfferSpace]) -> dict[int, list[str]]:
    """Space id -> why calls to it would get no offer (or fewer than meant)."""
    spaces = list(spaces)
    if not spaces:
        return {}
    live_offers = dict(
        OfferSpace.objects.filter(pk__in=[s.pk for s in spaces])
        .annotate(n=Count("offers", filter=Q(offers__live=True)))
        .values_list("pk", "n")
    )
    result = {}
    for space in spaces:
        warnings = []
        count = live_offers.get(space.pk, 0)
        if not space.live and count:
            warnings.append(
                ngettext(
                    "Not published: its %(count)d live offer is not served here.",
                    "Not published: its %(count)d live offers are not served here.",
                    count,
                )
                % {"count": count}
            )
        elif space.live and not count:
            warnings.append(
                _("No live offer is published on this space: calls get nothing.")
            )
        fallback = space.fallback_space
        if fallback is not None and not fallback.live:
            warnings.append(
                _(
                    "Its fallback space “%(space)s” is not published: contacts "
                    "who are not identified get nothing."
                )
                % {"space": fallback.label}
            )
        default = space.default_category
        if default is not None and not default.live:
            warnings.append(
                _(
                    "Its default category “%(category)s” is not published: calls "
                    "that ask for no category or theme get nothing."
                )
                % {"category": default.label}
            )
        result[space.pk] = warnings
    return result
