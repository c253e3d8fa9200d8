"""The test app's models: the targeting dimension the plugin's tests use, and a
page type with the plugin's StreamField blocks.

``Contact`` has the fields of a typical CRM contact (the demo's ``home.Contact``
has the same ones, but the plugin's tests do not depend on the demo site).
"""

from django.db import models
from wagtail.blocks import RichTextBlock
from wagtail.fields import StreamField
from wagtail.models import Page

from interaction.blocks import OfferBlock, OfferSpaceBlock


class LoyaltyTier(models.TextChoices):
    NONE = "none", "None"
    SILVER = "silver", "Silver"
    GOLD = "gold", "Gold"
    PLATINUM = "platinum", "Platinum"


class Contact(models.Model):
    """The targeting dimension of the tests' environments (``testapp.contact``)."""

    email = models.EmailField(unique=True)
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    age = models.PositiveSmallIntegerField()
    country = models.CharField(max_length=2, help_text="ISO 3166 code, e.g. FR")
    loyalty_tier = models.CharField(
        max_length=10, choices=LoyaltyTier.choices, default=LoyaltyTier.NONE
    )
    signup_date = models.DateField()

    class Meta:
        ordering = ["last_name", "first_name"]

    def __str__(self):
        return f"{self.first_name} {self.last_name} <{self.email}>"


class BlocksPage(Page):
    """A page whose body holds offer spaces and chosen offers."""

    body = StreamField(
        [
            ("offer_space", OfferSpaceBlock()),
            ("offer", OfferBlock()),
            ("paragraph", RichTextBlock()),
        ],
        blank=True,
    )

    content_panels = Page.content_panels + ["body"]
