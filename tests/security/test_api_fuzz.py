"""Issue 8, "Done when": a bounded fuzz run of the API's OpenAPI schema.

Schemathesis generates calls from the schema the API serves; most are steered
onto the real catalogue built here (live, draft, batch-only and fallback
spaces, offers with conditions and formulas over the call context, contacts,
stored propositions with their tokens, tracked links, API keys), the rest
stay as generated. Each call goes through Django's test client (the WSGI
stack without a server) and its answer is checked against the schema: no
server error (5xx, nor a 500 inside a batch answer), a documented status, a
documented content type and a body that conforms.

Reproducible: hypothesis runs derandomized, with no example database.
"""

import json
import time
import uuid
from collections import Counter

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core import NOT_SET
from schemathesis.core.transport import Response
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from interaction.api import api
from interaction.delivery.tracking import proposition_token, tracked_url
from interaction.models import ApiKey, OfferWeight, Proposition, TypologyRule
from tests.builders import make_category, make_offer, make_space, publish

API = "/api/interaction/v1"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
#: Calls per operation and generation mode: 1,200 in all. A batch carries up to
#: 20 calls, so fewer batches keep the run under a minute on two cores.
RUNS = [
    ("/propose", "POST", GenerationMode.POSITIVE, 400),
    ("/propose", "POST", GenerationMode.NEGATIVE, 150),
    ("/propose/batch", "POST", GenerationMode.POSITIVE, 100),
    ("/propose/batch", "POST", GenerationMode.NEGATIVE, 30),
    ("/propositions/{id}/status", "POST", GenerationMode.POSITIVE, 200),
    ("/propositions/{id}/status", "POST", GenerationMode.NEGATIVE, 70),
    # Any text is a valid link parameter: there is no negative case to make.
    ("/t/{signed}", "GET", GenerationMode.POSITIVE, 250),
]


def make_key(*environments, revoked=False):
    row = ApiKey(label="fuzz")
    key = row.issue()
    row.save()
    row.environments.set(environments)
    if revoked:
        row.revoke()
    return key


def make_contact(model, number, country):
    return model.objects.create(
        email=f"fuzz{number}@example.com",
        first_name="Ada",
        last_name="Lovelace",
        age=20 + number,
        country=country,
        signup_date="2024-01-01",
    )


def record(offer, space, contact):
    return Proposition.objects.create(
        environment_id=space.environment_id,
        offer=offer,
        offer_code=offer.code,
        category_id=offer.category_id,
        space=space,
        channel=space.channel,
        contact_key=str(contact.pk),
        rank=1,
        weight=1.0,
        status="proposed",
        event_date="2030-01-01T00:00:00Z",
    )


@pytest.fixture
def world(environment, other_environment, anonymous_environment, contact):
    """The real catalogue the fuzzed calls are steered onto."""
    visitors = make_space(anonymous_environment, "visitor-banner", max_offers=3)
    welcome = make_category(anonymous_environment, "welcome", themes="returning")
    make_offer(welcome, "hello", spaces=[visitors], title="Hello")
    make_offer(welcome, "again", spaces=[visitors], title="Again")

    banner = make_space(environment, "home-banner", max_offers=5, live=False)
    banner.fallback_space = visitors
    publish(banner)
    by_email = make_space(
        environment, "by-email", live=False, identification_fields="email"
    )
    by_email.fallback_space = visitors
    publish(by_email)
    make_space(environment, "batch-only", real_time=False)
    make_space(environment, "draft-space", live=False)
    cards = make_category(environment, "cards")
    premium = make_category(environment, "premium", parent=cards, themes="travel")
    for code, category, fields in [
        ("gold-card", cards, {"destination_url": "https://bank.example/gold"}),
        ("silver-card", cards, {}),
        ("platinum", premium, {}),
        (
            "french-only",
            cards,
            {"target_filter": {"field": "country", "op": "=", "value": "FR"}},
        ),
        (
            "in-context",
            cards,
            {
                "target_filter": {
                    "field": "context.language",
                    "op": "in",
                    "value": ["fr", "en"],
                }
            },
        ),
    ]:
        make_offer(
            category, code, spaces=[banner, by_email], title=code.title(), **fields
        )
    weighted = make_offer(cards, "weighted", spaces=[banner], title="Weighted")
    OfferWeight.objects.create(offer=weighted, value="max(1, context.basket * 0.1)")
    OfferWeight.objects.create(offer=weighted, value="age / 10 + 1", space=banner)
    publish(weighted)
    TypologyRule.objects.create(
        environment=environment,
        code="budget",
        label="Budget",
        global_capping=True,
        quantity=50,
        offer_condition={"field": "offer.code", "op": "=", "value": "gold-card"},
    )
    partners = make_space(other_environment, "partner-banner")
    make_offer(make_category(other_environment, "perks"), "perk", spaces=[partners])

    contacts = [contact] + [
        make_contact(type(contact), number, country)
        for number, country in enumerate(("FR", "DE"))
    ]
    propositions = [
        record(cards.offers.get(code=code), banner, contact)
        for contact in contacts
        for code in ("gold-card", "silver-card")
    ]
    return {
        "spaces": [
            "home-banner",
            "by-email",
            "visitor-banner",
            "partner-banner",
            "batch-only",
            "draft-space",
            "no-such-space",
        ],
        "contacts": [
            *[c.pk for c in contacts],
            *[str(c.pk) for c in contacts],
            *[c.email for c in contacts],
            "999999",
        ],
        "propositions": [p.pk for p in propositions],
        "tokens": {p.pk: proposition_token(p.pk) for p in propositions},
        "links": [
            tracked_url(p.pk, "https://bank.example/gold").rsplit("/", 1)[-1]
            for p in propositions
        ],
        "authorizations": [
            None,
            None,
            None,
            f"Bearer {make_key(environment, anonymous_environment)}",
            f"Bearer {make_key(other_environment)}",
            f"Bearer {make_key(environment, revoked=True)}",
            "Bearer wik_0000beef_" + "A" * 43,
            "Basic dXNlcjpwYXNz",
        ],
    }


