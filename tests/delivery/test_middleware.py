"""``VisitorMiddleware``: the anonymous visitor's first-party cookie id."""

import re

from django.http import HttpResponse

from interaction.middleware import VisitorMiddleware


def test_visitor_cookie_is_set_once_then_reused(rf, settings):
    settings.INTERACTION_VISITOR_COOKIE = "vid"
    seen = []

    def view(request):
        seen.append(request.interaction_visitor)
        return HttpResponse("ok")

    middleware = VisitorMiddleware(view)
    first = middleware(rf.get("/"))
    cookie = first.cookies["vid"]
    assert re.fullmatch(r"[0-9a-f]{32}", cookie.value)
    assert cookie["max-age"] == 365 * 24 * 60 * 60
    assert cookie["samesite"] == "Lax"
    assert not cookie["httponly"]  # offers.js reads it

    again = rf.get("/")
    again.COOKIES["vid"] = cookie.value
    second = middleware(again)
    assert "vid" not in second.cookies
    assert seen == [cookie.value, cookie.value]

    forged = rf.get("/")
    forged.COOKIES["vid"] = "<script>"
    third = middleware(forged)
    assert third.cookies["vid"].value != "<script>"
    assert seen[-1] == third.cookies["vid"].value


def test_visitor_cookie_through_the_site(client, db):
    first = client.get("/admin/login/")
    visitor = first.cookies["interaction_visitor"].value
    second = client.get("/admin/login/")
    assert "interaction_visitor" not in second.cookies
    assert client.cookies["interaction_visitor"].value == visitor
