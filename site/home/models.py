from django.db import models
from wagtail.blocks import RichTextBlock
from wagtail.fields import RichTextField, StreamField
from wagtail.models import Page

from interaction.blocks import OfferBlock, OfferSpaceBlock


class LoyaltyTier(models.TextChoices):
    NONE = "none", "None"
    SILVER = "silver", "Silver"
    GOLD = "gold", "Gold"
    PLATINUM = "platinum", "Platinum"


class Contact(models.Model):
    """The demo's targeting dimension: the people offers are proposed to."""

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


def body_field():
    """A page body where editors place offer spaces and chosen offers."""
    return StreamField(
        [
            ("offer_space", OfferSpaceBlock()),
            ("offer", OfferBlock()),
            ("paragraph", RichTextBlock()),
        ],
        blank=True,
    )


class HomePage(Page):
    intro = RichTextField(blank=True)
    body = body_field()

    content_panels = Page.content_panels + ["intro", "body"]


class LandingPage(Page):
    """A campaign landing page: free body with offers."""

    intro = RichTextField(blank=True)
    body = body_field()

    content_panels = Page.content_panels + ["intro", "body"]
