"""Status tokens and tracked links: cheap to sign, as hard to forge as Django's
signing (site secret key with its fallbacks, a key per purpose, an expiry, no
open redirect)."""

import time

import pytest
from django.core.signing import BadSignature, SignatureExpired
from django.urls import set_script_prefix
from django.utils.encoding import iri_to_uri

from interaction.delivery.tracking import (
    LINKS,
    TOKENS,
    CompactSigner,
    proposition_token,
    sign_link,
    token_matches,
    tracked_url,
    unsign_link,
)
from interaction.models import Proposition
from tests.builders import ask

DESTINATION = "https://shop.example/offres/été?ref=bannière&x=1#top"


def test_a_token_proves_one_proposition():
    token = proposition_token(7)

    assert token_matches(token, 7)
    assert not token_matches(token, 8)
    assert not token_matches(token, 70)


def test_a_link_round_trips_any_http_destination():
    signed = sign_link(42, DESTINATION)

    assert set(signed) <= set(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_."
    )
    assert unsign_link(signed) == (42, DESTINATION)


@pytest.mark.parametrize("url", ["javascript:alert(1)", "//evil.example", "/local"])
def test_only_http_destinations_are_signed(url):
    with pytest.raises(ValueError):
        sign_link(1, url)


def test_tokens_and_links_are_not_interchangeable():
    link = sign_link(7, "https://shop.example/")

    assert not token_matches(link, 7)
    with pytest.raises(BadSignature):
        unsign_link(TOKENS.sign(LINKS.unsign(link, 60)))
    with pytest.raises(BadSignature):
        unsign_link(proposition_token(7))


def tampered(signed):
    value, stamp, signature = signed.rsplit(".", 2)
    other = "A" if signature[0] != "A" else "B"
    return [
        f"{value}9.{stamp}.{signature}",
        f"{value}.{int(stamp, 16) + 1:x}.{signature}",
        f"{value}.{stamp}.{other}{signature[1:]}",
        f"{value}.{stamp}",
        f"{value}.{stamp}.{signature}=",
    ]


def test_tampered_tokens_and_links_are_refused():
    for token in tampered(proposition_token(7)):
        assert not token_matches(token, 7)
        assert not token_matches(token, 79)
    for link in tampered(sign_link(7, "https://shop.example/")):
        with pytest.raises(BadSignature):
            unsign_link(link)


@pytest.mark.parametrize(
    "garbage",
    ["", ".", "..", "7..", "é.1.x", "7.zz." + "A" * 43, "7.1." + "A" * 44, "x" * 10**5],
)
def test_garbage_is_refused_without_an_error(garbage):
    assert not token_matches(garbage, 7)
    with pytest.raises(BadSignature):
        unsign_link(garbage)


def test_tokens_and_links_expire(settings):
    settings.INTERACTION_SIGNATURE_MAX_AGE = 3600
    old = time.time() - 3700
    token = TOKENS.sign("7", now=old)
    link = LINKS.sign(sign_link(7, "https://shop.example/").rsplit(".", 2)[0], now=old)

    assert not token_matches(token, 7)
    with pytest.raises(SignatureExpired):
        unsign_link(link)

    settings.INTERACTION_SIGNATURE_MAX_AGE = 3800
    assert token_matches(token, 7)
    assert unsign_link(link) == (7, "https://shop.example/")


def test_a_rotated_secret_key_is_honoured_through_its_fallbacks(settings):
    settings.SECRET_KEY = "the-old-secret-key-" * 3
    token = proposition_token(7)
    link = sign_link(7, "https://shop.example/")

    settings.SECRET_KEY = "the-new-secret-key-" * 3
    assert not token_matches(token, 7)
    with pytest.raises(BadSignature):
        unsign_link(link)

    settings.SECRET_KEY_FALLBACKS = ["the-old-secret-key-" * 3]
    assert token_matches(token, 7)
    assert unsign_link(link) == (7, "https://shop.example/")
    # New ones are signed with the new key.
    settings.SECRET_KEY_FALLBACKS = []
    assert token_matches(proposition_token(7), 7)


def test_another_salt_does_not_verify():
    assert not token_matches(CompactSigner("interaction.other").sign("7"), 7)


def test_tracked_urls_follow_the_script_prefix(db, settings):
    settings.INTERACTION_BASE_URL = "https://www.example.com"
    try:
        plain = tracked_url(5, "https://shop.example/")
        set_script_prefix("/shop/")
        prefixed = tracked_url(5, "https://shop.example/")
    finally:
        set_script_prefix("/")

    assert plain.startswith("https://www.example.com/api/interaction/v1/t/5.")
    assert prefixed.startswith("https://www.example.com/shop/api/interaction/v1/t/5.")
    assert tracked_url(5, "https://shop.example/").startswith(
        "https://www.example.com/api/interaction/v1/t/5."
    )


def test_a_stored_proposition_link_leads_to_its_destination(
    client, category, space, offer, contact
):
    offer.destination_url = DESTINATION
    offer.save_revision().publish()
    result = ask(space, contact, store=True)
    [proposition] = result.propositions

    link = tracked_url(proposition.id, DESTINATION)
    response = client.get(link.removeprefix("http://testserver"))

    assert response.status_code == 302
    assert response["Location"] == iri_to_uri(DESTINATION)
    assert Proposition.objects.get(pk=proposition.id).status == "accepted"
