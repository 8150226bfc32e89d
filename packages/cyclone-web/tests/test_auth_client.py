"""Decoding provider answers into results or AuthErrors that name the provider's message."""

from __future__ import annotations

import pytest

from cyclone.auth import AuthError
from cyclone.auth.client import decode_json, decode_token_response, redact_url
from cyclone.httpclient import HTTPResponse
from cyclone.httputil import HTTPHeaders

URL = "https://provider.example/token?client_secret=hidden"


def response(code: int, body: bytes, content_type: str = "application/json") -> HTTPResponse:
    headers = HTTPHeaders()
    headers["Content-Type"] = content_type
    return HTTPResponse(code, "Reason", headers, body, URL, URL)


def test_token_response_json_and_form_encoded() -> None:
    assert decode_token_response(response(200, b'{"access_token": "a", "expires_in": 60}')) == {
        "access_token": "a",
        "expires_in": 60,
    }
    form = response(200, b"access_token=a&scope=user", "application/x-www-form-urlencoded")
    assert decode_token_response(form) == {"access_token": "a", "scope": "user"}


def test_error_member_is_an_error_even_with_200_as_github_sends_it() -> None:
    body = b'{"error": "bad_verification_code", "error_description": "The code is incorrect."}'
    with pytest.raises(AuthError) as raised:
        decode_token_response(response(200, body))
    error = raised.value
    assert (error.status_code, error.error) == (403, "bad_verification_code")
    assert str(error) == (
        "the token request was refused by the provider: bad_verification_code "
        "(The code is incorrect.)"
    )


@pytest.mark.parametrize(
    ("answer", "status", "message"),
    [
        (response(400, b'{"error": "invalid_client"}'), 502, "invalid_client"),
        (response(500, b"<html>oops</html>", "text/html"), 502, "HTTP 500 Reason from"),
        (response(200, b'{"token_type": "bearer"}'), 502, "no access_token"),
        (response(200, b"[]"), 502, "HTTP 200"),
    ],
)
def test_failures_are_auth_errors_without_the_query(answer, status, message) -> None:
    with pytest.raises(AuthError) as raised:
        decode_token_response(answer)
    assert raised.value.status_code == status and message in str(raised.value)
    assert "hidden" not in str(raised.value)


def test_documents_must_be_json_objects() -> None:
    assert decode_json(response(200, b'{"keys": []}'), "the JWK Set") == {"keys": []}
    with pytest.raises(AuthError, match=r"the JWK Set failed: HTTP 200 .* \(not a JSON object\)"):
        decode_json(response(200, b"keys"), "the JWK Set")
    with pytest.raises(AuthError, match="invalid_token"):
        decode_json(response(401, b'{"error": "invalid_token"}'), "the UserInfo request")


def test_redact_url_drops_query_and_fragment() -> None:
    assert redact_url("https://h.example:8443/p/a?code=1#x") == "https://h.example:8443/p/a"
