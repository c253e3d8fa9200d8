"""Simulations (SPEC §6): what they propose equals a campaign run's, they
write nothing, drafts change them only when included, and the coverage
diagnostics name what held offers back."""

from collections import Counter

import pytest

from interaction.campaigns import runs
from interaction.models import CapUsage, OfferWeight, Proposition, Simulation
from interaction.models.choices import RunStatus
from interaction.simulation import spec
from tests.builders import NOW, make_campaign, make_offer, publish, simulate

pytestmark = pytest.mark.django_db


def written():
    """Everything a run writes: propositions (the history) and cap counters."""
    return (
        sorted(
            Proposition.objects.values_list(
                "contact_key", "offer_code", "rank", "status", "event_date"
            )
        ),
        sorted(CapUsage.objects.values_list("rule_id", "offer_id", "used")),
    )


def per_offer(results):
    return {
        row["code"]: (row["total"], row["ranks"], row["average_rank"])
        for row in results["offers"]
    }


def test_a_simulation_writes_nothing(letters, catalogue, population):
    before = written()

    simulation = simulate(letters, count=3, chunk_size=3)

    assert simulation.status == RunStatus.DONE
    assert simulation.results["propositions"] > 0
    assert written() == before


@pytest.mark.parametrize("exclude_fewer", [False, True])
def test_a_simulation_proposes_what_a_campaign_run_writes(
    letters, catalogue, population, exclude_fewer
):
    population_filter = {"field": "country", "op": "in", "value": ["FR", "BE"]}
    simulation = simulate(
        letters,
        count=3,
        population=population_filter,
        exclude_fewer=exclude_fewer,
        seed=7,
        chunk_size=3,
    )
    page = make_campaign(
        letters,
        count=3,
        population=population_filter,
        exclude_fewer=exclude_fewer,
        contact_date=NOW,
    )
    run = runs.run_to_end(runs.start(page, enqueue=False, seed=7, chunk_size=3))

    stored = Proposition.objects.filter(run=run)
    expected: dict[str, tuple] = {}
    for code in set(stored.values_list("offer_code", flat=True)):
        ranks = list(stored.filter(offer_code=code).values_list("rank", flat=True))
        counted = Counter(ranks)
        expected[code] = (
            len(ranks),
            [counted[rank] for rank in range(1, 6)],
            round(sum(ranks) / len(ranks), 2),
        )
    results = simulation.results
    assert per_offer(results) == expected
    assert results["propositions"] == run.propositions_written
    assert results["population"] == run.contacts_total == 10
    assert results["excluded"] == run.contacts_excluded
    with_offers = stored.values("contact_key").distinct().count()
    assert results["no_offer"] == run.contacts_total - with_offers
    # The budget of 4 on "loan" is shared by the population, as in the run.
    assert expected["loan"][0] <= 4


def test_drafts_change_the_simulation_only_when_included(
    letters, catalogue, population
):
    live_before = simulate(letters, count=1).results
    club = catalogue["club"].get_latest_revision_as_object()
    club.weights = [OfferWeight(value="100")]
    club.save_revision()  # a draft: not published
    new = make_offer(
        catalogue["loan"].category, "newcomer", spaces=[letters], live=False
    )

    live_after = simulate(letters, count=1).results
    drafts = simulate(letters, count=1, include_drafts=True).results

    assert per_offer(live_after) == per_offer(live_before)
    assert live_after["catalogue"] == "live"
    assert drafts["catalogue"] == "drafts"
    # Weight 100 in the draft: club first for every contact.
    assert per_offer(drafts)["club"][0] == drafts["contacts"] == 10
    assert "club" not in per_offer(live_after)
    new.refresh_from_db()
    assert not new.live


def test_the_diagnostics_name_what_removed_candidates(letters, catalogue, population):
    simulation = simulate(letters, count=3)

    diagnostics = simulation.results["diagnostics"]
    found = {
        (row["kind"], row["object_type"], row["code"]): row
        for row in diagnostics["reasons"]
    }
    assert diagnostics["short"] == simulation.results["fewer"] > 0
    # The adults category's filter removed savings for the minor aged 12,
    # short of offers (the one aged 17 got three).
    adults = found[("filter", "category", "adults")]
    assert adults["candidates"] == adults["contacts"] == 1
    assert adults["object_id"] == catalogue["savings"].category_id
    # Travel is out of its dates in June, for every short contact.
    travel = found[("dates", "offer", "travel")]
    assert travel["contacts"] == diagnostics["short"]
    assert travel["object_id"] == catalogue["travel"].pk
    # The weekly rule removed insurance from the contacts who got it: the
    # 5 even ones, of whom one (aged 22) got loan instead, not short.
    weekly = found[("typology", "rule", "weekly")]
    assert weekly["candidates"] == 4
    # The loan budget (4) went to the first four contacts and ran out for
    # the others: the short ones from the fifth on (aged 32, 42, 52).
    budget = found[("budget", "rule", "loan-budget")]
    assert budget["contacts"] == 3
    assert budget["object_id"] is not None


def test_missing_content_is_named_with_its_offer(environment, letters, catalogue):
    from interaction.models import SpaceContentField

    SpaceContentField.objects.create(space=letters, field="title", required=True)
    publish(letters)
    titled = make_offer(
        catalogue["loan"].category, "titled", spaces=[letters], title="Titled"
    )
    from tests.builders import make_contact

    make_contact(age=30)

    simulation = simulate(letters, count=3)

    reasons = simulation.results["diagnostics"]["reasons"]
    assert {row["kind"] for row in reasons} == {"content", "dates"}
    content = {row["code"] for row in reasons if row["kind"] == "content"}
    assert content == {"savings", "loan", "insurance", "club"}
    assert [row["code"] for row in simulation.results["offers"]] == [titled.code]


def test_a_space_in_design_runs_only_with_drafts(environment, catalogue, population):
    from tests.builders import make_space

    draft_space = make_space(environment, "drafted", live=False, real_time=False)
    simulation = Simulation(
        environment=environment, space=draft_space, contact_date=NOW, seed=1
    )
    with pytest.raises(spec.SimulationError, match="not live"):
        spec.start(simulation, enqueue=False)

    done = simulate(draft_space, include_drafts=True)
    assert done.status == RunStatus.DONE
    assert done.results["offers"] == []
