"""Page benchmark (not a test): a Wagtail page showing one offer against the same
page without the plugin. PostgreSQL only. See bench/README.md.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/interaction_bench \\
        .venv/bin/python bench/page.py [--calls 1000] [--warmup 100]
        [--only client,loopback] [--visitors anonymous,identified]

Two published pages of the demo's ``LandingPage`` (a StreamField body) under
the site root, rendered with one template (``bench/page.html``, the demo's
layout without the plugin's tag and JS client):

- ``/bench-page-offer/``: three paragraphs and an ``OfferSpaceBlock`` (space
  ``bench-page``, count 1, storage on; visitors fall back to
  ``bench-page-anon``);
- ``/bench-page-plain/``: the same paragraphs and, instead of the block, a
  paragraph of the HTML an offer renders (about the same size).

Each request pair is interleaved (alternating order) through the Django test
client and a loopback HTTP server, for an anonymous visitor (a new one each
request) and an identified contact (a different bench contact each request,
``?contact=<id>`` through ``INTERACTION_CONTACT_RESOLVER``). The rows the
offer page stores are deleted afterwards.
"""

from __future__ import annotations

import argparse
import http.client
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402 (sets Django up)
from bench.common import log  # noqa: E402

OFFER_SLUG = "bench-page-offer"
PLAIN_SLUG = "bench-page-plain"
TARGET_PAGE_RATIO = 1.2
SQL_SAMPLE = 20
LINES = ("client", "loopback")
VISITORS = ("anonymous", "identified")

PARAGRAPHS = [
    "<p>Our advisers help you choose the account, the card and the savings "
    "that fit your life, in a branch or online, <b>at no cost</b>.</p>",
    "<p>Open an account in ten minutes with an identity document and a proof "
    "of address; your card arrives within five working days.</p>",
    '<p>Questions? Read the <a href="https://bank.example/help">help '
    "centre</a> or call us from 9:00 to 18:00, Monday to Saturday.</p>",
]
#: What the offer block renders for one offer (default template), as a plain
#: paragraph of the page without the plugin.
OFFER_LIKE_HTML = (
    '<div class="interaction-space" data-space="bench-page" '
    'data-interaction="00000000-0000-0000-0000-000000000000">\n'
    '  <div class="interaction-proposition" data-offer="p00001" data-rank="1" '
    'data-proposition="12345678" data-token="12345678:AbCdEfGhIjKlMnOpQrStUvWxYz0">'
    '<div class="interaction-offer" data-offer="p00001">\n'
    '  <h3 class="interaction-offer__title"><a href="https://bank.example/offers/'
    'p1">Offer p1 title</a></h3>\n'
    '  <p class="interaction-offer__body">Text of offer p1.</p>\n</div>\n</div>\n'
    "</div>"
)


