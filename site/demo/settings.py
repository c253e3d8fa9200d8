"""Settings of the demo site: SQLite by default, PostgreSQL when DATABASE_URL is set."""

import os
from pathlib import Path

import dj_database_url

PROJECT_DIR = Path(__file__).resolve().parent
BASE_DIR = PROJECT_DIR.parent.parent


def _secret_key() -> str:
    """``DJANGO_SECRET_KEY``, or a key made for this installation on first run and
    kept in ``.secret_key`` (never in git): tracked links and status tokens are
    signed with it, so a key known to others would let them forge links."""
    if os.environ.get("DJANGO_SECRET_KEY"):
        return os.environ["DJANGO_SECRET_KEY"]
    path = BASE_DIR / ".secret_key"
    if not path.exists():
        from django.core.management.utils import get_random_secret_key

        path.touch(mode=0o600)
        path.write_text(get_random_secret_key())
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = ["*"]

INSTALLED_APPS = [
    "interaction",
    "home",
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
    "wagtail.embeds",
    "wagtail.sites",
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
    # The API docs page's Swagger UI from django-ninja's own static files, not
    # a CDN (it works offline).
    "ninja",
    "django.contrib.admin",
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
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "rules.permissions.ObjectPermissionBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "demo.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PROJECT_DIR / "templates"],
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

WSGI_APPLICATION = "demo.wsgi.application"

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=60,
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Wagtail's autosave writes while an editor saves or publishes: with a
    # write-ahead log readers never wait for a writer, and a writer waits its
    # turn (up to 20 s) instead of failing with "database is locked";
    # IMMEDIATE transactions take the write lock when they start, not halfway.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_ROOT = BASE_DIR / "static"
STATIC_URL = "/static/"
MEDIA_ROOT = BASE_DIR / "media"
MEDIA_URL = "/media/"

WAGTAIL_SITE_NAME = "Interaction demo"
# Workflow notifications (submitted, approved, rejected) are printed on the
# console: the demo has no mail server.
EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
# Users' avatars are Wagtail's default image, not fetched from gravatar.com:
# the demo runs offline (each admin page asked gravatar.com for them).
WAGTAIL_GRAVATAR_PROVIDER_URL = None
# Nor does the dashboard ask releases.wagtail.org for a newer Wagtail.
WAGTAIL_ENABLE_UPDATE_CHECK = False
# Approvers approve; the final approval publishes for them (see the README).
WAGTAIL_FINISH_WORKFLOW_ACTION = "interaction.workflows.publish_approved"
WAGTAILADMIN_BASE_URL = os.environ.get("WAGTAILADMIN_BASE_URL", "http://localhost:8000")
# Maps a request to the contact offers are proposed to. The demo's reads
# ?contact=<id> (remembered in the session): anyone can pose as any contact,
# so never use it on a real site.
INTERACTION_CONTACT_RESOLVER = "home.contacts.contact_from_request"
# INTERACTION_VISITOR_COOKIE = "interaction_visitor"  # the default
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}

# Background tasks (django-tasks). Wagtail's own tasks (reference index,
# renditions) run at once, as without this setting; campaign runs go to the
# database backend: start workers with
#   python manage.py db_worker --backend batch --queue-name interaction
# (as many as wanted, on any machine sharing the database).
TASKS = {
    "default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"},
    "batch": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default", "interaction"],
    },
}
