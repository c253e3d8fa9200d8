"""Test settings, standalone: the smallest Wagtail site the plugin runs in.

SQLite in memory by default; ``DATABASE_URL`` (e.g. PostgreSQL in CI) when set.
Each pytest-xdist worker gets its own test database (``test_<name>_gw0``...).

The plugin's tests target ``tests.testapp`` (its ``Contact`` model and
``BlocksPage``). The demo site's app ``home`` is installed too, only for the
tests of the demo itself (``tests/demo/`` and the browser test of the demo home
page): see ``tests/README.md``.
"""

from pathlib import Path

import dj_database_url

TESTS_DIR = Path(__file__).resolve().parent

SECRET_KEY = "tests-only-not-a-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]

INSTALLED_APPS = [
    "interaction",
    "tests.testapp",
    "home",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    "django_filters",
    "rules.apps.AutodiscoverRulesConfig",
    "django_tasks_db",
    "ninja",  # the API docs page from local static files (no CDN)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "interaction.middleware.VisitorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "rules.permissions.ObjectPermissionBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "tests.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(default="sqlite://:memory:", conn_max_age=0)
}
# The live server's thread must not keep a connection open past the test run.
DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = TESTS_DIR / "static"
MEDIA_URL = "/media/"
MEDIA_ROOT = TESTS_DIR / "media"  # each test gets a tmp_path (tests/conftest.py)

WAGTAIL_SITE_NAME = "Interaction tests"
# Approvers approve; the final approval publishes for them (see the README).
WAGTAIL_FINISH_WORKFLOW_ACTION = "interaction.workflows.publish_approved"
WAGTAILADMIN_BASE_URL = "http://testserver"
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}

# The tests' resolver: the X-Contact request header names the contact.
INTERACTION_CONTACT_RESOLVER = "tests.testapp.contacts.contact_from_header"

# Background tasks (django-tasks): Wagtail's own tasks run at once (``default``);
# campaign runs go to the database backend, as in production, and the tests
# run its worker in-process (``tests/campaigns/``).
TASKS = {
    "default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"},
    "batch": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default", "interaction"],
    },
}
