"""The content fields an offer carries and a space can show or require."""

from django.utils.translation import gettext_lazy as _

CONTENT_FIELD_CHOICES = [
    ("title", _("Title")),
    ("destination_url", _("Destination URL")),
    ("image", _("Image")),
    ("html_content", _("HTML content")),
    ("text_content", _("Text content")),
]
