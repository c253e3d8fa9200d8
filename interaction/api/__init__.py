"""The JSON HTTP API (django-ninja): endpoints, schemas and error answers."""

from .endpoints import api, urls

__all__ = ["api", "urls"]
