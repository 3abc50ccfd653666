"""The city server: a FastAPI app over the server database (SQLite file or PostgreSQL).

``create_app(database_url)`` opens (and migrates) the database and returns the app; ``app_from_env`` is the
factory uvicorn workers use. Every endpoint but ``/healthz`` wants a bearer token.
"""

from __future__ import annotations

import os
import re
from collections.abc import Awaitable, Callable, MutableMapping
from contextlib import nullcontext
from datetime import datetime
from typing import Annotated, Any, NamedTuple

import sqlalchemy as sa
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ValidationError
from sqlalchemy.engine import Connection
from starlette.exceptions import HTTPException as StarletteHTTPException

from schema.errors import InvalidValue
from schema.models import SYNCED_TABLES
from sync import conflicts as conflict_queue
from sync.admin_api import mount_admin_routes
from sync.auth import Caller, authenticate_on
from sync.errors import BatchMismatch, Forbidden, IncompatibleVersion, NestedTooDeep, OutOfOrder, SyncError
from sync.gctune import paused_collection, tune_for_server
from sync.hlc import wall_ms
from sync.http_errors import install_invalid_handlers, known_query_only, responses
from sync.identity import continues_history
from sync.keys import register_node_key
from sync.partition import county_digest, rediff_page
from sync.protocol import (
    API_PREFIX,
    ID_PATTERN,
    MAX_PULL_LIMIT,
    MAX_REQUEST_BYTES,
    PROTOCOL_VERSION,
    ConflictOut,
    FetchRequest,
    FetchResponse,
    HelloRequest,
    HelloResponse,
    PartitionDigest,
    PullResponse,
    PushRequest,
    PushResponse,
    RediffPage,
    ResolveRequest,
    TableName,
    read_push,
)
from sync.pull import QuietHello, fetch_records, note_quiet_pull, nothing_to_do, quiet_hello, read_pull
from sync.push import push_answer
from sync.push_order import PIPELINE_HEADER, PushOrder
from sync.records import table_of
from sync.serverdb import ServerDB, open_server_db, schema_version

DATABASE_URL_ENV = "STVS_SERVER_DATABASE_URL"
ISO_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})?")
ERRORS: dict[type[Exception], tuple[int, str]] = {
    Forbidden: (403, "forbidden"),
    BatchMismatch: (409, "batch_mismatch"),
    OutOfOrder: (409, "out_of_order"),
    IncompatibleVersion: (426, "incompatible_version"),
    NestedTooDeep: (422, "too_deep"),
    conflict_queue.ConflictNotFound: (404, "not_found"),
    conflict_queue.ConflictClosed: (409, "conflict_closed"),
}
_bearer = HTTPBearer(auto_error=False)


