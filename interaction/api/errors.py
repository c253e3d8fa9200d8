"""How the API answers what goes wrong: always JSON, with the documented status.

- 401 an unknown or revoked API key; 403 an option the caller may not set;
- 404 an unknown space, proposition, link or URL under the API; 405 a method
  an endpoint does not take; 409 a space without real-time calls;
- 413 a body over 64 KB;
- 422 bad input naming the field: ninja's list of ``{"type", "loc", "msg"}``,
  also for a body that is not JSON, nested deeper than :data:`MAX_JSON_DEPTH`,
  holding a number JSON cannot represent (``NaN``, ``Infinity``, ``1e309``)
  or a string that is not Unicode text (a lone ``\\uD800``);
- 503 with ``Retry-After`` when the database is unreachable;
- 500 anything else, logged with its traceback (never an HTML page).
"""

from __future__ import annotations

import functools
import json
import logging
import math
import re
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, JsonResponse
from django.urls import re_path
from ninja import NinjaAPI
from ninja.errors import HttpError
from ninja.parser import Parser

from ..engine.errors import SpaceNotRealTime, UnknownSpace
from .security import MAX_BODY_BYTES, BodyTooLarge, NotTrusted

logger = logging.getLogger("django.request")

#: What /propose answers when the engine refuses a call.
ENGINE_ERROR_STATUS = {UnknownSpace: 404, SpaceNotRealTime: 409}
#: The deepest nesting of arrays and objects a request body may have.
MAX_JSON_DEPTH = 32
#: Seconds a client should wait before retrying when the database is down.
RETRY_AFTER = 5
#: Digits beyond which an integer is too large for a float (about 1.8e308).
_MAX_INT_DIGITS = 308


class MalformedBody(ValueError):
    """The request body is not the JSON the API takes (422)."""

    type = "json_invalid"


class TooDeep(MalformedBody):
    type = "json_too_deep"


class NotFinite(MalformedBody):
    type = "json_not_finite"


class NotText(MalformedBody):
    type = "json_invalid_text"


#: A ``\uD800``-``\uDFFF`` escape: a pair decodes to one character, a lone one
#: to a string neither UTF-8 nor a database can hold.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _constant(name: str):
    raise NotFinite(f"{name} is not a number JSON allows.")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise NotFinite(f"{text} is out of the range of numbers.")
    return value


def _int(text: str) -> int:
    if len(text.lstrip("-")) > _MAX_INT_DIGITS:
        raise NotFinite(f"An integer of {len(text)} digits is out of range.")
    return int(text)


def _check_shape(data, *, text: bool) -> None:
    """Refuse nesting deeper than :data:`MAX_JSON_DEPTH` and, with ``text``,
    strings that are not Unicode text (lone surrogates)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        children: Iterable[Any]
        if isinstance(value, dict):
            children = [*value.values(), *value.keys()] if text else value.values()
        elif isinstance(value, list):
            children = value
        else:
            if text and isinstance(value, str):
                try:
                    value.encode()
                except UnicodeEncodeError as error:
                    raise NotText("A string holds a lone UTF-16 surrogate.") from error
            continue
        if depth > MAX_JSON_DEPTH:
            raise TooDeep(f"JSON nested deeper than {MAX_JSON_DEPTH} levels.")
        stack.extend((child, depth + 1) for child in children)


class JSONParser(Parser):
    def parse_body(self, request: HttpRequest):
        if len(request.body) > MAX_BODY_BYTES:
            raise BodyTooLarge(f"The request body is over {MAX_BODY_BYTES} bytes.")
        try:
            data = json.loads(
                request.body,
                parse_constant=_constant,
                parse_float=_float,
                parse_int=_int,
            )
        except MalformedBody:
            raise
        except RecursionError as error:
            raise TooDeep(
                f"JSON nested deeper than {MAX_JSON_DEPTH} levels."
            ) from error
        except ValueError as error:  # JSONDecodeError, UnicodeDecodeError
            raise MalformedBody(f"Malformed JSON body: {error}") from error
        _check_shape(data, text=_SURROGATE_ESCAPE.search(request.body) is not None)
        return data


def _detail(request, api: NinjaAPI, status: int, detail: str, **headers):
    response = api.create_response(request, {"detail": detail}, status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def register_error_handlers(api: NinjaAPI) -> None:
    @api.exception_handler(HttpError)
    def _http_error(request, exc: HttpError):
        # ninja turns a body it cannot parse into a 400: answer what it is.
        cause = exc.__cause__
        if isinstance(cause, BodyTooLarge):
            return _detail(request, api, 413, str(cause))
        if isinstance(cause, MalformedBody):
            return api.create_response(
                request,
                {"detail": [{"type": cause.type, "loc": ["body"], "msg": str(cause)}]},
                status=422,
            )
        if exc.status_code == 401:
            return _detail(request, api, 401, str(exc), WWW_Authenticate="Bearer")
        return _detail(request, api, exc.status_code, str(exc))

    @api.exception_handler(BodyTooLarge)
    def _too_large(request, exc: BodyTooLarge):
        return _detail(request, api, 413, str(exc))

    @api.exception_handler(RequestDataTooBig)
    def _too_big_for_django(request, exc: RequestDataTooBig):
        return _detail(
            request, api, 413, f"The request body is over {MAX_BODY_BYTES} bytes."
        )

    @api.exception_handler(NotTrusted)
    def _not_trusted(request, exc: NotTrusted):
        return _detail(request, api, 403, str(exc))

    @api.exception_handler(OperationalError)
    @api.exception_handler(InterfaceError)
    def _database_down(request, exc: Exception):
        logger.error(
            "Database unavailable: %s",
            exc,
            exc_info=exc,
            extra={"status_code": 503, "request": request},
        )
        return _detail(
            request,
            api,
            503,
            "The service is unavailable: retry later.",
            Retry_After=str(RETRY_AFTER),
        )

    @api.exception_handler(Exception)
    def _server_error(request, exc: Exception):
        logger.error(
            "Internal Server Error: %s",
            request.path,
            exc_info=exc,
            extra={"status_code": 500, "request": request},
        )
        return _detail(request, api, 500, "Internal server error.")


# --- Outside ninja's operations: unknown URLs and methods -------------------


def _json_errors(view):
    """``view`` answering a 404 it raises (ninja's API root) or a 405 with JSON."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            response = view(request, *args, **kwargs)
        except Http404:
            return not_found(request)
        if response.status_code == 405 and not response.get(
            "Content-Type", ""
        ).startswith("application/json"):
            allowed = response.get("Allow", "")
            response = JsonResponse(
                {"detail": f"Method {request.method} not allowed."}, status=405
            )
            response["Allow"] = allowed
        return response

    return wrapper


def not_found(request, *args, **kwargs):
    return JsonResponse({"detail": "Not found."}, status=404)


def api_urls(api: NinjaAPI):
    """``api.urls`` answering unknown paths and methods with JSON too."""
    patterns, app_name, namespace = api.urls
    for pattern in patterns:
        pattern.callback = _json_errors(pattern.callback)
    patterns.append(re_path(r"", not_found, name="not_found"))
    return patterns, app_name, namespace
