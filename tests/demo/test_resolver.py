"""The demo site's contact resolver (``home.contacts``)."""

from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpResponse
from home.contacts import contact_from_request


def test_demo_resolver_reads_the_query_then_the_session(rf):
    def with_session(request):
        SessionMiddleware(lambda r: HttpResponse()).process_request(request)
        return request

    request = with_session(rf.get("/", {"contact": "42"}))
    assert contact_from_request(request) == "42"
    later = rf.get("/")
    later.session = request.session
    assert contact_from_request(later) == "42"
    cleared = rf.get("/", {"contact": ""})
    cleared.session = request.session
    assert contact_from_request(cleared) is None
    assert contact_from_request(later) is None
