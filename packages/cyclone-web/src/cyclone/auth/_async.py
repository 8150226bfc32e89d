"""Let the mixins be written as coroutines and still return Deferreds."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

from twisted.internet import defer

_P = ParamSpec("_P")
_T = TypeVar("_T")


def returns_deferred(
    function: Callable[_P, Coroutine[Any, Any, _T]],
) -> Callable[_P, defer.Deferred[_T]]:
    """Run the coroutine function with ``ensureDeferred``.

    The result works with ``await``, ``yield`` in ``inlineCallbacks`` and
    ``addCallback``; errors raised before the first ``await`` still arrive
    through the Deferred.
    """

    @functools.wraps(function)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> defer.Deferred[_T]:
        return defer.ensureDeferred(function(*args, **kwargs))

    return wrapper


async def resolve(value: Any) -> Any:
    """The value of a hook that may return a plain value, a Deferred or a coroutine."""
    while isinstance(value, defer.Deferred) or inspect.isawaitable(value):
        value = await value
    return value
