"""The server's error answers, one shape per kind, and the OpenAPI entries that document them.

Every refusal is ``{"code", "detail"}``: ``detail`` is one sentence (``ErrorBody``), except for a 422, where it
is the list of problems, each with where (``loc``), what (``msg``) and a machine ``type`` (``InvalidBody``), be
the problem found by FastAPI's parsing, by a record's validators or by a domain check. Unknown query
parameters, and a parameter given twice, are refused too: what the document does not name, the server does not
take.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from schema.errors import InvalidRecord, InvalidValue
from sync.protocol import ErrorBody

DESCRIPTIONS = {
    400: "The body is not JSON", 401: "No token, or an unknown or revoked one", 403: "The token may not do this",
    404: "Not found", 409: "Received before with other content, or already decided",
    413: "Request body too large", 422: "Invalid request: every problem with where and why",
    426: "Incompatible protocol or schema version: upgrade the older side",
}


class Problem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    loc: list[str | int]
    msg: str
    type: str


class InvalidBody(BaseModel):
    """A 422: ``code`` is ``invalid``; ``detail`` lists the problems."""

    model_config = ConfigDict(extra="forbid")

    code: str
    detail: list[Problem]


def responses(*codes: int, token: bool = True) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for these error statuses; 413 and 422 are added (every route can answer them), and
    401 for a route that wants a ``token``."""
    wanted = sorted({413, 422, *codes, *((401,) if token else ())})
    return {code: {"model": InvalidBody if code == 422 else ErrorBody, "description": DESCRIPTIONS[code]}
            for code in wanted}


def invalid(problems: list[dict[str, Any]]) -> JSONResponse:
    return JSONResponse({"code": "invalid", "detail": problems}, status_code=422)


def _request_problems(exc: RequestValidationError) -> list[dict[str, Any]]:
    return [{"loc": list(error.get("loc", ())), "msg": str(error.get("msg", "")), "type": str(error.get("type", ""))}
            for error in exc.errors()]


def install_invalid_handlers(app: FastAPI) -> None:
    """422 answers in the one documented shape, whoever found the problem."""
    async def request_invalid(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return invalid(_request_problems(exc))

    async def record_invalid(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, InvalidRecord)
        return invalid([{"loc": [exc.table, e.field], "msg": e.message, "type": "value_error"} for e in exc.errors])

    async def value_invalid(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, InvalidValue)
        return invalid([{"loc": [exc.error.field], "msg": exc.error.message, "type": "value_error"}])

    app.add_exception_handler(RequestValidationError, request_invalid)
    app.add_exception_handler(InvalidRecord, record_invalid)
    app.add_exception_handler(InvalidValue, value_invalid)


async def known_query_only(request: Request) -> None:
    """A dependency of every route: a query parameter the route does not declare is a 422, not ignored.
    (``async``: it only reads the request, so it runs on the event loop, not on a worker thread as a plain
    function would: a thread hop per request cost more than the check.)"""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None or not request.query_params:
        return
    declared = {param.alias for param in _all_query_params(dependant)}
    names = [name for name, _ in request.query_params.multi_items()]
    problems = [{"loc": ("query", name), "msg": "未知参数 (unknown query parameter)", "type": "extra_forbidden"}
                for name in dict.fromkeys(names) if name not in declared]
    # every parameter of the API is one value: a repeated one is not quietly cut to its last
    problems += [{"loc": ("query", name), "msg": "参数重复 (given more than once)", "type": "repeated"}
                 for name in dict.fromkeys(names) if name in declared and names.count(name) > 1]
    if problems:
        raise RequestValidationError(problems)


def _all_query_params(dependant: Any) -> list[Any]:
    found = list(dependant.query_params)
    for sub in dependant.dependencies:
        found.extend(_all_query_params(sub))
    return found
