"""Fixtures for the sign-in tests: a real OAuth/OpenID Connect provider on loopback."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# pytest runs with --import-mode=importlib, which puts no test directory on
# sys.path; the helper modules live beside this file.
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="session")
def oauth_provider_server() -> Iterator[Any]:
    """One provider (Authlib + oauthlib behind werkzeug) for the session."""
    from oauth_provider import OAuthProvider

    provider = OAuthProvider().start()
    yield provider
    provider.stop()


@pytest.fixture
def oauth_provider(oauth_provider_server: Any) -> Iterator[Any]:
    """The session's provider, well-behaved again after each test."""
    from cyclone.auth import clear_openid_connect_cache

    clear_openid_connect_cache()
    yield oauth_provider_server
    oauth_provider_server.reset()
    clear_openid_connect_cache()
