"""The demo's contact resolver (``INTERACTION_CONTACT_RESOLVER``).

``?contact=<id>`` picks a contact and remembers it in the session;
``?contact=`` forgets it. DEMO ONLY: anyone can pose as any contact. A real
site maps its logged-in user (or a signed link) to a contact id instead.
"""

SESSION_KEY = "interaction_demo_contact"


def contact_from_request(request):
    session = getattr(request, "session", None)
    if "contact" in request.GET:
        contact = request.GET["contact"].strip()[:255] or None
        if session is not None:
            if contact:
                session[SESSION_KEY] = contact
            else:
                session.pop(SESSION_KEY, None)
        return contact
    return session.get(SESSION_KEY) if session is not None else None
