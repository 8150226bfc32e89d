"""A real OAuth 2.0 / OpenID Connect and OAuth 1.0a provider on loopback, for tests and demos.

    provider = OAuthProvider().start()          # http://127.0.0.1:<port>, in a thread
    provider.add_client("cyclone-app", "s3cret", ["http://127.0.0.1:8888/auth"])
    ...
    provider.stop()

    python oauth_provider.py --port 9000 --client-id cyclone-app \\
        --client-secret s3cret --redirect-uri http://127.0.0.1:8888/auth

The protocol work is done by maintained provider libraries, not by this
file: Authlib's authorization server (authorization code grant, PKCE
required, OpenID Connect ID tokens signed with RS256, UserInfo, bearer-token
resource protection; PKCE required of every client) and oauthlib's OAuth 1.0a endpoints (request token,
authorization, access token, signed resource requests; HMAC-SHA1 signatures
checked by oauthlib). This module only stores clients, codes and tokens in
dicts, draws a consent page, and publishes the discovery document and JWK
Set. A few attributes make the provider misbehave on purpose, through
Authlib's own hooks, so clients can be tested against bad ID tokens:
``id_token_audience``, ``id_token_lifetime``, ``id_token_issued_offset``,
``id_token_nonce`` and ``sign_with_unpublished_key``.

Users sign in on the consent page by name (``alice`` or ``bob``) and press
Allow or Deny. Needs Flask, Authlib and oauthlib (see requirements.txt).
"""

from __future__ import annotations

import argparse
import hmac
import html
import io
import logging
import secrets
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import ClientMixin, InvalidRequestError, TokenMixin
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from authlib.oidc.core.models import AuthorizationCodeMixin
from flask import Flask, Response, jsonify, request
from joserfc.jwk import KeySet, RSAKey
from oauthlib.oauth1 import RequestValidator, WebApplicationServer
from oauthlib.oauth1.rfc5849.errors import OAuth1Error
from werkzeug.serving import make_server

USERS = {
    "alice": {
        "sub": "248289761001",
        "name": "Alice Liddell",
        "email": "alice@example.org",
        "login": "alice",
        "id": 1001,
    },
    "bob": {
        "sub": "248289761002",
        "name": "Bob",
        "email": "bob@example.org",
        "login": "bob",
        "id": 1002,
    },
}
SCOPES = {"openid", "profile", "email", "read:user", "user:email"}


@dataclass
class Client(ClientMixin):
    client_id: str
    client_secret: str
    redirect_uris: list[str]

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uris[0]

    def get_allowed_scope(self, scope: str) -> str:
        return " ".join(s for s in (scope or "").split() if s in SCOPES)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return hmac.compare_digest(client_secret.encode(), self.client_secret.encode())

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in ("client_secret_post", "client_secret_basic")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass
class Code(AuthorizationCodeMixin):
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    user: dict[str, Any]
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int = field(default_factory=lambda: int(time.time()))

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> None:
        return None


@dataclass
class Token(TokenMixin):
    client: Client
    user: dict[str, Any]
    scope: str
    issued_at: float
    expires_in: int

    def check_client(self, client: Any) -> bool:
        return client.get_client_id() == self.client.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return self.expires_in

    def is_expired(self) -> bool:
        return time.time() > self.issued_at + self.expires_in

    def is_revoked(self) -> bool:
        return False

    def get_user(self) -> dict[str, Any]:
        return self.user

    def get_client(self) -> Client:
        return self.client


class _CodeGrant(AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]
    provider: OAuthProvider

    def save_authorization_code(self, code: str, request: Any) -> None:
        data = request.payload.data
        self.provider.codes[code] = Code(
            code=code,
            client_id=request.client.get_client_id(),
            redirect_uri=request.payload.redirect_uri,
            scope=request.payload.scope,
            user=request.user,
            nonce=data.get("nonce"),
            code_challenge=data.get("code_challenge"),
            code_challenge_method=data.get("code_challenge_method"),
        )

    def query_authorization_code(self, code: str, client: Client) -> Code | None:
        item = self.provider.codes.get(code)
        return item if item is not None and item.client_id == client.client_id else None

    def delete_authorization_code(self, authorization_code: Code) -> None:
        self.provider.codes.pop(authorization_code.code, None)

    def authenticate_user(self, authorization_code: Code) -> dict[str, Any]:
        return authorization_code.user


