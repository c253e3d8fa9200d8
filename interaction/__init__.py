"""Wagtail Interaction: offer catalogue, approval and offer engine for Wagtail."""
