"""cyclone.escape keeps Tornado's semantics for HTML, URL and JSON escaping."""

from __future__ import annotations

import json

import pytest
import pytest_twisted
import tornado.escape
from hypothesis import given, settings
from hypothesis import strategies as st

from cyclone import escape, httputil
from cyclone.handler import RequestHandler
from cyclone.routing import Router
from cyclone.testing import Client

# -- HTML -----------------------------------------------------------------------------------


def test_xhtml_escape_escapes_the_five_special_characters():
    assert escape.xhtml_escape("<a href=\"x\" title='y'>&</a>") == (
        "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;"
    )


def test_xhtml_escape_accepts_bytes_and_other_values():
    assert escape.xhtml_escape(b"<caf\xc3\xa9>") == "&lt;caf\xe9&gt;"
    assert escape.xhtml_escape(5) == "5"


def test_xhtml_unescape_decodes_named_decimal_and_hex_references():
    assert escape.xhtml_unescape("&lt;&gt;&quot;&#39;&#x27;&amp;&eacute;&#233;") == "<>\"''&éé"


def test_xhtml_unescape_leaves_unknown_entities_and_double_escapes_alone():
    assert escape.xhtml_unescape("&bogus; &amp;amp;") == "&bogus; &amp;"


@given(st.text())
def test_xhtml_escape_round_trips(text):
    assert escape.xhtml_unescape(escape.xhtml_escape(text)) == text


@given(st.text())
def test_xhtml_escape_output_has_no_markup_characters(text):
    escaped = escape.xhtml_escape(text)
    assert not set("<>\"'") & set(escaped)


# -- URLs ------------------------------------------------------------------------------------


def test_url_escape_with_plus_encodes_spaces_as_plus_and_slashes():
    assert escape.url_escape("a b/c?d=e&f+g") == "a+b%2Fc%3Fd%3De%26f%2Bg"


def test_url_escape_without_plus_encodes_spaces_as_percent_20():
    assert escape.url_escape("a b+c", plus=False) == "a%20b%2Bc"


def test_url_escape_encodes_text_as_utf8_and_takes_bytes():
    assert escape.url_escape("café") == "caf%C3%A9"
    assert escape.url_escape(b"\xff") == "%FF"


def test_url_unescape_with_plus_decodes_plus_as_space():
    assert escape.url_unescape("a+b%20c%2B") == "a b c+"


def test_url_unescape_without_plus_keeps_plus():
    assert escape.url_unescape("a+b%20c", plus=False) == "a+b c"


def test_url_unescape_with_no_encoding_returns_bytes():
    assert escape.url_unescape("caf%C3%A9+%FF", encoding=None) == b"caf\xc3\xa9 \xff"
    assert escape.url_unescape(b"a+b", encoding=None, plus=False) == b"a+b"


def test_url_unescape_replaces_bytes_that_are_not_valid_in_the_encoding():
    assert escape.url_unescape("%FFok") == "\ufffdok"


def test_url_unescape_honours_the_encoding():
    assert escape.url_unescape("caf%E9", encoding="latin-1") == "café"


@given(st.text(), st.booleans())
def test_url_escape_round_trips(text, plus):
    assert escape.url_unescape(escape.url_escape(text, plus=plus), plus=plus) == text


@given(st.text(), st.booleans())
def test_url_unescape_matches_tornado(text, plus):
    for encoding in ("utf-8", None):
        assert escape.url_unescape(text, encoding, plus) == tornado.escape.url_unescape(
            text, encoding, plus
        )


# -- JSON ------------------------------------------------------------------------------------


def test_json_encode_escapes_closing_tags_for_script_blocks():
    encoded = escape.json_encode({"html": "</script><script>alert(1)</script>"})
    assert "</" not in encoded
    assert json.loads(encoded) == {"html": "</script><script>alert(1)</script>"}


def test_json_encode_round_trips_non_ascii_text():
    value = {"name": "café ☕", "list": [1, 2.5, None, True]}
    assert escape.json_decode(escape.json_encode(value)) == value


