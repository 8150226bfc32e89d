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


@pytest.mark.parametrize(
    "statement",
    [
        "from cyclone.auth import AuthError, GoogleMixin",
        "from cyclone.auth import (GoogleMixin as Google)",
        "def sign_in():\n    from cyclone.auth import GoogleMixin\nsign_in()",
    ],
)
def test_a_removed_mixin_imported_among_others_or_in_a_function_names_the_replacement(
    statement,
) -> None:
    with pytest.raises(ImportError, match="cyclone.auth.GoogleMixin was removed in cyclone 2: "):
        exec(statement, {})


@pytest.mark.parametrize(
    "name", ["OpenIdMixin", "GoogleMixin", "FacebookMixin", "FriendFeedMixin"]
)
def test_removed_mixins_are_missing_attributes_for_hasattr_and_getattr(name) -> None:
    assert hasattr(cyclone.auth, name) is False
    assert getattr(cyclone.auth, name, "missing") == "missing"


def test_a_removed_mixin_used_as_an_attribute_names_the_replacement() -> None:
    with pytest.raises(AttributeError, match="use GoogleOAuth2Mixin") as raised:
        cyclone.auth.GoogleMixin  # noqa: B018
    assert not isinstance(raised.value, ImportError)
    assert (raised.value.name, raised.value.obj) == ("GoogleMixin", cyclone.auth)


def test_unknown_names_are_attribute_errors() -> None:
    assert not hasattr(cyclone.auth, "NoSuchMixin")


def test_cyclone_web_does_not_import_cyclone_auth() -> None:
    code = "import sys, cyclone.web; print('cyclone.auth' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
