"""What the benchmarks share: Django set-up, the bench data, timing and verdicts.

Importing this module sets Django up (``demo.settings``, ``DJANGO_DEBUG=0``)
with the repository this file is in first on ``sys.path``, so a copy of
``bench/`` in another worktree measures that worktree's ``interaction``.
``BENCH_CACHE=redis`` makes Redis the default cache of the whole run
(``BENCH_REDIS_URL``, default ``redis://127.0.0.1:6379/9``).

The data is built once and kept (see bench/README.md); each builder only adds
what is missing, so later runs start measuring at once.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import random
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "site")]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo.settings")
# Production-like by default (DEBUG=True would also log every SQL query).
os.environ.setdefault("DJANGO_DEBUG", "0")

import django  # noqa: E402
from django.conf import settings  # noqa: E402

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
REDIS_CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "interaction-bench",
    }
}
if os.environ.get("BENCH_CACHE", "") == "redis":
    settings.CACHES = REDIS_CACHES
# The bench page template (bench/templates/bench/page.html).
settings.TEMPLATES[0]["DIRS"] = [
    *settings.TEMPLATES[0]["DIRS"],
    Path(__file__).resolve().parent / "templates",
]

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

ENV_CODE = "bench-1k"
ANON_ENV_CODE = "bench-anon"
SPACES = 10
OFFERS_PER_SPACE = 100
CONTACTS = 100_000
HISTORY_ROWS = 1_000_000
HISTORY_DAYS = 60
EMAIL_DOMAIN = "bench.invalid"
COUNTRIES = ["FR", "GB", "DE", "ES", "IT", "US"]
TIERS = ["none", "silver", "gold", "platinum"]
PROPOSE_PATH = "/api/interaction/v1/propose"
#: Rows the INSERT floor stores carry this before the contact key, so that no
#: call of the bench reads them as history (bench/urls.py).
FLOOR_CONTACT_PREFIX = "f"

#: The page's space (identified, falls back to ``ANON_SPACE`` for visitors)
#: and the custom-template space: both show the same 100 offers ``p00000``…
PAGE_SPACE = "bench-page"
TEMPLATE_SPACE = "bench-page-tpl"
ANON_SPACE = "bench-page-anon"
PAGE_OFFERS = 100
#: A small space template that reads offer, proposition and contact fields.
CUSTOM_HTML_TEMPLATE = (
    '<article class="bench-offer" data-offer="{{ offer.code }}">'
    "<h3>{% if proposition.tracked_url %}"
    '<a href="{{ proposition.tracked_url }}">{{ offer.title }}</a>'
    "{% else %}{{ offer.title }}{% endif %}</h3>"
    "<p>{{ offer.text_content }}</p>"
    "{% if contact.first_name %}<p>For you, {{ contact.first_name }}.</p>{% endif %}"
    '<small class="bench-offer__category">{{ offer.category_label }}</small>'
    "</article>"
)
CUSTOM_TEXT_TEMPLATE = "{{ offer.title }}: {{ offer.text_content }}"

#: The global capping rule, inactive but while its measure runs.
CAP_RULE = "bench-global-cap"
CAP_QUANTITY = 10_000_000
CAP_DAYS = 7

#: Contacts with exactly this many history rows, all in the last 7 days.
HISTORY_SIZES = (0, 10, 1000)
HISTORY_CONTACTS = 20  # per size
HISTORY_DOMAIN = "history.bench.invalid"
HISTORY_WINDOW = datetime.timedelta(days=7)


def log(message: str = "") -> None:
    print(message, flush=True)


def section(title: str) -> None:
    log(f"\n-- {title} (load average {load_average()})")


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def describe_code() -> str:
    """Which ``interaction`` is measured: its path and the commit of its tree."""
    import subprocess

    import interaction

    path = Path(interaction.__file__).resolve().parent
    try:
        head = subprocess.run(
            ["git", "-C", str(path), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(path), "status", "--porcelain", "--", "."],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        head, dirty = "?", ""
    state = " + uncommitted changes" if dirty else ""
    return f"interaction from {path} (commit {head}{state})"


# --- Database ------------------------------------------------------------------


def ensure_database() -> None:
    if connection.vendor != "postgresql":
        sys.exit(
            "The benchmarks measure PostgreSQL only; this database is "
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


RULES = [
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


def _rules(environment):
    from interaction.models import TypologyRule

    for rule in RULES:
        rule = dict(rule)
        TypologyRule.objects.get_or_create(
            environment=environment, code=rule.pop("code"), defaults=rule
        )


def _categories(environment, roots):
    """``roots`` root categories with children ``-a`` and ``-b``: the leaves."""
    from interaction.models import OfferCategory

    categories = {
        c.code: c for c in OfferCategory.objects.filter(environment=environment)
    }
    leaves = []
    for r, root_code in enumerate(roots):
        root = categories.get(root_code)
        if root is None:
            extra = {}
            if r == 0 and not environment.is_anonymous:
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
    return leaves


def _space(environment, code, label, **fields):
    from interaction.models import OfferSpace, SpaceContentField

    space = OfferSpace.objects.filter(code=code).first()
    if space is None:
        space = OfferSpace(
            environment=environment,
            code=code,
            label=label,
            channel="web",
            max_offers=3,
            live=False,
            **fields,
        )
        space.content_fields = [SpaceContentField(field="title", required=True)]
        space.full_clean()
        space.save()
    if not space.live:
        publish(space)
    return space


def _publish_offers(environment, codes, make):
    """Publish the offers ``codes`` that are not live yet (``make(i)`` builds
    offer ``i`` of ``codes`` as a draft when it does not exist)."""
    from interaction.models import Offer

    live = set(
        Offer.objects.filter(environment=environment, live=True).values_list(
            "code", flat=True
        )
    )
    missing = [i for i, code in enumerate(codes) if code not in live]
    if not missing:
        return
    log(f"  publishing {len(missing)} offers (save_revision().publish())")
    started = time.perf_counter()
    existing = {
        o.code: o for o in Offer.objects.filter(environment=environment, live=False)
    }
    with search_index_paused(Offer):
        for start in range(0, len(missing), 100):
            with transaction.atomic():
                for i in missing[start : start + 100]:
                    publish(existing.get(codes[i]) or make(i))
            log(f"    {min(start + 100, len(missing))}/{len(missing)}")
    log(f"  published in {time.perf_counter() - started:.1f} s")


def build_catalogue():
    """The bench environment: 4 root categories, 10 spaces of 100 offers, 3
    rules; then the page and template spaces (built after the first part, so a
    database built by an older bench keeps its offers and history)."""
    from interaction.models import Environment

    environment, _ = Environment.objects.get_or_create(
        code=ENV_CODE,
        defaults={"label": "Benchmark (1k offers)", "dimension": "home.contact"},
    )
    leaves = _categories(environment, ["cards", "loans", "savings", "insurance"])
    spaces = [
        _space(environment, f"bench-web-{s}", f"Bench web {s}") for s in range(SPACES)
    ]
    _rules(environment)
    now = timezone.now()
    _publish_offers(
        environment,
        [f"o{i:05d}" for i in range(SPACES * OFFERS_PER_SPACE)],
        lambda i: new_offer(i, leaves, [spaces[i % SPACES]], now),
    )
    return environment


def build_page_catalogue(environment):
    """The spaces the page and the template measures call, with their offers.

    An anonymous environment ``bench-anon`` (the same 3 rules, 100 offers on
    ``bench-page-anon``) is the fallback of ``bench-page`` for visitors;
    ``bench-page`` (default templates) and ``bench-page-tpl`` (a custom
    template) show the same 100 offers ``p00000``… of the bench environment.
    """
    from interaction.models import Environment

    anonymous, _ = Environment.objects.get_or_create(
        code=ANON_ENV_CODE,
        defaults={"label": "Benchmark (visitors)", "dimension": ""},
    )
    _rules(anonymous)
    anon_leaves = _categories(anonymous, ["anon-cards", "anon-loans"])
    anon_space = _space(anonymous, ANON_SPACE, "Bench page (visitors)")
    now = timezone.now()
    _publish_offers(
        anonymous,
        [f"a{i:05d}" for i in range(PAGE_OFFERS)],
        lambda i: new_offer(
            i, anon_leaves, [anon_space], now, prefix="a", anonymous=True
        ),
    )
    leaves = _categories(environment, ["cards", "loans", "savings", "insurance"])
    page_space = _space(
        environment, PAGE_SPACE, "Bench page", fallback_space=anon_space
    )
    template_space = _space(
        environment,
        TEMPLATE_SPACE,
        "Bench page, custom template",
        fallback_space=anon_space,
        html_template=CUSTOM_HTML_TEMPLATE,
        text_template=CUSTOM_TEXT_TEMPLATE,
    )
    _publish_offers(
        environment,
        [f"p{i:05d}" for i in range(PAGE_OFFERS)],
        lambda i: new_offer(i, leaves, [page_space, template_space], now, prefix="p"),
    )
    return anonymous


#: The dated weight row's condition.
TIER_FILTER = {"field": "loyalty_tier", "op": "in", "value": ["gold", "platinum"]}


def offer_target_filter(i):
    """Offer ``i``'s target filter: about half the contacts match (age >=
    18..42 and 4 countries of 6)."""
    return {
        "all": [
            {"field": "age", "op": ">=", "value": 18 + i % 25},
            {
                "field": "country",
                "op": "in",
                "value": [COUNTRIES[(i + k) % len(COUNTRIES)] for k in range(4)],
            },
        ]
    }


def offer_formula(i):
    return f"{1 + i % 5} + age / 10"


def offer_dated_weight(i):
    return str(10 + i % 7)


def new_offer(i, leaves, spaces, now, *, prefix="o", anonymous=False):
    """Offer ``{prefix}{i:05d}`` (saved as a draft): a target filter and two
    weight rows (anonymous: no contact field to read, so no filter and
    numbers only)."""
    from interaction.models import Offer, OfferWeight

    name = str(i) if prefix == "o" else f"{prefix}{i}"
    target_filter = None if anonymous else offer_target_filter(i)
    offer = Offer(
        category=leaves[i % len(leaves)],
        code=f"{prefix}{i:05d}",
        label=f"Offer {name}",
        title=f"Offer {name} title",
        destination_url=f"https://bank.example/offers/{name}",
        text_content=f"Text of offer {name}.",
        target_filter=target_filter,
        live=False,
    )
    offer.spaces = list(spaces)
    dated = OfferWeight(
        label="dated",
        value=offer_dated_weight(i),
        start_date=now - datetime.timedelta(days=365),
        end_date=now + datetime.timedelta(days=5 * 365),
    )
    if anonymous:
        offer.weights = [OfferWeight(label="base", value=str(1 + i % 5)), dated]
    else:
        dated.target_filter = TIER_FILTER
        offer.weights = [OfferWeight(label="formula", value=offer_formula(i)), dated]
    offer.save()
    return offer


def build_cap_rule(environment):
    """The global capping rule (every offer, 10,000,000 per 7 days), inactive."""
    from interaction.models import TypologyRule

    rule, _ = TypologyRule.objects.get_or_create(
        environment=environment,
        code=CAP_RULE,
        defaults=dict(
            label="Every offer at most 10,000,000 times a week (all contacts)",
            counted_offers="offer",
            period_days=CAP_DAYS,
            quantity=CAP_QUANTITY,
            global_capping=True,
            active=False,
        ),
    )
    if rule.active:  # left active by an interrupted run
        set_rule_active(rule, False)
    return rule


def set_rule_active(rule, active):
    """Switch ``rule`` as the admin does (a save), then invalidate the
    compiled catalogue so that the next call sees it."""
    from interaction.delivery import snapshot

    rule.active = active
    rule.save()
    snapshot.invalidate()


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


def history_contacts():
    """``{size: [contact pk, ...]}`` of the dedicated history contacts."""
    from home.models import Contact

    found = {size: [] for size in HISTORY_SIZES}
    for pk, email in (
        Contact.objects.filter(email__endswith="@" + HISTORY_DOMAIN)
        .order_by("email")
        .values_list("pk", "email")
    ):
        size = int(email.split("-")[0][1:])
        if size in found:
            found[size].append(pk)
    return found


def _history_keys():
    return [str(pk) for pks in history_contacts().values() for pk in pks]


def build_history(environment):
    """1,000,000 rows over the last 60 days: random offer and bench contact."""
    from home.models import Contact

    from interaction.models import Offer, Proposition

    rows = (
        Proposition.objects.filter(environment=environment)
        .exclude(contact_key__in=_history_keys())
        .count()
    )
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
            WHERE o.environment_id = %s AND o.live AND o.code LIKE 'o%%'
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


def build_history_contacts(environment):
    """``HISTORY_CONTACTS`` contacts per size of ``HISTORY_SIZES``, alike (age
    40, FR, gold), each with exactly that many rows, all within the last 7
    days (so within every rule's window): random offers of the 10 bench
    spaces, 10 minutes apart. Rows older than an hour are moved back to end
    now, so every run sees the same windows."""
    from home.models import Contact

    from interaction.models import Offer, Proposition

    found = history_contacts()
    new = []
    for size in HISTORY_SIZES:
        for n in range(len(found[size]), HISTORY_CONTACTS):
            new.append(
                Contact(
                    email=f"h{size}-{n:03d}@{HISTORY_DOMAIN}",
                    first_name=f"History{size}",
                    last_name=f"Contact{n}",
                    age=40,
                    country="FR",
                    loyalty_tier="gold",
                    signup_date=datetime.date(2022, 1, 1),
                )
            )
    if new:
        Contact.objects.bulk_create(new)
        found = history_contacts()
    table = Proposition._meta.db_table
    offers = list(
        Offer.objects.filter(environment=environment, live=True, code__startswith="o")
        .order_by("pk")
        .values_list("pk", "code", "category_id", "spaces")
    )
    rng = random.Random(7)
    for size in HISTORY_SIZES:
        for pk in found[size]:
            key = str(pk)
            have = Proposition.objects.filter(
                environment=environment, contact_key=key
            ).count()
            if have == size:
                continue
            Proposition.objects.filter(
                environment=environment, contact_key=key
            ).delete()
            now = timezone.now()
            rows = []
            for n in range(size):
                offer_id, code, category_id, space_id = rng.choice(offers)
                date = now - datetime.timedelta(minutes=10 * (n % 1000))
                rows.append(
                    Proposition(
                        interaction_id=uuid.uuid4(),
                        environment_id=environment.pk,
                        offer_id=offer_id,
                        offer_code=code,
                        category_id=category_id,
                        space_id=space_id,
                        channel="web",
                        contact_key=key,
                        rank=1 + n % 3,
                        weight=float(1 + n % 20),
                        status="proposed",
                        event_date=date,
                    )
                )
            Proposition.objects.bulk_create(rows, batch_size=1000)
    keys = _history_keys()
    with connection.cursor() as cursor:
        # Newest row an hour old or more: shift every row of these contacts.
        cursor.execute(
            f"""
            UPDATE {table} SET event_date = event_date + shift,
                last_modified = last_modified + shift
            FROM (SELECT now() - max(event_date) AS shift FROM {table}
                  WHERE environment_id = %s AND contact_key = ANY(%s)) s
            WHERE environment_id = %s AND contact_key = ANY(%s)
              AND s.shift > interval '1 hour'
            """,
            [environment.pk, keys, environment.pk, keys],
        )
    return found


def build_all():
    """Every part of the bench data (each built only when missing)."""
    environment = build_catalogue()
    build_contacts()
    build_history(environment)
    anonymous = build_page_catalogue(environment)
    build_cap_rule(environment)
    build_history_contacts(environment)
    return environment, anonymous


def bench_contact_ids():
    from home.models import Contact

    return list(
        Contact.objects.filter(email__endswith="@" + EMAIL_DOMAIN)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def new_api_key(environments):
    """A fresh API key of the bench (a trusted caller may send ``store``)."""
    from interaction.models import ApiKey

    ApiKey.objects.filter(label="bench").delete()
    api_key = ApiKey(label="bench")
    bearer = f"Bearer {api_key.issue()}"
    api_key.save()
    api_key.environments.set(environments)
    return bearer


def use_bench_urls():
    """The demo's URLs plus the floor views (``bench/urls.py``)."""
    from django.urls import clear_url_caches

    settings.ROOT_URLCONF = "bench.urls"
    clear_url_caches()


@contextlib.contextmanager
def rows_removed_after(environment_ids, calls=None, floors=1):
    """Delete the propositions added inside the block (storing measures), so
    that later measures and runs see the same history; with ``calls``, print
    how many rows a call stored (the engine's, and each of the ``floors``')."""
    from interaction.models import Proposition

    last_id = Proposition.objects.order_by("-pk").values_list("pk", flat=True).first()
    try:
        yield
    finally:
        added = Proposition.objects.filter(
            environment_id__in=environment_ids, pk__gt=last_id or 0
        )
        if calls:
            floor = added.filter(contact_key__startswith=FLOOR_CONTACT_PREFIX).count()
            engine = added.count() - floor
            log(
                f"     rows stored a call: by propose {engine / calls:.2f}, "
                f"by each floor {floor / calls / floors:.2f}"
            )
        added.delete()


# --- Timing ------------------------------------------------------------------------


def summary(times):
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, int(round(0.99 * len(ordered))) - 1)]
    return statistics.median(ordered), p99