def test_json_encode_refuses_a_circular_structure_with_value_error():
    looped: dict = {"name": "loop"}
    looped["self"] = [looped]
    with pytest.raises(ValueError, match="circular"):
        escape.json_encode(looped)
    # The encoder is shared: a failure leaves it usable.
    assert escape.json_encode({"ok": [1]}) == '{"ok":[1]}'


def test_json_encode_handles_deep_but_finite_nesting():
    value: list = []
    for _ in range(200):
        value = [value]
    assert escape.json_decode(escape.json_encode(value)) == value


def test_json_decode_accepts_text_and_bytes():
    assert escape.json_decode('{"a": [1]}') == {"a": [1]}
    assert escape.json_decode(b'{"a": "\xc3\xa9"}') == {"a": "é"}


def test_json_decode_raises_on_invalid_json():
    with pytest.raises(ValueError):
        escape.json_decode("{not json")


# -- text and bytes --------------------------------------------------------------------------


def test_utf8_encodes_text_and_passes_bytes_and_none():
    assert escape.utf8("é") == b"\xc3\xa9"
    assert escape.utf8(b"\xff") == b"\xff"
    assert escape.utf8(None) is None


def test_utf8_rejects_other_types_naming_them():
    with pytest.raises(TypeError, match="int"):
        escape.utf8(5)  # type: ignore[call-overload]


def test_to_unicode_decodes_bytes_and_passes_text_and_none():
    assert escape.to_unicode(b"caf\xc3\xa9") == "café"
    assert escape.to_unicode(bytearray(b"x")) == "x"
    assert escape.to_unicode("x") == "x"
    assert escape.to_unicode(None) is None


def test_to_unicode_raises_on_invalid_utf8():
    with pytest.raises(UnicodeDecodeError):
        escape.to_unicode(b"\xff")


def test_native_str_and_to_basestring_are_to_unicode():
    assert escape.native_str(b"a") == escape.to_basestring(b"a") == "a"


def test_recursive_unicode_decodes_nested_containers():
    value = {b"key": [b"a", (b"b", 1)], "text": b"caf\xc3\xa9"}
    assert escape.recursive_unicode(value) == {"key": ["a", ("b", 1)], "text": "café"}


def test_squeeze_collapses_whitespace_runs_and_strips():
    assert escape.squeeze("  a \t\n b\r\n\n c  ") == "a b c"


# -- linkify ---------------------------------------------------------------------------------


def test_linkify_links_urls_and_escapes_the_rest():
    assert escape.linkify("see <http://example.com/?a=1&b=2> & more") == (
        'see &lt;<a href="http://example.com/?a=1&amp;b=2">'
        "http://example.com/?a=1&amp;b=2</a>&gt; &amp; more"
    )


def test_linkify_adds_http_to_bare_www_hosts():
    assert escape.linkify("go to www.example.com.") == (
        'go to <a href="http://www.example.com">www.example.com</a>.'
    )


def test_linkify_require_protocol_skips_bare_hosts():
    text = "www.example.com and http://example.org"
    assert escape.linkify(text, require_protocol=True) == (
        'www.example.com and <a href="http://example.org">http://example.org</a>'
    )


def test_linkify_only_links_permitted_protocols():
    assert escape.linkify("javascript://alert(1)") == "javascript://alert(1)"
    assert escape.linkify("ftp://example.com/f") == "ftp://example.com/f"
    assert escape.linkify("ftp://example.com/f", permitted_protocols=["ftp"]) == (
        '<a href="ftp://example.com/f">ftp://example.com/f</a>'
    )


def test_linkify_extra_params_as_text_or_callable():
    assert escape.linkify("http://a.org", extra_params=' rel="nofollow" ') == (
        '<a href="http://a.org" rel="nofollow">http://a.org</a>'
    )

    def params(href):
        return 'class="internal"' if "a.org" in href else 'class="external"'

    assert escape.linkify("http://a.org http://b.org", extra_params=params) == (
        '<a href="http://a.org" class="internal">http://a.org</a> '
        '<a href="http://b.org" class="external">http://b.org</a>'
    )


def test_linkify_shorten_keeps_the_host_and_puts_the_url_in_the_title():
    url = "http://example.com/a-very-long-path/that/keeps/going?with=query"
    assert escape.linkify(url, shorten=True) == (
        f'<a href="{url}" title="{url}">http://example.com/a-very-l...</a>'
    )


