"""Benchmark of campaign batch runs (issue 10, point 3): not a test.

A campaign over N contacts on ``bench-web-0`` (100 live offers with target
filters and weight rows, the 3 typology rules of ``bench-1k``, the bench
history) run through the real batch engine, against two plain-SQL floors
measured in the same run:

- **1 worker**: ``runs.run_to_end`` (what ``interaction_run_campaign --wait``
  runs: planning, then every chunk in this process) in a child process;
- **2 workers**: the run planned (its chunk tasks queued on the ``batch``
  backend), then two child processes each running django-tasks-db's
  ``db_worker`` loop (``Worker(..., batch=True)``: drain the queue, exit);
- **INSERT floor**: one ``INSERT … SELECT`` writing as many proposition rows
  as the run wrote (population × 3 offers of the space), then deleted;
- **top-N floor**: ``CROSS JOIN LATERAL (SELECT … ORDER BY weight DESC LIMIT
  3)`` per contact over the space's 100 offers (their target filter and
  formula weight as columns of a temporary table), counted.

The children report their peak RSS (``getrusage`` ``ru_maxrss``). Each run's
propositions are deleted after it, so the history stays as built. Contacts
beyond the 100,000 of ``bench/engine.py`` are added once (one ``INSERT …
SELECT generate_series``) with the e-mail domain ``batch.bench.invalid`` and
kept. See bench/README.md.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/interaction_bench \\
        .venv/bin/python bench/batch.py --sizes 100000,1000000
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parent.parent))

from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench import common  # noqa: E402  (sets Django up)
from bench.common import load_average, log, section  # noqa: E402

SPACE = "bench-web-0"
COUNT = 3
CAMPAIGN_SLUG = "bench-batch"
EXTRA_DOMAIN = "batch." + common.EMAIL_DOMAIN
FLOOR_MARK = "bench-batch-floor"


# --- Children: one process per worker ------------------------------------------


def _rss_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def child(argv: list[str]) -> None:
    """``--child wait RUN_ID`` or ``--child worker NAME``: wait for ``go`` on
    stdin (Django is set up by then), work, print a JSON line."""
    from interaction.campaigns import runs
    from interaction.models import CampaignRun

    mode, value = argv
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        return
    started = time.time()
    rss_before = _rss_kb()
    if mode == "wait":
        runs.run_to_end(CampaignRun.objects.get(pk=int(value)))
    else:
        from django_tasks_db.management.commands.db_worker import Worker

        Worker(
            queue_names=["interaction"],
            interval=0,
            batch=True,
            backend_name="batch",
            startup_delay=False,
            max_tasks=None,
            worker_id=value,
            excluded_queue_names=[],
        ).run()
    print(
        json.dumps(
            {
                "started": started,
                "ended": time.time(),
                "rss_ready_kb": rss_before,
                "rss_peak_kb": _rss_kb(),
            }
        ),
        flush=True,
    )


def spawn(mode: str, value) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, str(HERE), "--child", mode, str(value)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    if line != "ready":
        process.kill()
        sys.exit(f"a child did not start: {line!r}")
    return process


def finish(process: subprocess.Popen) -> dict:
    out, _err = process.communicate(timeout=3600)
    if process.returncode:
        sys.exit(f"a child failed (exit {process.returncode})")
    return json.loads(out.strip().splitlines()[-1])


def go(processes) -> float:
    connection.close()  # the children's connections, not ours, during the run
    now = time.time()
    for process in processes:
        process.stdin.write("go\n")
        process.stdin.flush()
    return now


# --- Data ------------------------------------------------------------------------


def ensure_contacts(total: int) -> None:
    """``total - 100,000`` contacts ``b…@batch.bench.invalid``, one INSERT."""
    from home.models import Contact

    table = Contact._meta.db_table
    wanted = max(0, total - common.CONTACTS)
    have = Contact.objects.filter(email__endswith="@" + EXTRA_DOMAIN).count()
    if have >= wanted:
        return
    log(f"  inserting {wanted - have:,} contacts @{EXTRA_DOMAIN} (generate_series)")
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        # Attributes spread like bench/common.build_contacts's (age 18-80, six
        # countries, four tiers), derived from the number: reproducible.
        cursor.execute(
            f"""
            INSERT INTO {table} (email, first_name, last_name, age, country,
                loyalty_tier, signup_date)
            SELECT 'b' || lpad(g::text, 7, '0') || '@{EXTRA_DOMAIN}',
                'First' || g, 'Last' || g, (18 + (g * 7919) %% 63)::int,
                (ARRAY{common.COUNTRIES!r})[1 + (g * 31) %% 6],
                (ARRAY{common.TIERS!r})[1 + (g * 17) %% 4],
                DATE '2020-01-01' + ((g * 13) %% 2000)::int
            FROM generate_series(%s::bigint, %s::bigint) AS g
            ON CONFLICT (email) DO NOTHING
            """,
            [have, wanted - 1],
        )
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {table}")
    log(f"  inserted in {time.perf_counter() - started:.1f} s")


BENCH_CONTACTS = {
    "field": "email",
    "op": "contains",
    "value": "@" + common.EMAIL_DOMAIN,
}


def population(size: int) -> dict:
    """The first ``size`` contacts: the 100,000 bench contacts (history
    present), then ``b…@batch.bench.invalid`` ones (no history)."""
    if size <= common.CONTACTS:
        return {
            "all": [
                BENCH_CONTACTS,
                {"field": "email", "op": "<", "value": f"c{size:06d}"},
            ]
        }
    return {
        "any": [
            BENCH_CONTACTS,
            {
                "all": [
                    {"field": "email", "op": "contains", "value": "@" + EXTRA_DOMAIN},
                    {
                        "field": "email",
                        "op": "<",
                        "value": f"b{size - common.CONTACTS:07d}",
                    },
                ]
            },
        ]
    }


def campaign_page():
    """The bench campaign (``bench-batch``): bench-web-0, 3 offers a contact."""
    from wagtail.models import Locale, Page

    from interaction.models import CampaignIndexPage, CampaignPage, OfferSpace

    page = CampaignPage.objects.filter(slug=CAMPAIGN_SLUG).first()
    if page is not None:
        return page
    index = CampaignIndexPage.objects.first()
    if index is None:
        Locale.objects.get_or_create(language_code="en")
        index = Page.get_first_root_node().add_child(
            instance=CampaignIndexPage(title="Campaigns", slug="campaigns")
        )
    page = CampaignPage(
        title="Bench batch",
        slug=CAMPAIGN_SLUG,
        space=OfferSpace.objects.get(code=SPACE),
        count=COUNT,
    )
    index.add_child(instance=page)
    page.save_revision().publish()
    return CampaignPage.objects.get(pk=page.pk)


def delete_leftovers() -> None:
    """Rows an interrupted run of this script left: the bench campaign's
    propositions and the INSERT floor's (bench/common.build_history would
    otherwise find the history changed and build it again)."""
    from interaction.models import CampaignPage, Environment, Proposition

    page = CampaignPage.objects.filter(slug=CAMPAIGN_SLUG).first()
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {Proposition._meta.db_table} "
            "WHERE campaign_id = %s OR (environment_id = %s AND visitor_id = %s)",
            [
                page.pk if page is not None else None,
                Environment.objects.filter(code=common.ENV_CODE)
                .values_list("pk", flat=True)
                .first(),
                FLOOR_MARK,
            ],
        )
        if cursor.rowcount:
            log(f"  deleted {cursor.rowcount:,} rows left by an interrupted run")


def delete_run(run) -> float:
    from interaction.models import Proposition

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {Proposition._meta.db_table} WHERE run_id = %s", [run.pk]
        )
    return time.perf_counter() - started


# --- Measures --------------------------------------------------------------------


def engine_run(page, spec, seed, chunk_size, workers):
    """One run with ``workers`` child processes: (seconds, run, children)."""
    from interaction.campaigns import runs

    run = runs.start(page, spec=spec, seed=seed, chunk_size=chunk_size, enqueue=False)
    if workers == 1:
        children = [spawn("wait", run.pk)]
        go_at = go(children)
        reports = [finish(p) for p in children]
        seconds = max(r["ended"] for r in reports) - go_at
    else:
        children = [spawn("worker", f"bench-{n}") for n in range(workers)]
        started = time.perf_counter()
        runs.plan(run.pk)  # chunk tasks queued, as the plan task does it
        planned = time.perf_counter() - started
        go_at = go(children)
        reports = [finish(p) for p in children]
        seconds = planned + max(r["ended"] for r in reports) - go_at
    run.refresh_from_db()
    return seconds, run, reports


def floor_offers(cursor, space_id):
    """The space's live offers as a temporary table: target filter (minimum
    age, countries) and the formula weight's base, from their definitions."""
    from interaction.models import Offer

    offers = list(
        Offer.objects.filter(live=True, spaces__pk=space_id).values_list(
            "pk", "code", "category_id"
        )
    )
    rows = []
    for pk, code, category_id in offers:
        i = int(code[1:])
        condition = common.offer_target_filter(i)["all"]
        rows.append(
            (
                pk,
                code,
                category_id,
                condition[0]["value"],
                condition[1]["value"],
                1 + i % 5,
            )
        )
    cursor.execute(
        "CREATE TEMP TABLE IF NOT EXISTS bench_batch_offers (id bigint, code text, "
        "category_id bigint, min_age int, countries text[], base float)"
    )
    cursor.execute("TRUNCATE bench_batch_offers")
    cursor.executemany(
        "INSERT INTO bench_batch_offers VALUES (%s, %s, %s, %s, %s, %s)", rows
    )
    cursor.execute("ANALYZE bench_batch_offers")
    return len(rows)