class _PKCERequired(CodeChallenge):
    """PKCE for every client, confidential ones too (RFC 9700 §2.1.1; Authlib asks it of public ones)."""

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        if not grant.request.payload.data.get("code_challenge"):
            raise InvalidRequestError("Missing 'code_challenge'", redirect_uri=redirect_uri)
        super().validate_code_challenge(grant, redirect_uri)


class _OpenIDCode(OpenIDCode):
    """ID tokens as Authlib makes them; the provider's knobs go through Authlib's hooks."""

    def __init__(self, provider: OAuthProvider) -> None:
        super().__init__(require_nonce=False)
        self.provider = provider

    def exists_nonce(self, nonce: str, request: Any) -> bool:
        return any(code.nonce == nonce for code in self.provider.codes.values())

    def resolve_client_private_key(self, client: Client) -> RSAKey:
        if self.provider.sign_with_unpublished_key:
            return self.provider.unpublished_key
        return self.provider.signing_key

    def get_client_algorithm(self, client: Client) -> str:
        return "RS256"

    def get_encode_header(self, client: Client) -> dict[str, str]:
        return {"alg": "RS256", "kid": self.provider.signing_key.kid}

    def get_client_claims(self, client: Client) -> dict[str, Any]:
        now = int(time.time())
        provider = self.provider
        return {
            "iss": provider.issuer,
            "aud": provider.id_token_audience or [client.get_client_id()],
            "iat": now + provider.id_token_issued_offset,
            "exp": now + provider.id_token_lifetime,
        }

    def get_authorization_code_claims(self, authorization_code: Code) -> dict[str, Any]:
        claims = super().get_authorization_code_claims(authorization_code)
        if self.provider.id_token_nonce is not None:
            claims["nonce"] = self.provider.id_token_nonce
        return claims

    def generate_user_info(self, user: dict[str, Any], scope: str) -> UserInfo:
        return _user_info(user, scope)


def _user_info(user: dict[str, Any], scope: str) -> UserInfo:
    info = UserInfo(sub=user["sub"])
    scopes = scope.split()
    if "profile" in scopes:
        info["name"] = user["name"]
        info["preferred_username"] = user["login"]
    if "email" in scopes:
        info["email"] = user["email"]
        info["email_verified"] = True
    return info


class _OAuth1Validator(RequestValidator):
    """oauthlib's questions about OAuth 1.0a clients and tokens, answered from dicts."""

    enforce_ssl = False  # loopback only

    def __init__(self, provider: OAuthProvider) -> None:
        super().__init__()
        self.provider = provider
        self.nonces: set[tuple[str, str, str]] = set()

    @property
    def dummy_client(self) -> str:
        return "dummyclientkeydummyclient"

    @property
    def dummy_request_token(self) -> str:
        return "dummyrequesttokendummyrequest"

    @property
    def dummy_access_token(self) -> str:
        return "dummyaccesstokendummyaccesst"

    def validate_client_key(self, client_key: str, request: Any) -> bool:
        return client_key in self.provider.consumers

    def get_client_secret(self, client_key: str, request: Any) -> str:
        return self.provider.consumers.get(client_key, ("dummy", []))[0]

    def validate_timestamp_and_nonce(
        self, client_key, timestamp, nonce, request, request_token=None, access_token=None
    ) -> bool:
        key = (client_key, timestamp, nonce)
        if key in self.nonces:
            return False
        self.nonces.add(key)
        return True

    def validate_redirect_uri(self, client_key: str, redirect_uri: str, request: Any) -> bool:
        return redirect_uri in self.provider.consumers.get(client_key, ("", []))[1]

    def validate_requested_realms(self, client_key, realms, request) -> bool:
        return True

    def get_default_realms(self, client_key, request) -> list[str]:
        return []

    def save_request_token(self, token: dict[str, Any], request: Any) -> None:
        self.provider.request_tokens[token["oauth_token"]] = {
            "secret": token["oauth_token_secret"],
            "client_key": request.client_key,
            "callback": request.redirect_uri,
            "verifier": None,
            "user": None,
        }

    def verify_request_token(self, token: str, request: Any) -> bool:
        return token in self.provider.request_tokens

    def get_realms(self, token, request) -> list[str]:
        return []

    def get_redirect_uri(self, token: str, request: Any) -> str:
        return self.provider.request_tokens[token]["callback"]

    def save_verifier(self, token: str, verifier: dict[str, Any], request: Any) -> None:
        entry = self.provider.request_tokens[token]
        entry["verifier"] = verifier["oauth_verifier"]
        entry["user"] = verifier.get("user")

    def validate_request_token(self, client_key: str, token: str, request: Any) -> bool:
        entry = self.provider.request_tokens.get(token)
        return entry is not None and entry["client_key"] == client_key

    def get_request_token_secret(self, client_key: str, token: str, request: Any) -> str:
        entry = self.provider.request_tokens.get(token)
        return entry["secret"] if entry else "dummy"

    def validate_verifier(self, client_key, token, verifier, request) -> bool:
        entry = self.provider.request_tokens.get(token)
        if entry is None or entry["verifier"] is None:
            return False
        request.user = entry["user"]
        return hmac.compare_digest(entry["verifier"].encode(), verifier.encode())

    def validate_realms(self, client_key, token, request, uri=None, realms=None) -> bool:
        return True

    def invalidate_request_token(self, client_key, request_token, request) -> None:
        self.provider.request_tokens.pop(request_token, None)

    def save_access_token(self, token: dict[str, Any], request: Any) -> None:
        self.provider.access_tokens[token["oauth_token"]] = {
            "secret": token["oauth_token_secret"],
            "client_key": request.client_key,
            "user": request.user,
        }

    def validate_access_token(self, client_key: str, token: str, request: Any) -> bool:
        entry = self.provider.access_tokens.get(token)
        if entry is None or entry["client_key"] != client_key:
            return False
        request.user = entry["user"]
        return True

    def get_access_token_secret(self, client_key: str, token: str, request: Any) -> str:
        entry = self.provider.access_tokens.get(token)
        return entry["secret"] if entry else "dummy"


