"""The cyclone demo site: a page for every part of the framework.

    python examples/demo/app.py                   # http://127.0.0.1:8888/
    python examples/demo/app.py --port 9000 --interface 0.0.0.0
    python examples/demo/app.py --redis redis://127.0.0.1:6380/0   # or --redis '' for none
    DEMO_OIDC_CLIENT_SECRET=... python examples/demo/app.py \
        --oidc-issuer https://sso.example.org/realms/demo --oidc-client-id cyclone-demo

The pages live in the ``demosite`` package (one module per part, routes in
``demosite/__init__.py``), their templates in templates/, their CSS and
JavaScript in static/. "Sign in with OpenID Connect" (and GitHub) appear on the
sign-in page when a provider is configured with the options below or the
environment (README.md). Ctrl-C stops it cleanly: the port closes, open chat
sockets get a 1001 "Going Away" close and live feeds a last ``bye`` event.
"""

from __future__ import annotations

import argparse
import os
import sys

from twisted.internet import defer, reactor
from twisted.python import log

from cyclone.deploy import install_graceful_shutdown, on_shutdown

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)  # the demosite package sits beside this script

from demosite import make_app  # noqa: E402
from demosite.signin import IdentityProviders  # noqa: E402

DEFAULT_PORT = 8888
DEFAULT_INTERFACE = "127.0.0.1"
DEFAULT_REDIS = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
#: Seconds requests in flight get to finish after Ctrl-C.
SHUTDOWN_TIMEOUT = 5.0


def _environment(name: str) -> str | None:
    return os.environ.get(name) or None


def add_provider_options(parser: argparse.ArgumentParser) -> None:
    """The identity providers' options; each defaults to a ``DEMO_...`` variable."""
    group = parser.add_argument_group(
        "sign-in with an identity provider (none by default; secrets are better given in "
        "the environment, which other users cannot read in the process list)"
    )
    options = [
        ("--oidc-issuer", "URL", "DEMO_OIDC_ISSUER", "an OpenID Connect provider's issuer URL"),
        ("--oidc-client-id", "ID", "DEMO_OIDC_CLIENT_ID", "this site's client id there"),
        ("--oidc-client-secret", "SECRET", "DEMO_OIDC_CLIENT_SECRET", "and its secret"),
        ("--github-client-id", "ID", "DEMO_GITHUB_CLIENT_ID", "a GitHub OAuth app's client id"),
        ("--github-client-secret", "SECRET", "DEMO_GITHUB_CLIENT_SECRET", "and its secret"),
        (
            "--github-authorize-url",
            "URL",
            "DEMO_GITHUB_AUTHORIZE_URL",
            "for GitHub Enterprise or a look-alike: its authorization URL",
        ),
        ("--github-token-url", "URL", "DEMO_GITHUB_TOKEN_URL", "its access token URL"),
        ("--github-api-url", "URL", "DEMO_GITHUB_API_URL", "its REST API's base URL"),
    ]
    for option, metavar, variable, text in options:
        group.add_argument(
            option, metavar=metavar, default=_environment(variable), help=f"{text} [${variable}]"
        )


def identity_providers(
    parser: argparse.ArgumentParser, options: argparse.Namespace
) -> IdentityProviders:
    providers = IdentityProviders(
        oidc_issuer=options.oidc_issuer,
        oidc_client_id=options.oidc_client_id,
        oidc_client_secret=options.oidc_client_secret,
        github_client_id=options.github_client_id,
        github_client_secret=options.github_client_secret,
        github_authorize_url=options.github_authorize_url,
        github_token_url=options.github_token_url,
        github_api_url=options.github_api_url,
    )
    problems = providers.problems()
    if problems:
        parser.error("; ".join(problems))
    if providers.configured:
        try:
            import cyclone.auth  # noqa: F401
        except ImportError as error:
            parser.error(
                f"sign-in with a provider needs cyclone.auth's HTTP client ({error}): "
                "pip install 'cyclone-web[client]'"
            )
    return providers


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="0 picks a free port")
    parser.add_argument("--interface", default=DEFAULT_INTERFACE)
    parser.add_argument(
        "--redis",
        default=DEFAULT_REDIS,
        help="Redis for the pub/sub page; '' for none [default: $REDIS_URL or %(default)s]",
    )
    add_provider_options(parser)
    options = parser.parse_args(argv)
    providers = identity_providers(parser, options)
    log.startLogging(sys.stdout)

    # A fixed secret keeps people signed in across restarts; by default each run makes one.
    app = make_app(
        redis_url=options.redis or None,
        cookie_secret=os.environ.get("DEMO_SECRET"),
        providers=providers,
    )
    port = reactor.listenTCP(options.port, app, interface=options.interface)
    # On Ctrl-C: stop accepting, let requests finish, close WebSockets with 1001 (done by
    # cyclone.websocket), end the event streams after their `bye` event (cyclone.sse calls
    # on_server_shutdown), and close the Redis connections (the hook below).
    install_graceful_shutdown([port], [app], timeout=SHUTDOWN_TIMEOUT)
    on_shutdown(app.settings.redis_link.disconnect)
    connecting = defer.ensureDeferred(app.settings.redis_link.connect())
    connecting.addErrback(log.err, "connecting to Redis failed unexpectedly")

    address = port.getHost()
    print(f"cyclone demo on http://{address.host}:{address.port}/  (Ctrl-C stops it)", flush=True)
    for provider in app.settings.external_sign_in:
        print(
            f"sign-in with {provider.label}: the redirect URI to register is "
            f"http://{address.host}:{address.port}{provider.url}",
            flush=True,
        )
    reactor.run()
    print("cyclone demo stopped", flush=True)


if __name__ == "__main__":
    main()
