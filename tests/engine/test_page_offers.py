"""One offer once per page (issue 13, item 7), on an in-memory catalogue: the
calls of a page made in order, each excluding the offers the ones before it
chose (``Call.shown``, threaded by ``PageOffers``)."""

import pytest

from interaction.engine import ranking
from interaction.engine.call import Call, PageOffers
from tests.builders import DAY, NOW, codes, dropped


@pytest.fixture
def page_spaces(world):
    """A hero (one offer) and a sidebar (three) sharing four offers, ranked
    "best", "second", "third", "fourth"."""
    hero = world.space("hero")
    sidebar = world.space("sidebar", max_offers=3)
    for code, weight in (("best", 4), ("second", 3), ("third", 2), ("fourth", 1)):
        world.offer(code, spaces=[hero, sidebar], weights=[weight])
    return hero, sidebar


def ask_page(world, contact, spaces_and_counts, page=None, **call):
    """The page's calls in order, each excluding what ``page`` shows so far."""
    page = PageOffers() if page is None else page
    outcomes = []
    for space, count in spaces_and_counts:
        outcome = world.ask(space, contact, count=count, shown=dict(page.shown), **call)
        page.add(space.code, codes(outcome))
        outcomes.append(outcome)
    return outcomes


def test_without_the_page_the_same_offer_shows_in_both_spaces(
    world, contact, page_spaces
):
    hero, sidebar = page_spaces

    assert codes(world.ask(hero, contact)) == ["best"]
    assert codes(world.ask(sidebar, contact, count=3)) == ["best", "second", "third"]


@pytest.mark.parametrize("explain", [True, False])
@pytest.mark.parametrize("sound", [True, False])
def test_a_later_space_shows_the_next_offers(
    world, contact, page_spaces, monkeypatch, explain, sound
):
    """The same with a full evaluation (``explain``, or a contact out of the
    fields' domains: ``sound`` false) and with the bounded scan."""
    if not sound:
        monkeypatch.setattr(ranking.SpaceIndex, "sound", lambda self, values: False)
    hero, sidebar = page_spaces

    first, second = ask_page(world, contact, [(hero, 1), (sidebar, 3)], explain=explain)

    assert codes(first) == ["best"]
    assert codes(second) == ["second", "third", "fourth"]
    assert [p.rank for p in second.proposals] == [1, 2, 3]


def test_the_trace_says_where_the_offer_is_shown(world, contact, page_spaces):
    hero, sidebar = page_spaces

    _first, second = ask_page(world, contact, [(hero, 1), (sidebar, 3)])

    assert dropped(second) == {"best": "already shown on this page in space “hero”"}
    assert [d.offer_code for d in second.trace if d.kept] == [
        "second",
        "third",
        "fourth",
    ]


def test_offers_shown_outside_the_calls_are_excluded_too(world, contact, page_spaces):
    """The JS client sends the codes of offers the server rendered already:
    no space known."""
    hero, sidebar = page_spaces
    page = PageOffers()
    page.add("", ["best", "third"])

    first, second = ask_page(world, contact, [(hero, 1), (sidebar, 3)], page=page)

    assert codes(first) == ["second"]
    assert codes(second) == ["fourth"]
    assert dropped(first)["best"] == "already shown on this page"
    assert page.shown == {
        "best": "",
        "third": "",
        "second": "hero",
        "fourth": "sidebar",
    }


def test_a_page_that_shows_every_offer_leaves_nothing(world, contact, page_spaces):
    hero, sidebar = page_spaces

    outcomes = ask_page(world, contact, [(sidebar, 3), (hero, 1), (hero, 1)])

    assert [codes(outcome) for outcome in outcomes] == [
        ["best", "second", "third"],
        ["fourth"],
        [],
    ]


def test_typology_rules_still_apply_to_the_offers_left(world, contact, page_spaces):
    """An offer a rule excludes stays excluded, with its rule's reason."""
    hero, sidebar = page_spaces
    second_offer = next(offer for offer in world.offers if offer.code == "second")
    world.rule(quantity=1, offers=[second_offer])
    world.history.record(second_offer, sidebar, contact, when=NOW - DAY)

    _first, second = ask_page(world, contact, [(hero, 1), (sidebar, 3)])

    assert codes(second) == ["third", "fourth"]
    reasons = dropped(second)
    assert reasons["best"] == "already shown on this page in space “hero”"
    assert "already shown" not in reasons["second"]


def test_the_call_without_shown_offers_is_unchanged(world, contact, page_spaces):
    """``PageOffers.excluding`` leaves a call alone until the page shows an offer."""
    call = Call(space="hero")
    page = PageOffers()

    assert page.excluding(call) is call
    page.add("hero", ["best"])
    assert page.excluding(call).shown == {"best": "hero"}
    assert call.shown == {}


@pytest.mark.parametrize("explain", [True, False])
def test_the_history_is_read_once_a_call_at_most(world, explain):
    """Excluding the page's offers reads nothing: a visitor's history (not read
    with a contact) is read once by each call, as without them."""
    hero = world.space("hero", environment="visitors")
    sidebar = world.space("sidebar", environment="visitors", max_offers=3)
    for code, weight in (("best", 4), ("second", 3), ("third", 2), ("fourth", 1)):
        world.offer(
            code, environment="visitors", spaces=[hero, sidebar], weights=[weight]
        )
    world.rule(environment="visitors", quantity=5)

    outcomes = ask_page(
        world, None, [(hero, 1), (sidebar, 3)], visitor="v-1", explain=explain
    )

    assert [codes(outcome) for outcome in outcomes] == [
        ["best"],
        ["second", "third", "fourth"],
    ]
    assert world.history.reads == 2
