"""XML-RPC over cyclone: a request handler and the sans-IO dispatcher behind it.

Example (serve ``add`` and ``math.mul``; call them with any XML-RPC client)::

    from twisted.internet import reactor
    from cyclone.routing import Router
    from cyclone.xmlrpc import XmlrpcRequestHandler, signature

    class MathMethods:
        def xmlrpc_mul(self, a, b):
            return a * b

    class RPC(XmlrpcRequestHandler):
        subHandlers = {"math": MathMethods()}

        @signature(["int", "int", "int"])
        def xmlrpc_add(self, a, b):
            "Add two integers."
            return a + b

    reactor.listenTCP(8888, Router([(r"/RPC2", RPC)]), interface="127.0.0.1")
    reactor.run()

From Python's standard library::

    >>> import xmlrpc.client
    >>> xmlrpc.client.ServerProxy("http://127.0.0.1:8888/RPC2").math.mul(6, 7)
    42

From Twisted, without blocking the reactor, use Twisted's own
``twisted.web.xmlrpc.Proxy`` or :class:`XmlRpcProxy` (same ``callRemote`` API,
built on ``Agent``)::

    from twisted.web.xmlrpc import Proxy
    Proxy(b"http://127.0.0.1:8888/RPC2").callRemote("add", 1, 2).addCallback(print)  # 3

    from cyclone.xmlrpc import XmlRpcProxy
    XmlRpcProxy("http://127.0.0.1:8888/RPC2").callRemote("math.mul", 6, 7).addCallback(print)

Protocol notes (http://xmlrpc.com/spec.md):

- Methods are attributes named ``xmlrpc_<name>``. A dotted name such as
  ``math.mul`` is looked up on the sub-handler registered for ``math`` (a class
  attribute ``subHandlers`` mapping, or ``putSubHandler`` in ``initialize``),
  as ``twisted.web.xmlrpc.XMLRPC`` does; sub-handlers may nest.
- Methods may return a value, a ``Deferred``, or be ``async def``.
- A raised ``xmlrpc.client.Fault`` reaches the client unchanged. An unknown
  method is fault ``8001`` (NOT_FOUND, as in Twisted); wrong arguments, a body
  that is not an XML-RPC call and a result that cannot be marshalled are fault
  ``8002`` (FAILURE). Any other exception is logged here and answered with fault
  8002 "internal error": no traceback or exception text reaches the client.
- ``system.listMethods``, ``system.methodHelp``, ``system.methodSignature``
  (the XML-RPC introspection API; signatures come from the :func:`signature`
  decorator) and ``system.multicall`` are built in; turn them off with
  ``introspection = False`` / ``multicall = False``.
- The parser refuses any document with a DOCTYPE, so no entity can be declared:
  no external entities (XXE) and no entity expansion bombs ("billion laughs").
- Hostile values are refused with a FAILURE fault before any method runs: arrays
  and structs nested deeper than ``max_nesting_depth`` (64 by default, as in
  XML-RPC for C/C++; the setting ``rpc_max_nesting_depth``), and integers outside
  their type's range (``<i4>``/``<int>`` 32 bits, ``<i8>`` 64 bits, ``<i1>``/``<i2>``
  8/16 bits, ``<biginteger>`` 4300 digits), checked on the text before converting
  it, so a megabyte of digits costs nothing.
- ``system.multicall`` runs at most ``max_batch_size`` calls (1000 by default, the
  setting ``rpc_max_batch_size``; more is a FAILURE fault and runs nothing), and
  yields to the reactor every ``BATCH_SLICE`` calls.
- Request bodies above ``max_body_size`` bytes (class attribute, default 1 MiB,
  or the application setting ``rpc_max_body_size``) are answered with HTTP 413
  before they are parsed: every HTTP client reports the status
  (``xmlrpc.client`` raises ``ProtocolError`` with ``errcode == 413``), and
  refusing at the HTTP level lets the server stop reading early.
- Only POST is allowed (anything else is 405).
"""