# The icon link keeps browsers from asking for /favicon.ico: its 404 would be a console
# error, which the examples' browser tests count as a failure.
_CONSENT_PAGE = """<!doctype html>
<html><head><title>Sign in to the test provider</title>
<link rel="icon" href="data:,"></head>
<body>
<h1>Sign in to the test provider</h1>
<p><b>{client}</b> asks for: {scope}</p>
<form method="post" action="{action}">
{hidden}
<label>User <input name="username" value="alice"></label>
<button name="decision" value="allow" type="submit">Allow</button>
<button name="decision" value="deny" type="submit">Deny</button>
</form>
</body></html>
"""


def _consent_page(action: str, client: str, scope: str, fields: dict[str, str]) -> str:
    hidden = "\n".join(
        f'<input type="hidden" name="{html.escape(name)}" value="{html.escape(value)}">'
        for name, value in fields.items()
        if name not in ("username", "decision")
    )
    return _CONSENT_PAGE.format(
        action=html.escape(action),
        client=html.escape(client),
        scope=html.escape(scope),
        hidden=hidden,
    )


class OAuthProvider:
    """The provider: a Flask app served by werkzeug on 127.0.0.1 in a background thread."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.clients: dict[str, Client] = {}
        self.codes: dict[str, Code] = {}
        self.tokens: dict[str, Token] = {}
        #: OAuth 1.0a consumers: key -> (secret, allowed callback URIs).
        self.consumers: dict[str, tuple[str, list[str]]] = {}
        self.request_tokens: dict[str, dict[str, Any]] = {}
        self.access_tokens: dict[str, dict[str, Any]] = {}
        self.signing_key = RSAKey.generate_key(
            2048, parameters={"kid": "test-key-1", "use": "sig"}
        )
        self.unpublished_key = RSAKey.generate_key(
            2048, parameters={"kid": "test-key-1", "use": "sig"}
        )
        self.reset()
        self.app = self._make_app()
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def reset(self) -> None:
        """Back to a well-behaved provider that has seen no authorization request."""
        #: Every authorization request's query, newest last (what the client sent).
        self.authorization_requests: list[dict[str, str]] = []
        self.id_token_audience: list[str] | None = None
        self.id_token_lifetime = 3600
        self.id_token_issued_offset = 0
        self.id_token_nonce: str | None = None
        self.sign_with_unpublished_key = False

    # -- set-up -------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def issuer(self) -> str:
        return self.url

    def add_client(self, client_id: str, client_secret: str, redirect_uris: list[str]) -> None:
        self.clients[client_id] = Client(client_id, client_secret, list(redirect_uris))

    def add_consumer(self, key: str, secret: str, callback_uris: list[str]) -> None:
        """An OAuth 1.0a consumer; oauthlib wants keys of 20 to 30 letters and digits."""
        self.consumers[key] = (secret, list(callback_uris))

    def start(self) -> OAuthProvider:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server = make_server(self.host, self.port, self.app, threaded=True)
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    # -- the application ----------------------------------------------------------

    def _save_token(self, token: dict[str, Any], request: Any) -> None:
        self.tokens[token["access_token"]] = Token(
            client=request.client,
            user=request.user,
            scope=token.get("scope", ""),
            issued_at=time.time(),
            expires_in=int(token.get("expires_in", 3600)),
        )

    def _make_app(self) -> Flask:
        app = Flask(__name__)
        server = AuthorizationServer(
            app, query_client=self.clients.get, save_token=self._save_token
        )
        grant = type("CodeGrant", (_CodeGrant,), {"provider": self})
        server.register_grant(grant, [_PKCERequired(required=True), _OpenIDCode(self)])
        provider = self

        class _BearerValidator(BearerTokenValidator):
            def authenticate_token(self, token_string: str) -> Token | None:
                return provider.tokens.get(token_string)

        protect = ResourceProtector()
        protect.register_token_validator(_BearerValidator())
        oauth1 = WebApplicationServer(_OAuth1Validator(self))

        @app.route("/.well-known/openid-configuration")
        def discovery() -> Response:
            return jsonify(
                issuer=self.issuer,
                authorization_endpoint=self.url + "/authorize",
                token_endpoint=self.url + "/token",
                userinfo_endpoint=self.url + "/userinfo",
                jwks_uri=self.url + "/jwks.json",
                response_types_supported=["code"],
                subject_types_supported=["public"],
                id_token_signing_alg_values_supported=["RS256"],
                code_challenge_methods_supported=["S256"],
                token_endpoint_auth_methods_supported=[
                    "client_secret_post",
                    "client_secret_basic",
                ],
                scopes_supported=sorted(SCOPES),
            )

        @app.route("/jwks.json")
        def jwks() -> Response:
            return jsonify(KeySet([self.signing_key]).as_dict(private=False))

        @app.route("/authorize", methods=["GET", "POST"])
        def authorize() -> Any:
            if request.method == "GET":
                self.authorization_requests.append(dict(request.args))
                try:
                    server.get_consent_grant(end_user=None)
                except OAuth2Error as error:
                    return server.handle_error_response(None, error)
                return _consent_page(
                    "/authorize",
                    request.args.get("client_id", ""),
                    request.args.get("scope", ""),
                    dict(request.args),
                )
            user = USERS.get(request.form.get("username", ""))
            granted = request.form.get("decision") == "allow" and user is not None
            try:
                grant = server.get_consent_grant(end_user=user if granted else None)
            except OAuth2Error as error:
                return server.handle_error_response(None, error)
            return server.create_authorization_response(
                grant_user=user if granted else None, grant=grant
            )

        @app.route("/token", methods=["POST"])
        def token() -> Any:
            return server.create_token_response()

        @app.route("/userinfo")
        @protect("openid")
        def userinfo() -> Response:
            from authlib.integrations.flask_oauth2 import current_token

            return jsonify(_user_info(current_token.user, current_token.scope))

        @app.route("/api/user")
        @protect()
        def api_user() -> Response:
            from authlib.integrations.flask_oauth2 import current_token

            user = current_token.user
            return jsonify(login=user["login"], id=user["id"], name=user["name"], email=None)

        @app.route("/api/user/emails")
        @protect("user:email")
        def api_user_emails() -> Response:
            from authlib.integrations.flask_oauth2 import current_token

            return jsonify(
                [
                    {"email": "old@example.org", "primary": False, "verified": True},
                    {"email": current_token.user["email"], "primary": True, "verified": True},
                ]
            )

        @app.route("/graph/oauth/access_token", methods=["GET"])
        def facebook_token() -> Any:
            # Facebook redeems codes with GET; hand the query to Authlib as a form POST.
            body = request.query_string
            environ = dict(request.environ)
            environ.update(
                REQUEST_METHOD="POST",
                QUERY_STRING="",
                CONTENT_TYPE="application/x-www-form-urlencoded",
                CONTENT_LENGTH=str(len(body)),
            )
            environ["wsgi.input"] = io.BytesIO(body)
            with app.request_context(environ):
                return server.create_token_response()

        @app.route("/graph/me")
        @protect()
        def facebook_me() -> Response:
            from authlib.integrations.flask_oauth2 import current_token

            user = current_token.user
            fields = request.args.get("fields", "id,name").split(",")
            proof = request.args.get("appsecret_proof", "")
            expected = hmac.new(
                current_token.client.client_secret.encode(),
                request.headers["Authorization"].split()[1].encode(),
                "sha256",
            ).hexdigest()
            if not hmac.compare_digest(proof, expected):
                return jsonify(error={"message": "Invalid appsecret_proof"}), 400
            known = {
                "id": str(user["id"]),
                "name": user["name"],
                "first_name": user["name"].split()[0],
            }
            return jsonify({name: known[name] for name in fields if name in known})

        def oauth1_response(result: tuple[dict[str, str], str, int]) -> Response:
            headers, body, status = result
            return Response(body or "", status=status, headers=headers)

        @app.route("/oauth1/request_token", methods=["POST"])
        def request_token() -> Response:
            return oauth1_response(
                oauth1.create_request_token_response(
                    request.url,
                    request.method,
                    request.get_data(as_text=True),
                    dict(request.headers),
                )
            )

        @app.route("/oauth1/authorize", methods=["GET", "POST"])
        def oauth1_authorize() -> Any:
            token = request.values.get("oauth_token", "")
            if request.method == "GET":
                try:
                    oauth1.get_realms_and_credentials(request.url)
                except OAuth1Error as error:
                    return Response(error.urlencoded, status=error.status_code)
                return _consent_page(
                    "/oauth1/authorize", "OAuth 1.0a consumer", "", {"oauth_token": token}
                )
            user = USERS.get(request.form.get("username", ""))
            if (
                request.form.get("decision") != "allow"
                or user is None
                or token not in self.request_tokens
            ):
                callback = self.request_tokens.get(token, {}).get("callback", "")
                if not callback:
                    return Response("unknown request token", status=400)
                separator = "&" if "?" in callback else "?"
                return Response(
                    status=302,
                    headers={
                        "Location": callback
                        + separator
                        + urllib.parse.urlencode({"denied": token})
                    },
                )
            try:
                return oauth1_response(
                    oauth1.create_authorization_response(
                        self.url
                        + "/oauth1/authorize?"
                        + urllib.parse.urlencode({"oauth_token": token}),
                        credentials={"user": user},
                    )
                )
            except OAuth1Error as error:
                return Response(error.urlencoded, status=error.status_code)

        @app.route("/oauth1/access_token", methods=["POST"])
        def access_token() -> Response:
            return oauth1_response(
                oauth1.create_access_token_response(
                    request.url,
                    request.method,
                    request.get_data(as_text=True),
                    dict(request.headers),
                )
            )

        @app.route("/1.1/account/verify_credentials.json", methods=["GET"])
        def verify_credentials() -> Any:
            valid, oauth_request = oauth1.validate_protected_resource_request(
                request.url, request.method, request.get_data(as_text=True), dict(request.headers)
            )
            if not valid:
                return jsonify(errors=[{"code": 89, "message": "Invalid or expired token."}]), 401
            user = oauth_request.user
            return jsonify(id=user["id"], screen_name=user["login"], name=user["name"])

        @app.route("/1.1/statuses/update.json", methods=["POST"])
        def statuses_update() -> Any:
            valid, oauth_request = oauth1.validate_protected_resource_request(
                request.url, request.method, request.get_data(as_text=True), dict(request.headers)
            )
            if not valid:
                return jsonify(errors=[{"code": 89, "message": "Invalid or expired token."}]), 401
            return jsonify(
                text=request.form.get("status"), user={"screen_name": oauth_request.user["login"]}
            )

        return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--client-id", default="cyclone-example")
    parser.add_argument("--client-secret", default=secrets.token_urlsafe(16))
    parser.add_argument("--redirect-uri", action="append", default=[])
    arguments = parser.parse_args(argv)
    provider = OAuthProvider(port=arguments.port).start()
    provider.add_client(arguments.client_id, arguments.client_secret, arguments.redirect_uri)
    print(f"client {arguments.client_id} secret {arguments.client_secret}", flush=True)
    print(f"OpenID Connect provider listening on {provider.url}/", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        provider.stop()


if __name__ == "__main__":
    main()
