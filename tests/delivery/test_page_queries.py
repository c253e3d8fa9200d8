"""A Wagtail page showing offers asks the database only what the compiled
catalogue cannot answer (issue 9, point 3).

Each test serves the same page (``BlocksPage``) through the test client twice
more after warming up: once showing offers (an offer-space block, an offer
block or the ``{% offer_space %}`` tag) and once without them, and compares
the SQL statements of the two views. The page's own statements (site, page,
view restrictions) are the same; what the plugin adds is only storing the
propositions (when the space stores them) and reading the contact (when the
visitor is one): never a space, an offer or an image.
"""

import io
import re

import pytest
from django.core.files.images import ImageFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from PIL import Image as PILImage
from wagtail.images.models import Image
from wagtail.models import Site

from interaction.delivery import propose as propose_module
from interaction.models import Proposition, SpaceContentField
from tests.builders import make_category, make_offer, make_rule, make_space, publish
from tests.testapp.models import BlocksPage

PAGE = (
    "{% load wagtailcore_tags interaction %}<main><h1>{{ page.title }}</h1>"
    "{% for block in page.body %}{% include_block block %}{% endfor %}"
    "TAG</main>"
)
CATALOGUE_TABLES = re.compile(
    r'"(interaction_offerspace|interaction_offer|interaction_offercategory|'
    r'interaction_spacecontentfield|wagtailimages_image|wagtailimages_rendition)"'
)


@pytest.fixture
def page_template(settings):
    """``page_template(tag)``: the page's template, with ``tag`` after its body."""
    settings.INTERACTION_VERSION_CHECK_SECONDS = 3600

    def use(tag=""):
        template = PAGE.replace("TAG", tag)
        settings.TEMPLATES = [
            {
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "OPTIONS": {
                    "context_processors": [
                        "django.template.context_processors.request"
                    ],
                    "loaders": [
                        (
                            "django.template.loaders.locmem.Loader",
                            {"testapp/blocks_page.html": template},
                        ),
                        "django.template.loaders.app_directories.Loader",
                    ],
                },
            }
        ]

    use()
    return use


def make_image():
    buffer = io.BytesIO()
    PILImage.new("RGB", (800, 600), "blue").save(buffer, "JPEG")
    return Image.objects.create(title="Card", file=ImageFile(buffer, name="card.jpg"))


def make_catalogue(environment, *, store, html_template=""):
    """A space showing title and image, and one offer with an image, rich text
    and a destination."""
    space = make_space(
        environment,
        "hero",
        live=False,
        store_propositions=store,
        html_template=html_template,
    )
    SpaceContentField.objects.create(space=space, field="title", required=True)
    SpaceContentField.objects.create(space=space, field="image")
    publish(space)
    offer = make_offer(
        make_category(environment, "promos"),
        "welcome",
        spaces=[space],
        title="Welcome offer",
        image=make_image(),
        html_content="<p>Ten <b>percent</b> off</p>",
        destination_url="https://shop.example/welcome",
    )
    return space, offer


def make_page(body):
    home = Site.objects.get(is_default_site=True).root_page
    return home.add_child(instance=BlocksPage(title="Offers", slug="offers", body=body))


def space_block(space):
    return ("offer_space", {"space": space, "count": 1, "category": "", "themes": ""})


def offer_block(offer, space):
    return ("offer", {"offer": offer, "space": space})


