"""A catalogue ready before its first call: another process's change is built
in the background while the previous snapshot is served, this process's own
change at once; every offer compiled at build, unchanged offers not again;
the catalogue frozen out of the garbage collector's walks.

Another process's publish is simulated by changing rows without signals and
writing a new version token (``versions._write``), as that process would.
The tests whose background build reads rows run with committed data
(``transaction=True``): the build thread has a connection of its own.
"""

import gc
import logging
import threading
import weakref

import pytest
from django.db import connection, connections

from interaction.delivery import snapshot, versions, warm
from interaction.engine import evaluation, ranking
from interaction.models import Offer, OfferCategory
from tests.builders import ask, codes, make_category, make_offer, publish

background = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _no_build_left(settings, monkeypatch):
    # Every call reads the version: another process's token is seen at once.
    settings.INTERACTION_VERSION_CHECK_SECONDS = 0
    monkeypatch.setattr(snapshot, "_retry_at", 0.0)
    yield
    assert snapshot.wait_for_background_build(timeout=60)


def publish_elsewhere(token="another-process"):
    """What another process's publish leaves in the database: a new token."""
    versions._write(token)


@pytest.fixture
def held_build(monkeypatch):
    """The background build waits for ``held_build.set()`` before building
    (builds in the calling thread do not)."""
    release = threading.Event()
    started = threading.Event()
    build = snapshot.build_snapshot

    def held(*args, **kwargs):
        if threading.current_thread() is threading.main_thread():
            return build(*args, **kwargs)
        started.set()
        assert release.wait(timeout=30), "the test never released the build"
        return build(*args, **kwargs)

    monkeypatch.setattr(snapshot, "build_snapshot", held)
    release.started = started
    yield release
    release.set()  # a test that failed before releasing it


def evaluators(compiled):
    """Offer code -> its compiled evaluator, in ``compiled`` (a snapshot)."""
    return {
        offer.code: offer.terms.__dict__.get("evaluate")
        for environment in compiled.catalogue.environments.values()
        for offer in environment.offers
    }


# -- Who waits for a build --------------------------------------------------------


@background
def test_another_process_publish_is_served_after_a_background_build(
    offer, space, contact, held_build
):
    first = snapshot.get_snapshot()
    assert sorted(codes(ask(space, contact, count=10))) == ["gold-card"]

    Offer.objects.filter(pk=offer.pk).update(live=False)
    publish_elsewhere()

    # The build is held: the calls are served by the previous snapshot.
    assert snapshot.get_snapshot() is first
    assert held_build.started.wait(timeout=30)
    assert sorted(codes(ask(space, contact, count=10))) == ["gold-card"]
    assert not snapshot.wait_for_background_build(timeout=0)

    held_build.set()
    assert snapshot.wait_for_background_build(timeout=30)

    rebuilt = snapshot.get_snapshot()
    assert rebuilt is not first
    assert rebuilt.version == "another-process"
    assert sorted(codes(ask(space, contact, count=10))) == []


@background
def test_one_thread_builds_however_many_calls_see_the_change(
    offer, space, contact, held_build
):
    first = snapshot.get_snapshot()
    publish_elsewhere()

    for _ in range(5):
        assert snapshot.get_snapshot() is first
    builders = [
        t for t in threading.enumerate() if t.name == "interaction-catalogue-build"
    ]

    held_build.set()
    assert snapshot.wait_for_background_build(timeout=30)
    assert len(builders) == 1
    assert snapshot.get_snapshot().version == "another-process"


def test_this_process_sees_its_own_publish_at_once(offer, space, contact):
    assert sorted(codes(ask(space, contact, count=10))) == ["gold-card"]

    publish(make_offer(offer.category, "silver-card", spaces=[space], live=False))

    assert sorted(codes(ask(space, contact, count=10))) == ["gold-card", "silver-card"]
    assert snapshot.wait_for_background_build(timeout=0)


@background
def test_a_background_build_never_replaces_this_process_own_change(
    offer, space, contact, held_build
):
    snapshot.get_snapshot()
    publish_elsewhere()
    snapshot.get_snapshot()
    assert held_build.started.wait(timeout=30)

    # This process publishes while the other process's change is being built.
    publish(make_offer(offer.category, "silver-card", spaces=[space], live=False))
    assert sorted(codes(ask(space, contact, count=10))) == ["gold-card", "silver-card"]
    own = snapshot.get_snapshot()

    held_build.set()
    assert snapshot.wait_for_background_build(timeout=30)
    assert snapshot.get_snapshot() is own


