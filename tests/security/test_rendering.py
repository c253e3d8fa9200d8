"""Issue 8, points 1 and 9: space templates in a sandbox, offer HTML sanitised.

Each attack is replayed: refused when the space or offer is saved, and, when
forced into the database with ``.update()``, harmless at call time (the API
answers 200 with the default rendering, nothing leaks, nothing changes).
"""

import io
import json
import logging
import time

import pytest
from django.core.exceptions import ValidationError
from django.core.files.images import ImageFile
from django.urls import reverse
from PIL import Image as PILImage
from wagtail.images.models import Image

from interaction.delivery import sandbox
from interaction.delivery.rendering import (
    VARIABLES,
    offer_context,
    render_offer,
    sample_context,
)
from interaction.delivery.sanitise import (
    sanitise_html,
    sanitise_rendering,
    sanitise_stored_html,
)
from interaction.models import Offer, OfferSpace, SpaceContentField
from tests.builders import make_offer, make_space, publish

PROPOSE = "/api/interaction/v1/propose"
RENDERING_LOGGER = "interaction.delivery.rendering"

PASSWORD_HASHES = (
    "{% for u in space.environment.users.all %}"
    "{{u.username}}:{{u.password}};{% endfor %}"
)
NESTED_LOOP_BOMB = (
    "{% for a in offer.html_content %}{% for b in offer.html_content %}"
    "{% for c in offer.html_content %}x{% endfor %}{% endfor %}{% endfor %}"
)
HUGE_WIDTH = '{{ offer.title|ljust:"999999999" }}'
SCRIPT_HTML = (
    '<p>Hello</p><script>alert("xss")</script>'
    '<a href="javascript:alert(1)">click</a>'
    '<img src="https://cdn.example/x.png" onerror="alert(1)">'
)


