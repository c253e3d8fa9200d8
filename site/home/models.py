from django.db import models
from wagtail.fields import RichTextField
from wagtail.models import Page


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


class HomePage(Page):
    intro = RichTextField(blank=True)

    content_panels = Page.content_panels + ["intro"]