def population_sql(size):
    """The same contacts as :func:`population`, as SQL on ``c``."""
    if size <= common.CONTACTS:
        return "c.email LIKE %s AND c.email < %s", [
            "%@" + common.EMAIL_DOMAIN,
            f"c{size:06d}",
        ]
    return "(c.email LIKE %s OR (c.email LIKE %s AND c.email < %s))", [
        "%@" + common.EMAIL_DOMAIN,
        "%@" + EXTRA_DOMAIN,
        f"b{size - common.CONTACTS:07d}",
    ]


def insert_floor(space, size, rows, date):
    """One INSERT … SELECT of ``rows`` propositions (contacts × 3 offers),
    autocommit; then deleted. (seconds, rows written, seconds to delete)."""
    from home.models import Contact

    from interaction.models import Proposition

    table = Proposition._meta.db_table
    where, params = population_sql(size)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT coalesce(max(id), 0) FROM {table}")
        last = cursor.fetchone()[0]
        started = time.perf_counter()
        cursor.execute(
            f"""
            INSERT INTO {table} (interaction_id, environment_id, offer_id,
                offer_code, category_id, space_id, channel, contact_key,
                visitor_id, campaign_id, rank, weight, status, event_date,
                last_modified)
            SELECT gen_random_uuid(), %s, o.id, o.code, o.category_id, %s, %s,
                %s || c.id::text, %s, NULL, o.rank, o.base, %s, %s, now()
            FROM {Contact._meta.db_table} c
            CROSS JOIN (SELECT id, code, category_id, base,
                               row_number() OVER (ORDER BY id) AS rank
                        FROM bench_batch_offers ORDER BY id LIMIT {COUNT}) o
            WHERE {where}
            LIMIT %s
            """,
            [
                space.environment_id,
                space.pk,
                space.channel,
                common.FLOOR_CONTACT_PREFIX,
                FLOOR_MARK,
                "proposed",
                date,
                *params,
                rows,
            ],
        )
        seconds = time.perf_counter() - started
        written = cursor.rowcount
        started = time.perf_counter()
        cursor.execute(
            f"DELETE FROM {table} WHERE id > %s AND visitor_id = %s",
            [last, FLOOR_MARK],
        )
        deleted = time.perf_counter() - started
    return seconds, written, deleted