def propose(client, contact, space_code="home-banner"):
    response = client.post(
        PROPOSE,
        data=json.dumps({"space": space_code, "contact": contact.pk}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    return response


def force_templates(space, html="", text=""):
    """Bypass validation, as a bug, an import or raw SQL could."""
    OfferSpace.objects.filter(pk=space.pk).update(
        html_template=html, text_template=text
    )


def space_errors(space) -> dict:
    with pytest.raises(ValidationError) as raised:
        space.full_clean()
    return raised.value.message_dict


def new_space(environment, **fields):
    return OfferSpace(environment=environment, code="new-space", label="New", **fields)


# Point 1: the password-hash template -------------------------------------------


def test_password_hash_template_is_refused_on_save(environment):
    for field in ("html_template", "text_template"):
        errors = space_errors(new_space(environment, **{field: PASSWORD_HASHES}))

        assert "unknown variable “space.environment”" in " ".join(errors[field])


def test_admin_form_refuses_the_password_hash_template(client, role_user, environment):
    client.force_login(role_user("administrator"))
    data = {
        "environment": environment.pk,
        "label": "Sidebar",
        "code": "sidebar",
        "description": "",
        "channel": "web",
        "real_time": "on",
        "max_offers": "3",
        "default_category": "",
        "default_themes": "",
        "content_fields-TOTAL_FORMS": "0",
        "content_fields-INITIAL_FORMS": "0",
        "content_fields-MIN_NUM_FORMS": "0",
        "content_fields-MAX_NUM_FORMS": "1000",
        "html_template": PASSWORD_HASHES,
        "text_template": "",
        "identification_fields": "pk",
        "fallback_space": "",
        "store_propositions": "on",
        "initial_status": "proposed",
        "accepted_status": "accepted",
    }

    response = client.post(
        reverse(OfferSpace.snippet_viewset.get_url_name("add")), data
    )

    assert response.status_code == 200
    assert "unknown variable “space.environment”" in response.content.decode()
    assert not OfferSpace.objects.filter(code="sidebar").exists()


def test_password_hash_template_forced_into_the_database_leaks_nothing(
    client, django_user_model, environment, space, offer, contact, caplog
):
    victim = django_user_model.objects.create_user("victim", password="s3cret-pass")
    environment.users.add(victim)
    force_templates(space, html=PASSWORD_HASHES, text=PASSWORD_HASHES)

    with caplog.at_level(logging.WARNING, logger=RENDERING_LOGGER):
        response = propose(client, contact)

    body = response.content.decode()
    assert victim.password not in body
    assert "pbkdf2" not in body and "victim" not in body
    [proposition] = response.json()["propositions"]
    default = render_offer(make_space(environment, "defaults", live=False), offer)
    assert proposition["html"] == default["html"]
    assert proposition["text"] == default["text"]
    assert "home-banner" in caplog.text and "default rendering" in caplog.text


# Point 1: templates that reach model methods ------------------------------------


@pytest.mark.parametrize(
    "template",
    [
        "{{ offer.unpublish }}",
        "{{ offer.delete }}",
        "{{ offer.environment.delete }}",
        "{{ space.delete }}",
        "{{ contact.save }}",
        "{{ proposition.offer.unpublish }}",
    ],
)
def test_templates_calling_model_methods_are_refused_on_save(environment, template):
    errors = space_errors(new_space(environment, html_template=template))

    assert "unknown variable" in " ".join(errors["html_template"])


def test_unpublish_template_forced_into_the_database_changes_nothing(
    client, space, offer, contact, caplog
):
    force_templates(
        space,
        html="{{ offer.unpublish }}{{ offer.delete }}<b>{{ offer.title }}</b>",
        text="{% if offer.unpublish == 1 %}{% endif %}{{ offer.title }}",
    )

    with caplog.at_level(logging.WARNING, logger=RENDERING_LOGGER):
        response = propose(client, contact)
        propose(client, contact)

    offer.refresh_from_db()
    assert offer.live
    assert Offer.objects.filter(pk=offer.pk, live=True).exists()
    [proposition] = response.json()["propositions"]
    assert 'class="interaction-offer"' in proposition["html"]
    assert proposition["text"] == "Gold card"
    assert "unknown variable “offer.unpublish”" in caplog.text


def test_unknown_variables_fail_the_render_even_inside_a_condition(offer):
    data = {"offer": offer_context(offer)}
    for source in (
        "{{ offer.unpublish }}",
        "{% if offer.unpublish == 1 %}{% endif %}",
        "{% for u in space.environment.users.all %}{% endfor %}",
        "{% firstof user.password 'x' %}",
    ):
        with pytest.raises(sandbox.UnknownVariable):
            render(source, **data)
    # Dict methods and lookups on strings are not unknown variables.
    assert render("{{ offer.items|length }}{{ offer.title.nope }}", **data) == "11"


def test_the_context_holds_plain_data_only(space, offer, contact):
    def walk(value):
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, tuple):
            for item in value:
                walk(item)
        else:
            assert value is None or isinstance(value, str | int | float | bool)

    walk(offer_context(offer))
    with pytest.raises(TypeError):
        sandbox.plain(offer)
    with pytest.raises(TypeError):
        sandbox.plain({"contact": contact})


def test_a_template_cannot_change_the_shared_data(offer):
    data = offer_context(offer)
    template = sandbox.compile_template(
        "{{ offer.clear }}{{ offer.pop }}{{ offer.popitem }}{{ offer.update }}"
        "{{ offer.setdefault }}{{ offer.title }}"
    )

    output = sandbox.render(template, {"offer": data}, autoescape=True)

    assert output == "Gold card"
    assert data == offer_context(offer)


# Point 1: tags and filters outside the allow-list --------------------------------


@pytest.mark.parametrize(
    "template, named",
    [
        ('{% include "/etc/passwd" %}', "include"),
        ("{% load static %}", "load"),
        ("{% load %}", "load"),
        ("{% debug %}", "debug"),
        ('{% extends "base.html" %}', "extends"),
        ("{% block body %}{% endblock %}", "block"),
        ('{% url "wagtailadmin_home" %}', "url"),
        ("{% csrf_token %}", "csrf_token"),
        ("{% lorem 99999999 w %}", "lorem"),
        ("{% widthratio 1 1 999999999 %}", "widthratio"),
        ("{% querystring %}", "querystring"),
        ("{% image offer.image original %}", "image"),
        ("{% no_such_tag %}", "no_such_tag"),
        ("{{ offer.title|safe }}", "safe"),
        ("{{ offer.title|safeseq }}", "safeseq"),
        ("{{ offer|pprint }}", "pprint"),
        ('{{ offer.title|json_script:"x" }}', "json_script"),
        ("{{ offer.html_content|richtext }}", "richtext"),
    ],
)
def test_forbidden_tags_and_filters_are_refused_on_save(environment, template, named):
    for field in ("html_template", "text_template"):
        errors = " ".join(
            space_errors(new_space(environment, **{field: template}))[field]
        )

        assert errors.startswith("Template error:")
        assert f"“{named}”" in errors


@pytest.mark.parametrize(
    "template",
    [
        '{% include "/etc/passwd" %}',
        "{% load static %}{% static 'x' %}",
        "{% debug %}",
        '{% extends "wagtailadmin/base.html" %}',
    ],
)
def test_forbidden_tags_forced_into_the_database_render_the_default(
    client, space, offer, contact, caplog, template
):
    force_templates(space, html=template, text=template)

    with caplog.at_level(logging.WARNING, logger=RENDERING_LOGGER):
        response = propose(client, contact)

    [proposition] = response.json()["propositions"]
    assert "root:" not in response.content.decode()
    assert 'class="interaction-offer"' in proposition["html"]
    assert proposition["text"] == "Gold card"
    assert "TemplateSyntaxError" in caplog.text


def test_the_engine_has_no_loader_and_no_default_library():
    engine = sandbox.engine()

    assert engine.loaders == []
    assert engine.template_builtins == [sandbox.register]
    assert sorted(sandbox.register.tags) == sorted(sandbox.ALLOWED_TAGS)
    assert sorted(sandbox.register.filters) == sorted(sandbox.ALLOWED_FILTERS)
    with pytest.raises(Exception, match="etc/passwd"):
        engine.get_template("/etc/passwd")


# Point 1: bounds -------------------------------------------------------------------


def render(source, **data):
    return sandbox.render(sandbox.compile_template(source), data, autoescape=True)


def test_loop_iterations_are_bounded():
    loop = "{% for a in s %}{% endfor %}"
    render(loop, s="x" * sandbox.MAX_LOOP_ITERATIONS)

    with pytest.raises(sandbox.SandboxLimitExceeded, match="loop iterations"):
        render(loop, s="x" * (sandbox.MAX_LOOP_ITERATIONS + 1))
    # Nested loops count together: 200 × 200 > 10,000.
    with pytest.raises(sandbox.SandboxLimitExceeded, match="loop iterations"):
        render("{% for a in s %}{% for b in s %}{% endfor %}{% endfor %}", s="x" * 200)


def test_output_is_bounded():
    render("{{ s }}", s="x" * sandbox.MAX_OUTPUT)

    with pytest.raises(sandbox.SandboxLimitExceeded, match="characters of output"):
        render("{{ s }}{{ s }}", s="x" * sandbox.MAX_OUTPUT)
    # Output of tags, not only of variables, counts.
    with pytest.raises(sandbox.SandboxLimitExceeded, match="characters of output"):
        render("{% for a in s %}{% firstof s %}{% endfor %}", s="x" * 1_000)


def test_filter_results_are_bounded():
    with pytest.raises(sandbox.SandboxLimitExceeded, match="a value of more than"):
        render("{% with t=s|add:s %}{% endwith %}", s="x" * 60_000)
    with pytest.raises(sandbox.SandboxLimitExceeded, match="a value of more than"):
        render("{{ s|make_list|join:s }}", s="x" * 1_000)


@pytest.mark.parametrize(
    "source, message",
    [
        ('{{ s|ljust:"999999999" }}', "width"),
        ('{{ s|rjust:"999999999" }}', "width"),
        ('{{ s|center:"999999999" }}', "width"),
        ('{{ 1|stringformat:"0999999999d" }}', "width"),
        ('{{ 1.5|stringformat:".99999f" }}', "width"),
        ('{{ 1.5|floatformat:"99999" }}', "decimal places"),
        ('{{ 1.5|floatformat:"-99999g" }}', "decimal places"),
    ],
)
def test_huge_widths_are_refused(source, message):
    render(source.replace("999999999", "10").replace("99999", "10"), s="x")

    with pytest.raises(sandbox.SandboxLimitExceeded, match=message):
        render(source, s="x")


def test_a_bound_reached_inside_an_if_condition_still_fails_the_render():
    with pytest.raises(sandbox.SandboxLimitExceeded, match="width"):
        render('{% if s|ljust:"999999999" == "x" %}yes{% endif %}', s="x")


def test_render_time_is_bounded(monkeypatch):
    monkeypatch.setattr(sandbox, "MAX_RENDER_SECONDS", -1)

    with pytest.raises(sandbox.SandboxLimitExceeded, match="took more than"):
        render("{% for a in s %}{{ a }}{% endfor %}", s="xy")


def test_template_length_is_bounded(environment):
    too_long = "x" * (sandbox.MAX_TEMPLATE_LENGTH + 1)

    errors = space_errors(new_space(environment, html_template=too_long))

    assert "at most 20,000" in errors["html_template"][0]
    with pytest.raises(Exception, match="at most"):
        sandbox.compile_template(too_long)


@pytest.mark.parametrize(
    "template, message",
    [
        (NESTED_LOOP_BOMB, "loop iterations"),
        (HUGE_WIDTH, "width"),
        ("{% for a in offer.html_content %}{{ offer.html_content }}{% endfor %}", ""),
    ],
)
def test_bombs_are_refused_on_save(environment, template, message):
    errors = " ".join(
        space_errors(new_space(environment, html_template=template))["html_template"]
    )

    assert "Template error when rendered with sample data" in errors
    assert message in errors


@pytest.mark.parametrize("template", [NESTED_LOOP_BOMB, HUGE_WIDTH])
def test_bombs_forced_into_the_database_render_the_default_quickly(
    client, category, space, contact, caplog, template
):
    make_offer(
        category,
        "long-offer",
        spaces=[space],
        title="Long offer",
        html_content="<p>" + "lorem ipsum " * 100 + "</p>",
    )
    force_templates(space, html=template, text=template)

    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger=RENDERING_LOGGER):
        response = propose(client, contact)

    assert time.monotonic() - started < 5
    [proposition] = response.json()["propositions"]
    assert 'class="interaction-offer"' in proposition["html"]
    assert proposition["text"] == "Long offer"
    assert "SandboxLimitExceeded" in caplog.text


