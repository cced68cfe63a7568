"""The HTTP/JSON API of HTTP_API.md as a Starlette application over the engine API.

Handlers parse and shape-check the body on the event loop, then run the engine call in a
worker thread (engine calls block on storage and numpy), so one slow request never holds
up the others or the wire server sharing the loop.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import orjson
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from .. import __version__
from ..cluster import ClusterNode, cluster_rows
from ..engine import EngineApi, check_k
from ..errors import ElacsymError, InternalError, MethodNotAllowed, RouteNotFound
from ..metrics import exposition, timed_search
from ..schema import check_name
from .errors import error_response
from .forward import HttpForwarding
from .openapi import docs_html, openapi_document
from .requests import delete_args, documents_to_rows, parse_query, results_json, run_query
from .schema_json import schema_from_json, schema_to_json
from .shape import Json, read_json
from .worker_metrics import all_workers

DEFAULT_MAX_BODY_BYTES = 64 << 20
DEFAULT_LIST_LIMIT = 100
log = logging.getLogger("elacsym_sql.http")


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status, media_type="application/json")


def create_app(
    api: EngineApi,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    cluster: Callable[[], ClusterNode | None] = lambda: None,
    workers: bool = False,
) -> Starlette:
    """`cluster()`: this process's cluster membership, None outside a cluster. `workers`:
    this process is one of `serve --workers N`, whose /metrics answers for all of them."""
    settings = api.engine.settings
    node_id = settings.node_id
    forwarding = HttpForwarding(cluster)  # writes at a non-owner go to the owner

    async def body(request: Request) -> Json:
        return await read_json(request, max_body_bytes)

    def namespace(request: Request) -> str:
        return check_name(request.path_params["ns"], "namespace")

    async def health(request: Request) -> Response:
        count = len(await run_in_threadpool(api.list_namespaces))
        return _json(
            {"status": "healthy", "version": __version__, "node_id": node_id, "namespaces": count}
        )

    async def list_namespaces(request: Request) -> Response:
        cursor = request.query_params.get("cursor") or None
        raw = request.query_params.get("limit", str(DEFAULT_LIST_LIMIT))
        limit = check_k(int(raw) if raw.isdigit() else raw, "limit")
        names = await run_in_threadpool(api.list_namespaces, cursor, limit + 1)
        more = len(names) > limit
        names = names[:limit]
        return _json({"namespaces": names, "next_cursor": names[-1] if more else None})

    async def create(request: Request) -> Response:
        name = namespace(request)
        payload = await body(request)
        if (owners := await forwarding.answer(request, name, payload)) is not None:
            return owners
        schema = schema_from_json(name, payload)
        await run_in_threadpool(api.create_namespace, schema)
        return _json({"namespace": name, "created": True})

    async def describe(request: Request) -> Response:
        found = await run_in_threadpool(api.describe, namespace(request))
        stats = {k: v for k, v in found.stats.items() if k != "namespace"}
        return _json(
            {"namespace": found.schema.name, "schema": schema_to_json(found.schema), "stats": stats}
        )

    async def drop(request: Request) -> Response:
        name = namespace(request)
        if (owners := await forwarding.answer(request, name, None)) is not None:
            return owners
        await run_in_threadpool(api.drop_namespace, name)
        return _json({"namespace": name, "dropped": True})

    async def upsert(request: Request) -> Response:
        name = namespace(request)
        payload = await body(request)
        if (owners := await forwarding.answer(request, name, payload)) is not None:
            return owners

        def write() -> int:
            return api.upsert(name, documents_to_rows(payload, api.schema(name)))

        return _json({"count": await run_in_threadpool(write)})

    async def delete(request: Request) -> Response:
        name = namespace(request)
        payload = await body(request)
        if (owners := await forwarding.answer(request, name, payload)) is not None:
            return owners
        args = delete_args(payload)
        return _json({"deleted": await run_in_threadpool(lambda: api.delete(name, **args))})

    async def compact(request: Request) -> Response:
        """Fold, compact and collect the namespace at its owner (decision 0090)."""
        name = namespace(request)
        if (owners := await forwarding.answer(request, name, {})) is not None:
            return owners
        return _json(await run_in_threadpool(api.compact, name))

    async def query(request: Request) -> Response:
        started = time.perf_counter()
        name = namespace(request)
        q = parse_query(await body(request))

        searched = "text" if q.vector is None else "vector" if q.text is None else "hybrid"

        def search() -> list[Json]:
            with timed_search("http", searched):
                found, kind = run_query(api, name, q)
            return [kind, results_json(found, kind, q)]

        kind, results = await run_in_threadpool(search)
        took = round((time.perf_counter() - started) * 1000, 3)
        return _json({"results": results, "score_kind": kind, "took_ms": took})

    async def members(request: Request) -> Response:
        rows = await run_in_threadpool(cluster_rows, cluster(), api.engine, settings)
        return _json({"node_id": node_id, "members": rows})

    async def openapi(request: Request) -> Response:
        return _json(openapi_document(__version__))

    async def docs(request: Request) -> Response:
        return HTMLResponse(docs_html(__version__))

    async def metrics(request: Request) -> Response:
        own = await run_in_threadpool(exposition)
        node = cluster()
        if workers and node is not None and request.query_params.get("worker") != "self":
            own = (await run_in_threadpool(all_workers, own.decode(), node)).encode()
        return Response(own, media_type=CONTENT_TYPE_LATEST)

    routes = [
        Route("/health", guarded(health), methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
        Route("/docs", docs, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/v1/cluster", guarded(members), methods=["GET"]),
        Route("/v1/namespaces", guarded(list_namespaces), methods=["GET"]),
        Route("/v1/namespaces/{ns}", guarded(create), methods=["PUT"]),
        Route("/v1/namespaces/{ns}", guarded(describe), methods=["GET"]),
        Route("/v1/namespaces/{ns}", guarded(drop), methods=["DELETE"]),
        Route("/v1/namespaces/{ns}/upsert", guarded(upsert), methods=["POST"]),
        Route("/v1/namespaces/{ns}/delete", guarded(delete), methods=["POST"]),
        Route("/v1/namespaces/{ns}/query", guarded(query), methods=["POST"]),
        Route("/v1/namespaces/{ns}/compact", guarded(compact), methods=["POST"]),
    ]
    return Starlette(routes=routes, exception_handlers={HTTPException: _http_error})


def guarded(handler: Callable[[Request], Any]) -> Callable[[Request], Any]:
    """Errors as JSON with their SQLSTATE; an unexpected one is logged and answered 500."""

    async def run(request: Request) -> Response:
        try:
            return await handler(request)
        except ElacsymError as exc:
            return error_response(exc)
        except Exception:
            log.exception("HTTP %s %s failed", request.method, request.url.path)
            return error_response(InternalError("internal error; the server log has details"))

    return run


async def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own answers (unknown path, wrong method) in the API's error shape."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        error: ElacsymError = MethodNotAllowed(f"method {request.method} is not allowed here")
    elif exc.status_code == 404:
        error = RouteNotFound(f"no such path: {request.url.path}")
    else:
        error = InternalError(str(exc.detail))
    response = error_response(error, exc.status_code)
    if exc.headers:
        response.headers.update(exc.headers)
    return response
