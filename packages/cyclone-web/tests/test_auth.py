"""The cyclone.auth package: its public names, the removed ones, and what imports it."""

from __future__ import annotations

import subprocess
import sys

import pytest

import cyclone.auth
from cyclone.handler import HTTPError


def test_public_names_are_tornados() -> None:
    import tornado.auth

    for name in (
        "AuthError",
        "OAuthMixin",
        "OAuth2Mixin",
        "GoogleOAuth2Mixin",
        "FacebookGraphMixin",
        "TwitterMixin",
    ):
        assert hasattr(tornado.auth, name) and hasattr(cyclone.auth, name)
    assert issubclass(cyclone.auth.AuthError, HTTPError)
    assert cyclone.auth.AuthError("as Tornado raises it").status_code == 403


@pytest.mark.parametrize(
    "name", ["OpenIdMixin", "GoogleMixin", "FacebookMixin", "FriendFeedMixin"]
)
def test_removed_mixins_raise_import_error_naming_the_replacement(name) -> None:
    with pytest.raises(ImportError, match=f"cyclone.auth.{name} was removed in cyclone 2: "):
        exec(f"from cyclone.auth import {name}", {})


def test_unknown_names_are_attribute_errors() -> None:
    assert not hasattr(cyclone.auth, "NoSuchMixin")


def test_cyclone_web_does_not_import_cyclone_auth() -> None:
    code = "import sys, cyclone.web; print('cyclone.auth' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