# Point 9: offer HTML and destination URLs -----------------------------------------


def assert_harmless(html):
    lowered = html.lower()
    assert "<script" not in lowered
    assert "javascript:" not in lowered
    assert "onerror" not in lowered
    assert "alert(" not in lowered


def test_script_html_saved_from_code_is_sanitised(category, space):
    created = Offer.objects.create(
        category=category, code="created", label="Created", html_content=SCRIPT_HTML
    )
    saved = Offer(category=category, code="saved", label="Saved")
    saved.html_content = SCRIPT_HTML
    saved.save()

    for offer in (created, saved):
        stored = Offer.objects.get(pk=offer.pk).html_content
        assert "<script" not in stored and "javascript:" not in stored
        assert "onerror" not in stored
        assert "<p>Hello</p>" in stored
        assert '<img src="https://cdn.example/x.png">' in stored


def test_script_html_is_sanitised_by_model_validation(category):
    offer = Offer(category=category, code="cleaned", label="Cleaned")
    offer.html_content = SCRIPT_HTML

    offer.full_clean()

    assert "<script" not in offer.html_content
    assert "javascript:" not in offer.html_content


def test_wagtail_storage_format_survives_sanitisation():
    stored = (
        '<p data-block-key="a1b2">See <a linktype="page" id="3">this page</a> and '
        '<a href="https://example.com" target="_blank">that site</a></p>'
        '<embed alt="A &gt; B" embedtype="image" format="left" id="7"/>'
    )

    # Unchanged (target="_blank" kept, rel is added at display), and stable.
    assert sanitise_stored_html(stored) == stored
    assert sanitise_stored_html(sanitise_stored_html(stored)) == stored