from __future__ import annotations

import inspect
import xmlrpc.client
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar, TypeVar
from xml.parsers import expat

from twisted.internet import defer, task
from twisted.logger import Logger

from cyclone._rpcclient import DEFAULT_MAX_RESPONSE_SIZE, RPCClient
from cyclone.coroutines import maybe_deferred
from cyclone.handler import HTTPError, RequestHandler

__all__ = [
    "BATCH_SLICE",
    "DEFAULT_MAX_BATCH_SIZE",
    "DEFAULT_MAX_NESTING_DEPTH",
    "FAILURE",
    "NOT_FOUND",
    "Fault",
    "XmlRpcProxy",
    "XmlrpcDispatcher",
    "XmlrpcRequestHandler",
    "parse_call",
    "parse_response",
    "signature",
]

Fault = xmlrpc.client.Fault

NOT_FOUND = 8001
"""Fault code for an unknown method or sub-handler (the code Twisted uses)."""
FAILURE = 8002
"""Fault code for bad input, bad arguments, unmarshallable results and internal errors."""

DEFAULT_MAX_BODY_SIZE = 1024 * 1024
"""Default request body limit: XML-RPC calls are small; 1 MiB leaves room for base64 blobs."""

DEFAULT_MAX_BATCH_SIZE = 1000
"""Default cap on the calls of one ``system.multicall`` (as JSON-RPC's batch cap)."""

BATCH_SLICE = 100
"""``system.multicall`` yields to the reactor after this many calls."""

DEFAULT_MAX_NESTING_DEPTH = 64
"""Arrays and structs nested deeper than this are refused (XML-RPC for C/C++'s default).

1 MiB of ``<value><array><data>`` nests 50,000 deep: harmless to parse, but every
recursive walk of the value (``repr``, marshalling the answer, ``copy.deepcopy``)
fails with RecursionError far below that.
"""

#: Digits a ``<biginteger>`` (an Apache extension) may have: CPython's default limit on
#: int/str conversion (sys.int_info.default_max_str_digits), whose cost grows with the
#: square of the length, enforced here even where an application lifted it.
_MAX_BIGINTEGER_DIGITS = 4300

#: The range of each integer type (the spec's ``<i4>``/``<int>`` is 32-bit; ``<i8>``,
#: ``<i1>`` and ``<i2>`` are the Apache extensions xmlrpc.client also reads).
_INTEGER_BITS = {"i1": 8, "i2": 16, "i4": 32, "int": 32, "i8": 64}

_log = Logger()

_F = TypeVar("_F", bound=Callable[..., Any])


def signature(*signatures: list[str]) -> Callable[[_F], _F]:
    """Declare a method's XML-RPC signatures for ``system.methodSignature``.

    Each signature is a list of XML-RPC type names, the return type first, then
    one per parameter: ``@signature(["int", "int", "int"], ["double", "double", "double"])``.
    """
    for entry in signatures:
        if not isinstance(entry, (list, tuple)) or not all(isinstance(t, str) for t in entry):
            raise TypeError(f"an XML-RPC signature is a list of type names, got {entry!r}")

    def decorate(function: _F) -> _F:
        function.signature = [list(entry) for entry in signatures]  # type: ignore[attr-defined]
        return function

    return decorate


def parse_call(
    body: bytes,
    *,
    use_datetime: bool = False,
    use_builtin_types: bool = False,
    max_nesting_depth: int = DEFAULT_MAX_NESTING_DEPTH,
) -> tuple[str, tuple[Any, ...]]:
    """Parse an XML-RPC ``methodCall`` document into ``(method_name, params)``.

    Raises :class:`Fault` (FAILURE) for anything that is not a well-formed
    XML-RPC call, including any document with a DOCTYPE, values nested deeper
    than ``max_nesting_depth`` and integers out of their type's range (see `_unmarshal`).
    """
    try:
        params, method_name = _unmarshal(
            body,
            use_datetime=use_datetime,
            use_builtin_types=use_builtin_types,
            max_nesting_depth=max_nesting_depth,
        )
    except Fault:
        raise Fault(FAILURE, "can't deserialize input: a methodCall can't carry a fault")
    except _MalformedXML as error:
        raise Fault(FAILURE, f"can't deserialize input: {error}")
    if not isinstance(method_name, str) or not method_name:
        raise Fault(FAILURE, "can't deserialize input: not an XML-RPC methodCall")
    return method_name, params


