"""JSON-RPC 2.0 (and 1.0) over cyclone: a request handler, its sans-IO dispatcher, a client.

Example (a server with one method, and an asynchronous client calling it)::

    from twisted.internet import reactor
    from cyclone.routing import Router
    from cyclone.jsonrpc import JsonrpcRequestHandler, JsonRpcError, JsonRpcProxy

    class RPC(JsonrpcRequestHandler):
        def jsonrpc_subtract(self, minuend, subtrahend):
            if not isinstance(minuend, int):
                raise JsonRpcError(-32001, "numbers only", data={"got": minuend})
            return minuend - subtrahend

    reactor.listenTCP(8888, Router([(r"/jsonrpc", RPC)]), interface="127.0.0.1")
    proxy = JsonRpcProxy("http://127.0.0.1:8888/jsonrpc")
    proxy.callRemote("subtract", 42, 23).addCallback(print)                    # 19
    proxy.callRemote("subtract", minuend=42, subtrahend=23).addCallback(print)  # 19
    reactor.run()

Server behaviour (https://www.jsonrpc.org/specification):

- Methods are handler attributes named ``jsonrpc_<name>``; they may return a
  value, a ``Deferred``, or be ``async def``. Positional params (an array) and
  named params (an object) are both accepted; arguments that don't fit the
  method's signature are error -32602 before the method runs. Path arguments
  captured by the route are passed first, as in cyclone 1.x (named groups as
  keyword arguments).
- Notifications (no ``id``) are run but never answered; a request that holds
  only notifications (single or batch) gets ``204 No Content`` with no body.
- Batches are answered with an array in request order; ``[]`` is a single
  -32600 error; each invalid element gets its own -32600. A batch longer than
  ``max_batch_size`` (class attribute, 1000 by default, or the application
  setting ``rpc_max_batch_size``) is a single -32600 error and runs nothing.
  A batch is started in slices of ``BATCH_SLICE`` requests, one slice per
  reactor turn, so other connections are served while it runs.
- Errors: -32700 (unparseable JSON), -32600 (not a request object), -32601
  (no such method; names starting with ``rpc.`` are reserved), -32602 (bad
  params), -32603 (internal error). Each carries a ``data`` member saying what
  was wrong, except -32603, whose details are only logged (and sent as ``data``
  when the application runs with ``debug=True``). Raise :class:`JsonRpcError`
  for an application error with your own code, message and data.
- A request object without a ``"jsonrpc"`` member is JSON-RPC 1.0 and is
  answered in 1.0 form, ``{"result": ..., "error": ..., "id": ...}``; a 1.0
  request whose ``id`` is null (or missing) is a notification.
- Responses are ``Content-Type: application/json``. Bodies above
  ``max_body_size`` (class attribute, 1 MiB by default, or the application
  setting ``rpc_max_body_size``) get HTTP 413; only POST is allowed (405).
"""

from __future__ import annotations

import inspect
import itertools
import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

from twisted.internet import defer, task
from twisted.logger import Logger

from cyclone._rpcclient import DEFAULT_MAX_RESPONSE_SIZE, RPCClient
from cyclone.coroutines import maybe_deferred
from cyclone.handler import HTTPError, RequestHandler

__all__ = [
    "BATCH_SLICE",
    "DEFAULT_MAX_BATCH_SIZE",
    "INTERNAL_ERROR",
    "INVALID_PARAMS",
    "INVALID_REQUEST",
    "METHOD_NOT_FOUND",
    "PARSE_ERROR",
    "JsonRpcError",
    "JsonRpcProxy",
    "JsonrpcDispatcher",
    "JsonrpcRequestHandler",
]

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603

_MESSAGES = {
    PARSE_ERROR: "Parse error",
    INVALID_REQUEST: "Invalid Request",
    METHOD_NOT_FOUND: "Method not found",
    INVALID_PARAMS: "Invalid params",
    INTERNAL_ERROR: "Internal error",
}