def test_links_get_noopener_and_only_safe_schemes():
    html = sanitise_html(
        '<a href="https://a.example" target="_blank">a</a>'
        '<a href="mailto:x@example.com">m</a><a href="data:text/html,x">d</a>'
        '<a href="vbscript:x">v</a><a href="/relative">r</a>'
    )

    assert '<a href="https://a.example" target="_blank" rel="noopener">a</a>' in html
    assert 'href="mailto:x@example.com"' in html
    assert "data:" not in html and "vbscript:" not in html
    assert 'href="/relative"' in html


@pytest.fixture
def content_space(environment):
    space = make_space(environment, "content-space", live=False)
    for field in ("title", "html_content", "destination_url"):
        SpaceContentField.objects.create(space=space, field=field)
    return publish(space)


@pytest.mark.parametrize(
    "html_template",
    [
        "",
        "{{ offer.html_content }}",
        "{% autoescape off %}{{ offer.html_content }}{% endautoescape %}",
    ],
)
def test_script_html_forced_with_update_is_sanitised_at_render(
    client, category, content_space, contact, html_template
):
    offer = make_offer(
        category,
        "forced",
        spaces=[content_space],
        title="Forced",
        html_content="<p>ok</p>",
    )
    Offer.objects.filter(pk=offer.pk).update(html_content=SCRIPT_HTML)
    force_templates(content_space, html=html_template)

    response = propose(client, contact, "content-space")

    [proposition] = response.json()["propositions"]
    for html in (proposition["html"], proposition["content"]["html_content"]):
        assert_harmless(html)
        assert "<p>Hello</p>" in html