def topn_floor(size):
    """Top 3 per contact over the 100 offers, filtered and weighted in SQL."""
    from home.models import Contact

    where, params = population_sql(size)
    with transaction.atomic(), connection.cursor() as cursor:
        # Without Memoize: contacts share few (age, country) pairs, and the
        # planner would cache the lateral subquery's rows by them, computing
        # the top offers once per pair instead of once per contact.
        cursor.execute("SET LOCAL enable_memoize = off")
        started = time.perf_counter()
        cursor.execute(
            f"""
            SELECT count(*) FROM {Contact._meta.db_table} c
            CROSS JOIN LATERAL (
                SELECT o.id FROM bench_batch_offers o
                WHERE c.age >= o.min_age AND c.country = ANY(o.countries)
                ORDER BY o.base + c.age / 10.0 DESC LIMIT {COUNT}
            ) top
            WHERE {where}
            """,
            params,
        )
        rows = cursor.fetchone()[0]
    return time.perf_counter() - started, rows


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument(
        "--sizes", help="comma-separated population sizes (default: --contacts)"
    )
    parser.add_argument("--chunk-size", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    sizes = [int(s) for s in (args.sizes or str(args.contacts)).split(",")]

    from interaction.campaigns import runs
    from interaction.models import OfferSpace

    began = time.perf_counter()
    log(common.describe_code())
    log(f"load average {load_average()}, {os.cpu_count()} CPUs")
    common.ensure_database()
    section("data")
    delete_leftovers()
    common.build_all()
    ensure_contacts(max(sizes))
    page = campaign_page()
    space = OfferSpace.objects.get(code=SPACE)
    with connection.cursor() as cursor:
        offers = floor_offers(cursor, space.pk)
    log(f"campaign page {page.pk} on {SPACE} ({offers} live offers), {COUNT} a contact")

    # One contact date for every run: the same history windows, so both runs
    # of a size write the same propositions.
    date = timezone.now()
    results = []
    for size in sizes:
        spec = dataclasses.replace(
            runs.campaign_spec(page), population=population(size), date=date
        )
        section(f"{size:,} contacts, chunks of {args.chunk_size:,}")
        one, run1, reports1 = engine_run(page, spec, args.seed, args.chunk_size, 1)
        written = run1.propositions_written
        log(
            f"1 worker : {one:8.1f} s  {size / one:9,.0f} contacts/s  "
            f"{written:,} propositions ({run1.status}, {run1.chunks_done}/"
            f"{run1.chunks_total} chunks, {run1.contacts_excluded} excluded)  "
            f"peak RSS {reports1[0]['rss_peak_kb'] / 1024:.0f} MB "
            f"(ready {reports1[0]['rss_ready_kb'] / 1024:.0f} MB)"
        )
        log(f"  deleted its rows in {delete_run(run1):.1f} s")
        if run1.contacts_processed != size:
            log(f"  ! {run1.contacts_processed:,} contacts processed, not {size:,}")
        connection.close()
        two, run2, reports2 = engine_run(page, spec, args.seed, args.chunk_size, 2)
        log(
            f"2 workers: {two:8.1f} s  {size / two:9,.0f} contacts/s  "
            f"{run2.propositions_written:,} propositions ({run2.status}, "
            f"{run2.chunks_done}/{run2.chunks_total} chunks)  peak RSS "
            + ", ".join(f"{r['rss_peak_kb'] / 1024:.0f} MB" for r in reports2)
        )
        if run2.propositions_written != written:
            log("  ! the two runs wrote different numbers of propositions")
        log(f"  deleted its rows in {delete_run(run2):.1f} s")
        with connection.cursor() as cursor:  # a temporary table: this connection's
            floor_offers(cursor, space.pk)
        insert_s, insert_rows, insert_del = insert_floor(
            space, size, written, run1.contact_date
        )
        log(
            f"INSERT … SELECT floor: {insert_s:6.1f} s  {insert_rows:,} rows "
            f"(deleted in {insert_del:.1f} s)"
        )
        topn_s, topn_rows = topn_floor(size)
        log(f"top-{COUNT} LATERAL floor: {topn_s:6.1f} s  {topn_rows:,} rows")
        results.append(
            dict(
                size=size,
                one=one,
                two=two,
                written=written,
                insert=insert_s,
                topn=topn_s,
                rss1=reports1[0]["rss_peak_kb"],
                rss2=max(r["rss_peak_kb"] for r in reports2),
            )
        )
        log(
            f"ratios: 1 worker {one / insert_s:.2f}x the INSERT floor "
            f"(target <= 3x: {verdict(one <= 3 * insert_s)}), "
            f"{one / topn_s:.2f}x the top-N floor; 2 workers {two / insert_s:.2f}x "
            f"the INSERT floor, {two / one:.2f}x 1 worker "
            f"(target < 1x: {verdict(two < one)})"
        )

    section("summary")
    log(
        "contacts   | 1 worker c/s | 2 workers c/s | propositions | INSERT floor | "
        "top-N floor | 1w/INSERT | 2w/1w | peak RSS 1w / 2w"
    )
    for r in results:
        log(
            f"{r['size']:>10,} | {r['size'] / r['one']:>12,.0f} | "
            f"{r['size'] / r['two']:>13,.0f} | {r['written']:>12,} | "
            f"{r['insert']:>10.1f} s | {r['topn']:>9.1f} s | "
            f"{r['one'] / r['insert']:>6.2f}x {verdict(r['one'] <= 3 * r['insert'])} | "
            f"{r['two'] / r['one']:.2f} {verdict(r['two'] < r['one'])} | "
            f"{r['rss1'] / 1024:.0f} / {r['rss2'] / 1024:.0f} MB"
        )
    if len(results) > 1:
        low, high = results[0], results[-1]
        growth = high["rss1"] / low["rss1"]
        log(
            f"peak RSS of a worker, {high['size']:,} / {low['size']:,} contacts: "
            f"{growth:.2f}x (flat: {verdict(growth <= 1.2)}, within 20 %)"
        )
    log(f"total {time.perf_counter() - began:.0f} s, load average {load_average()}")


if __name__ == "__main__":
    main()