def steer_call(draw, world, call):
    """``call`` (a generated propose body) aimed at the real catalogue, mostly."""
    if not isinstance(call, dict):
        return call
    call = dict(call)
    if draw(st.integers(0, 9)) < 9:
        call["space"] = draw(st.sampled_from(world["spaces"]))
    if draw(st.integers(0, 9)) < 7:
        call["contact"] = draw(st.sampled_from(world["contacts"]))
    if draw(st.booleans()):
        call["visitor"] = uuid.UUID(int=draw(st.integers(0, 2**128 - 1))).hex
    if draw(st.integers(0, 9)) < 7:
        call.pop("date", None)
        call.pop("store", None)
    if draw(st.booleans()):
        call["context"] = draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "language": st.sampled_from(["fr", "en", "de", 3, None]),
                    "basket": st.one_of(
                        st.integers(-(10**6), 10**6),
                        st.floats(allow_nan=False, allow_infinity=False),
                        st.text(max_size=5),
                    ),
                },
            )
        )
    return call


def steer(draw, world, case, path):
    """Real spaces, contacts, propositions, tokens, links and keys, mostly."""
    authorization = draw(st.sampled_from(world["authorizations"]))
    if authorization is not None:
        case.headers = {**(case.headers or {}), "Authorization": authorization}
    if path == "/propose":
        case.body = steer_call(draw, world, case.body)
    elif path == "/propose/batch":
        if isinstance(case.body, dict) and isinstance(case.body.get("calls"), list):
            calls = [steer_call(draw, world, call) for call in case.body["calls"]]
            case.body = {**case.body, "calls": calls}
    elif path == "/propositions/{id}/status":
        if draw(st.integers(0, 9)) < 8:
            pk = draw(st.sampled_from(world["propositions"]))
            case.path_parameters = {"id": pk}
            if isinstance(case.body, dict) and draw(st.integers(0, 9)) < 7:
                case.body = {**case.body, "token": world["tokens"][pk]}
    elif path == "/t/{signed}" and draw(st.integers(0, 9)) < 6:
        case.path_parameters = {"signed": draw(st.sampled_from(world["links"]))}
    return case


def send(client, case):
    """Send ``case`` through the test client; the answer as schemathesis reads it."""
    headers = {
        key: value
        for key, value in (case.headers or {}).items()
        if key.lower() not in ("content-type", "content-length")
    }
    path = case.formatted_path
    kwargs = {}
    body = b""
    if isinstance(case.body, bytes):
        body = case.body
    elif case.body is not NOT_SET:
        body = json.dumps(case.body).encode()
    if case.body is not NOT_SET:
        kwargs = {"data": body, "content_type": "application/json"}
    query = case.query or {}
    response = client.generic(
        case.method,
        path,
        query_params=query,
        headers=headers,
        **kwargs,
    )
    request = requests.Request(
        case.method,
        f"http://testserver{path}",
        params=query,
        headers=headers,
        data=body or None,
    ).prepare()
    return response, Response(
        status_code=response.status_code,
        headers={name.lower(): [value] for name, value in response.headers.items()},
        content=response.content,
        request=request,
        elapsed=0.0,
        verify=True,
    )


def fuzz(client, world, operation, path, mode, examples, statuses, failures):
    """Send ``examples`` generated calls of ``operation``; count and check them."""
    strategy = operation.as_strategy(generation_mode=mode)

    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def run(data):
        case = steer(data.draw, world, data.draw(strategy), path)
        response, answer = send(client, case)
        statuses[(path, mode.value, response.status_code)] += 1
        try:
            case.validate_response(answer, checks=CHECKS)
        except Exception as error:  # collected, reported by the test
            failures.append(
                f"{case.method} {case.formatted_path} {case.body!r}: {error}"
            )
        if path == "/propose/batch" and response.status_code == 200:
            for item in response.json()["results"]:
                if item["status"] >= 500:
                    failures.append(f"batch item {item}: {case.body!r}")

    run()


def test_fuzzing_the_openapi_schema_gives_no_server_error(client, world):
    schema = schemathesis.openapi.from_dict(api.get_openapi_schema())
    statuses = Counter()
    failures = []
    started = time.monotonic()

    for path, method, mode, examples in RUNS:
        operation = schema[API + path][method]
        fuzz(client, world, operation, path, mode, examples, statuses, failures)

    elapsed = time.monotonic() - started
    calls = sum(statuses.values())
    server_errors = sum(n for (_p, _m, status), n in statuses.items() if status >= 500)
    print(f"\n{calls} calls in {elapsed:.1f} s, {server_errors} server errors")
    for key, count in sorted(statuses.items()):
        print(f"  {key}: {count}")
    assert calls >= 1000
    assert server_errors == 0
    assert not failures, "\n".join(failures[:20])
    # Most calls reached the real catalogue.
    answered = sum(n for (path, _m, status), n in statuses.items() if status == 200)
    assert answered > calls / 3