def test_a_template_cannot_emit_a_script_either(client, space, offer, contact):
    Offer.objects.filter(pk=offer.pk).update(title='<img src=x onerror="alert(1)">')
    force_templates(
        space,
        html=(
            "<script>alert(1)</script>"
            '<a href="javascript:alert(1)" onclick="alert(1)">x</a>'
            '<div style="position:fixed;color:red" data-offer="{{ offer.code }}">'
            "{% autoescape off %}{{ offer.title }}{% endautoescape %}</div>"
        ),
    )

    response = propose(client, contact)

    html = response.json()["propositions"][0]["html"]
    assert "<script" not in html and "javascript:" not in html
    assert "onclick" not in html and "onerror" not in html
    assert "position" not in html
    assert '<div style="color:red" data-offer="gold-card">' in html


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        " javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "ftp://files.example/x",
    ],
)
def test_javascript_destination_url_from_code_is_refused(category, url):
    with pytest.raises(ValidationError) as raised:
        Offer.objects.create(
            category=category, code="bad-url", label="Bad", destination_url=url
        )

    assert "destination_url" in raised.value.message_dict
    assert not Offer.objects.filter(code="bad-url").exists()


def test_javascript_destination_url_on_save_changes_nothing(offer):
    offer.destination_url = "javascript:alert(1)"

    with pytest.raises(ValidationError):
        offer.save()
    with pytest.raises(ValidationError):
        offer.full_clean()

    assert Offer.objects.get(pk=offer.pk).destination_url == ""


def test_an_offer_with_a_javascript_url_forced_in_the_database_can_be_unpublished(
    offer, caplog
):
    Offer.objects.filter(pk=offer.pk).update(destination_url="javascript:alert(1)")
    poisoned = Offer.objects.get(pk=offer.pk)

    with caplog.at_level(logging.WARNING, logger="interaction.models.offer"):
        poisoned.unpublish()

    stored = Offer.objects.get(pk=offer.pk)
    assert not stored.live
    assert stored.destination_url == ""
    assert "not http(s); dropped" in caplog.text


def test_javascript_destination_url_forced_with_update_is_never_emitted(
    client, category, content_space, contact
):
    offer = make_offer(
        category, "forced-url", spaces=[content_space], title="Forced url"
    )
    Offer.objects.filter(pk=offer.pk).update(destination_url="javascript:alert(1)")
    force_templates(
        content_space,
        html='<a href="{{ offer.destination_url }}">{{ proposition.tracked_url }}</a>',
        text="{{ offer.destination_url }}",
    )

    response = propose(client, contact, "content-space")

    [proposition] = response.json()["propositions"]
    assert "javascript" not in response.content.decode()
    assert proposition["content"]["destination_url"] == ""
    assert proposition["tracked_url"] is None


# Every documented variable renders -----------------------------------------------