def parse_response(
    body: bytes,
    *,
    use_datetime: bool = False,
    use_builtin_types: bool = False,
    max_nesting_depth: int = DEFAULT_MAX_NESTING_DEPTH,
) -> Any:
    """Parse a ``methodResponse`` document into its value; a fault response raises :class:`Fault`.

    Anything else raises ``xmlrpc.client.ResponseError``, as the standard library does.
    """
    try:
        params, method_name = _unmarshal(
            body,
            use_datetime=use_datetime,
            use_builtin_types=use_builtin_types,
            max_nesting_depth=max_nesting_depth,
        )
    except _MalformedXML as error:
        raise xmlrpc.client.ResponseError(f"malformed XML-RPC response: {error}")
    if method_name is not None or len(params) != 1:
        raise xmlrpc.client.ResponseError("not an XML-RPC methodResponse holding one value")
    return params[0]


def _unmarshal(
    body: bytes, *, use_datetime: bool, use_builtin_types: bool, max_nesting_depth: int
) -> tuple[tuple[Any, ...], str | None]:
    """Parse an XML-RPC document into ``(params, method_name or None)``.

    Uses expat with the standard library's unmarshaller, but refuses a DOCTYPE
    (and with it every entity declaration), so neither external entities (XXE)
    nor entity expansion ("billion laughs") can be abused, and bounds nesting
    and integers (`_BoundedUnmarshaller`). A fault document raises :class:`Fault`;
    anything malformed raises `_MalformedXML`.
    """
    unmarshaller = _BoundedUnmarshaller(
        max_nesting_depth, use_datetime=use_datetime, use_builtin_types=use_builtin_types
    )
    parser = expat.ParserCreate(None, None)
    parser.buffer_text = True
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse_doctype
    parser.EntityDeclHandler = _refuse_entity
    parser.StartElementHandler = unmarshaller.start
    parser.EndElementHandler = unmarshaller.end
    parser.CharacterDataHandler = unmarshaller.data
    # None: expat already hands over str, which must not be decoded again (the stub says str).
    unmarshaller.xml(None, None)  # type: ignore[arg-type]
    try:
        parser.Parse(body, True)
        params = unmarshaller.close()
    except Fault:
        raise
    except (expat.ExpatError, xmlrpc.client.ResponseError, ValueError, TypeError) as error:
        raise _MalformedXML(str(error) or type(error).__name__)
    except Exception as error:
        # The unmarshaller signals malformed XML-RPC structures with KeyError,
        # IndexError and friends; none of them must turn into a traceback.
        raise _MalformedXML(f"malformed XML-RPC ({type(error).__name__})")
    return tuple(params), unmarshaller.getmethodname()


class _MalformedXML(ValueError):
    """The document is not well-formed XML-RPC."""


class _BoundedUnmarshaller(xmlrpc.client.Unmarshaller):
    """The standard library's unmarshaller, refusing what only an attacker sends.

    Nesting deeper than ``max_nesting_depth`` arrays/structs, and integers out of
    their XML-RPC type's range, raise ValueError (a FAILURE fault for the caller).
    Integer text is length-checked before ``int()``: converting a decimal string
    costs time that grows faster than its length (quadratically before Python 3.12).
    """

    def __init__(self, max_nesting_depth: int, **options: Any) -> None:
        super().__init__(**options)
        self.max_nesting_depth = max_nesting_depth

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        super().start(tag, attrs)
        if len(self._marks) > self.max_nesting_depth:
            raise ValueError(f"values nested deeper than {self.max_nesting_depth} levels")

    def end(self, tag: str) -> None:
        name = tag.rpartition(":")[2]
        if name in _INTEGER_BITS or name == "biginteger":
            data = "".join(self._data).strip()
            self.append(_parse_integer(name, data))
            self._value = False
            return
        super().end(tag)


