"""A status only moves forward, whatever the order concurrent updates arrive in."""

import threading

import pytest
from django.db import connection

from interaction.delivery.storage import update_status
from interaction.models import Proposition
from tests.builders import record

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL"
    ),
    pytest.mark.django_db(transaction=True),
]

PAIRS = 60
AT_ONCE = 10


def test_accepted_and_presented_at_the_same_time_end_accepted(offer, space):
    propositions = [
        record(offer, space, f"visitor-{n}", visitor=True) for n in range(PAIRS)
    ]
    errors = []

    def send(pk, status, barrier):
        try:
            barrier.wait(timeout=30)
            update_status(Proposition.objects.get(pk=pk), status)
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    for start in range(0, PAIRS, AT_ONCE):
        batch = propositions[start : start + AT_ONCE]
        barrier = threading.Barrier(2 * len(batch))
        threads = [
            threading.Thread(target=send, args=(p.pk, status, barrier))
            for p in batch
            for status in ("presented", "accepted")
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

    assert errors == []
    statuses = list(Proposition.objects.values_list("status", flat=True))
    assert statuses == ["accepted"] * PAIRS
