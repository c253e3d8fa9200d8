"""The demo's URLs plus the benchmark's floor view (ROOT_URLCONF while benchmarking).

The floor is the cheapest useful Django JSON endpoint: it parses the same body
as the propose API, runs one indexed query on the proposition table and returns
JSON, through the same middleware. ``FLOOR_ENVIRONMENT_ID`` is set by
``bench/engine.py`` before the first request.
"""

import datetime
import json

from demo.urls import urlpatterns as demo_urlpatterns
from django.http import JsonResponse
from django.urls import path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from interaction.models import Proposition

FLOOR_PATH = "/bench/floor"
FLOOR_ENVIRONMENT_ID = None


@csrf_exempt
def floor(request):
    body = json.loads(request.body)
    since = timezone.now() - datetime.timedelta(days=30)
    ids = [
        row[0]
        for row in Proposition.objects.filter(
            environment_id=FLOOR_ENVIRONMENT_ID,
            contact_key=str(body["contact"]),
            event_date__gte=since,
        ).values_list("id")[:10]
    ]
    return JsonResponse({"ids": ids})


urlpatterns = [path(FLOOR_PATH.lstrip("/"), floor)] + demo_urlpatterns