def _parse_integer(tag: str, text: str) -> int:
    """An XML-RPC integer: optional sign and decimal digits, within ``tag``'s range."""
    digits = text[1:] if text[:1] in ("+", "-") else text
    bits = _INTEGER_BITS.get(tag)
    most_digits = _MAX_BIGINTEGER_DIGITS if bits is None else len(str(1 << bits))
    if not digits.isascii() or not digits.isdigit():
        raise ValueError(f"<{tag}> is not an integer: {text[:40]!r}")
    if len(digits.lstrip("0")) > most_digits:
        raise ValueError(f"<{tag}> of {len(digits)} digits is out of range")
    value = int(text)
    if bits is not None and not -(1 << (bits - 1)) <= value < 1 << (bits - 1):
        raise ValueError(f"<{tag}> {value} is out of the {bits}-bit range")
    return value


class _ForbiddenXML(ValueError):
    """A construct this parser refuses (DOCTYPE, entity declarations)."""


def _refuse_doctype(name: str, *_: Any) -> None:
    raise _ForbiddenXML(f"DOCTYPE {name!r} is not allowed in XML-RPC")


def _refuse_entity(name: str, *_: Any) -> None:
    raise _ForbiddenXML(f"entity declaration {name!r} is not allowed in XML-RPC")


def _subhandler(owner: Any, prefix: str) -> Any | None:
    """Return the sub-handler ``owner`` registers for ``prefix``, or None."""
    getter = getattr(owner, "getSubHandler", None)
    if callable(getter):
        return getter(prefix)
    mapping = getattr(owner, "subHandlers", None)
    if isinstance(mapping, Mapping):
        return mapping.get(prefix)
    return None


def _subhandler_prefixes(owner: Any) -> list[str]:
    lister = getattr(owner, "getSubHandlerPrefixes", None)
    if callable(lister):
        return list(lister())
    mapping = getattr(owner, "subHandlers", None)
    if isinstance(mapping, Mapping):
        return list(mapping)
    return []


