"""The tests' contact resolver (``INTERACTION_CONTACT_RESOLVER``): the
``X-Contact`` request header, so a test picks the contact of each request."""


def contact_from_header(request):
    return request.headers.get("X-Contact")
