"""Benchmark of the Interaction reports over 1,000,000 propositions (issue 11,
point 6): not a test.

Its own data, built once in one ``INSERT … SELECT generate_series`` (no
catalogue publishing): an environment ``bench-reports`` with 10 spaces, 1,000
live offers and 1,000,000 propositions over the last 60 days (random offer,
space and contact; 70% proposed, 15% presented, 10% accepted, 5% rejected;
no campaign), then ``VACUUM ANALYZE``. They are reported through the real report views,
as a superuser's admin request (``RequestFactory``, the response rendered
whole): the offer analysis page per offer, per day, per space and over the
last 7 days (each page: one statement for its 50 rows, their number and, per
day, the chart; otherwise one more grouped query for the chart), the
proposition history's first page (a count and 50 rows), and the CSV export
of the analysis per day (every offer and day, streamed). Each line prints
the median and the slowest of ``--repeat`` requests after one warm-up
request, and the load average.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/interaction_bench_reports \
        .venv/bin/python bench/reports.py
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parent.parent))

from django.contrib.auth import get_user_model  # noqa: E402
from django.test import RequestFactory  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench import common  # noqa: E402  (sets Django up)
from bench.common import load_average, log, section  # noqa: E402

#: The target of issue 11, point 6: a report over 1,000,000 propositions.
TARGET_SECONDS = 1.0
USERNAME = "bench-reports"


ENV_CODE = "bench-reports"
SPACES = 10
OFFERS = 1000
ROWS = 1_000_000
DAYS = 60


def build_data():
    """The environment, its spaces and offers, and the propositions (only
    what is missing)."""
    from django.db import connection, transaction

    from interaction.models import (
        Environment,
        Offer,
        OfferCategory,
        OfferSpace,
        Proposition,
    )

    environment, _created = Environment.objects.get_or_create(
        code=ENV_CODE, defaults={"label": "Bench reports"}
    )
    category, _created = OfferCategory.objects.get_or_create(
        environment=environment, code="all", defaults={"label": "All"}
    )
    if OfferSpace.objects.filter(environment=environment).count() < SPACES:
        for i in range(SPACES):
            OfferSpace.objects.get_or_create(
                code=f"bench-reports-{i}",
                defaults={"environment": environment, "label": f"Space {i}"},
            )
    existing = set(
        Offer.objects.filter(environment=environment).values_list("code", flat=True)
    )
    Offer.objects.bulk_create(
        [
            Offer(
                environment=environment,
                category=category,
                code=f"r{i:05d}",
                label=f"Offer {i}",
            )
            for i in range(OFFERS)
            if f"r{i:05d}" not in existing
        ]
    )
    if Proposition.objects.filter(environment=environment).count() == ROWS:
        return environment
    log(f"  inserting {ROWS:,} propositions (INSERT ... generate_series)")
    started = time.perf_counter()
    table = Proposition._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {table} WHERE environment_id = %s", [environment.pk]
        )
        cursor.execute("SELECT setseed(0.11)")
        cursor.execute(
            f"""
            INSERT INTO {table} (interaction_id, environment_id, offer_id, offer_code,
                category_id, space_id, channel, contact_key, visitor_id, campaign_id,
                rank, weight, status, event_date, last_modified)
            SELECT gen_random_uuid(), %(env)s, o.id, o.code, o.category_id, s.id,
                'web', (1 + floor(random() * 100000))::int::text, '', NULL,
                1 + floor(random() * 3)::int, round((random() * 20)::numeric, 2)::float,
                CASE WHEN r.s < 0.70 THEN 'proposed' WHEN r.s < 0.85 THEN 'presented'
                     WHEN r.s < 0.95 THEN 'accepted' ELSE 'rejected' END,
                r.at, r.at
            FROM (
                SELECT 1 + floor(random() * %(offers)s)::int AS orn,
                       1 + floor(random() * %(spaces)s)::int AS srn,
                       random() AS s,
                       now() - random() * interval '{DAYS} days' AS at
                FROM generate_series(1, %(rows)s)
            ) r
            JOIN (SELECT row_number() OVER (ORDER BY id) AS rn, id, code, category_id
                  FROM {Offer._meta.db_table} WHERE environment_id = %(env)s) o
              ON o.rn = r.orn
            JOIN (SELECT row_number() OVER (ORDER BY id) AS rn, id
                  FROM {OfferSpace._meta.db_table} WHERE environment_id = %(env)s) s
              ON s.rn = r.srn
            """,
            {"env": environment.pk, "offers": OFFERS, "spaces": SPACES, "rows": ROWS},
        )
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {table}")
    log(f"  inserted in {time.perf_counter() - started:.1f} s")
    return environment


def _user():
    User = get_user_model()
    user = User.objects.filter(username=USERNAME).first()
    if user is None:
        user = User.objects.create_superuser(USERNAME, "", None)
    return user


def _request(view, user, query: dict) -> int:
    """One admin request of ``view``; the size of the response, read whole."""
    request = RequestFactory().get("/", query)
    request.user = user
    response = view(request)
    if hasattr(response, "render"):
        response.render()
    if getattr(response, "streaming", False):
        return sum(len(chunk) for chunk in response.streaming_content)
    return len(response.content)


def _measure(label: str, view, user, query: dict, repeat: int) -> float:
    size = _request(view, user, query)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        _request(view, user, query)
        times.append(time.perf_counter() - started)
    median = statistics.median(times)
    verdict = "ok" if median <= TARGET_SECONDS else "over"
    log(
        f"{label:<44} median {median * 1000:7.0f} ms  max {max(times) * 1000:7.0f} ms"
        f"  ({size:,} bytes; target {TARGET_SECONDS:.0f} s: {verdict})"
    )
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    log(common.describe_code())
    common.ensure_database()
    section("data")
    environment = build_data()

    from interaction.models import Proposition
    from interaction.reports.views import OfferAnalysisView, PropositionHistoryView

    rows = Proposition.objects.filter(environment=environment).count()
    log(f"  {rows:,} propositions in {environment.code}")
    user = _user()
    offers = OfferAnalysisView.as_view()
    history = PropositionHistoryView.as_view()
    week_ago = (timezone.localdate() - timezone.timedelta(days=7)).isoformat()
    scope = {"environment": environment.pk}

    section(f"reports over {rows:,} propositions, {args.repeat} requests each")
    figures = {
        "per offer": _measure(
            "offer analysis per offer (page)", offers, user, scope, args.repeat
        ),
        "per day": _measure(
            "offer analysis per offer and day (page)",
            offers,
            user,
            {**scope, "by": "day"},
            args.repeat,
        ),
        "per space": _measure(
            "offer analysis per offer and space (page)",
            offers,
            user,
            {**scope, "by": "space"},
            args.repeat,
        ),
        "last 7 days": _measure(
            "offer analysis, last 7 days (page)",
            offers,
            user,
            {**scope, "event_date_from": week_ago},
            args.repeat,
        ),
        "history": _measure(
            "proposition history (first page)", history, user, scope, args.repeat
        ),
        "csv": _measure(
            "offer analysis per day, CSV export",
            offers,
            user,
            {**scope, "by": "day", "export": "csv"},
            args.repeat,
        ),
    }
    section("summary")
    log(
        f"offer analysis over {rows:,} propositions: "
        f"{figures['per offer']:.2f} s per offer, {figures['per day']:.2f} s per day "
        f"(median of {args.repeat}, load average {load_average()})"
    )


if __name__ == "__main__":
    main()