class XmlrpcDispatcher:
    """Turns an XML-RPC request body into a response body; no sockets involved.

    ``target`` is the object whose ``xmlrpc_*`` methods are exposed (the request
    handler itself, or any object). ``dispatch(body)`` returns a Deferred firing
    with the ``methodResponse`` document as bytes; it never fails.
    """

    prefix = "xmlrpc_"

    def __init__(
        self,
        target: Any,
        *,
        allow_none: bool = False,
        use_datetime: bool = False,
        separator: str = ".",
        introspection: bool = True,
        multicall: bool = True,
        encoding: str | None = None,
        max_batch_size: int | None = DEFAULT_MAX_BATCH_SIZE,
        max_nesting_depth: int = DEFAULT_MAX_NESTING_DEPTH,
        clock: Any = None,
    ) -> None:
        self.target = target
        self.max_batch_size = max_batch_size
        self.max_nesting_depth = max_nesting_depth
        self.clock = clock
        self.allow_none = allow_none
        self.use_datetime = use_datetime
        self.separator = separator
        self.introspection = introspection
        self.multicall = multicall
        self.encoding = encoding
        self._system = _SystemMethods(self)

    def dispatch(self, body: bytes) -> defer.Deferred[bytes]:
        """Parse ``body``, call the method and marshal its result or fault."""
        return defer.ensureDeferred(self._dispatch(body))

    async def _dispatch(self, body: bytes) -> bytes:
        try:
            method_name, params = parse_call(
                body, use_datetime=self.use_datetime, max_nesting_depth=self.max_nesting_depth
            )
        except Fault as fault:
            return self.build_response(fault)
        result = await self.call(method_name, params)
        return self.build_response(result)

    async def call(self, method_name: str, params: Iterable[Any]) -> Any:
        """Call ``method_name``; return its result, or the :class:`Fault` it caused."""
        params = tuple(params)
        try:
            function = self.lookup(method_name)
            _check_arguments(function, method_name, params)
            return await maybe_deferred(function, *params)
        except Fault as fault:
            return fault
        except Exception:
            _log.failure("XML-RPC method {method!r} raised", method=method_name)
            return Fault(FAILURE, "internal error")

    def lookup(self, method_name: str) -> Callable[..., Any]:
        """Resolve a (possibly dotted) method name to a callable, or raise a NOT_FOUND fault."""
        owner = self.target
        path = method_name
        while self.separator in path:
            prefix, path = path.split(self.separator, 1)
            handler = _subhandler(owner, prefix)
            if handler is None and owner is self.target and prefix == "system":
                handler = self._system
            if handler is None:
                raise Fault(NOT_FOUND, f"no such sub-handler {prefix!r} (method {method_name!r})")
            owner = handler
        function = getattr(owner, self.prefix + path, None) if path else None
        if function is None or not callable(function):
            raise Fault(NOT_FOUND, f"method {method_name!r} not found")
        if owner is self._system and not self._system.enabled(path):
            raise Fault(NOT_FOUND, f"method {method_name!r} not found")
        return function

    def list_methods(self) -> list[str]:
        """Every callable method name reachable from the target, dotted, sorted."""
        names: set[str] = set()
        self._collect(self.target, "", names, seen=set())
        if _subhandler(self.target, "system") is None:
            names.update(f"system.{name}" for name in self._system.names())
        return sorted(names)

    def _collect(self, owner: Any, prefix: str, names: set[str], seen: set[int]) -> None:
        if id(owner) in seen:
            return
        seen.add(id(owner))
        for attribute in dir(owner):
            if attribute.startswith(self.prefix) and callable(getattr(owner, attribute, None)):
                names.add(prefix + attribute[len(self.prefix) :])
        for sub_prefix in _subhandler_prefixes(owner):
            handler = _subhandler(owner, sub_prefix)
            if handler is not None:
                self._collect(handler, prefix + sub_prefix + self.separator, names, seen)

    def build_response(self, result: Any) -> bytes:
        """Marshal a result or a :class:`Fault` into a ``methodResponse`` document."""
        payload: Any = result if isinstance(result, Fault) else (result,)
        try:
            text = xmlrpc.client.dumps(
                payload, methodresponse=True, allow_none=self.allow_none, encoding=self.encoding
            )
        except Exception as error:
            _log.warn(
                "XML-RPC result {result!r} can't be marshalled: {error}",
                result=result,
                error=error,
            )
            text = xmlrpc.client.dumps(
                Fault(FAILURE, f"can't serialize output: {error}"),
                methodresponse=True,
                encoding=self.encoding,
            )
        return text.encode(self.encoding or "utf-8", "xmlcharrefreplace")

    def marshallable(self, value: Any) -> Fault | None:
        """Return a fault if ``value`` can't be sent as an XML-RPC value, else None."""
        try:
            xmlrpc.client.dumps((value,), allow_none=self.allow_none)
        except Exception as error:
            return Fault(FAILURE, f"can't serialize output: {error}")
        return None


def _check_arguments(
    function: Callable[..., Any], method_name: str, params: tuple[Any, ...]
) -> None:
    """Raise a FAILURE fault when ``params`` don't fit ``function``'s signature."""
    try:
        bound = inspect.signature(function)
    except (TypeError, ValueError):
        return
    try:
        bound.bind(*params)
    except TypeError as error:
        raise Fault(FAILURE, f"invalid parameters for {method_name!r}: {error}")


