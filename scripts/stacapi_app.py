"""The take5 STAC API application (run by uvicorn from ``.venv-stacapi``): stac-fastapi-pgstac's own, with
requests it cannot serve answered ``400 Bad Request`` instead of ``500`` (found by schemathesis):

- what pgstac refuses with ``RAISE EXCEPTION`` (an invalid paging token, ``query`` and ``filter``
  together, an unknown collection in a filter): its message, as a 400;
- what PostgreSQL refuses as a data exception (SQLSTATE class 22: a NUL character in a JSON string, a
  number out of range): 400;
- a ``query`` parameter that is not JSON, text that is not valid Unicode (lone surrogates): 400;
- a POST search whose body is not a JSON object (``[null, null]``): 400; not sent as JSON: 415.

It imports nothing of take5: the server's venv is not the chain's.
"""

from __future__ import annotations

import json

from asyncpg.exceptions import DataError, RaiseError
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from stac_fastapi.pgstac.app import create_app as pgstac_app


def bad_request(description: str) -> JSONResponse:
    return JSONResponse({"code": "BadRequest", "description": description}, status_code=400)


def create_app() -> FastAPI:
    app = pgstac_app()

    @app.exception_handler(RaiseError)
    async def refused_by_pgstac(_request: Request, exc: RaiseError) -> JSONResponse:
        return bad_request(str(exc).splitlines()[0] if str(exc) else "invalid search")

    @app.exception_handler(DataError)
    async def refused_by_postgres(_request: Request, exc: DataError) -> JSONResponse:
        return bad_request(f"invalid value: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")

    @app.exception_handler(json.JSONDecodeError)
    async def not_json(_request: Request, exc: json.JSONDecodeError) -> JSONResponse:
        return bad_request(f"a parameter is not valid JSON: {exc}")

    @app.exception_handler(UnicodeError)
    async def not_unicode(_request: Request, exc: UnicodeError) -> JSONResponse:
        return bad_request(f"text that is not valid Unicode: {exc.reason}")

    @app.middleware("http")
    async def object_bodies(request: Request, call_next):
        if request.method == "POST" and request.url.path.rstrip("/").endswith("/search"):
            if request.headers.get("content-type", "application/json").split(";")[0].strip() != "application/json":
                return JSONResponse({"code": "UnsupportedMediaType", "description": "send the search as "
                                     "application/json"}, status_code=415)
            try:
                body = json.loads(await request.body() or b"{}")
            except ValueError:
                body = {}  # not JSON: FastAPI's own validation says so (422)
            if not isinstance(body, dict):
                return bad_request(f"the search body must be a JSON object, not {type(body).__name__}")
            try:
                json.dumps(body, ensure_ascii=False).encode()
            except UnicodeError as exc:
                return bad_request(f"text that is not valid Unicode: {exc.reason}")
        return await call_next(request)

    return app
