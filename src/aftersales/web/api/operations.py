"""One table of API operations, from which both the Starlette routes and ``/openapi.json`` are made.

Each :class:`Operation` names its method, path, pydantic models (query, body, answer), whether
it needs a merchant key, and the error statuses it may answer with. :func:`endpoint` turns it
into a Starlette endpoint that authenticates, parses and validates before the handler runs, and
:func:`openapi_document` describes the same table, so the document cannot drift from the code.

Hand-written rather than FastAPI or spectree: the service is Starlette already (the ingress
is tuned at the ASGI level), the API is a dozen operations, and the pieces a library would
bring — request validation and JSON Schemas — come from pydantic, which the domain uses anyway.

Errors are JSON ``{"error": "...", "detail": [...]}`` with:

- 400 body is not JSON; 401 no or unknown key; 403 a key of another shop;
- 404 no such shop, case or order; 409 a concurrent change; 413 body too large;
- 415 not ``application/json`` (this is also why the JSON API needs no CSRF token: a
  cross-site HTML form cannot send ``application/json`` without a CORS preflight we never allow);
- 422 the request is well-formed but refused (validation, or the workflow's reason);
- 429 too many failed order lookups.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import anyio
from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.json_schema import JsonSchemaMode, models_json_schema
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from aftersales.web.api.keys import KeyOwner, find_owner
from aftersales.web.api.service import CommandRefused, ServiceRuntime, reading

MAX_JSON_BODY = 256 * 1024
"""JSON bodies above this are refused (413); complaint photos come base64 inside it, see
:data:`aftersales.web.api.customer.MAX_COMPLAINT_BODY` for that one operation's larger cap."""

Method = Literal["GET", "POST"]


class ErrorBody(BaseModel):
    error: str
    detail: list[dict[str, Any]] | None = None


