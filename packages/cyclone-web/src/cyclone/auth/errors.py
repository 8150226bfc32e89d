"""`AuthError`: why a third-party sign-in failed, answered as an HTTP error if not caught."""

from __future__ import annotations

from typing import Any

from cyclone.handler import HTTPError

__all__ = ["AuthError", "status_for_provider_error"]

#: OAuth error codes caused by what the user or browser brought back (answered 403);
#: any other provider error is the provider's or our configuration's fault (502).
_USER_ERRORS = frozenset(
    {
        "access_denied",
        "invalid_grant",
        "invalid_scope",
        "login_required",
        "consent_required",
        "interaction_required",
        "account_selection_required",
        "bad_verification_code",  # GitHub's spelling of invalid_grant
    }
)


def status_for_provider_error(error: str) -> int:
    """403 for an OAuth ``error`` the user caused (denial, bad code), 502 for any other."""
    return 403 if error in _USER_ERRORS else 502


class AuthError(HTTPError):
    """A sign-in was refused or failed: denial, bad state, invalid token, provider failure.

    ``error`` and ``description`` carry the provider's own ``error`` and
    ``error_description`` (RFC 6749 §4.1.2.1, §5.2) when it sent them.
    ``status_code`` is what the handler answers if the error is not caught:
    403 for what the browser brought back (denied consent, state mismatch,
    a refused code or ID token), 502 when the provider could not be reached
    or answered nonsense. The message never contains a token or secret.

    Tornado and cyclone 1.x code that raises ``AuthError("message")`` or
    catches ``AuthError`` keeps working; it is an `HTTPError` here so an
    uncaught one becomes a 403/502 page and a log line instead of a 500
    with a traceback.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int = 403,
        error: str | None = None,
        description: str | None = None,
        response: Any = None,
    ) -> None:
        super().__init__(status_code, message)
        self.message = message
        self.error = error
        self.description = description
        #: The provider's `cyclone.httpclient.HTTPResponse`, when there was one.
        self.response = response

    def __str__(self) -> str:
        return self.message