DEFAULT_MAX_BODY_SIZE = 1024 * 1024
"""Default request body limit (1 MiB): generous for RPC, small enough to bound a batch."""

DEFAULT_MAX_BATCH_SIZE = 1000
"""Default cap on the requests of one batch (go-ethereum's default ``BatchRequestLimit``).

Without it a 1 MiB body holds 500,000 requests ``[1,1,...]``: 10 s of CPU, +420 MB
and a 57 MiB response of errors, for one POST. Past the cap the whole batch is one
-32600 Invalid Request (section 6: the batch as a whole is invalid).
"""

BATCH_SLICE = 100
"""Batch requests started per reactor turn: about 20 µs each for a trivial method, so a
slice holds the reactor for about 2 ms however long the batch."""

_log = Logger()
_ABSENT = object()


class JsonRpcError(Exception):
    """A JSON-RPC error object: raise it in a method to answer with this code, message, data.

    The client (:class:`JsonRpcProxy`) fails its Deferred with one too.
    Codes -32768..-32000 are reserved by the specification; -32000..-32099 are
    for implementation-defined server errors; applications use any other integer.
    """

    def __init__(self, code: int, message: str | None = None, data: Any = _ABSENT) -> None:
        if not isinstance(code, int) or isinstance(code, bool):
            raise TypeError(f"a JSON-RPC error code is an integer, got {code!r}")
        self.code = code
        self.message = message if message is not None else _MESSAGES.get(code, "Server error")
        self.data = data
        super().__init__(code, self.message)

    @property
    def has_data(self) -> bool:
        return self.data is not _ABSENT

    def to_dict(self) -> dict[str, Any]:
        """The error object as sent on the wire (section 5.1)."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.has_data:
            error["data"] = self.data
        return error

    def __str__(self) -> str:
        if self.has_data:
            return f"JSON-RPC error {self.code}: {self.message} ({self.data!r})"
        return f"JSON-RPC error {self.code}: {self.message}"

    def __repr__(self) -> str:
        return f"JsonRpcError({self.code!r}, {self.message!r}" + (
            f", data={self.data!r})" if self.has_data else ")"
        )


def _valid_id(value: Any) -> bool:
    """Section 4: an id is a String, a Number or Null (not a bool, object or array)."""
    if value is None or isinstance(value, str):
        return True
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, float) and math.isfinite(value)


class _Request:
    """One validated request object of a call or batch."""

    __slots__ = ("id", "method", "notification", "params", "version")

    def __init__(
        self, version: str, method: str, params: Any, request_id: Any, notification: bool
    ) -> None:
        self.version = version
        self.method = method
        self.params = params
        self.id = request_id
        self.notification = notification


class _Route(NamedTuple):
    """The path arguments a handler's route captured, passed ahead of the params."""

    args: tuple[Any, ...]
    kwargs: dict[str, Any]


_NO_ROUTE = _Route((), {})