def test_linkify_shorten_leaves_short_urls_alone():
    assert escape.linkify("http://example.com/x", shorten=True) == (
        '<a href="http://example.com/x">http://example.com/x</a>'
    )


def test_linkify_shorten_does_not_cut_an_entity_in_half():
    text = "http://a.b/?" + "&".join(f"k{i}=v" for i in range(10))
    shortened = escape.linkify(text, shorten=True)
    shown = shortened.split(">", 1)[1].rsplit("<", 1)[0]
    assert shown.endswith("...")
    assert "&am..." not in shown and "&a..." not in shown and "&..." not in shown


def test_linkify_keeps_balanced_parentheses_and_drops_trailing_punctuation():
    assert escape.linkify("(see http://en.wikipedia.org/wiki/Foo_(bar)).") == (
        '(see <a href="http://en.wikipedia.org/wiki/Foo_(bar)">'
        "http://en.wikipedia.org/wiki/Foo_(bar)</a>)."
    )


def test_linkify_stops_at_quotes():
    assert escape.linkify('"http://example.com/q"') == (
        '&quot;<a href="http://example.com/q">http://example.com/q</a>&quot;'
    )


def test_linkify_is_linear_on_pathological_text():
    # These took tens of seconds with an unbounded scheme pattern.
    escape.linkify("a." * 30000 + "(")
    escape.linkify("http://" + "(a" * 20000)


_LINKIFY_SAMPLES = [
    "hello http://example.com world",
    "see www.example.com.",
    "(http://example.com/path)",
    "http://en.wikipedia.org/wiki/Foo_(bar) x",
    "a http://example.com/?a=1&b=2 b",
    "<http://example.com>",
    "javascript:alert(1)",
    "ftp://example.com/file",
    "http://example.com/a-very-long-path/that/keeps/going/and/going?with=query&and=more",
    "https://www.example.com/",
    "http://example.com!",
    "http://example.com, http://b.org;",
    "http:/example.com",
    "x www.example.com/a/b?c=d#e y",
    "http://[::1]:8080/x",
    "http://\u00e9xample.com/caf\u00e9",
    "http://www.example.com/wpstyle/?p=364.",
    "www.averylonghostnameeeeeeeeeeeeeeeeeeeeeeeeeeeeee.com/foo",
    "http://example.com/abcdefghijklmnopqrstuvwxyz.html?x=1&y=2&z=3",
    "http://a.b/?" + "&".join(f"k{i}=v" for i in range(10)),
    "http://x.org/a)b",
    "Go to http://example.com/x?y=1.",
    "http://example.com/a_(b)_c.",
    "[http://example.com]",
]


@pytest.mark.parametrize("text", _LINKIFY_SAMPLES)
@pytest.mark.parametrize(
    "options",
    [
        {},
        {"shorten": True},
        {"require_protocol": True},
        {"permitted_protocols": ["http", "ftp"]},
        {"extra_params": 'rel="nofollow"'},
    ],
    ids=["default", "shorten", "require_protocol", "permitted", "extra_params"],
)
def test_linkify_matches_tornado_on_real_world_text(text, options):
    expected = tornado.escape.linkify(text, **options).replace("&#x27;", "&#39;")
    assert escape.linkify(text, **options) == expected


_LINK_PIECES = st.sampled_from([*"ab.:/?&=()<>\"' !,;#-_", "http://", "www."])


@given(st.lists(_LINK_PIECES, max_size=40).map("".join))
@settings(max_examples=300)
def test_linkify_output_never_contains_raw_markup_outside_its_links(text):
    html = escape.linkify(text)
    without_links = html.replace("</a>", "")
    while "<a href=" in without_links:
        start = without_links.index("<a href=")
        without_links = (
            without_links[:start] + without_links[without_links.index(">", start) + 1 :]
        )
    assert "<" not in without_links and ">" not in without_links
    assert '"' not in without_links


# -- cyclone 1.x and Tornado names and behaviours ------------------------------------------


