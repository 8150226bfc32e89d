"""cyclone.util: attribute dicts and importing objects by name."""

from __future__ import annotations

import os.path

import pytest

from cyclone import escape
from cyclone.util import ObjectDict, import_object


def test_object_dict_reads_and_writes_keys_as_attributes():
    settings = ObjectDict(static_path="./static")
    assert settings.static_path == "./static"
    settings.debug = True
    assert settings["debug"] is True
    del settings.debug
    assert "debug" not in settings


def test_object_dict_missing_attribute_is_attribute_error():
    settings = ObjectDict()
    with pytest.raises(AttributeError, match="nope"):
        settings.nope  # noqa: B018
    with pytest.raises(AttributeError):
        del settings.nope
    assert getattr(settings, "nope", "default") == "default"
    assert not hasattr(settings, "nope")


def test_object_dict_is_a_dict():
    settings = ObjectDict({"a": 1})
    assert isinstance(settings, dict)
    assert dict(settings) == {"a": 1}
    assert settings.get("b", 2) == 2


def test_object_dict_keys_shadow_nothing_of_dict():
    settings = ObjectDict(items=1)
    assert settings["items"] == 1
    assert callable(settings.items)


def test_import_object_imports_a_module():
    assert import_object("os.path") is os.path
    assert import_object("os") is os


def test_import_object_imports_an_attribute_by_dotted_name():
    assert import_object("cyclone.escape.utf8") is escape.utf8
    assert import_object("os.path.join") is os.path.join


def test_import_object_accepts_colon_notation():
    assert import_object("cyclone.escape:utf8") is escape.utf8
    assert import_object("os:path.join") is os.path.join


@pytest.mark.parametrize(
    "name", ["cyclone.escape.nope", "no_such_module_xyz", "cyclone.escape:nope", "os:path.nope"]
)
def test_import_object_names_what_is_missing(name):
    with pytest.raises(ImportError, match="nope|no_such_module_xyz"):
        import_object(name)


def test_cyclone_1x_type_aliases_still_import():
    from cyclone.util import basestring_type, bytes_type, unicode_type

    assert isinstance(b"x", bytes_type)
    assert isinstance("x", unicode_type) and isinstance("x", basestring_type)