def test_a_call_that_read_the_previous_snapshot_still_sees_this_process_change(
    offer, space, contact, monkeypatch
):
    """Another thread builds this process's change while a call is between
    reading what is served and reading the version: the call must not take
    the change for another process's and serve the previous snapshot."""
    first = snapshot.get_snapshot()
    snapshot.invalidate()
    read_version = versions.current
    meanwhile = []

    def racing(fallback):
        version = read_version(fallback)
        monkeypatch.setattr(versions, "current", read_version)
        meanwhile.append(snapshot.get_snapshot())  # "another thread"
        return version

    monkeypatch.setattr(versions, "current", racing)
    served = snapshot.get_snapshot()

    assert served is not first
    assert served is meanwhile[0]
    assert snapshot.wait_for_background_build(timeout=0)


@background
def test_a_failing_background_build_keeps_the_previous_snapshot_and_retries(
    offer, space, contact, monkeypatch, caplog
):
    first = snapshot.get_snapshot()
    build = snapshot.build_snapshot

    def failing(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(snapshot, "build_snapshot", failing)
    Offer.objects.filter(pk=offer.pk).update(live=False)
    publish_elsewhere()

    with caplog.at_level(logging.ERROR, logger=snapshot.__name__):
        assert snapshot.get_snapshot() is first
        assert snapshot.wait_for_background_build(timeout=30)
    assert "could not be built" in caplog.text
    assert "the database went away" in caplog.text

    # Served, and not retried at once on every call.
    assert sorted(codes(ask(space, contact, count=10))) == ["gold-card"]
    assert snapshot.wait_for_background_build(timeout=0)
    assert snapshot._builder is None

    # Later, a call retries, and the build succeeds.
    monkeypatch.setattr(snapshot, "build_snapshot", build)
    monkeypatch.setattr(snapshot, "_retry_at", 0.0)
    assert snapshot.get_snapshot() is first
    assert snapshot.wait_for_background_build(timeout=30)
    assert sorted(codes(ask(space, contact, count=10))) == []


@background
@pytest.mark.skipif(
    connection.vendor == "sqlite",
    reason="an in-memory SQLite database is never closed",
)
def test_the_build_thread_closes_its_connection(offer, monkeypatch):
    snapshot.get_snapshot()
    build = snapshot.build_snapshot
    used = []

    def recording(*args, **kwargs):
        built = build(*args, **kwargs)
        used.append(connections["default"])
        return built

    monkeypatch.setattr(snapshot, "build_snapshot", recording)
    publish_elsewhere()
    snapshot.get_snapshot()
    assert snapshot.wait_for_background_build(timeout=30)

    (thread_connection,) = used
    assert thread_connection is not connections["default"]
    assert thread_connection.connection is None


def test_without_background_builds_another_process_change_blocks(
    offer, space, contact, settings
):
    settings.INTERACTION_BUILD_IN_BACKGROUND = False
    assert sorted(codes(ask(space, contact, count=10))) == ["gold-card"]

    Offer.objects.filter(pk=offer.pk).update(live=False)
    publish_elsewhere()

    assert sorted(codes(ask(space, contact, count=10))) == []
    assert snapshot.wait_for_background_build(timeout=0)


def test_a_process_without_a_snapshot_builds_at_once(
    offer, space, contact, monkeypatch
):
    monkeypatch.setattr(snapshot, "_served", None)
    publish_elsewhere()

    assert sorted(codes(ask(space, contact, count=10))) == ["gold-card"]
    assert snapshot.get_snapshot().version == "another-process"
    assert snapshot.wait_for_background_build(timeout=0)


# -- Compiled in bulk ---------------------------------------------------------------


def test_offers_are_compiled_and_spaces_indexed_when_the_snapshot_is_built(
    offer, space, contact, monkeypatch
):
    make_offer(
        offer.category,
        "silver-card",
        spaces=[space],
        target_filter={"field": "age", "op": ">=", "value": 18},
    )
    compiled = snapshot.get_snapshot()
    (environment,) = compiled.catalogue.environments.values()
    assert len(environment.offers) == 2
    assert all(evaluation.is_compiled(offer.terms) for offer in environment.offers)

    def at_the_call(*args):
        raise AssertionError("derived during a call")

    both = ["gold-card", "silver-card"]
    compile_evaluator = evaluation.compile_evaluator
    monkeypatch.setattr(evaluation, "compile_evaluator", at_the_call)
    assert sorted(codes(ask(space, contact, count=10, explain=True))) == both
    # Ranked through the space's index (whose shared group weights, terms of
    # the index's own, still compile on their first use).
    monkeypatch.setattr(evaluation, "compile_evaluator", compile_evaluator)
    monkeypatch.setattr(ranking, "build_index", at_the_call)
    assert sorted(codes(ask(space, contact, count=10, explain=False))) == both


def test_a_rebuild_compiles_only_the_offers_whose_terms_changed(
    environment, space, monkeypatch
):
    cards = make_category(environment, "cards")
    loans = make_category(environment, "loans")
    for code, category, age in [
        ("gold-card", cards, 18),
        ("silver-card", cards, 21),
        ("home-loan", loans, 25),
    ]:
        make_offer(
            category,
            code,
            spaces=[space],
            target_filter={"field": "age", "op": ">=", "value": age},
        )
    before = evaluators(snapshot.get_snapshot())
    compile_evaluator = evaluation.compile_evaluator
    compiled = []

    def counting(terms):
        compiled.append(terms)
        return compile_evaluator(terms)

    monkeypatch.setattr(evaluation, "compile_evaluator", counting)

    # One offer's terms change: that offer alone is compiled again.
    gold = Offer.objects.get(code="gold-card")
    gold.target_filter = {"field": "age", "op": ">=", "value": 30}
    publish(gold)
    after = evaluators(snapshot.get_snapshot())
    assert len(compiled) == 1
    assert after["gold-card"] is not before["gold-card"]
    assert after["silver-card"] is before["silver-card"]
    assert after["home-loan"] is before["home-loan"]

    # A change outside the terms (the title) compiles nothing.
    compiled.clear()
    gold.title = "Gold card, renewed"
    publish(gold)
    assert evaluators(snapshot.get_snapshot()) == after
    assert compiled == []

    # A category's change reaches each of its offers, and only them.
    cards = OfferCategory.objects.get(pk=cards.pk)
    cards.target_filter = {"field": "country", "op": "=", "value": "FR"}
    publish(cards)
    latest = evaluators(snapshot.get_snapshot())
    assert len(compiled) == 2
    assert latest["gold-card"] is not after["gold-card"]
    assert latest["silver-card"] is not after["silver-card"]
    assert latest["home-loan"] is after["home-loan"]


def test_terms_equal_in_python_but_compiled_differently_are_not_confused():
    """``True == 1`` and one instant in two time zones compare equal; the key
    tells them apart, so an evaluator is never reused for terms it does not
    compile."""
    one = evaluation.OfferTerms(
        filters=(evaluation.TargetFilter("the offer", {"value": 1}),)
    )
    true = evaluation.OfferTerms(
        filters=(evaluation.TargetFilter("the offer", {"value": True}),)
    )
    assert one == true
    assert evaluation.terms_key(one) != evaluation.terms_key(true)
    assert evaluation.terms_key(one) == evaluation.terms_key(
        evaluation.OfferTerms(
            filters=(evaluation.TargetFilter("the offer", {"value": 1}),)
        )
    )


# -- Frozen out of the collector's walks ---------------------------------------------


def test_the_catalogue_is_frozen_after_a_build(offer, settings):
    gc.unfreeze()
    settings.INTERACTION_GC_FREEZE = False
    compiled = snapshot.get_snapshot()
    assert gc.get_freeze_count() == 0
    assert gc.is_tracked(compiled)

    settings.INTERACTION_GC_FREEZE = True
    snapshot.invalidate()
    compiled = snapshot.get_snapshot()
    frozen = gc.get_freeze_count()
    assert frozen > 0
    # Frozen objects are out of every generation the collector walks.
    assert not any(obj is compiled for obj in gc.get_objects())


def test_a_replaced_snapshot_is_freed_by_reference_counting(offer, settings):
    """No reference cycles in a snapshot's rows and compiled offers: once
    replaced (and no call uses it), it is freed at once, frozen or not."""
    settings.INTERACTION_GC_FREEZE = False
    first = snapshot.get_snapshot()
    (compiled,) = first.catalogue.environments[offer.environment_id].offers
    freed = [weakref.ref(first), weakref.ref(first.offers[offer.pk])]
    freed += [weakref.ref(compiled), weakref.ref(compiled.terms)]
    del first, compiled

    gc.disable()
    try:
        snapshot.invalidate()
        snapshot.get_snapshot()
        assert [ref() for ref in freed] == [None] * 4
    finally:
        gc.enable()


def test_no_automatic_collection_during_a_build(settings):
    assert gc.isenabled()
    with warm.collection_paused():
        assert not gc.isenabled()
        with warm.collection_paused():  # two builds at once
            pass
        assert not gc.isenabled()
    assert gc.isenabled()

    gc.disable()  # the site's choice is kept
    try:
        with warm.collection_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()

    settings.INTERACTION_GC_FREEZE = False
    with warm.collection_paused():
        assert gc.isenabled()