def test_json_encode_writes_bytes_values_and_keys_as_text_as_cyclone_1x_did():
    message = {"from": b"ana", b"body": [b"caf\xc3\xa9", (b"x", 1)], "text": "</b>"}
    assert escape.json_encode(message) == (
        '{"from":"ana","body":["caf\u00e9",["x",1]],"text":"<\\/b>"}'
    )


def test_json_encode_refuses_bytes_that_are_not_utf8_naming_them():
    with pytest.raises(ValueError, match=r"b'\\xffab' is not valid UTF-8"):
        escape.json_encode({"body": b"\xffab"})
    with pytest.raises(ValueError, match="not valid UTF-8"):
        escape.json_encode({b"\xfe": 1})


def test_json_encode_still_refuses_objects_json_cannot_represent():
    with pytest.raises(TypeError, match="Object of type set is not JSON serializable"):
        escape.json_encode({"tags": {1, 2}})


class _Chat(RequestHandler):
    def get(self) -> None:
        # What a cyclone 1.x chat sent: the message fields as bytes.
        self.write({"id": b"42", "from": b"ana", "body": "ol\u00e1".encode()})


@pytest_twisted.ensureDeferred
async def test_a_handler_writing_a_dict_with_bytes_values_sends_json():
    response = await Client(Router([("/m", _Chat)])).get("/m")
    assert response.code == 200
    assert response.headers["Content-Type"] == "application/json; charset=UTF-8"
    assert json.loads(response.body) == {"id": "42", "from": "ana", "body": "ol\u00e1"}


_QUERIES = ["a=1&b=2&a=3", "a=&b=2", "a", "", "a=1&&b", "x=%zz&y=%41+b", "=1", "k=%E2%9C%93"]


@pytest.mark.parametrize("query", _QUERIES)
@pytest.mark.parametrize("keep_blank_values", [False, True])
@pytest.mark.parametrize("strict_parsing", [False, True])
def test_parse_qs_bytes_matches_tornado(query, keep_blank_values, strict_parsing):
    if query == "" and strict_parsing:
        # Tornado defers to urllib, which refused an empty strict query until Python 3.11;
        # we follow 3.11 and later on every Python: an empty query has no fields.
        assert escape.parse_qs_bytes(query, keep_blank_values, strict_parsing) == {}
        return
    try:
        expected = tornado.escape.parse_qs_bytes(query, keep_blank_values, strict_parsing)
    except ValueError:
        with pytest.raises(ValueError, match="bad query field"):
            escape.parse_qs_bytes(query, keep_blank_values, strict_parsing)
        return
    assert escape.parse_qs_bytes(query, keep_blank_values, strict_parsing) == expected


def test_parse_qs_bytes_is_httputils_parser_with_the_old_default():
    assert escape.parse_qs_bytes("a=&b=%C3%A9") == {"b": [b"\xc3\xa9"]}
    assert escape.parse_qs_bytes("a=&b=1", keep_blank_values=True) == (
        httputil.parse_qs_bytes("a=&b=1")
    )


_PARENTHESES_SAMPLES = [
    "http://a.com/a((b))",
    "http://a.com/a(b",
    "http://a.com/(",
    "x (http://a.com/(b)) y",
    "http://a.com/a(b)c(d)e",
    "http://a.com/?q=(1)&r=2",
    "((http://a.com))",
    "www.a.com/(x)",
]


@pytest.mark.parametrize("text", _PARENTHESES_SAMPLES)
def test_linkify_treats_parentheses_as_tornado_does(text):
    expected = tornado.escape.linkify(text).replace("&#x27;", "&#39;")
    assert escape.linkify(text) == expected


_PAREN_PIECES = st.sampled_from([*"ab.:/?&=()[]<>\"' !,;#-_", "http://", "www.", "\u00e9"])


@given(st.lists(_PAREN_PIECES, max_size=30).map("".join), st.booleans())
@settings(max_examples=500)
def test_linkify_agrees_with_tornado_on_any_text(text, shorten):
    expected = tornado.escape.linkify(text, shorten=shorten).replace("&#x27;", "&#39;")
    assert escape.linkify(text, shorten=shorten) == expected


def test_linkify_stays_linear_on_long_hyphenated_words_and_open_parentheses():
    escape.linkify("a-" * 30000 + ":")
    escape.linkify("http://a" + "(b" * 20000)