def build_pages():
    """The two pages under the default site's root (created or updated)."""
    from home.models import LandingPage
    from wagtail.models import Site

    from interaction.models import OfferSpace

    space = OfferSpace.objects.get(code=common.PAGE_SPACE)
    paragraphs = [{"type": "paragraph", "value": html} for html in PARAGRAPHS]
    bodies = {
        OFFER_SLUG: paragraphs[:2]
        + [
            {
                "type": "offer_space",
                "value": {"space": space.pk, "count": 1, "category": "", "themes": ""},
            }
        ]
        + paragraphs[2:],
        PLAIN_SLUG: paragraphs[:2]
        + [{"type": "paragraph", "value": OFFER_LIKE_HTML}]
        + paragraphs[2:],
    }
    root = Site.objects.get(is_default_site=True).root_page
    pages = {}
    for slug, body in bodies.items():
        page = LandingPage.objects.filter(slug=slug).first()
        if page is None:
            page = LandingPage(
                title="Everyday banking", slug=slug, intro="<p>Welcome.</p>", body=body
            )
            root.add_child(instance=page)
            common.publish(page)
        elif page.body.raw_data != body or not page.live:
            page.body = body
            common.publish(page)
        pages[slug] = page.url
    return pages


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--only", default="", help="client, loopback or both")
    parser.add_argument(
        "--visitors", default="", help="anonymous, identified or both (default)"
    )
    args = parser.parse_args()
    only = common.parse_only(args.only, LINES)
    visitors = common.parse_only(args.visitors, VISITORS) or set(VISITORS)
    run_started = time.perf_counter()

    common.ensure_database()
    common.use_bench_urls()

    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from home.models import LandingPage

    settings.INTERACTION_CONTACT_RESOLVER = "bench.common.contact_from_query"
    LandingPage.template = "bench/page.html"

    log(f"== {common.describe_code()}")
    log(
        f"   database {connection.settings_dict['NAME']}, cache "
        f"{settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1]}, "
        f"load average {common.load_average()}"
    )
    environment, anonymous = common.build_all()
    urls = build_pages()
    offer_url, plain_url = urls[OFFER_SLUG], urls[PLAIN_SLUG]
    log(f"   pages {offer_url} (offer block) and {plain_url} (without the plugin)")

    rng = random.Random(args.seed)
    n = args.calls + args.warmup
    # A contact for each request: test client, loopback, and SQL counts.
    contacts = rng.sample(common.bench_contact_ids(), 3 * n)
    client = Client()
    shown = {"offer": 0, "requests": 0, "size": 0}

    def path(url, visitor, index, variant):
        if visitor == "anonymous":
            return url
        # A different contact for each request of each variant.
        return f"{url}?contact={contacts[index + variant * n]}"

    def check(url, status, content):
        if status != 200:
            raise SystemExit(f"{url}: {status} {content[:300]!r}")
        shown["size"] = len(content)
        if url.startswith(offer_url):
            shown["requests"] += 1
            shown["offer"] += b'class="interaction-proposition"' in content

    def client_get(url, visitor, variant=0):
        def run(index):
            client.cookies.clear()  # a new visitor (and no session) each time
            target = path(url, visitor, index, variant)
            response = client.get(target)
            check(target, response.status_code, response.content)

        return run

    server = common.start_server()
    conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1])

    def loop_get(url, visitor, variant=1):
        def run(index):
            target = path(url, visitor, index, variant)
            conn.request("GET", target)  # no cookie: a new visitor each time
            response = conn.getresponse()
            check(target, response.status, response.read())

        return run

    results = common.Results()
    gets = {"client": client_get, "loopback": loop_get}

    with common.rows_removed_after([environment.pk, anonymous.pk]):
        measure_pages(args, visitors, only, urls, gets, results, shown)
    conn.close()
    common.stop_server(server)
    results.report(run_started)


def measure_pages(args, visitors, only, urls, gets, results, shown):
    """Sizes and SQL of each page, then the interleaved measures."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    offer_url, plain_url = urls[OFFER_SLUG], urls[PLAIN_SLUG]
    n = args.calls + args.warmup
    warm, sample = list(range(args.warmup)), list(range(args.warmup, n))
    client_get = gets["client"]

    log("\n-- the two pages (a second request of each, after a first one)")
    for visitor in sorted(visitors):
        for url in (offer_url, plain_url):
            client_get(url, visitor, 2)(0)
            with CaptureQueriesContext(connection) as queries:
                client_get(url, visitor, 2)(1)
            log(
                f"   {visitor:<10} {url:<20} {shown['size']:6,} bytes of HTML, "
                f"{len(queries)} SQL statements"
            )
    if "identified" in visitors:
        with CaptureQueriesContext(connection) as queries:
            client_get(offer_url, "identified", 2)(2)
        log("   SQL of an identified request of the offer page:")
        for query in queries.captured_queries:
            log("     " + query["sql"][:150])

    log(
        f"\n== measures: {args.calls} request pairs after {args.warmup} warm-up "
        "pairs, the offer page and the plain page interleaved"
    )
    for visitor in VISITORS:
        if visitor not in visitors:
            continue
        for kind in LINES:
            if not common.selected(only, kind):
                continue
            how = "test client" if kind == "client" else "loopback HTTP"
            common.section(f"{visitor}, {how}")
            shown.update(offer=0, requests=0)
            key = f"{kind}_{visitor}"
            get = gets[kind]
            results.together(
                [
                    (key, "page with the offer block", get(offer_url, visitor)),
                    (
                        key + "_plain",
                        "page without the plugin",
                        get(plain_url, visitor),
                    ),
                ],
                sample,
                warm,
            )
            results.ratio(
                f"{visitor}, {how}: offer page / plain page",
                key,
                key + "_plain",
                TARGET_PAGE_RATIO,
            )
            log(
                f"     an offer was shown in {shown['offer']:,} of "
                f"{shown['requests']:,} offer page responses"
            )
        # SQL statements per request, counted on the test client (the
        # loopback server's thread has its own connection).
        counts = {}
        for url in (offer_url, plain_url):
            run = client_get(url, visitor, 2)
            with CaptureQueriesContext(connection) as queries:
                for index in sample[:SQL_SAMPLE]:
                    run(index)
            counts[url] = len(queries) / SQL_SAMPLE
        results.note(
            f"  {visitor}: SQL statements per request (test client): offer page "
            f"{counts[offer_url]:.1f}, plain page {counts[plain_url]:.1f}"
        )


if __name__ == "__main__":
    main()
