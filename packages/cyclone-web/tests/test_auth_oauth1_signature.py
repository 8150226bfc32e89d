"""RFC 5849 signing: the RFC's own example and agreement with oauthlib's client."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from oauthlib.oauth1 import Client
from oauthlib.oauth1.rfc5849 import signature as oauthlib_signature

from cyclone.auth.oauth1_signature import (
    authorization_header,
    base_string_uri,
    hmac_sha1_signature,
    oauth_parameters,
    parse_token_response,
    percent_encode,
    signature_base_string,
)


def test_rfc5849_section_3_4_1_example_base_string() -> None:
    # RFC 5849 §3.4.1.1: the example request and the base string it gives.
    parameters = [
        ("oauth_consumer_key", "9djdj82h48djs9d2"),
        ("oauth_token", "kkk9d7dh3k39sjv7"),
        ("oauth_signature_method", "HMAC-SHA1"),
        ("oauth_timestamp", "137131201"),
        ("oauth_nonce", "7d8f3e4a"),
        ("realm", "Example"),
        ("c2", ""),
        ("a3", "2 q"),
    ]
    base = signature_base_string(
        "post", "http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b", parameters
    )
    assert base == (
        "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q"
        "%26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_"
        "key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_m"
        "ethod%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk"
        "9d7dh3k39sjv7"
    )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTP://EXAMPLE.COM:80/r%20v/X?id=123", "http://example.com/r%20v/X"),
        ("https://www.example.net:8080/?q=1", "https://www.example.net:8080/"),
        ("https://example.net:443", "https://example.net/"),
    ],
)
def test_base_string_uri_normalizes_scheme_host_and_default_port(url, expected) -> None:
    assert base_string_uri(url) == expected


def test_percent_encoding_keeps_only_unreserved_characters() -> None:
    assert percent_encode("a-b._~ +/é&=") == "a-b._~%20%2B%2F%C3%A9%26%3D"


text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20)


@given(
    consumer_secret=text,
    token_secret=text,
    params=st.lists(st.tuples(st.text(min_size=1, max_size=8), text), max_size=5),
)
def test_signature_agrees_with_oauthlib(consumer_secret, token_secret, params) -> None:
    url = "https://api.example.com/1.1/statuses/update.json?include=a%20b"
    oauth = oauth_parameters("consumer", token="token")
    mine = hmac_sha1_signature(
        "POST", url, [*oauth.items(), *params], consumer_secret, token_secret
    )
    collected = oauthlib_signature.collect_parameters(
        uri_query="include=a%20b", body=params, headers={}, exclude_oauth_signature=True
    ) + list(oauth.items())
    normalized = oauthlib_signature.normalize_parameters(collected)
    base = oauthlib_signature.signature_base_string(
        "POST", oauthlib_signature.base_string_uri(url), normalized
    )
    client = Client("consumer", client_secret=consumer_secret, resource_owner_secret=token_secret)
    assert mine == oauthlib_signature.sign_hmac_sha1_with_client(base, client)


def test_authorization_header_quotes_encoded_values() -> None:
    header = authorization_header({"oauth_consumer_key": "a b", "oauth_signature": "x+y="})
    assert header == 'OAuth oauth_consumer_key="a%20b", oauth_signature="x%2By%3D"'


def test_nonce_fits_oauthlibs_default_format() -> None:
    nonce = oauth_parameters("key")["oauth_nonce"]
    assert nonce.isalnum() and 20 <= len(nonce) <= 30


def test_token_response_is_parsed_with_extra_fields() -> None:
    token = parse_token_response(b"oauth_token=t&oauth_token_secret=s&screen_name=bob")
    assert token == {"key": "t", "secret": "s", "screen_name": "bob"}
    with pytest.raises(ValueError, match="no oauth_token"):
        parse_token_response(b"error=nope")