class BodySizeLimit:
    """Refuse request bodies over ``limit`` bytes (413), whether announced by Content-Length or streamed."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: MutableMapping[str, Any], receive: Callable[[], Awaitable[Any]],
                       send: Callable[[Any], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if _declared_too_large(scope, self.limit):
            await _too_large(send)
            return
        received = 0

        async def limited_receive() -> Any:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                raise _TooLarge()
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _TooLarge:
            await _too_large(send)


def _declared_too_large(scope: MutableMapping[str, Any], limit: int) -> bool:
    declared = dict(scope.get("headers") or []).get(b"content-length")
    return declared is not None and declared.isdigit() and int(declared) > limit


class _TooLarge(Exception):
    pass


async def _too_large(send: Callable[[Any], Awaitable[None]]) -> None:
    body = b'{"code":"too_large","detail":"request body too large"}'
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class ServerApp(FastAPI):
    """The server's FastAPI app, with the two requests every sync makes (hello, push) answered in one step.

    A sync with nothing to do is one hello. FastAPI's stack around it (routing, the bearer and query
    dependencies, telemetry, two body limiters, the exception middleware) took the event loop's thread 0.85 ms
    of CPU a request; 0.5 ms this way (task-clock per thread, 500 no-op syncs). A POST to those two paths
    without a query string goes straight to the endpoint's function on a worker thread, as the route would
    send it, with the same checks: the body limit (413), the bearer token (401 from ``caller_of``), and any
    error answered by the app's own exception handlers, so the answer is the route's; a push keeps its place in
    its device's order as the route's does (``sync.push_order``). A hello whose answer is a read alone (a no-op
    sync's) is answered on the event loop's thread instead (``_hello_on_loop``): no-op syncs in turn against the
    worker's way, seven pairs of 400-800, medians 0.88× the time and 0.81× the server's CPU. Everything else (another
    path or method, a query string, a path under a root path) and everything while a test overrides a
    dependency takes FastAPI's way.
    """

    async def __call__(self, scope: MutableMapping[str, Any], receive: Callable[[], Awaitable[Any]],
                       send: Callable[[Any], Awaitable[None]]) -> None:
        endpoint = (_SYNC_ENDPOINTS.get(scope["path"]) if scope["type"] == "http" and scope["method"] == "POST"
                    and not scope["query_string"] and not self.dependency_overrides else None)
        if endpoint is None:
            await super().__call__(scope, receive, send)
            return
        if _declared_too_large(scope, MAX_REQUEST_BYTES):
            await _too_large(send)
            return
        # A push's place in its device's order (sync.push_order), from its headers, before its body is read; ended
        # before the answer goes out (the batch after it may be applied meanwhile).
        with self.state.push_order.start(scope["headers"]) if endpoint is _push_response else nullcontext() as turn:
            parts, size, more = [], 0, True
            while more:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return  # the client went away: nothing to answer (as Request.body's ClientDisconnect)
                part = message.get("body", b"")
                size += len(part)
                if size > MAX_REQUEST_BYTES:
                    await _too_large(send)
                    return
                parts.append(part)
                more = message.get("more_body", False)
            arguments: tuple[Any, ...] = (self.state.db, _bearer_credentials(scope["headers"]), b"".join(parts))
            if turn is not None:
                arguments += (await turn.wait(),)
            # A hello read on this thread: one whose answer is the read alone (a no-op sync's, most of the time)
            # needs no hop to a worker and back, which under load cost more than the answer (``_hello_on_loop``).
            answer, read = _hello_on_loop(*arguments) if endpoint is _hello else (None, None)
            try:
                if answer is None:
                    answer = await (run_in_threadpool(_hello_after, arguments[0], read) if read is not None
                                    else run_in_threadpool(endpoint, *arguments))
            except Exception as exc:  # noqa: BLE001 - to the app's handler for it, as the exception middleware does
                handler = next((self.exception_handlers[kind] for kind in type(exc).__mro__
                                if kind in self.exception_handlers), None)
                if handler is None:
                    raise
                answer = await handler(Request(scope, receive), exc)
        await answer(scope, receive, send)


def _bearer_credentials(headers: list[tuple[bytes, bytes]]) -> HTTPAuthorizationCredentials | None:
    """What ``HTTPBearer(auto_error=False)`` makes of the (first) Authorization header: None unless "Bearer <token>"."""
    value = next((value for name, value in headers if name == b"authorization"), b"")
    scheme, _, token = value.decode("latin-1").partition(" ")
    token = token.strip()  # (as fastapi.security.utils.get_authorization_scheme_param)
    if scheme.lower() != "bearer" or not token:
        return None
    return HTTPAuthorizationCredentials(scheme=scheme, credentials=token)


def create_app(database_url: str, db: ServerDB | None = None) -> FastAPI:
    """The server app over ``database_url`` (opened and migrated now, unless an open ``db`` is given)."""
    database = db or open_server_db(database_url)
    app = ServerApp(title="stvs-tui city server", version=str(PROTOCOL_VERSION),
                    description="Sync of county stores with the city: push, pull, digests, conflict queue.",
                    dependencies=[Depends(known_query_only)])
    app.state.db = database
    app.state.push_order = PushOrder()
    _install_error_handlers(app)

    _routes(app, database)
    mount_admin_routes(app)  # the city admin's endpoints (sync.admin_api)
    app.openapi = _openapi_with(app, (HelloRequest, PushRequest))  # type: ignore[method-assign]
    app.add_middleware(BodySizeLimit, limit=MAX_REQUEST_BYTES)
    return app


BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def caller(request: Request, credentials: BearerDep) -> Caller:
    """The caller the bearer token stands for; 401 without a valid one."""
    return caller_of(request.app.state.db, credentials)


def caller_of(db: ServerDB, credentials: HTTPAuthorizationCredentials | None) -> Caller:
    """``caller``'s answer, for an endpoint that looks the token up on its own worker thread (one hop, not two)."""
    with db.engine.connect() as connection:
        return _caller_on(connection, credentials)


def _caller_on(connection: Connection, credentials: HTTPAuthorizationCredentials | None) -> Caller:
    """``caller_of`` in a transaction of the endpoint's."""
    found = authenticate_on(connection, credentials.credentials if credentials else "")
    if found is None:
        raise HTTPException(401, "unknown or revoked token", headers={"WWW-Authenticate": "Bearer"})
    return found


async def admin(who: Annotated[Caller, Depends(caller)]) -> Caller:  # no I/O: on the event loop
    if not who.is_admin:
        raise Forbidden("an admin token is needed")
    return who


CallerDep = Annotated[Caller, Depends(caller)]
AdminDep = Annotated[Caller, Depends(admin)]


def _install_error_handlers(app: FastAPI) -> None:
    async def sync_error(_request: Request, exc: Exception) -> JSONResponse:
        status, code = next(((s, c) for kind, (s, c) in ERRORS.items() if isinstance(exc, kind)), (500, "error"))
        return JSONResponse({"code": code, "detail": str(exc)}, status_code=status)

    async def http_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)  # FastAPI's own (400 unreadable body) and Starlette's (405)
        code = {401: "token_refused", 403: "forbidden", 404: "not_found"}.get(exc.status_code, "error")
        return JSONResponse({"code": code, "detail": str(exc.detail)}, status_code=exc.status_code,
                            headers=exc.headers)

    app.add_exception_handler(SyncError, sync_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    install_invalid_handlers(app)


def check_versions(protocol_version: int, client_schema: str) -> None:
    server_schema = schema_version()
    if protocol_version != PROTOCOL_VERSION:
        raise IncompatibleVersion(
            f"协议版本不兼容：客户端 {protocol_version}，服务器 {PROTOCOL_VERSION}，请升级 stvs-tui "
            f"(incompatible protocol: client {protocol_version}, server {PROTOCOL_VERSION}; upgrade the older side)")
    if client_schema != server_schema:
        raise IncompatibleVersion(
            f"数据结构版本不兼容：客户端 {client_schema}，服务器 {server_schema}，请把两端升级到同一版本 "
            f"(incompatible schema: client {client_schema}, server {server_schema}; run the same stvs-tui on both)")


def _routes(app: FastAPI, db: ServerDB) -> None:
    @app.get("/healthz", responses=responses(token=False))
    def healthz() -> dict[str, Any]:
        """Liveness: the database answers."""
        with db.read() as connection:
            connection.execute(sa.text("SELECT 1"))
        return {"status": "ok", "server_id": db.server_id, "protocol_version": PROTOCOL_VERSION,
                "schema_version": schema_version()}

    @app.post(f"{API_PREFIX}/sync/hello", responses=responses(400, 403, 426), response_model=HelloResponse,
              response_model_exclude_unset=True, openapi_extra=_json_body(HelloRequest))
    async def hello(request: Request, credentials: BearerDep) -> Response:
        """Handshake: versions are checked, the server's time anchors the node's clock, a store whose history
        the server has moved past (a copy, a restored backup) is told to continue as a new node, the node's
        public key is registered for the token's county (403 if the node is revoked, another county's or has
        another key), and the city's key is given for the county to check return bundles with. With a
        ``noop_probe`` (a store with nothing to push): ``up_to_date`` true when there is nothing to pull either
        and the digests agree, so that sync is this one request; ``pull_since`` is then its new checkpoint.
        (``up_to_date`` and ``pull_since`` are left out of the answer to a hello without a probe.)"""
        # One worker-thread hop for the whole hello (the token, the body, the answer): the hello of a sync with
        # nothing to do is that whole sync, and a hop per dependency cost more than its queries. The token is
        # looked up before the body is read, so a bad token is a 401 whatever the body, as with a dependency.
        raw = await request.body()
        return await run_in_threadpool(_hello, db, credentials, raw)

    @app.post(f"{API_PREFIX}/sync/push", responses=responses(400, 403, 409, 426), response_model=PushResponse,
              openapi_extra=_json_body(PushRequest))
    async def push(request: Request, credentials: BearerDep) -> Response:
        """Apply a batch of changes; one answer per change (applied, merged, conflict, duplicate, rejected)."""
        with request.app.state.push_order.start(request.headers.raw) as turn:  # (sync.push_order, as ServerApp)
            raw = await request.body()
            after = await turn.wait()
            # The token looked up, then the body parsed from the bytes (``read_push``: pydantic's answer at a
            # fraction of FastAPI's cost), in one hop to the thread pool with the merge; the answer is already
            # PushResponse's JSON (also stored for replays) and goes out as it is.
            return await run_in_threadpool(_push_response, db, credentials, raw, after)

    @app.get(f"{API_PREFIX}/sync/pull", responses=responses(403))
    def pull(who: CallerDep, since: Annotated[int, Query(ge=0, le=2**62)] = 0,
             limit: Annotated[int, Query(ge=1, le=MAX_PULL_LIMIT)] = 1000,
             node_id: Annotated[str, Query(max_length=64, pattern=r"^[0-9A-Za-z_.:\-]*$")] = "") -> PullResponse:
        """Records of the caller's partitions changed after change sequence ``since``."""
        return read_pull(db, who, node_id, since, limit)

    @app.get(f"{API_PREFIX}/sync/digest", responses=responses())
    def digest(who: CallerDep) -> PartitionDigest:
        """The caller's county partition: last sequence number, row count, digest (of rows' content)."""
        return county_digest(db, who.county_code)

    @app.get(f"{API_PREFIX}/sync/rediff", responses=responses(), response_model=RediffPage,
             response_model_exclude_unset=True)
    def rediff(who: CallerDep, table: Annotated[TableName, Query()],
               after: Annotated[str, Query(max_length=36, pattern=r"^[0-9A-Za-z_.:\-]*$")] = "",  # an id, or ""
               limit: Annotated[int, Query(ge=1, le=MAX_PULL_LIMIT)] = 1000,
               stamps: Annotated[bool, Query()] = False) -> Response:
        """(id, version) and content hash of the caller's county rows of one table, in id order: the targeted
        re-diff; with ``stamps``, each row's stamp too (a store's sync bases from before stamps were kept get
        theirs: ``SyncClient.fill_stamps``)."""
        with db.read() as connection:
            return _model_json(rediff_page(connection, who.county_code, table, after, limit, stamps))

    @app.post(f"{API_PREFIX}/sync/fetch", responses=responses(400, 403))
    def fetch(body: FetchRequest, who: CallerDep) -> FetchResponse:
        """Current records by id (for repairs after a digest mismatch); other counties' rows are refused."""
        with db.read() as connection:
            records = fetch_records(connection, {(body.table, row_id): 0 for row_id in body.ids})
        allowed = (who.partitions() or ()) if not who.is_admin else None
        if allowed is not None and any(r.record["county_code"] not in allowed for r in records):
            raise Forbidden("these records belong to another county")
        return FetchResponse(records=records)

    @app.get(f"{API_PREFIX}/conflicts", responses=responses())
    def conflicts(who: CallerDep, status: Annotated[str | None, Query(pattern="^(open|resolved)$")] = "open",
                  limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                  offset: Annotated[int, Query(ge=0, le=2**31)] = 0,
                  resolved_after: Annotated[str | None, Query(json_schema_extra={"format": "date-time"})] = None,
                  ) -> list[ConflictOut]:
        """The conflict queue: the caller's county, or every county for an admin. With ``resolved_after``
        (ISO datetime) only conflicts resolved strictly after it, ordered by resolution time then id."""
        county = None if who.is_admin else who.county_code
        return conflict_queue.list_conflicts(db, county=county, status=status, limit=limit, offset=offset,
                                             resolved_after=_datetime_param("resolved_after", resolved_after))

    @app.post(f"{API_PREFIX}/conflicts/{{conflict_id}}/resolve", responses=responses(400, 403, 404, 409))
    def resolve(conflict_id: Annotated[str, _path_id()], body: ResolveRequest, who: AdminDep) -> ConflictOut:
        """Resolve a conflict per field, with a reason; the row gets a new version that counties pull."""
        return conflict_queue.resolve_conflict(db, conflict_id, dict(body.choices), body.reason,
                                               f"admin:{who.token_id}")

    @app.get(f"{API_PREFIX}/uploads", responses=responses(403))
    def uploads(who: AdminDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict[str, Any]]:
        """Upload reports, newest first: per batch the counts of each answer."""
        from sync.push import BATCH

        columns = [c for c in BATCH.c if c.name != "response"]
        with db.read() as connection:
            rows = connection.execute(sa.select(*columns).order_by(BATCH.c.received_at.desc()).limit(limit))
            return [dict(r._mapping) | {"received_at": r.received_at.isoformat()} for r in rows]

    assert set(SYNCED_TABLES) == {t for t in SYNCED_TABLES if table_of(t) is not None}


def _hello(db: ServerDB, credentials: HTTPAuthorizationCredentials | None, raw: bytes) -> Response:
    return _hello_after(db, _read_hello(db, credentials, raw))


class HelloRead(NamedTuple):
    """A hello's one read (``_read_hello``): the caller, the body, and for a probe the whole answer."""

    who: Caller
    body: HelloRequest
    quiet: QuietHello | None


def _read_hello(db: ServerDB, credentials: HTTPAuthorizationCredentials | None, raw: bytes) -> HelloRead:
    """The token, the body and, for a probe, ``quiet_hello``'s answer, in one read transaction; refusals raised
    as the endpoint answers them (401, 422, 426)."""
    with db.read() as connection:
        who = _caller_on(connection, credentials)
        try:
            body = HelloRequest.model_validate_json(raw)
        except ValidationError as exc:
            raise _invalid_body(exc) from None
        check_versions(body.protocol_version, body.schema_version)
        return HelloRead(who, body, quiet_hello(db, connection, who, body))


def _hello_after(db: ServerDB, read: HelloRead) -> Response:
    """The rest of a hello once it is read (on a worker thread: what follows may write)."""
    who, body, quiet = read
    if quiet is not None:  # the common case of a probe, answered in one read: what the whole way answers
        if not quiet.noted:
            note_quiet_pull(db, who, body.node_id, quiet.mark)
        return _hello_answer(db, who, "ok", up_to_date=True, pull_since=quiet.mark)
    same = continues_history(db, who, body.node_id, body.store_epoch, body.next_epoch)
    if same and body.public_key and not who.is_admin:
        register_node_key(db, body.node_id, who.county_code, body.public_key, token_id=who.token_id)
    probe: dict[str, Any] = {}
    if body.noop_probe is not None:
        mark = nothing_to_do(db, who, body.node_id, body.noop_probe) if same else None
        probe = {"up_to_date": mark is not None, "pull_since": mark or 0}
    return _hello_answer(db, who, "ok" if same else "copied", **probe)


# A hello is a few hundred bytes: a larger body is parsed on a worker, never on the event loop.
HELLO_ON_LOOP_BYTES = 64 * 1024


def _hello_on_loop(db: ServerDB, credentials: HTTPAuthorizationCredentials | None,
                   raw: bytes) -> tuple[Response | None, HelloRead | None]:
    """A hello read on the event loop's thread: (the answer when the read settles it, the read). The answer is
    there for a no-op probe whose quiet pull the server noted recently (``QuietHello.noted``: nothing to write);
    any other hello goes on to a worker with its read (``_hello_after``: not read twice). (None, None) when the
    read is left to the worker: on PostgreSQL (its reads are round trips, which the event loop must not wait for),
    for a body larger than any hello, while the pool has no connection to spare (taking one must not make the
    event loop wait for a worker to give one back), and for anything unusual (a refused token, a body pydantic
    would refuse, another version): ``_hello`` then reads and answers it, errors included, as ever. A WAL read
    never waits for a writer, and it is a handful of index probes."""
    if db.is_postgres or len(raw) > HELLO_ON_LOOP_BYTES or not _pool_has_room(db.engine):
        return None, None
    try:
        read = _read_hello(db, credentials, raw)
    except Exception:  # noqa: BLE001 - whatever it is, the worker's _hello meets it again and answers it
        return None, None
    if read.quiet is None or not read.quiet.noted:
        return None, read
    return _hello_answer(db, read.who, "ok", up_to_date=True, pull_since=read.quiet.mark), read


def _pool_has_room(engine: Any) -> bool:
    """Whether the engine's pool would hand out a connection without waiting (short of a race, which the worker's
    way would have met too)."""
    pool = engine.pool
    size, checkedout, overflow = (getattr(pool, name, None) for name in ("size", "checkedout", "_max_overflow"))
    if not (callable(size) and callable(checkedout) and isinstance(overflow, int)):
        return False
    return bool(overflow < 0 or checkedout() < size() + overflow - 1)


def _hello_answer(db: ServerDB, who: Caller, identity: str, **probe: Any) -> Response:
    answer = _model_json(HelloResponse(
        protocol_version=PROTOCOL_VERSION, schema_version=schema_version(), server_id=db.server_id,
        server_time_ms=wall_ms(), county_code=who.county_code, is_admin=who.is_admin,
        city_key=db.city_key.public_key, identity=identity, **probe))
    # A header, not a field: a client from before it ignores it (its model refuses fields it does not know).
    answer.headers[PIPELINE_HEADER] = "1"  # this server keeps a pipelined push's order (sync.push_order)
    return answer


def _push(db: ServerDB, credentials: HTTPAuthorizationCredentials | None, raw: bytes, after: str = "") -> bytes:
    who = caller_of(db, credentials)
    with paused_collection():
        try:
            body = read_push(raw)
        except ValidationError as exc:
            raise _invalid_body(exc) from None
        check_versions(body.protocol_version, body.schema_version)
        return push_answer(db, who, body, after)


def _push_response(db: ServerDB, credentials: HTTPAuthorizationCredentials | None, raw: bytes,
                   after: str = "") -> Response:
    return Response(_push(db, credentials, raw, after), media_type="application/json")


_SYNC_ENDPOINTS: dict[str, Callable[..., Response]] = {
    f"{API_PREFIX}/sync/hello": _hello, f"{API_PREFIX}/sync/push": _push_response}


def _invalid_body(exc: ValidationError) -> RequestValidationError:
    """A body the endpoint parsed itself, refused in FastAPI's shape (422, each error's place under "body")."""
    return RequestValidationError([{**error, "loc": ("body", *error["loc"])} for error in exc.errors(
        include_url=False, include_context=False, include_input=False)])


def _model_json(model: BaseModel) -> Response:
    """An answer already in its documented model, sent as its JSON (fields left unset left out, as
    ``response_model_exclude_unset`` says) without FastAPI validating it again against the same model."""
    return Response(model.model_dump_json(exclude_unset=True), media_type="application/json")


def _datetime_param(name: str, value: str | None) -> datetime | None:
    """A date and time as RFC 3339 text (``YYYY-MM-DDTHH:MM:SS``, an offset optional as the client sends none):
    a number such as 0.5, which pydantic would read as a Unix time, or a date alone, is refused."""
    if value is None:
        return None
    try:
        if not ISO_DATETIME.fullmatch(value):
            raise ValueError(value)
        moment = datetime.fromisoformat(value.upper())
    except ValueError:
        raise InvalidValue(name, f"“{value}”不是有效时间，应为YYYY-MM-DDTHH:MM:SS (not a date and time)") from None
    # the server keeps its own local time, without an offset (resolved_at is datetime.now())
    return moment if moment.tzinfo is None else moment.astimezone().replace(tzinfo=None)


def _json_body(model: type[BaseModel]) -> dict[str, Any]:
    """The OpenAPI request body of an endpoint that parses ``model`` itself (its schema goes to components)."""
    return {"requestBody": {"required": True, "content": {"application/json": {
        "schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}}}


def _openapi_with(app: FastAPI, models: tuple[type[BaseModel], ...]) -> Callable[[], dict[str, Any]]:
    """The app's OpenAPI document plus the schemas of bodies parsed by the endpoints themselves."""
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(title=app.title, version=app.version, description=app.description,
                                   routes=app.routes)
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            for model in models:
                schema = model.model_json_schema(ref_template="#/components/schemas/{model}", mode="validation")
                schemas.update(schema.pop("$defs", {}))
                schemas[model.__name__] = schema
            app.openapi_schema = document
        return app.openapi_schema

    return openapi


def _path_id() -> Any:
    from fastapi import Path as PathParam

    return PathParam(max_length=36, pattern=ID_PATTERN)


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory`` and multi-worker runs: the database URL comes from the environment."""
    app = create_app(os.environ[DATABASE_URL_ENV])
    tune_for_server()  # a server process: see sync.gctune (a third of the push time went to the collector)
    return app