EVERY_VARIABLE = (
    "{{ offer.code }}|{{ offer.label }}|{{ offer.category }}|"
    "{{ offer.category_label }}|{{ offer.title }}|{{ offer.destination_url }}|"
    "{{ offer.image }}|{{ offer.image_alt }}|{{ offer.image_banner.url }}|"
    "{{ offer.image_banner.width }}|{{ offer.image_banner.height }}|"
    "{{ offer.html_content }}|{{ offer.text_content }}|"
    "{{ proposition.id }}|{{ proposition.rank }}|{{ proposition.weight }}|"
    "{{ proposition.tracked_url }}|"
    "{{ contact.first_name }}|{{ contact.age }}|{{ contact.country }}|"
    "{{ space.code }}|{{ space.label }}|{{ space.channel }}"
)


def test_every_documented_variable_is_in_the_sample_and_the_help(environment):
    space = new_space(environment, html_template=EVERY_VARIABLE)
    sample = sample_context(space)

    for name in ("offer", "proposition", "space"):
        for key in sample[name]:
            assert f"{name}.{key}" in VARIABLES
    space.full_clean()


def test_every_documented_variable_renders(client, environment, category, contact):
    buffer = io.BytesIO()
    PILImage.new("RGB", (800, 600), "blue").save(buffer, "JPEG")
    image = Image.objects.create(title="Card", file=ImageFile(buffer, name="card.jpg"))
    space = make_space(
        environment,
        "every-variable",
        html_template=EVERY_VARIABLE,
        text_template=EVERY_VARIABLE,
    )
    offer = make_offer(
        category,
        "gold-card",
        spaces=[space],
        title="Gold card",
        destination_url="https://bank.example/gold",
        image=image,
        html_content="<p>Rich <b>text</b></p>",
        text_content="Plain text",
    )

    response = propose(client, contact, "every-variable")

    [proposition] = response.json()["propositions"]
    values = proposition["text"].split("|")
    assert values[:6] == [
        "gold-card",
        "Gold-Card",
        "cards",
        "Cards",
        "Gold card",
        "https://bank.example/gold",
    ]
    assert values[6] == image.file.url
    assert values[7] == "Card"
    assert values[8].endswith(".fill-640x320.jpg")
    assert values[9:11] == ["640", "320"]
    assert values[11:13] == ["<p>Rich <b>text</b></p>", "Plain text"]
    assert values[13:16] == [str(proposition["id"]), "1", "1.0"]
    assert values[16].startswith("http://testserver/api/interaction/v1/t/")
    assert proposition["tracked_url"].endswith(values[16])
    assert values[17:20] == ["Ada", "36", "GB"]
    assert values[20:] == ["every-variable", "Every-Variable", "web"]
    assert "<p>Rich <b>text</b></p>" in proposition["html"]
    assert offer.live


def test_the_preview_renders_the_draft_offer_in_the_sandbox(
    rf, admin_user, environment, category
):
    space = make_space(environment, "web-banner")
    offer = make_offer(category, "duo", spaces=[space], title="Duo")
    force_templates(space, html="<i>{{ offer.title }}</i>{{ offer.html_content }}")
    draft = Offer.objects.get(pk=offer.pk)
    draft.title = "Duo draft"
    draft.html_content = SCRIPT_HTML  # a draft never saved: not sanitised yet
    request = rf.get("/")
    request.user = admin_user

    html = draft.serve_preview(request, "web-banner").rendered_content

    body = html.split("<body>")[1]
    assert "<i>Duo draft</i><p>Hello</p>" in body
    # The draft's rendering (the page around it has the weight check's script).
    start = body.index("<i>Duo draft</i>")
    assert_harmless(body[start : body.index("</section>", start)])
    assert Offer.objects.get(pk=offer.pk).live


def test_the_rendering_sanitiser_keeps_layout():
    html = (
        '<table role="presentation" width="600"><tr><td align="center" '
        'style="padding:8px;color:#333">Hi</td></tr></table>'
        '<section class="offer"><h1>T</h1><a href="tel:+441234">Call</a></section>'
    )

    cleaned = sanitise_rendering(html)

    assert '<table role="presentation" width="600">' in cleaned
    assert 'style="padding:8px;color:#333"' in cleaned
    assert '<section class="offer"><h1>T</h1>' in cleaned
    assert 'href="tel:+441234"' in cleaned
