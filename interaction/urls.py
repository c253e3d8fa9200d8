"""The plugin's URLs: include them before Wagtail's catch-all page route."""

from django.urls import path

from .api import urls as api_urls

urlpatterns = [
    path("api/interaction/v1/", api_urls),
]
