"""How the API answers what goes wrong: always JSON, with the documented status."""

from __future__ import annotations

import json

from django.http import HttpRequest
from ninja import NinjaAPI
from ninja.errors import HttpError
from ninja.parser import Parser

from ..engine.errors import SpaceNotRealTime, UnknownSpace

#: What /propose answers when the engine refuses a call.
ENGINE_ERROR_STATUS = {UnknownSpace: 404, SpaceNotRealTime: 409}


class MalformedBody(ValueError):
    """The request body is not JSON."""


class JSONParser(Parser):
    def parse_body(self, request: HttpRequest):
        try:
            return json.loads(request.body)
        except ValueError as error:  # JSONDecodeError, UnicodeDecodeError
            raise MalformedBody(str(error)) from error


def register_error_handlers(api: NinjaAPI) -> None:
    @api.exception_handler(HttpError)
    def _http_error(request, exc: HttpError):
        # ninja turns a body that cannot be parsed into a 400; it is bad input: 422.
        if isinstance(exc.__cause__, MalformedBody):
            return api.create_response(
                request,
                {
                    "detail": [
                        {
                            "type": "json_invalid",
                            "loc": ["body"],
                            "msg": f"Malformed JSON body: {exc.__cause__}",
                        }
                    ]
                },
                status=422,
            )
        return api.create_response(
            request, {"detail": str(exc)}, status=exc.status_code
        )