class JsonrpcDispatcher:
    """Turns a JSON-RPC request body into a response body; no sockets involved.

    ``target`` holds the ``jsonrpc_*`` methods (the request handler, or any
    object). ``dispatch(body, *route_args, **route_kwargs)`` returns a Deferred firing with the
    response bytes, or with ``None`` when nothing must be sent (notifications).
    It never fails. ``max_batch_size`` caps a batch's length (None: no cap);
    ``clock`` (default: the reactor) is what a long batch yields to between slices.
    """

    prefix = "jsonrpc_"

    def __init__(
        self,
        target: Any,
        *,
        expose_internal_errors: bool = False,
        max_batch_size: int | None = DEFAULT_MAX_BATCH_SIZE,
        clock: Any = None,
    ) -> None:
        self.target = target
        self.expose_internal_errors = expose_internal_errors
        self.max_batch_size = max_batch_size
        self.clock = clock

    def dispatch(
        self, body: bytes | str, /, *route_args: Any, **route_kwargs: Any
    ) -> defer.Deferred[bytes | None]:
        """Parse ``body``, run the call or batch, and encode whatever must be answered.

        ``route_args``/``route_kwargs`` (the handler's path arguments) are passed
        to every method ahead of the request's params.
        """
        return defer.ensureDeferred(self._dispatch(body, _Route(route_args, route_kwargs)))

    async def _dispatch(self, body: bytes | str, route: _Route) -> bytes | None:
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError) as error:
            return self.encode(
                self._error_response("2.0", None, JsonRpcError(PARSE_ERROR, data=str(error)))
            )
        if isinstance(payload, list):
            if not payload:
                return self.encode(
                    self._error_response(
                        "2.0", None, JsonRpcError(INVALID_REQUEST, data="empty batch")
                    )
                )
            limit = self.max_batch_size
            if limit is not None and len(payload) > limit:
                too_long = JsonRpcError(
                    INVALID_REQUEST,
                    data=f"a batch of {len(payload)} requests exceeds the limit of {limit}",
                )
                return self.encode(self._error_response("2.0", None, too_long))
            answers = await self._run_batch(payload, route)
            replies = [reply for reply in answers if reply is not None]
            return b"[" + b",".join(replies) + b"]" if replies else None
        answer = await self.handle(payload, route)
        return None if answer is None else self._encode_response(answer)

    async def _run_batch(self, payload: list[Any], route: _Route) -> list[bytes | None]:
        """Start the batch's requests BATCH_SLICE at a time, a reactor turn apart.

        They run concurrently (section 6 allows any order and parallelism); the encoded
        answers come back in request order. Each answer is encoded as soon as it is
        ready, so that work is spread over the slices too.
        """
        calls: list[defer.Deferred[bytes | None]] = []
        for start in range(0, len(payload), BATCH_SLICE):
            if start:
                await _next_turn(self.clock)
            calls.extend(
                defer.ensureDeferred(self._answer(item, route))
                for item in payload[start : start + BATCH_SLICE]
            )
        return await defer.gatherResults(calls)

    async def _answer(self, payload: Any, route: _Route) -> bytes | None:
        answer = await self.handle(payload, route, in_batch=True)
        return None if answer is None else self._encode_response(answer)

    async def handle(
        self, payload: Any, route: _Route | None = None, *, in_batch: bool = False
    ) -> dict[str, Any] | None:
        """Answer one decoded request object: a response dict, or None for a notification.

        Batches are a JSON-RPC 2.0 feature, so inside one (``in_batch``) an
        object without ``"jsonrpc": "2.0"`` is an Invalid Request, not a 1.0 call.
        """
        try:
            request = self.validate(payload, allow_version_1=not in_batch)
        except JsonRpcError as error:
            version = (
                "2.0"
                if in_batch or not isinstance(payload, dict) or "jsonrpc" in payload
                else "1.0"
            )
            request_id = payload.get("id") if isinstance(payload, dict) else None
            return self._error_response(
                version, request_id if _valid_id(request_id) else None, error
            )
        try:
            result = await self.call(request, route)
        except JsonRpcError as error:
            if request.notification:
                return None
            return self._error_response(request.version, request.id, error)
        if request.notification:
            return None
        return self._result_response(request, result)

    def validate(self, payload: Any, *, allow_version_1: bool = True) -> _Request:
        """Check a request object (section 4); raise -32600 with the reason as ``data``."""
        if not isinstance(payload, dict):
            raise JsonRpcError(INVALID_REQUEST, data="a request must be a JSON object")
        if "jsonrpc" in payload or not allow_version_1:
            version = payload.get("jsonrpc")
            if version != "2.0":
                raise JsonRpcError(
                    INVALID_REQUEST, data=f'"jsonrpc" must be "2.0", got {version!r}'
                )
            notification = "id" not in payload
        else:
            version = "1.0"
            notification = payload.get("id") is None
        method = payload.get("method")
        if not isinstance(method, str):
            raise JsonRpcError(INVALID_REQUEST, data=f'"method" must be a string, got {method!r}')
        params = payload.get("params", [])
        if not isinstance(params, (list, dict)):
            raise JsonRpcError(
                INVALID_REQUEST, data=f'"params" must be an array or an object, got {params!r}'
            )
        request_id = payload.get("id")
        if not _valid_id(request_id):
            raise JsonRpcError(
                INVALID_REQUEST,
                data=f'"id" must be a string, a number or null, got {request_id!r}',
            )
        return _Request(version, method, params, request_id, notification)

    def lookup(self, method: str) -> Callable[..., Any]:
        """Find the callable for ``method``, or raise -32601."""
        if method.startswith("rpc."):
            raise JsonRpcError(
                METHOD_NOT_FOUND,
                data=f"method names starting with 'rpc.' are reserved: {method!r}",
            )
        function = getattr(self.target, self.prefix + method, None)
        if function is None or not callable(function):
            raise JsonRpcError(METHOD_NOT_FOUND, data=f"no method {method!r}")
        return function

    async def call(self, request: _Request, route: _Route | None = None) -> Any:
        """Run the method of a validated request; errors come out as :class:`JsonRpcError`."""
        function = self.lookup(request.method)
        route = route or _NO_ROUTE
        if isinstance(request.params, dict):
            clash = sorted(set(request.params) & set(route.kwargs))
            if clash:
                raise JsonRpcError(
                    INVALID_PARAMS,
                    data=f"{request.method}: params {clash} are already path arguments",
                )
            args, kwargs = route.args, {**route.kwargs, **request.params}
        else:
            args, kwargs = (*route.args, *request.params), dict(route.kwargs)
        try:
            inspect.signature(function).bind(*args, **kwargs)
        except TypeError as error:
            raise JsonRpcError(INVALID_PARAMS, data=f"{request.method}: {error}")
        except ValueError:
            pass  # no introspectable signature (some builtins): let the call decide
        try:
            return await maybe_deferred(function, *args, **kwargs)
        except JsonRpcError:
            raise
        except Exception as error:
            _log.failure("JSON-RPC method {method!r} raised", method=request.method)
            if self.expose_internal_errors:
                raise JsonRpcError(INTERNAL_ERROR, data=f"{type(error).__name__}: {error}")
            raise JsonRpcError(INTERNAL_ERROR)

    def _result_response(self, request: _Request, result: Any) -> dict[str, Any]:
        if request.version == "1.0":
            return {"result": result, "error": None, "id": request.id}
        return {"jsonrpc": "2.0", "result": result, "id": request.id}

    @staticmethod
    def _error_response(version: str, request_id: Any, error: JsonRpcError) -> dict[str, Any]:
        if version == "1.0":
            return {"result": None, "error": error.to_dict(), "id": request_id}
        return {"jsonrpc": "2.0", "error": error.to_dict(), "id": request_id}

    @staticmethod
    def encode(response: Any) -> bytes:
        """Serialize a response (or batch) as compact JSON.

        ASCII-only (non-ASCII as ``\\u`` escapes), so any Python string, even one
        holding a lone surrogate, gives valid JSON; NaN and infinities are refused
        because JSON has no such numbers (RFC 8259 section 6).
        """
        return json.dumps(response, separators=(",", ":"), allow_nan=False).encode("ascii")

    def _encode_response(self, response: dict[str, Any]) -> bytes:
        """Encode one response; if its result or error data can't be JSON, send -32603 instead."""
        try:
            return self.encode(response)
        except (TypeError, ValueError, RecursionError) as error:
            _log.warn(
                "JSON-RPC response for id {id!r} can't be encoded as JSON: {error}",
                id=response.get("id"),
                error=error,
            )
        version = "2.0" if "jsonrpc" in response else "1.0"
        fallback = JsonRpcError(INTERNAL_ERROR, data="the result is not JSON serializable")
        return self.encode(self._error_response(version, response.get("id"), fallback))


