"""The demo with "Sign in with OpenID Connect" and "Sign in with GitHub" against a real provider.

``signin_demo`` starts examples/auth/provider.py (Authlib's authorization server,
packages/cyclone-web/tests/oauth_provider.py; users ``alice`` and ``bob``) and the
demo configured to use it, both as a user would. The provider also plays GitHub:
it serves GitHub's /user and /user/emails API under /api. Without Authlib the
tests are skipped locally and fail under CI=true.
"""

from __future__ import annotations

import importlib.util
import os
import pathlib
import socket
from collections.abc import Callable
from dataclasses import dataclass

import pytest

HERE = pathlib.Path(__file__).parent
PROVIDER = HERE.parent / "auth" / "provider.py"
CLIENT_ID = "cyclone-demo"
CLIENT_SECRET = "demo-secret-0123456789"


@dataclass
class SignInDemo:
    url: str
    provider: str


@pytest.fixture
def signin_demo(run_example: Callable[..., str]) -> SignInDemo:
    if importlib.util.find_spec("authlib") is None:
        why = "the local provider needs Authlib: pip install -r examples/requirements.txt"
        if os.environ.get("CI") == "true":
            pytest.fail(why)
        pytest.skip(why)
    with socket.socket() as probe:  # the demo must know the provider's URL before it starts
        probe.bind(("127.0.0.1", 0))
        provider_port = probe.getsockname()[1]
    provider = f"http://127.0.0.1:{provider_port}"
    demo = run_example(
        HERE / "app.py",
        "--redis", "",
        "--oidc-issuer", provider,
        "--oidc-client-id", CLIENT_ID,
        "--oidc-client-secret", CLIENT_SECRET,
        "--github-client-id", CLIENT_ID,
        "--github-client-secret", CLIENT_SECRET,
        "--github-authorize-url", provider + "/authorize",
        "--github-token-url", provider + "/token",
        "--github-api-url", provider + "/api",
    )  # fmt: skip
    run_example(
        PROVIDER,
        "--client-id", CLIENT_ID,
        "--client-secret", CLIENT_SECRET,
        "--redirect-uri", demo + "/auth/oidc",
        "--redirect-uri", demo + "/auth/github",
        port=provider_port,
    )  # fmt: skip
    return SignInDemo(demo, provider)