class Results:
    """Measures and their verdicts, printed as they come."""

    def __init__(self):
        self.figures = {}  # key -> (median, p99)
        self.verdicts = []  # printed again at the end

    def measure(self, key, label, fn, items, warm):
        for item in warm:
            fn(item)
        times = []
        for item in items:
            started = time.perf_counter_ns()
            fn(item)
            times.append((time.perf_counter_ns() - started) / 1e6)
        self.figures[key] = summary(times)
        self.line(key, label)

    def together(self, entries, items, warm):
        """Measures compared by a ratio, interleaved call by call (in turns
        that alternate their order) so that all see the same machine load.
        ``entries``: (key, label, fn), the reference last."""
        for item in warm:
            for _key, _label, fn in entries:
                fn(item)
        times = {key: [] for key, _label, _fn in entries}
        for index, item in enumerate(items):
            turn = entries if index % 2 else tuple(reversed(entries))
            for key, _label, fn in turn:
                started = time.perf_counter_ns()
                fn(item)
                times[key].append((time.perf_counter_ns() - started) / 1e6)
        for key, label, _fn in entries:
            self.figures[key] = summary(times[key])
            self.line(key, label)

    def line(self, key, label):
        median, p99 = self.figures[key]
        log(f"  {label:<52} median {median:8.3f} ms   p99 {p99:8.3f} ms")

    def ratio(self, label, key, reference, target=None):
        """``key`` against ``reference`` (medians), with the target if any."""
        median, p99 = self.figures[key]
        ref_median, ref_p99 = self.figures[reference]
        ratio = median / ref_median
        verdict = (
            f"target <= {target:g}x  {'PASS' if ratio <= target else 'MISS'}"
            if target is not None
            else "(for information)"
        )
        text = (
            f"  {label:<52} {median:7.3f} / {ref_median:7.3f} ms "
            f"(p99 {p99:7.3f} / {ref_p99:7.3f})  {ratio:5.2f}x  {verdict}"
        )
        log(text)
        self.verdicts.append(text)
        return ratio

    def absolute(self, label, key, target_ms):
        median, p99 = self.figures[key]
        verdict = "PASS" if median <= target_ms else "MISS"
        text = (
            f"  {label:<52} {median:7.3f} ms (p99 {p99:7.3f})  "
            f"target median <= {target_ms:g} ms  {verdict}"
        )
        log(text)
        self.verdicts.append(text)

    def note(self, text):
        log(text)
        self.verdicts.append(text)

    def report(self, started):
        log(f"\n== verdicts (load average now {load_average()})")
        for text in self.verdicts:
            log(text)
        log(f"\ntotal run time {time.perf_counter() - started:.1f} s")


def start_server():
    """Django's threaded WSGI server on a loopback port, in a thread."""
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


def stop_server(server):
    server.shutdown()
    server.server_close()


def selected(only, name):
    return not only or name in only


def parse_only(value, names):
    chosen = {name.strip() for name in value.split(",") if name.strip()}
    unknown = chosen - set(names)
    if unknown:
        sys.exit(f"--only: unknown {sorted(unknown)}; choose from {', '.join(names)}")
    return chosen


def contact_from_query(request):
    """The page bench's ``INTERACTION_CONTACT_RESOLVER``: ``?contact=<id>``,
    read from the query string only (no session, so the resolver adds no
    database work; a real site maps its logged-in user)."""
    return request.GET.get("contact") or None