def _next_turn(clock: Any) -> defer.Deferred[None]:
    """A Deferred that fires on a later reactor turn, after pending I/O was handled."""
    if clock is None:
        from twisted.internet import reactor

        clock = reactor
    return task.deferLater(clock, 0)


def _request_object(
    version: str, method: str, args: Sequence[Any], kwargs: Mapping[str, Any], request_id: Any
) -> dict[str, Any]:
    if args and kwargs:
        raise TypeError(
            f"JSON-RPC sends either positional or named params, not both (method {method!r})"
        )
    params: Any = dict(kwargs) if kwargs else list(args)
    if version == "1.0":
        return {"method": method, "params": params, "id": request_id}
    request: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    if kwargs or args:
        request["params"] = params
    if request_id is not _ABSENT:
        request["id"] = request_id
    return request


class JsonRpcProxy(RPCClient):
    """An asynchronous JSON-RPC client over ``twisted.web.client.Agent``.

    ``JsonRpcProxy(url).callRemote("sum", 1, 2)`` returns a Deferred that fires
    with the result, or fails with :class:`JsonRpcError` for an error response
    (and with ``twisted.web.error.Error`` for a non-2xx HTTP status).
    ``version="1.0"`` speaks JSON-RPC 1.0 to old servers. ``timeout`` (seconds)
    cancels a call that takes longer (``defer.TimeoutError``);
    ``max_response_size`` bounds how much of an answer is buffered (ValueError
    beyond it). ``headers`` are sent with every request (e.g. Authorization).
    """

    content_type = b"application/json"

    def __init__(
        self,
        url: str | bytes,
        *,
        version: str = "2.0",
        agent: Any = None,
        reactor: Any = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        max_response_size: int = DEFAULT_MAX_RESPONSE_SIZE,
    ) -> None:
        if version not in ("1.0", "2.0"):
            raise ValueError(f'JSON-RPC version must be "1.0" or "2.0", got {version!r}')
        super().__init__(
            url,
            agent=agent,
            reactor=reactor,
            headers=headers,
            timeout=timeout,
            max_response_size=max_response_size,
        )
        self.version = version
        self._ids = itertools.count(1)

    def callRemote(self, method: str, *args: Any, **kwargs: Any) -> defer.Deferred[Any]:
        """Call ``method`` with positional or named params; the Deferred fires with the result."""
        request_id = next(self._ids)
        body = _request_object(self.version, method, args, kwargs, request_id)
        return self._start(self._call(body, request_id))

    def notify(self, method: str, *args: Any, **kwargs: Any) -> defer.Deferred[None]:
        """Send a notification: the server runs it and answers nothing (the Deferred fires None)."""
        request_id: Any = None if self.version == "1.0" else _ABSENT
        body = _request_object(self.version, method, args, kwargs, request_id)
        return self._start(self._notify(body))

    def callBatch(
        self, calls: Sequence[tuple[str, Sequence[Any] | Mapping[str, Any]]]
    ) -> defer.Deferred[list[Any]]:
        """Send several calls in one JSON-RPC 2.0 batch.

        ``calls`` is a sequence of ``(method, params)`` with params a list or a
        dict. The Deferred fires with one entry per call, in order: the result,
        or a :class:`JsonRpcError` instance for a call that failed.
        """
        if self.version != "2.0":
            raise ValueError("batches need JSON-RPC 2.0")
        requests = []
        ids = []
        for method, params in calls:
            request_id = next(self._ids)
            ids.append(request_id)
            if isinstance(params, Mapping):
                requests.append(_request_object("2.0", method, (), params, request_id))
            else:
                requests.append(_request_object("2.0", method, params, {}, request_id))
        return self._start(self._batch(requests, ids))

    async def _send(self, body: Any) -> bytes:
        _, content = await self._post(json.dumps(body, separators=(",", ":")).encode("utf-8"))
        return content

    async def _call(self, body: dict[str, Any], request_id: int) -> Any:
        content = await self._send(body)
        try:
            answer = json.loads(content)
        except ValueError as error:
            raise JsonRpcError(PARSE_ERROR, "the server's response is not JSON", data=str(error))
        return _outcome(answer, request_id, raise_errors=True)

    async def _notify(self, body: dict[str, Any]) -> None:
        await self._send(body)

    async def _batch(self, requests: list[dict[str, Any]], ids: list[int]) -> list[Any]:
        content = await self._send(requests)
        try:
            answers = json.loads(content)
        except ValueError as error:
            raise JsonRpcError(PARSE_ERROR, "the server's response is not JSON", data=str(error))
        if isinstance(answers, dict):
            # A whole-batch error (e.g. the server refused the batch itself).
            raise _error_from(answers.get("error"))
        if not isinstance(answers, list):
            raise JsonRpcError(
                INVALID_REQUEST, "the server's batch response is not an array", data=answers
            )
        by_id = {answer.get("id"): answer for answer in answers if isinstance(answer, dict)}
        results = []
        for request_id in ids:
            answer = by_id.get(request_id)
            if answer is None:
                results.append(
                    JsonRpcError(INTERNAL_ERROR, "no response for this call", data=request_id)
                )
            else:
                results.append(_outcome(answer, request_id, raise_errors=False))
        return results


