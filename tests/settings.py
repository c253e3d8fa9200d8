"""Test settings: the demo site's, with fast hashing and an isolated cache."""

from demo.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
WAGTAILADMIN_BASE_URL = "http://testserver"
# The live server's thread must not keep a connection open past the test run.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