class _SystemMethods:
    """The ``system.*`` introspection and multicall methods of one dispatcher."""

    _introspection = ("listMethods", "methodHelp", "methodSignature")

    def __init__(self, dispatcher: XmlrpcDispatcher) -> None:
        self._dispatcher = dispatcher

    def enabled(self, name: str) -> bool:
        return name in self.names()

    def names(self) -> list[str]:
        names = list(self._introspection) if self._dispatcher.introspection else []
        if self._dispatcher.multicall:
            names.append("multicall")
        return names

    @signature(["array"])
    def xmlrpc_listMethods(self) -> list[str]:
        """Return the names of every method this server exposes."""
        return self._dispatcher.list_methods()

    @signature(["string", "string"])
    def xmlrpc_methodHelp(self, method_name: str) -> str:
        """Return the documentation string of a method ("" when it has none)."""
        function = self._dispatcher.lookup(method_name)
        return inspect.getdoc(function) or ""

    @signature(["array", "string"], ["string", "string"])
    def xmlrpc_methodSignature(self, method_name: str) -> list[list[str]] | str:
        """Return a method's signatures (lists of type names) or "undef" when none is declared."""
        function = self._dispatcher.lookup(method_name)
        declared = getattr(function, "signature", None)
        if not declared:
            return "undef"
        return [list(entry) for entry in declared]

    @signature(["array", "array"])
    async def xmlrpc_multicall(self, calls: list[Any]) -> list[Any]:
        """Run several calls in one request, in order (the de-facto ``system.multicall``).

        Each call is a struct ``{"methodName": ..., "params": [...]}``; each answer is
        a one-element array holding the result, or a fault struct.
        """
        if not isinstance(calls, list):
            raise Fault(FAILURE, "system.multicall expects an array of call structs")
        dispatcher = self._dispatcher
        limit = dispatcher.max_batch_size
        if limit is not None and len(calls) > limit:
            raise Fault(
                FAILURE, f"system.multicall of {len(calls)} calls exceeds the limit of {limit}"
            )
        answers: list[Any] = []
        for index, call in enumerate(calls):
            if index and not index % BATCH_SLICE:
                await _next_turn(dispatcher.clock)
            if not isinstance(call, dict):
                outcome: Any = Fault(FAILURE, f"multicall entry is not a struct: {call!r}")
            else:
                method_name = call.get("methodName")
                params = call.get("params", [])
                if not isinstance(method_name, str) or not isinstance(params, (list, tuple)):
                    outcome = Fault(
                        FAILURE, "multicall entry needs a methodName string and a params array"
                    )
                elif method_name == "system.multicall":
                    outcome = Fault(FAILURE, "system.multicall can't be nested")
                else:
                    outcome = await dispatcher.call(method_name, params)
                    if not isinstance(outcome, Fault):
                        outcome = dispatcher.marshallable(outcome) or outcome
            if isinstance(outcome, Fault):
                answers.append(
                    {"faultCode": outcome.faultCode, "faultString": outcome.faultString}
                )
            else:
                answers.append([outcome])
        return answers


def _next_turn(clock: Any) -> defer.Deferred[None]:
    """A Deferred that fires on a later reactor turn, after pending I/O was handled."""
    if clock is None:
        from twisted.internet import reactor

        clock = reactor
    return task.deferLater(clock, 0)


class XmlRpcProxy(RPCClient):
    """An asynchronous XML-RPC client over ``twisted.web.client.Agent``.

    ``XmlRpcProxy(url).callRemote("math.mul", 6, 7)`` returns a Deferred firing
    with the result; a fault response fails it with :class:`Fault`, a non-2xx
    status with ``twisted.web.error.Error``, a malformed answer with
    ``xmlrpc.client.ResponseError``. Same call API as
    ``twisted.web.xmlrpc.Proxy``, which still works but runs on Twisted's
    deprecated ``HTTPClient``; this one also bounds the answer's size
    (``max_response_size``) and parses it with the DOCTYPE-refusing parser.
    """

    content_type = b"text/xml"

    def __init__(
        self,
        url: str | bytes,
        *,
        allowNone: bool = False,
        useDateTime: bool = False,
        agent: Any = None,
        reactor: Any = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        max_response_size: int = DEFAULT_MAX_RESPONSE_SIZE,
    ) -> None:
        super().__init__(
            url,
            agent=agent,
            reactor=reactor,
            headers=headers,
            timeout=timeout,
            max_response_size=max_response_size,
        )
        self.allowNone = allowNone
        self.useDateTime = useDateTime

    def callRemote(self, method: str, *args: Any) -> defer.Deferred[Any]:
        """Call ``method`` (dotted names reach sub-handlers); the Deferred fires with the result."""
        body = xmlrpc.client.dumps(args, method, allow_none=self.allowNone).encode("utf-8")
        return self._start(self._call(body))

    async def _call(self, body: bytes) -> Any:
        _, content = await self._post(body)
        return parse_response(content, use_datetime=self.useDateTime)


