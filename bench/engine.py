"""Offer engine benchmark (not a test): PostgreSQL only. See bench/README.md.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/interaction_bench \
        .venv/bin/python bench/engine.py [--calls 2000] [--warmup 200] [--profile]

Builds (once, reused on later runs) a bench environment with 10 spaces x 100
live offers, 3 typology rules, 100,000 contacts and 1,000,000 history rows, then
times ``propose`` for random contacts: the engine core alone, the service with
its database readers, and the HTTP API (test client and a loopback server)
next to a floor view measured the same way; then the core again with a
10,000-offer catalogue.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import dataclasses
import datetime
import http.client
import io
import json
import os
import pstats
import random
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "site")]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo.settings")
# Production-like by default (DEBUG=True would also log every SQL query).
os.environ.setdefault("DJANGO_DEBUG", "0")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

ENV_CODE = "bench-1k"
SPACES = 10
OFFERS_PER_SPACE = 100
CONTACTS = 100_000
HISTORY_ROWS = 1_000_000
HISTORY_DAYS = 60
DUPLICATES_10K = 10  # the 10k catalogue: each compiled offer 10 times
EMAIL_DOMAIN = "bench.invalid"
COUNTRIES = ["FR", "GB", "DE", "ES", "IT", "US"]
TIERS = ["none", "silver", "gold", "platinum"]
PROPOSE_PATH = "/api/interaction/v1/propose"

TARGET_CORE_MS = 1.0
TARGET_HTTP_RATIO = 1.5
TARGET_10K_RATIO = 2.0


def log(message: str) -> None:
    print(message, flush=True)


# --- Database ------------------------------------------------------------------


def ensure_database() -> None:
    if connection.vendor != "postgresql":
        sys.exit(
            "bench/engine.py measures PostgreSQL only; this database is "
            f"{connection.vendor!r}. Set DATABASE_URL, e.g. "
            "DATABASE_URL=postgres://postgres@127.0.0.1:5432/interaction_bench"
        )
    import psycopg2

    db = settings.DATABASES["default"]
    params = {
        "dbname": "postgres",
        "user": db.get("USER") or None,
        "password": db.get("PASSWORD") or None,
        "host": db.get("HOST") or None,
        "port": db.get("PORT") or None,
    }
    admin = psycopg2.connect(**{k: v for k, v in params.items() if v})
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]])
        if cursor.fetchone() is None:
            log(f"creating database {db['NAME']}")
            cursor.execute(f'CREATE DATABASE "{db["NAME"]}"')
    admin.close()
    call_command("migrate", interactive=False, verbosity=0)


# --- Data ------------------------------------------------------------------------


def publish(obj):
    obj.save_revision().publish(skip_permission_checks=True)
    obj.refresh_from_db()
    return obj


@contextlib.contextmanager
def search_index_paused(model):
    """Skip the per-save search index update of ``model``, then index in bulk.

    On PostgreSQL each indexed save runs Wagtail's title-norm refresh, which
    rewrites every index entry whose title length equals the average; with
    many similar titles that is ~0.3-1 s per publish and bloats the table.
    """
    from django.db.models.signals import post_save
    from modelsearch.signal_handlers import post_save_signal_handler
    from wagtail.search.backends import get_search_backends

    connected = post_save.disconnect(post_save_signal_handler, sender=model)
    try:
        yield
    finally:
        if connected:
            post_save.connect(post_save_signal_handler, sender=model)
    for backend in get_search_backends(with_auto_update=True):
        backend.add_bulk(model, list(model.objects.all()))


def build_catalogue():
    from interaction.models import (
        Environment,
        Offer,
        OfferCategory,
        OfferSpace,
        SpaceContentField,
        TypologyRule,
    )

    environment, _ = Environment.objects.get_or_create(
        code=ENV_CODE,
        defaults={"label": "Benchmark (1k offers)", "dimension": "home.contact"},
    )

    # Categories: 4 roots with 2 children each; offers go in the 8 leaves.
    categories = {
        c.code: c for c in OfferCategory.objects.filter(environment=environment)
    }
    leaves = []
    for r, root_code in enumerate(["cards", "loans", "savings", "insurance"]):
        root = categories.get(root_code)
        if root is None:
            extra = {}
            if r == 0:
                extra = {
                    "weight_multiplier": 1.5,
                    "target_filter": {"field": "age", "op": ">=", "value": 18},
                }
            root = OfferCategory(
                environment=environment,
                code=root_code,
                label=root_code.title(),
                themes=root_code,
                live=False,
                **extra,
            )
            root.save()
            publish(root)
        for child in ("a", "b"):
            code = f"{root_code}-{child}"
            leaf = categories.get(code)
            if leaf is None:
                leaf = OfferCategory(
                    environment=environment,
                    parent=root,
                    code=code,
                    label=code.title(),
                    live=False,
                )
                leaf.save()
                publish(leaf)
            leaves.append(leaf)

    spaces = []
    for s in range(SPACES):
        code = f"bench-web-{s}"
        space = OfferSpace.objects.filter(code=code).first()
        if space is None:
            space = OfferSpace(
                environment=environment,
                code=code,
                label=f"Bench web {s}",
                channel="web",
                max_offers=3,
                live=False,
            )
            space.content_fields = [SpaceContentField(field="title", required=True)]
            space.save()
        if not space.live:
            publish(space)
        spaces.append(space)

    rules = [
        dict(
            code="bench-per-offer",
            label="Same offer at most twice a week",
            counted_offers="offer",
            period_days=7,
            quantity=2,
        ),
        dict(
            code="bench-per-category",
            label="At most 3 offers of a category in 3 days",
            counted_offers="category",
            period_days=3,
            quantity=3,
        ),
        dict(
            code="bench-all-offers",
            label="At most 8 offers in 30 days",
            counted_offers="all",
            period_days=30,
            quantity=8,
        ),
    ]
    for rule in rules:
        TypologyRule.objects.get_or_create(
            environment=environment, code=rule.pop("code"), defaults=rule
        )

    live_codes = set(
        Offer.objects.filter(environment=environment, live=True).values_list(
            "code", flat=True
        )
    )
    total = SPACES * OFFERS_PER_SPACE
    missing = [i for i in range(total) if f"o{i:05d}" not in live_codes]
    if missing:
        log(f"  publishing {len(missing)} offers (save_revision().publish())")
        started = time.perf_counter()
        now = timezone.now()
        existing = {
            o.code: o for o in Offer.objects.filter(environment=environment, live=False)
        }
        with search_index_paused(Offer):
            for start in range(0, len(missing), 100):
                with transaction.atomic():
                    for i in missing[start : start + 100]:
                        code = f"o{i:05d}"
                        offer = existing.get(code)
                        if offer is None:
                            offer = new_offer(i, leaves, spaces, now)
                        publish(offer)
                log(f"    {start + 100}/{len(missing)}")
        log(f"  published in {time.perf_counter() - started:.1f} s")
    return environment


def new_offer(i, leaves, spaces, now):
    """Offer ``i`` (saved as a draft): a target filter and two weight rows."""
    from interaction.models import Offer, OfferWeight

    offer = Offer(
        category=leaves[i % len(leaves)],
        code=f"o{i:05d}",
        label=f"Offer {i}",
        title=f"Offer {i} title",
        destination_url=f"https://bank.example/offers/{i}",
        text_content=f"Text of offer {i}.",
        # About half the contacts match: age >= 18..42 and 4 countries of 6.
        target_filter={
            "all": [
                {"field": "age", "op": ">=", "value": 18 + i % 25},
                {
                    "field": "country",
                    "op": "in",
                    "value": [COUNTRIES[(i + k) % len(COUNTRIES)] for k in range(4)],
                },
            ]
        },
        live=False,
    )
    offer.spaces = [spaces[i % SPACES]]
    offer.weights = [
        OfferWeight(label="formula", value=f"{1 + i % 5} + age / 10"),
        OfferWeight(
            label="dated",
            value=str(10 + i % 7),
            start_date=now - datetime.timedelta(days=365),
            end_date=now + datetime.timedelta(days=5 * 365),
            target_filter={
                "field": "loyalty_tier",
                "op": "in",
                "value": ["gold", "platinum"],
            },
        ),
    ]
    offer.save()
    return offer


def build_contacts():
    from home.models import Contact

    existing = Contact.objects.filter(email__endswith="@" + EMAIL_DOMAIN).count()
    if existing >= CONTACTS:
        return
    log(f"  creating {CONTACTS - existing} contacts")
    have = set(
        Contact.objects.filter(email__endswith="@" + EMAIL_DOMAIN).values_list(
            "email", flat=True
        )
    )
    rng = random.Random(1)
    batch = []
    for i in range(CONTACTS):
        email = f"c{i:06d}@{EMAIL_DOMAIN}"
        values = dict(
            first_name=f"First{i}",
            last_name=f"Last{i}",
            age=rng.randint(18, 80),
            country=rng.choice(COUNTRIES),
            loyalty_tier=rng.choice(TIERS),
            signup_date=datetime.date(2020, 1, 1)
            + datetime.timedelta(days=rng.randrange(2000)),
        )
        if email in have:
            continue
        batch.append(Contact(email=email, **values))
        if len(batch) == 10_000:
            Contact.objects.bulk_create(batch)
            batch = []
    if batch:
        Contact.objects.bulk_create(batch)


def build_history(environment):
    from home.models import Contact

    from interaction.models import Offer, Proposition

    rows = Proposition.objects.filter(environment=environment).count()
    if rows == HISTORY_ROWS:
        return
    log(f"  inserting {HISTORY_ROWS:,} history rows (INSERT ... generate_series)")
    started = time.perf_counter()
    table = Proposition._meta.db_table
    through = Offer.spaces.through._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        if rows:
            cursor.execute(
                f"DELETE FROM {table} WHERE environment_id = %s", [environment.pk]
            )
        cursor.execute("SELECT setseed(0.42)")
        cursor.execute(
            f"""
            CREATE TEMP TABLE bench_o ON COMMIT DROP AS
            SELECT row_number() OVER (ORDER BY o.id) AS rn, o.id, o.code,
                   o.category_id,
                   (SELECT s.offerspace_id FROM {through} s
                    WHERE s.offer_id = o.id ORDER BY s.offerspace_id LIMIT 1)
                   AS space_id
            FROM {Offer._meta.db_table} o
            WHERE o.environment_id = %s AND o.live
            """,
            [environment.pk],
        )
        cursor.execute(
            f"""
            CREATE TEMP TABLE bench_c ON COMMIT DROP AS
            SELECT row_number() OVER (ORDER BY id) AS rn, id
            FROM {Contact._meta.db_table} WHERE email LIKE %s
            """,
            ["%@" + EMAIL_DOMAIN],
        )
        cursor.execute("SELECT count(*) FROM bench_o")
        n_offers = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM bench_c")
        n_contacts = cursor.fetchone()[0]
        cursor.execute(
            f"""
            INSERT INTO {table} (interaction_id, environment_id, offer_id, offer_code,
                category_id, space_id, channel, contact_key, visitor_id, campaign_id,
                rank, weight, status, event_date, last_modified)
            SELECT gen_random_uuid(), %s, o.id, o.code, o.category_id, o.space_id,
                'web', c.id::text, '', NULL, r.rank, r.weight,
                CASE WHEN r.s < 0.70 THEN 'proposed' WHEN r.s < 0.85 THEN 'presented'
                     WHEN r.s < 0.95 THEN 'accepted' ELSE 'rejected' END,
                r.event_date, r.event_date
            FROM (
                SELECT g,
                       1 + floor(random() * %s)::int AS orn,
                       1 + floor(random() * %s)::int AS crn,
                       1 + floor(random() * 3)::int AS rank,
                       round((random() * 20)::numeric, 2)::float AS weight,
                       random() AS s,
                       now() - random() * interval '{HISTORY_DAYS} days' AS event_date
                FROM generate_series(1, %s) AS g
            ) r
            JOIN bench_o o ON o.rn = r.orn
            JOIN bench_c c ON c.rn = r.crn
            """,
            [environment.pk, n_offers, n_contacts, HISTORY_ROWS],
        )
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {table}")
    log(f"  inserted in {time.perf_counter() - started:.1f} s")


# --- Measures ----------------------------------------------------------------------


def timed(fn, items, warmup):
    for item in warmup:
        fn(item)
    times = []
    for item in items:
        started = time.perf_counter_ns()
        fn(item)
        times.append((time.perf_counter_ns() - started) / 1e6)
    return times


def summary(times):
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, int(round(0.99 * len(ordered))) - 1)]
    return statistics.median(ordered), p99


class MemoryHistory:
    """Preloaded contact histories: the engine core measured without the DB."""

    def __init__(self, rows_by_key):
        self.rows_by_key = rows_by_key

    def contact_history(self, environment_id, key, visitor, period):
        since, until = period
        return [
            row
            for row in self.rows_by_key.get(key, ())
            if since <= row.event_date <= until
        ]

    def offer_counts(self, offer_ids, period, channel, statuses):
        return {}  # the bench has no global capping rule


def catalogue_10k(catalogue, environment_id, *, dense):
    """The 1k catalogue grown to 10k offers by copying its compiled offers.

    ``dense=False``: the copies go to 9 copies of each space, so spaces keep 100
    offers each (100 spaces); the calls still ask the original spaces.
    ``dense=True``: the copies stay on the same spaces (1,000 offers a space).
    """
    from interaction.engine.catalogue import index_by_space

    env = catalogue.environments[environment_id]
    stride = 10 ** (len(str(max(o.id for o in env.offers))) + 1)
    env_spaces = [s for s in catalogue.spaces.values() if s.environment_id == env.id]
    space_stride = 10 ** (len(str(max(s.id for s in env_spaces))) + 1)
    spaces = dict(catalogue.spaces)
    offers = list(env.offers)
    for k in range(1, DUPLICATES_10K):
        if not dense:
            for space in env_spaces:
                copy = dataclasses.replace(
                    space, id=space.id + k * space_stride, code=f"{space.code}-x{k}"
                )
                spaces[copy.code] = copy
        offers += [
            dataclasses.replace(
                o,
                id=o.id + k * stride,
                code=f"{o.code}-x{k}",
                space_ids=o.space_ids
                if dense
                else frozenset(i + k * space_stride for i in o.space_ids),
                # Terms of their own, so each copy compiles its own function.
                terms=dataclasses.replace(o.terms),
            )
            for o in env.offers
        ]
    offers.sort(key=lambda o: o.id)
    ids = {o.id for o in offers}
    rules = tuple(
        rule
        if rule.offer_ids is None
        else dataclasses.replace(
            rule,
            offer_ids=frozenset(i for i in ids if i % stride in rule.offer_ids),
        )
        for rule in env.rules
    )
    environments = dict(catalogue.environments)
    environments[environment_id] = dataclasses.replace(
        env, offers=tuple(offers), rules=rules
    )
    return dataclasses.replace(
        catalogue,
        environments=environments,
        spaces=spaces,
        offers_by_space=index_by_space(environments, spaces),
    )


def start_server():
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler

    class Handler(WSGIRequestHandler):
        # As production servers do (gunicorn, uwsgi): otherwise the headers and
        # body writes meet delayed ACKs and cost ~40 ms per response.
        disable_nagle_algorithm = True

        def log_message(self, format, *args):
            pass

    server = ThreadedWSGIServer(("127.0.0.1", 0), Handler, allow_reuse_address=True)
    server.set_app(WSGIHandler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server


def profile(label, fn, items, limit=30):
    profiler = cProfile.Profile()
    profiler.enable()
    for item in items:
        fn(item)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(limit)
    log(f"\n--- cProfile: {label} ({len(items)} calls), by cumulative time ---")
    log(out.getvalue())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument(
        "--profile", action="store_true", help="also cProfile (a), (a') and (b)"
    )
    args = parser.parse_args()
    run_started = time.perf_counter()

    ensure_database()
    settings.ROOT_URLCONF = "bench.urls"

    from django.test import Client
    from home.models import Contact

    import bench.urls
    from interaction.delivery import propose as services
    from interaction.delivery.readers import DatabaseDirectory, DatabaseHistory
    from interaction.delivery.snapshot import build_snapshot, get_snapshot
    from interaction.engine import core
    from interaction.engine.call import Call
    from interaction.models import Offer, Proposition

    log(f"== setup ({connection.settings_dict['NAME']})")
    started = time.perf_counter()
    environment = build_catalogue()
    build_contacts()
    build_history(environment)
    setup_s = time.perf_counter() - started
    n_offers = Offer.objects.filter(environment=environment, live=True).count()
    n_contacts = Contact.objects.filter(email__endswith="@" + EMAIL_DOMAIN).count()
    n_rows = Proposition.objects.filter(environment=environment).count()
    log(
        f"  environment {ENV_CODE} (id {environment.pk}): {n_offers:,} live offers "
        f"in {SPACES} spaces, {n_contacts:,} contacts, {n_rows:,} history rows "
        f"(setup {setup_s:.1f} s)"
    )
    bench.urls.FLOOR_ENVIRONMENT_ID = environment.pk

    started = time.perf_counter()
    build_snapshot()
    log(f"  build_snapshot(): {(time.perf_counter() - started) * 1000:.0f} ms")
    snapshot = get_snapshot()
    catalogue = snapshot.catalogue
    started = time.perf_counter()
    compiled = 0
    for env_catalogue in catalogue.environments.values():
        for offer in env_catalogue.offers:
            offer.terms.evaluate  # noqa: B018 (compiled on first use)
            compiled += 1
    log(
        f"  compiling the terms of {compiled:,} offers (once per publish, on "
        f"first use): {(time.perf_counter() - started) * 1000:.0f} ms"
    )

    # The sample: distinct random contacts, a random space each, a seed each.
    rng = random.Random(args.seed)
    contact_ids = list(
        Contact.objects.filter(email__endswith="@" + EMAIL_DOMAIN)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    chosen = rng.sample(contact_ids, args.calls + args.warmup)
    space_codes = sorted(
        code
        for code, space in catalogue.spaces.items()
        if space.environment_id == environment.pk
    )
    calls = [
        Call(
            space=rng.choice(space_codes),
            contact=str(pk),
            count=3,
            seed=rng.randrange(2**31),
            explain=False,
        )
        for pk in chosen
    ]
    warm, sample = calls[: args.warmup], calls[args.warmup :]

    # In-memory readers, preloaded for the sampled contacts from the same rows.
    directory = DatabaseDirectory(snapshot.dimensions)
    env_catalogue = catalogue.environments[environment.pk]
    now = timezone.now()
    margin = env_catalogue.history_period + datetime.timedelta(days=1)
    db_history = DatabaseHistory()
    contacts, histories = {}, {}
    for call in calls:
        found = directory.find(environment.pk, ("pk",), [call.contact], None)
        contacts[call.contact] = found
        histories[found.key] = db_history.contact_history(
            environment.pk, found.key, False, (now - margin, now + margin)
        )

    class MemoryDirectory:
        def find(self, environment_id, fields, values, history):
            return contacts.get(values[0])

    lookup = MemoryDirectory()

    memory = MemoryHistory(histories)

    space_ids = {code: space.id for code, space in catalogue.spaces.items()}

    def core_runner(catalogue, stats):
        def run_core(call):
            outcome = core.propose(catalogue, call, lookup, memory)
            stats["calls"] += 1
            stats["proposed"] += len(outcome.proposals)
            stats["candidates"] += len(
                catalogue.offers_by_space.get(space_ids[call.space], ())
            )

        return run_core

    big = catalogue_10k(catalogue, environment.pk, dense=False)
    dense = catalogue_10k(catalogue, environment.pk, dense=True)
    n_big = len(big.environments[environment.pk].offers)
    core_stats, big_stats, dense_stats = (
        {"proposed": 0, "calls": 0, "candidates": 0} for _ in range(3)
    )
    run_core = core_runner(catalogue, core_stats)
    run_big = core_runner(big, big_stats)
    run_dense = core_runner(dense, dense_stats)

    def run_service(call):
        services.propose(call, store=False)

    # Setting ``store`` takes a trusted caller: the bench's own API key.
    from interaction.models import ApiKey

    ApiKey.objects.filter(label="bench").delete()
    api_key = ApiKey(label="bench")
    bearer = f"Bearer {api_key.issue()}"
    api_key.save()
    api_key.environments.set([environment])
    client = Client(headers={"Authorization": bearer})

    def body(call, store=False):
        return json.dumps(
            {
                "space": call.space,
                "contact": int(call.contact),
                "count": call.count,
                "seed": call.seed,
                "store": store,
            }
        )

    def client_post(path, store=False):
        def run(call):
            response = client.post(
                path, body(call, store), content_type="application/json"
            )
            if response.status_code != 200:
                raise SystemExit(f"{path}: {response.status_code} {response.content!r}")

        return run

    server = start_server()
    port = server.server_address[1]
    conn = http.client.HTTPConnection("127.0.0.1", port)
    headers = {"Content-Type": "application/json", "Authorization": bearer}

    def http_post(path):
        def run(call):
            conn.request("POST", path, body(call).encode(), headers)
            response = conn.getresponse()
            content = response.read()
            if response.status != 200:
                raise SystemExit(f"{path}: {response.status} {content!r}")

        return run

    results = {}

    def measure(key, label, fn, target="", items=None):
        times = timed(fn, *(items or (sample, warm)))
        results[key] = summary(times)
        median, p99 = results[key]
        log(f"  {label:<46} median {median:8.3f} ms   p99 {p99:8.3f} ms   {target}")

    def measure_together(*entries, target=""):
        """Measures compared by a ratio, interleaved call by call (in turns
        that alternate their order) so that all see the same machine load."""
        for call in warm:
            for _key, _label, fn in entries:
                fn(call)
        times = {key: [] for key, _label, _fn in entries}
        for index, call in enumerate(sample):
            turn = entries if index % 2 else tuple(reversed(entries))
            for key, _label, fn in turn:
                started = time.perf_counter_ns()
                fn(call)
                times[key].append((time.perf_counter_ns() - started) / 1e6)
        for key, label, _fn in entries:
            results[key] = summary(times[key])
            median, p99 = results[key]
            line = f"  {label:<46} median {median:8.3f} ms   p99 {p99:8.3f} ms"
            log(line + (f"   {target}" if key == entries[0][0] and target else ""))

    log(
        f"\n== measures (load average {os.getloadavg()[0]:.2f}, "
        f"{os.cpu_count()} CPUs): {args.calls} calls each after {args.warmup} "
        "warm-up calls, random contact and space, count 3, store=False, "
        f"seed {args.seed}"
    )
    measure_together(
        ("core", "(a)  engine core, in-memory readers", run_core),
        ("core10k", f"(a10k) engine core, {n_big:,} offers, 100 a space", run_big),
        (
            "core10k_dense",
            f"(a10k') engine core, {n_big:,} offers, 1,000 a space",
            run_dense,
        ),
        target=f"target median <= {TARGET_CORE_MS:g} ms",
    )
    measure("service", "(a') delivery propose, DB readers", run_service)
    log("  breakdown of (a'), same calls:")
    longest = env_catalogue.history_period

    def lookup_with_history(call):
        directory.find(
            environment.pk, ("pk",), [call.contact], (now - longest, now + longest)
        )

    measure(
        "lookup_history",
        "  contact and its history (1 query, as (a') does)",
        lookup_with_history,
    )
    measure(
        "lookup",
        "  contact alone (1 query)",
        lambda call: directory.find(environment.pk, ("pk",), [call.contact], None),
    )
    measure(
        "history",
        "  history alone (1 query)",
        lambda call: db_history.contact_history(
            environment.pk, call.contact, False, (now - longest, now + longest)
        ),
    )
    outcomes = [core.propose(catalogue, call, lookup, memory) for call in calls]

    def run_render(outcome):
        space_row = snapshot.spaces[outcome.space.code]
        for proposal in outcome.proposals:
            services._render(snapshot, space_row, proposal, None, outcome)

    measure(
        "render",
        "  _render of the proposals",
        run_render,
        items=(outcomes[args.warmup :], outcomes[: args.warmup]),
    )

    measure_together(
        ("client", "(b1) POST propose, Django test client", client_post(PROPOSE_PATH)),
        (
            "client_floor",
            "(b1f) floor view, Django test client",
            client_post(bench.urls.FLOOR_PATH),
        ),
    )
    measure_together(
        (
            "loop",
            "(b2) POST propose, loopback HTTP keep-alive",
            http_post(PROPOSE_PATH),
        ),
        (
            "loop_floor",
            "(b2f) floor view, loopback HTTP keep-alive",
            http_post(bench.urls.FLOOR_PATH),
        ),
    )
    # Storing (each call's contact is a different one, so what a call stores
    # does not change the others); the rows are deleted afterwards, so the
    # history stays as built for later runs.
    last_id = Proposition.objects.order_by("-pk").values_list("pk", flat=True)[0]
    try:
        measure_together(
            (
                "client_store",
                "(b3) POST propose store=true, test client",
                client_post(PROPOSE_PATH, store=True),
            ),
            (
                "client_store_floor",
                "(b3f) floor view, Django test client",
                client_post(bench.urls.FLOOR_PATH),
            ),
        )
    finally:
        Proposition.objects.filter(pk__gt=last_id).delete()

    def ratio_line(label, num, den, target):
        ratio = results[num][0] / results[den][0]
        verdict = "OK" if ratio <= target else "MISSED"
        log(f"  {label:<46} {ratio:6.2f}x   target <= {target:g}x  {verdict}")

    log("\n== against the targets")
    core_median = results["core"][0]
    log(
        f"  {'(a) engine core median':<46} {core_median:6.3f} ms target <= "
        f"{TARGET_CORE_MS:g} ms  {'OK' if core_median <= TARGET_CORE_MS else 'MISSED'}"
    )
    ratio_line(
        "(b1) test client propose / floor", "client", "client_floor", TARGET_HTTP_RATIO
    )
    ratio_line("(b2) loopback propose / floor", "loop", "loop_floor", TARGET_HTTP_RATIO)
    ratio_line(
        "(a10k) 10k offers / 1k offers (core)", "core10k", "core", TARGET_10K_RATIO
    )
    store_ratio = results["client_store"][0] / results["client_store_floor"][0]
    store_label = "(b3) test client propose store=true / floor"
    log(f"  {store_label:<46} {store_ratio:6.2f}x   (for information)")
    dense_label = "(a10k') 1,000 offers a space / 100 (core)"
    dense_ratio = results["core10k_dense"][0] / results["core"][0]
    log(f"  {dense_label:<46} {dense_ratio:6.2f}x   (for information)")
    for label, s in (("1k", core_stats), ("10k", big_stats), ("10k'", dense_stats)):
        log(
            f"  workload {label}: {s['proposed'] / s['calls']:.2f} offers proposed, "
            f"{s['candidates'] / s['calls']:.0f} offers in the called space (avg)"
        )

    if args.profile:
        prof = sample[: min(500, len(sample))]
        profile("(a) engine core", run_core, prof)
        profile("(a10k) engine core, 10k offers", run_big, prof)
        profile("(a') delivery propose", run_service, prof)
        profile("(b1) test client propose", client_post(PROPOSE_PATH), prof)

    conn.close()
    server.shutdown()
    server.server_close()
    log(f"\nload average at the end {os.getloadavg()[0]:.2f}")
    log(f"total run time {time.perf_counter() - run_started:.1f} s")


if __name__ == "__main__":
    main()