def _error_from(error: Any) -> JsonRpcError:
    if isinstance(error, dict) and isinstance(error.get("code"), int):
        data = error["data"] if "data" in error else _ABSENT
        return JsonRpcError(error["code"], str(error.get("message", "")), data)
    return JsonRpcError(INTERNAL_ERROR, "malformed error in the server's response", data=error)


def _outcome(answer: Any, request_id: int, *, raise_errors: bool) -> Any:
    """The result of one response object, or its error (raised or returned)."""
    if not isinstance(answer, dict):
        raise JsonRpcError(INVALID_REQUEST, "the server's response is not an object", data=answer)
    if answer.get("error") is not None:
        error = _error_from(answer["error"])
        if raise_errors:
            raise error
        return error
    if answer.get("id") != request_id:
        raise JsonRpcError(
            INVALID_REQUEST, "the server answered another request id", data=answer.get("id")
        )
    return answer.get("result")


class JsonrpcRequestHandler(RequestHandler):
    """Subclass and define ``jsonrpc_<name>`` methods to serve them over JSON-RPC.

    ``max_body_size`` (bytes; the application setting ``rpc_max_body_size``
    overrides it) bounds the request body, ``max_batch_size`` (the setting
    ``rpc_max_batch_size``) the requests of a batch. With the application setting
    ``debug=True`` internal errors carry the exception in their ``data``.
    """

    SUPPORTED_METHODS = ("POST",)
    no_xsrf = True
    max_body_size = DEFAULT_MAX_BODY_SIZE
    max_batch_size: int | None = DEFAULT_MAX_BATCH_SIZE

    async def post(self, *args: str, **kwargs: str) -> None:
        """Answer one call or batch; the route's path arguments come before the params."""
        limit = self.settings.get("rpc_max_body_size", self.max_body_size)
        body = self.request.body or b""
        if len(body) > limit:
            raise HTTPError(413, "JSON-RPC body of %d bytes exceeds %d", len(body), limit)
        dispatcher = JsonrpcDispatcher(
            self,
            expose_internal_errors=bool(self.settings.get("debug", False)),
            max_batch_size=self.settings.get("rpc_max_batch_size", self.max_batch_size),
        )
        response = await dispatcher.dispatch(body, *args, **kwargs)
        if response is None:
            # Section 4.1: the server MUST NOT reply to a notification.
            self.set_status(204)
            self.finish()
            return
        self.set_header("Content-Type", "application/json")
        self.finish(response)
