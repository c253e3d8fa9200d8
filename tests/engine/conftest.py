"""Fixtures of the pure engine tests: an in-memory world and one of its contacts."""

import pytest

from tests.engine.catalogue import World


@pytest.fixture
def world():
    return World()


@pytest.fixture
def contact(world):
    """A French gold-tier adult (``World.contact``'s defaults)."""
    return world.contact()