class ApiModel(BaseModel):
    """Request bodies and query strings: unknown fields are refused, not ignored."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class Call:
    """What a handler receives: the parsed request."""

    request: Request
    runtime: ServiceRuntime
    path: dict[str, str]
    query: Any
    body: Any
    owner: KeyOwner | None

    @property
    def client(self) -> str:
        return self.request.client.host if self.request.client else "unknown"


Handler = Callable[[Call], Awaitable[Response]]


@dataclass(frozen=True)
class Operation:
    method: Method
    path: str
    handler: Handler
    summary: str
    tag: str
    answer: type[BaseModel] | None = None
    status: int = 200
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    merchant: bool = False
    """Needs a merchant key (``Authorization: Bearer askey_...``) of the shop in the path."""
    errors: tuple[int, ...] = ()
    max_body: int = MAX_JSON_BODY
    description: str = ""
    path_patterns: dict[str, str] = field(default_factory=dict)

    @property
    def operation_id(self) -> str:
        return self.handler.__name__

    @property
    def all_errors(self) -> tuple[int, ...]:
        found = set(self.errors) | {404}
        if self.body is not None:
            found |= {400, 413, 415, 422}
        if self.query is not None:
            found.add(422)
        if self.merchant:
            found |= {401, 403}
        return tuple(sorted(found))


def error(status: int, message: str, detail: Sequence[dict[str, Any]] | None = None) -> JSONResponse:
    headers = {"WWW-Authenticate": 'Bearer realm="aftersales"'} if status == 401 else None
    body = ErrorBody(error=message, detail=list(detail) if detail is not None else None)
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, headers=headers)


def answer(model: BaseModel, status: int = 200) -> JSONResponse:
    return JSONResponse(model.model_dump(mode="json"), status_code=status)


def _validation_detail(exc: ValidationError) -> list[dict[str, Any]]:
    return [
        {"loc": [str(p) for p in err["loc"]], "msg": err["msg"], "type": err["type"]}
        for err in exc.errors(include_url=False, include_input=False, include_context=False)
    ]


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    return credentials.strip()


async def _authorize(runtime: ServiceRuntime, request: Request, shop_id: str) -> KeyOwner | Response:
    presented = _bearer(request)
    if presented is None:
        return error(401, "an API key is required (Authorization: Bearer askey_...)")

    def find() -> KeyOwner | None:
        with reading(runtime) as session:
            return find_owner(session, presented)

    owner = await anyio.to_thread.run_sync(find)
    if owner is None:
        return error(401, "the API key is not valid")
    if owner.shop_id != shop_id:
        return error(403, "this API key belongs to another shop")
    return owner


async def _json_body(request: Request, limit: int) -> Any:
    """The JSON body, or an error response (415 wrong type, 413 too large, 400 not JSON)."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json":
        return error(415, "send the body as application/json")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return error(413, f"the body is larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return error(413, f"the body is larger than {limit} bytes")
        chunks.append(chunk)
    try:
        return json.loads(b"".join(chunks))
    except (ValueError, UnicodeDecodeError):
        return error(400, "the body is not valid JSON")


def endpoint(runtime: ServiceRuntime, op: Operation) -> Callable[[Request], Awaitable[Response]]:
    async def run(request: Request) -> Response:
        path = {k: str(v) for k, v in request.path_params.items()}
        owner: KeyOwner | None = None
        if op.merchant:
            found = await _authorize(runtime, request, path.get("shop_id", ""))
            if isinstance(found, Response):
                return found
            owner = found
        query: Any = None
        if op.query is not None:
            try:
                query = op.query.model_validate(dict(request.query_params))
            except ValidationError as exc:
                return error(422, "invalid query parameters", _validation_detail(exc))
        body: Any = None
        if op.body is not None:
            raw = await _json_body(request, op.max_body)
            if isinstance(raw, Response):
                return raw
            try:
                body = op.body.model_validate(raw)
            except ValidationError as exc:
                return error(422, "invalid request body", _validation_detail(exc))
        try:
            return await op.handler(Call(request, runtime, path, query, body, owner))
        except CommandRefused as refused:
            return error(refused.status, refused.reason)

    run.__name__ = op.operation_id
    return run


def routes(
    runtime: ServiceRuntime, operations: Sequence[Operation], middleware: Sequence[Middleware] = ()
) -> list[Route]:
    """One route per path, dispatching on the method to each operation's endpoint."""
    grouped: dict[str, list[Operation]] = {}
    for op in operations:
        grouped.setdefault(op.path, []).append(op)
    made: list[Route] = []
    for path, ops in grouped.items():
        handlers: dict[str, Callable[[Request], Awaitable[Response]]] = {
            op.method: endpoint(runtime, op) for op in ops
        }
        made.append(
            Route(
                path,
                _dispatcher(handlers),
                methods=sorted(handlers),
                name=ops[0].operation_id,
                middleware=middleware,
            )
        )
    return made


def _dispatcher(
    handlers: dict[str, Callable[[Request], Awaitable[Response]]],
) -> Callable[[Request], Awaitable[Response]]:
    async def dispatch(request: Request) -> Response:
        return await handlers["GET" if request.method == "HEAD" else request.method](request)

    return dispatch


# -- OpenAPI ------------------------------------------------------------------------------------------

_REASONS = {
    400: "The body is not valid JSON",
    401: "No API key, or not a valid one",
    403: "The API key belongs to another shop",
    404: "No such shop, case, order or link",
    409: "The case changed at the same moment",
    413: "The body is too large",
    415: "The body is not application/json",
    422: "Refused: invalid input or the workflow's reason",
    429: "Too many failed attempts; try again later",
}


def _path_parameters(op: Operation) -> list[dict[str, Any]]:
    names = [part[1:-1] for part in op.path.split("/") if part.startswith("{") and part.endswith("}")]
    params = []
    for name in names:
        schema: dict[str, Any] = {"type": "string", "minLength": 1}
        if name in op.path_patterns:
            schema["pattern"] = op.path_patterns[name]
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
    return params


def _query_parameters(model: type[BaseModel], schema: dict[str, Any]) -> list[dict[str, Any]]:
    props = schema.get("properties", {})
    required = set(schema.get("required", []))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": prop}
        for name, prop in props.items()
    ]


def openapi_document(operations: Sequence[Operation], *, title: str, version: str) -> dict[str, Any]:
    # bodies are described as they are accepted, answers as they are sent
    roles: dict[type[BaseModel], JsonSchemaMode] = {ErrorBody: "serialization"}
    for op in operations:
        if op.body is not None:
            roles[op.body] = "validation"
        if op.answer is not None:
            roles[op.answer] = "serialization"
    _, definitions = models_json_schema(
        sorted(roles.items(), key=lambda item: item[0].__name__),
        ref_template="#/components/schemas/{model}",
    )
    schemas: dict[str, Any] = dict(definitions.get("$defs", {}))
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        responses: dict[str, Any] = {}
        if op.answer is not None:
            responses[str(op.status)] = {
                "description": "OK",
                "content": {
                    "application/json": {"schema": {"$ref": f"#/components/schemas/{op.answer.__name__}"}}
                },
            }
        for status in op.all_errors:
            responses[str(status)] = {
                "description": _REASONS.get(status, "Error"),
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
            }
        parameters = _path_parameters(op)
        if op.query is not None:
            parameters += _query_parameters(op.query, op.query.model_json_schema())
        entry: dict[str, Any] = {
            "operationId": op.operation_id,
            "summary": op.summary,
            "tags": [op.tag],
            "parameters": parameters,
            "responses": responses,
        }
        if op.description:
            entry["description"] = op.description
        if op.body is not None:
            entry["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": f"#/components/schemas/{op.body.__name__}"}}
                },
            }
        if op.merchant:
            entry["security"] = [{"merchantKey": []}]
        paths.setdefault(op.path, {})[op.method.lower()] = entry
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "merchantKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A shop's API key (`aftersales shop api-key create SHOP`).",
                }
            },
        },
    }
