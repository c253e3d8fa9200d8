"""Every choice list of the plugin's models, in one place.

Values the engine decides on (statuses, what a rule counts) are the engine's
own constants: the models only give them labels.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from ..engine import statuses, typology


class Channel(models.TextChoices):
    WEB = "web", _("Web")
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    MOBILE_APP = "mobile_app", _("Mobile app")
    CALL_CENTRE = "call_centre", _("Call centre")
    DIRECT_MAIL = "direct_mail", _("Direct mail")
    OTHER = "other", _("Other")


class PropositionStatus(models.TextChoices):
    PROPOSED = statuses.PROPOSED, _("Proposed")
    PRESENTED = statuses.PRESENTED, _("Presented")
    INTERESTED = statuses.INTERESTED, _("Interested")
    ACCEPTED = statuses.ACCEPTED, _("Accepted")
    SCHEDULED = statuses.SCHEDULED, _("Scheduled")
    REJECTED = statuses.REJECTED, _("Rejected")


class CountedOffers(models.TextChoices):
    ALL = typology.COUNT_ALL, _("All offers")
    SAME_OFFER = typology.COUNT_OFFER, _("The offer being presented")
    SAME_CATEGORY = typology.COUNT_CATEGORY, _("Offers of the same category")
    RULE_OFFERS = (
        typology.COUNT_RULE_OFFERS,
        _("The offers the rule applies to (one shared counter)"),
    )


class CountedStatuses(models.TextChoices):
    ANY = "any", _("Any status")
    ANSWERED = "answered", _("Accepted or rejected")
    ACCEPTED = statuses.ACCEPTED, _("Accepted")
    REJECTED = statuses.REJECTED, _("Rejected")


class ContentField(models.TextChoices):
    """The content fields an offer carries and a space can show or require."""

    TITLE = "title", _("Title")
    DESTINATION_URL = "destination_url", _("Destination URL")
    IMAGE = "image", _("Image")
    HTML_CONTENT = "html_content", _("HTML content")
    TEXT_CONTENT = "text_content", _("Text content")


class RunStatus(models.TextChoices):
    """A campaign run's state (:mod:`interaction.campaigns.runs`)."""

    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


class ChunkStatus(models.TextChoices):
    """One chunk of a run: written whole (``done``) or not at all."""

    PENDING = "pending", _("Pending")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")
