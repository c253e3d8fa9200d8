"""--publish publishes in dependency order, in Wagtail's audit log as the
import's doing; images by file name, copied with --with-media."""

import io

import pytest
from django.core.management import call_command
from wagtail.images import get_image_model
from wagtail.images.tests.utils import get_test_image_file
from wagtail.log_actions import registry

from interaction.models import InteractionLogEntry, Offer, OfferCategory, OfferSpace
from interaction.transfer import log as transfer_log


def new_catalogue():
    return {
        "format": "wagtail-interaction-catalogue",
        "version": 1,
        "environment": {
            "code": "shop",
            "label": "Shop",
            "dimension": "testapp.contact",
        },
        "spaces": [
            {
                "code": "shop-banner",
                "label": "Shop banner",
                "default_category": "sale",
                "content_fields": [{"field": "title", "required": True}],
            }
        ],
        "categories": [
            {"code": "spring", "label": "Spring", "parent": "sale"},
            {"code": "sale", "label": "Sale"},
        ],
        "offers": [
            {
                "code": "tulips",
                "category": "spring",
                "label": "Tulips",
                "title": "Tulips at half price",
                "spaces": ["shop-banner"],
                "weights": [{"formula": "age / 10"}],
            }
        ],
    }


def test_publish_records_the_import_in_the_audit_log(db, transfer, django_user_model):
    admin = django_user_model.objects.create_superuser("boss", password="x")
    output = transfer.run_import(new_catalogue(), "--publish", "--user", "boss")

    assert "environment: 1 created: shop" in output
    assert "categories: 2 created: sale, spring" in output
    assert "spaces: 1 published: shop-banner" in output
    offer = Offer.objects.get(code="tulips")
    assert offer.live and offer.category.tree_path == "sale/spring"
    assert OfferSpace.objects.get(code="shop-banner").live
    assert (
        OfferCategory.objects.filter(environment__code="shop", live=True).count() == 2
    )

    entries = InteractionLogEntry.objects.filter(user=admin)
    published = entries.filter(action=transfer_log.PUBLISH).order_by("pk")
    # Spaces, then categories (parents first), then offers.
    assert [entry.label for entry in published] == [
        "Shop banner (Web)",
        "Sale",
        "Spring",
        "Tulips",
    ]
    assert entries.filter(action=transfer_log.CREATE).count() == 5
    summary = entries.get(action=transfer_log.IMPORT)
    assert summary.label == "Shop"
    assert summary.data["counts"]["offers"] == {
        "created": 1,
        "updated": 0,
        "unchanged": 0,
        "published": 1,
    }
    # One import, one uuid.
    assert {entry.uuid for entry in entries} == {summary.uuid}
    # The site history names the actions.
    assert registry.get_formatter(summary).format_message(summary) == (
        "Catalogue imported from a file"
    )


def test_without_publish_nothing_goes_live(db, transfer):
    transfer.run_import(new_catalogue())

    assert not Offer.objects.get(code="tulips").live
    assert not OfferSpace.objects.filter(live=True).exists()
    assert not InteractionLogEntry.objects.filter(action=transfer_log.PUBLISH).exists()


def test_images_by_file_name_and_with_media(catalogue, transfer, tmp_path):
    image = get_image_model().objects.create(
        title="Gold", file=get_test_image_file(filename="gold.png")
    )
    offer = Offer.objects.get(code="gold-card")
    offer.image = image
    offer.save_revision().publish()
    media = tmp_path / "media-out"
    out = io.StringIO()
    call_command(
        "interaction_export",
        "customers",
        "-o",
        str(tmp_path / "out.json"),
        "--with-media",
        str(media),
        stdout=out,
        stderr=io.StringIO(),
    )
    document = transfer.export()
    assert document["offers"][1]["image"] == "gold.png"
    assert (media / "gold.png").read_bytes() == image.file.open("rb").read()

    # On a site without the image: refused, unless the folder is given.
    image.delete()
    problems = transfer.refused(document)
    assert problems == ["offers[1].image: No image “gold.png” on this site."]
    output = transfer.run_import(document, "--with-media", str(media))

    assert "images: 1 created: gold.png" in output
    copied = get_image_model().objects.get()
    assert copied.width == image.width and copied.file_size
    draft = Offer.objects.get(code="gold-card").get_latest_revision_as_object()
    assert draft.image == copied


@pytest.mark.parametrize("name", ["../secret.png", "a/b.png"])
def test_image_names_are_file_names(catalogue, transfer, name):
    document = transfer.export()
    document["offers"][0]["image"] = name

    (problem,) = transfer.refused(document)
    assert problem.startswith("offers[0].image: String should match pattern")