def view(client, page, **headers):
    """The page's HTML and the SQL statements of serving it."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(page.url, headers=headers)
    assert response.status_code == 200
    return response.content.decode(), [
        query["sql"] for query in captured.captured_queries
    ]


def views_with_and_without(client, page, blocks, **headers):
    """(HTML, statements) of ``page`` showing ``blocks``, then of the same page
    with an empty body, each served after a warm-up view."""
    page.body = blocks
    page.save()
    view(client, page, **headers)
    with_offers = view(client, page, **headers)
    page.body = []
    page.save()
    view(client, page, **headers)
    return with_offers, view(client, page, **headers)


@pytest.fixture
def storing(monkeypatch):
    """The SQL statements of storing propositions, as the engine stores them."""
    statements = []
    real = propose_module.store_propositions

    def store(*args, **kwargs):
        with CaptureQueriesContext(connection) as captured:
            result = real(*args, **kwargs)
        statements.extend(query["sql"] for query in captured.captured_queries)
        return result

    monkeypatch.setattr(propose_module, "store_propositions", store)
    return statements


def assert_shows_the_offer(html, offer):
    assert "Welcome offer" in html
    assert 'class="interaction-space" data-space="hero"' in html
    assert offer.image.get_rendition("fill-640x320").url in html
    assert "<b>percent</b>" in html


@pytest.mark.parametrize("block", ["offer_space", "offer"])
def test_an_anonymous_view_without_storage_makes_only_the_page_queries(
    client, page_template, anonymous_environment, block
):
    space, offer = make_catalogue(anonymous_environment, store=False)
    page = make_page([])
    blocks = [
        space_block(space) if block == "offer_space" else offer_block(offer, space)
    ]

    (html, statements), (bare_html, bare_statements) = views_with_and_without(
        client, page, blocks
    )

    assert_shows_the_offer(html, offer)
    assert "Welcome offer" not in bare_html
    assert statements == bare_statements
    assert len(statements) >= 3  # the page's own: site, page, restrictions
    assert not Proposition.objects.exists()


def test_the_tag_without_storage_makes_only_the_page_queries(
    client, page_template, anonymous_environment
):
    _space, offer = make_catalogue(anonymous_environment, store=False)
    page = make_page([])
    view(client, page)
    bare_html, bare_statements = view(client, page)

    page_template('{% offer_space "hero" %}')
    view(client, page)
    html, statements = view(client, page)

    assert_shows_the_offer(html, offer)
    assert "Welcome offer" not in bare_html
    assert statements == bare_statements


@pytest.mark.parametrize(
    "html_template",
    ["", '<a href="{{ proposition.tracked_url }}"><img src="{{ offer.image }}"></a>'],
    ids=["default-template", "space-template"],
)
@pytest.mark.parametrize("block", ["offer_space", "offer"])
def test_an_anonymous_view_with_storage_adds_only_the_storing_statements(
    client, page_template, anonymous_environment, storing, block, html_template
):
    space, offer = make_catalogue(
        anonymous_environment, store=True, html_template=html_template
    )
    page = make_page([])
    blocks = [
        space_block(space) if block == "offer_space" else offer_block(offer, space)
    ]

    (html, statements), (_bare_html, bare_statements) = views_with_and_without(
        client, page, blocks
    )

    stored = Proposition.objects.order_by("pk").last()
    assert stored.offer_id == offer.pk and stored.visitor_id
    assert f'data-proposition="{stored.pk}" data-token="' in html
    if html_template:
        assert f"/api/interaction/v1/t/{stored.pk}." in html
        assert offer.image.file.url in html
    else:
        assert_shows_the_offer(html, offer)
    # The warm-up views stored too; ``storing`` holds the last view's last.
    ours = statements[len(bare_statements) :]
    assert statements[: len(bare_statements)] == bare_statements
    assert ours
    assert ours == storing[-len(ours) :]
    assert not [sql for sql in ours if CATALOGUE_TABLES.search(sql)]
    assert not [sql for sql in ours if sql.startswith("SELECT")]


def test_a_known_contact_costs_one_query_with_its_history(
    client, page_template, environment, contact
):
    space, offer = make_catalogue(environment, store=False)
    make_rule(environment, quantity=5)
    page = make_page([])

    (html, statements), (_bare, bare_statements) = views_with_and_without(
        client, page, [space_block(space)], X_Contact=str(contact.pk)
    )

    assert_shows_the_offer(html, offer)
    ours = statements[len(bare_statements) :]
    assert statements[: len(bare_statements)] == bare_statements
    assert len(ours) == 1
    assert '"testapp_contact"' in ours[0]
    assert '"interaction_proposition"' in ours[0]
    assert not CATALOGUE_TABLES.search(ours[0])


def test_a_draft_space_is_read_from_the_database_and_shows_nothing(
    client, page_template, anonymous_environment
):
    draft = make_space(anonymous_environment, "draft", live=False)
    page = make_page([space_block(draft)])

    view(client, page)
    html, statements = view(client, page)

    assert "interaction-space" not in html
    assert [sql for sql in statements if '"interaction_offerspace"' in sql]