class XmlrpcRequestHandler(RequestHandler):
    """Subclass and define ``xmlrpc_<name>`` methods to serve them over XML-RPC.

    Class attributes: ``allowNone`` (send ``None`` as ``<nil/>``), ``useDateTime``
    (hand methods ``datetime`` objects), ``separator`` (between sub-handler
    prefixes and names), ``introspection`` and ``multicall`` (the ``system.*``
    methods), ``subHandlers`` (prefix → object with ``xmlrpc_*`` methods),
    ``max_body_size`` (bytes), ``max_batch_size`` (calls in a ``system.multicall``)
    and ``max_nesting_depth`` (arrays/structs); the application settings
    ``rpc_max_body_size``, ``rpc_max_batch_size`` and ``rpc_max_nesting_depth``
    override the last three.
    """

    SUPPORTED_METHODS = ("POST",)
    no_xsrf = True

    FAILURE = FAILURE
    NOT_FOUND = NOT_FOUND
    separator = "."
    allowNone = False
    useDateTime = False
    introspection = True
    multicall = True
    max_body_size = DEFAULT_MAX_BODY_SIZE
    max_batch_size: int | None = DEFAULT_MAX_BATCH_SIZE
    max_nesting_depth = DEFAULT_MAX_NESTING_DEPTH
    subHandlers: ClassVar[Mapping[str, Any]] = {}

    def putSubHandler(self, prefix: str, handler: Any) -> None:
        """Serve ``handler``'s ``xmlrpc_*`` methods as ``<prefix><separator><name>``.

        Registration is per handler instance (call it in ``initialize``); the
        class-level ``subHandlers`` mapping is left untouched.
        """
        if "_sub_handlers" not in self.__dict__:
            self._sub_handlers = dict(self.subHandlers)
        self._sub_handlers[prefix] = handler

    def getSubHandler(self, prefix: str) -> Any | None:
        """The sub-handler registered for ``prefix``, or None."""
        return self.__dict__.get("_sub_handlers", self.subHandlers).get(prefix)

    def getSubHandlerPrefixes(self) -> list[str]:
        """Every registered sub-handler prefix."""
        return list(self.__dict__.get("_sub_handlers", self.subHandlers))

    async def post(self, *args: str, **kwargs: str) -> None:
        """Answer one XML-RPC call; path arguments of the route are ignored."""
        limit = self.settings.get("rpc_max_body_size", self.max_body_size)
        body = self.request.body or b""
        if len(body) > limit:
            raise HTTPError(413, "XML-RPC body of %d bytes exceeds %d", len(body), limit)
        dispatcher = XmlrpcDispatcher(
            self,
            allow_none=self.allowNone,
            use_datetime=self.useDateTime,
            separator=self.separator,
            introspection=self.introspection,
            multicall=self.multicall,
            max_batch_size=self.settings.get("rpc_max_batch_size", self.max_batch_size),
            max_nesting_depth=self.settings.get("rpc_max_nesting_depth", self.max_nesting_depth),
        )
        response = await dispatcher.dispatch(body)
        self.set_header("Content-Type", "text/xml; charset=utf-8")
        self.finish(response)
