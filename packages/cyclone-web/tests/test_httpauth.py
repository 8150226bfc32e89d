"""HTTP Basic (RFC 7617) and Digest (RFC 7616) authentication.

The protocol is checked against real clients over loopback sockets: curl
(``--basic``/``--digest``) and Python's urllib handlers; the edge cases
(stale nonces, replays, wrong URIs, both algorithms) with a small Digest
client written here against the in-process test client.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import urllib.error
import urllib.request

import pytest
import pytest_twisted
from twisted.internet import defer, reactor, task, threads

from cyclone import httpauth
from cyclone.testing import Client
from cyclone.web import Application, RequestHandler

WAIT = 10.0
USERS = {"alice": "wonder land", "bob": "pässwörd"}
CURL = shutil.which("curl")


def check_password(handler, username, password):
    return USERS.get(username) == password


def deferred_check(handler, username, password):
    return task.deferLater(reactor, 0, check_password, handler, username, password)


async def coroutine_check(handler, username, password):
    await task.deferLater(reactor, 0, lambda: None)
    return USERS.get(username) == password


def get_password(handler, username):
    return USERS.get(username)


class Clock:
    """A controllable time source for nonce expiry."""

    def __init__(self):
        self.now = 1_000_000.0

    def __call__(self):
        return self.now


def make_app(clock=None, **digest_options):
    digest = httpauth.digest_auth(
        get_password, realm="cyclone tests", clock=clock or Clock(), **digest_options
    )

    class BasicPage(RequestHandler):
        @httpauth.basic_auth(check_password, realm="basic area")
        def get(self):
            self.write(f"basic {self.current_user}")

    class DeferredBasicPage(RequestHandler):
        @httpauth.basic_auth(deferred_check)
        def get(self):
            self.write(f"deferred {self.current_user}")

    class CoroutineBasicPage(RequestHandler):
        @httpauth.basic_auth(coroutine_check)
        async def get(self):
            await task.deferLater(reactor, 0, lambda: None)
            self.write(f"coroutine {self.current_user}")

    class DigestPage(RequestHandler):
        @digest
        def get(self):
            self.write(f"digest {self.current_user}")

        @digest
        def post(self):
            self.write(f"posted {self.current_user} {self.request.body.decode()}")

    return Application(
        [
            (r"/basic", BasicPage),
            (r"/basic-deferred", DeferredBasicPage),
            (r"/basic-coroutine", CoroutineBasicPage),
            (r"/digest", DigestPage),
        ]
    )


def basic_header(username, password, encoding="utf-8"):
    token = base64.b64encode(f"{username}:{password}".encode(encoding)).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.fixture
def serve():
    ports = []

    def listen(factory):
        port = reactor.listenTCP(0, factory, interface="127.0.0.1")
        ports.append(port)
        return port.getHost().port

    yield listen
    for port in ports:
        pytest_twisted.blockon(defer.maybeDeferred(port.stopListening))


# -- Basic ------------------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_basic_without_credentials_is_401_with_a_utf8_challenge():
    response = await Client(make_app()).get("/basic")
    assert response.code == 401
    assert response.headers.get_list("WWW-Authenticate") == [
        'Basic realm="basic area", charset="UTF-8"'
    ]


@pytest.mark.parametrize("path", ["/basic", "/basic-deferred", "/basic-coroutine"])
@pytest_twisted.ensureDeferred
async def test_basic_good_credentials_set_current_user(path):
    response = await Client(make_app()).get(path, headers=basic_header("alice", "wonder land"))
    assert response.code == 200
    assert response.body.endswith(b" alice")


@pytest.mark.parametrize("path", ["/basic", "/basic-deferred", "/basic-coroutine"])
@pytest_twisted.ensureDeferred
async def test_basic_wrong_password_is_401(path):
    response = await Client(make_app()).get(path, headers=basic_header("alice", "wrong"))
    assert response.code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic ")


@pytest_twisted.ensureDeferred
async def test_basic_password_may_contain_colons_and_non_ascii_in_utf8():
    response = await Client(make_app()).get("/basic", headers=basic_header("bob", "pässwörd"))
    assert (response.code, response.body) == (200, b"basic bob")


@pytest.mark.parametrize(
    "value",
    [
        "Basic",
        "Basic !!!not-base64!!!",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Basic " + base64.b64encode(b"bob:p\xe4ssw\xf6rd").decode(),  # Latin-1, not UTF-8
        "Bearer " + base64.b64encode(b"alice:wonder land").decode(),
        "Basic " + base64.b64encode(b"alice:wonder land").decode()[:-2],
    ],
)
@pytest_twisted.ensureDeferred
async def test_basic_malformed_or_non_utf8_headers_are_401_not_500(value):
    response = await Client(make_app()).get("/basic", headers={"Authorization": value})
    assert response.code == 401


def test_parse_basic_authorization():
    assert httpauth.parse_basic_authorization("basic " + base64.b64encode(b"a:b:c").decode()) == (
        "a",
        "b:c",
    )
    assert httpauth.parse_basic_authorization(None) is None


@pytest_twisted.ensureDeferred
async def test_basic_with_curl_over_a_socket(serve):
    port = serve(make_app())
    good = await run_curl("--basic", "-u", "alice:wonder land", f"http://127.0.0.1:{port}/basic")
    assert good == (200, b"basic alice")
    bad = await run_curl("--basic", "-u", "alice:nope", f"http://127.0.0.1:{port}/basic")
    assert bad[0] == 401


@pytest_twisted.ensureDeferred
async def test_basic_with_urllib_over_a_socket(serve):
    port = serve(make_app())
    url = f"http://127.0.0.1:{port}/basic"
    status, body = await threads.deferToThread(urllib_fetch, url, "basic", "alice", "wonder land")
    assert (status, body) == (200, b"basic alice")
    status, _ = await threads.deferToThread(urllib_fetch, url, "basic", "alice", "nope")
    assert status == 401


# -- Digest against real clients --------------------------------------------------------------


async def run_curl(*args):
    """Run curl (it must exist: the tests are not skipped without it) -> (status, body)."""
    assert CURL, "curl is required for the HTTP authentication interoperability tests"

    def run():
        completed = subprocess.run(
            [CURL, "-sS", "--max-time", str(WAIT), "-w", "\n%{http_code}", *args],
            capture_output=True,
            check=True,
        )
        body, _, status = completed.stdout.rpartition(b"\n")
        return int(status), body

    return await threads.deferToThread(run)


def urllib_fetch(url, scheme, username, password, data=None):
    manager = urllib.request.HTTPPasswordMgrWithDefaultRealm()
    manager.add_password(None, url, username, password)
    handler_class = (
        urllib.request.HTTPBasicAuthHandler
        if scheme == "basic"
        else urllib.request.HTTPDigestAuthHandler
    )
    opener = urllib.request.build_opener(handler_class(manager))
    try:
        with opener.open(url, data=data, timeout=WAIT) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest_twisted.ensureDeferred
async def test_digest_with_curl_over_a_socket(serve):
    port = serve(make_app())
    url = f"http://127.0.0.1:{port}/digest?page=1"
    assert await run_curl("--digest", "-u", "alice:wonder land", url) == (200, b"digest alice")
    assert await run_curl("--digest", "-u", "bob:pässwörd", url) == (200, b"digest bob")
    posted = await run_curl("--digest", "-u", "alice:wonder land", "-d", "x=1", url)
    assert posted == (200, b"posted alice x=1")
    wrong = await run_curl("--digest", "-u", "alice:wrong", url)
    assert wrong[0] == 401


@pytest.mark.parametrize("algorithms", [("SHA-256",), ("MD5",), ("SHA-256", "MD5")])
@pytest_twisted.ensureDeferred
async def test_digest_with_curl_for_each_algorithm(serve, algorithms):
    port = serve(make_app(algorithms=algorithms))
    url = f"http://127.0.0.1:{port}/digest"
    assert await run_curl("--digest", "-u", "alice:wonder land", url) == (200, b"digest alice")


@pytest_twisted.ensureDeferred
async def test_digest_with_urllib_over_a_socket(serve):
    # urllib (up to Python 3.13) reads only the first challenge, knows only
    # MD5 and SHA-1 and hashes ASCII only, so it needs a server offering MD5
    # and an ASCII password; curl handles SHA-256 and UTF-8 (tested above).
    port = serve(make_app(algorithms=("MD5",)))
    url = f"http://127.0.0.1:{port}/digest?q=a%20b"
    result = await threads.deferToThread(urllib_fetch, url, "digest", "alice", "wonder land")
    assert result == (200, b"digest alice")
    result = await threads.deferToThread(urllib_fetch, url, "digest", "alice", "wrong")
    assert result[0] == 401
    posted = await threads.deferToThread(
        urllib_fetch, url, "digest", "alice", "wonder land", b"form=data"
    )
    assert posted == (200, b"posted alice form=data")


# -- Digest edge cases with a hand-written client -------------------------------------------


def challenges(response):
    return [
        httpauth.parse_digest_authorization(value)
        for value in response.headers.get_list("WWW-Authenticate")
    ]


def digest_header(
    challenge,
    username,
    password,
    method,
    uri,
    nc="00000001",
    cnonce="0a4f113b",
    algorithm=None,
    realm=None,
):
    algorithm = algorithm or challenge["algorithm"]
    hash_function = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}[algorithm]

    def digest(text):
        return hash_function(text.encode()).hexdigest()

    realm = realm or challenge["realm"]
    ha1 = digest(f"{username}:{realm}:{password}")
    ha2 = digest(f"{method}:{uri}")
    response = digest(f"{ha1}:{challenge['nonce']}:{nc}:{cnonce}:auth:{ha2}")
    return {
        "Authorization": (
            f'Digest username="{username}", realm="{realm}", nonce="{challenge["nonce"]}", '
            f'uri="{uri}", algorithm={algorithm}, qop=auth, nc={nc}, cnonce="{cnonce}", '
            f'response="{response}", opaque="{challenge["opaque"]}"'
        )
    }


@pytest_twisted.ensureDeferred
async def test_digest_challenge_offers_sha256_then_md5_with_qop_auth():
    response = await Client(make_app()).get("/digest")
    assert response.code == 401
    offered = challenges(response)
    assert [c["algorithm"] for c in offered] == ["SHA-256", "MD5"]
    for challenge in offered:
        assert challenge["realm"] == "cyclone tests"
        assert challenge["qop"] == "auth"
        assert challenge["nonce"] and challenge["opaque"]
        assert "stale" not in challenge


@pytest.mark.parametrize("algorithm", ["SHA-256", "MD5"])
@pytest_twisted.ensureDeferred
async def test_digest_accepts_both_algorithms(algorithm):
    client = Client(make_app())
    challenge = challenges(await client.get("/digest"))[0]
    headers = digest_header(
        challenge, "alice", "wonder land", "GET", "/digest", algorithm=algorithm
    )
    response = await client.get("/digest", headers=headers)
    assert (response.code, response.body) == (200, b"digest alice")


@pytest_twisted.ensureDeferred
async def test_digest_refuses_an_algorithm_the_server_did_not_offer():
    client = Client(make_app(algorithms=("SHA-256",)))
    challenge = challenges(await client.get("/digest"))[0]
    headers = digest_header(challenge, "alice", "wonder land", "GET", "/digest", algorithm="MD5")
    assert (await client.get("/digest", headers=headers)).code == 401


def test_digest_auth_refuses_unknown_algorithms_at_decoration():
    with pytest.raises(ValueError, match="SHA-512"):
        httpauth.digest_auth(get_password, algorithms=("SHA-512",))


@pytest_twisted.ensureDeferred
async def test_digest_expired_nonce_is_401_with_stale_true_and_a_fresh_nonce_works():
    clock = Clock()
    client = Client(make_app(clock=clock, nonce_lifetime=60))
    challenge = challenges(await client.get("/digest"))[0]
    clock.now += 61
    headers = digest_header(challenge, "alice", "wonder land", "GET", "/digest")
    stale = await client.get("/digest", headers=headers)
    assert stale.code == 401
    fresh = challenges(stale)
    assert all(c["stale"] == "true" for c in fresh)
    assert fresh[0]["nonce"] != challenge["nonce"]
    headers = digest_header(fresh[0], "alice", "wonder land", "GET", "/digest")
    assert (await client.get("/digest", headers=headers)).code == 200


@pytest_twisted.ensureDeferred
async def test_digest_nonce_not_issued_by_the_server_is_refused():
    client = Client(make_app())
    challenge = challenges(await client.get("/digest"))[0]
    forged = dict(challenge, nonce=base64.b64encode(b"1000000:" + b"0" * 64).decode())
    headers = digest_header(forged, "alice", "wonder land", "GET", "/digest")
    response = await client.get("/digest", headers=headers)
    assert response.code == 401
    assert "stale" not in challenges(response)[0]


@pytest_twisted.ensureDeferred
async def test_digest_nonce_from_another_application_secret_is_refused():
    issuer = Client(make_app())
    challenge = challenges(await issuer.get("/digest"))[0]
    other_app = make_app()
    other_app.settings["cookie_secret"] = "a different secret"
    headers = digest_header(challenge, "alice", "wonder land", "GET", "/digest")
    assert (await Client(other_app).get("/digest", headers=headers)).code == 401


@pytest_twisted.ensureDeferred
async def test_digest_replayed_nonce_count_is_refused_and_a_higher_one_accepted():
    client = Client(make_app())
    challenge = challenges(await client.get("/digest"))[0]
    first = digest_header(challenge, "alice", "wonder land", "GET", "/digest", nc="00000001")
    assert (await client.get("/digest", headers=first)).code == 200
    assert (await client.get("/digest", headers=first)).code == 401
    second = digest_header(challenge, "alice", "wonder land", "GET", "/digest", nc="00000002")
    assert (await client.get("/digest", headers=second)).code == 200
    older = digest_header(challenge, "alice", "wonder land", "GET", "/digest", nc="00000001")
    assert (await client.get("/digest", headers=older)).code == 401
    other_cnonce = digest_header(
        challenge, "alice", "wonder land", "GET", "/digest", nc="00000001", cnonce="ffff"
    )
    assert (await client.get("/digest", headers=other_cnonce)).code == 200


@pytest_twisted.ensureDeferred
async def test_digest_for_another_uri_is_refused():
    client = Client(make_app())
    challenge = challenges(await client.get("/digest"))[0]
    headers = digest_header(challenge, "alice", "wonder land", "GET", "/elsewhere")
    assert (await client.get("/digest", headers=headers)).code == 401
    headers = digest_header(challenge, "alice", "wonder land", "GET", "/digest")
    assert (await client.get("/digest?x=1", headers=headers)).code == 401


@pytest_twisted.ensureDeferred
async def test_digest_response_for_another_method_is_refused():
    client = Client(make_app())
    challenge = challenges(await client.get("/digest"))[0]
    headers = digest_header(challenge, "alice", "wonder land", "POST", "/digest")
    assert (await client.get("/digest", headers=headers)).code == 401


@pytest.mark.parametrize(
    ("username", "password", "realm"),
    [("alice", "wrong", None), ("mallory", "x", None), ("alice", "wonder land", "other realm")],
)
@pytest_twisted.ensureDeferred
async def test_digest_wrong_password_unknown_user_or_realm_is_401(username, password, realm):
    client = Client(make_app())
    challenge = challenges(await client.get("/digest"))[0]
    headers = digest_header(challenge, username, password, "GET", "/digest", realm=realm)
    assert (await client.get("/digest", headers=headers)).code == 401


@pytest.mark.parametrize(
    "value",
    [
        "Digest",
        'Digest username="alice"',
        'Digest username="alice", realm="cyclone tests", nonce="x", uri="/digest", response="0"',
        'Digest username="alice", qop=auth-int, nc=1, cnonce="c", realm="cyclone tests", '
        'nonce="x", uri="/digest", response="0"',
        'Digest username="unterminated',
        "Basic " + base64.b64encode(b"alice:wonder land").decode(),
    ],
)
@pytest_twisted.ensureDeferred
async def test_digest_malformed_or_incomplete_credentials_are_401(value):
    response = await Client(make_app()).get("/digest", headers={"Authorization": value})
    assert response.code == 401
    assert response.headers["WWW-Authenticate"].startswith("Digest ")


@pytest_twisted.ensureDeferred
async def test_digest_non_hex_nonce_count_is_401_not_500():
    client = Client(make_app())
    challenge = challenges(await client.get("/digest"))[0]
    headers = digest_header(challenge, "alice", "wonder land", "GET", "/digest", nc="zz")
    assert (await client.get("/digest", headers=headers)).code == 401


def test_parse_digest_authorization_handles_quoting_and_case():
    params = httpauth.parse_digest_authorization(
        'DIGEST Username="a\\"b", realm="r, s", nc=00000001, qop=auth'
    )
    assert params == {"username": 'a"b', "realm": "r, s", "nc": "00000001", "qop": "auth"}
    assert httpauth.parse_digest_authorization("Basic abc") is None
    assert httpauth.parse_digest_authorization(None) is None


def test_curl_is_available_when_ci_runs():
    if os.environ.get("CI") == "true":
        assert CURL, "install curl: the Digest interoperability tests need it"


@pytest.mark.parametrize("algorithms", [("SHA-256",), ("MD5",)])
@pytest_twisted.ensureDeferred
async def test_digest_with_stored_ha1_instead_of_passwords(serve, algorithms):
    stored = {
        (user, algorithm): httpauth.digest_ha1(user, "ha1 realm", password, algorithm)
        for user, password in (("alice", "wonder land"),)
        for algorithm in ("SHA-256", "MD5")
    }

    class Page(RequestHandler):
        @httpauth.digest_auth(
            get_ha1=lambda handler, user, algorithm: stored.get((user, algorithm)),
            realm="ha1 realm",
            algorithms=algorithms,
        )
        def get(self):
            self.write(f"ha1 {self.current_user}")

    port = serve(Application([(r"/", Page)]))
    url = f"http://127.0.0.1:{port}/"
    assert await run_curl("--digest", "-u", "alice:wonder land", url) == (200, b"ha1 alice")
    assert (await run_curl("--digest", "-u", "alice:wrong", url))[0] == 401
    assert (await run_curl("--digest", "-u", "mallory:wonder land", url))[0] == 401


def test_digest_auth_needs_exactly_one_credential_source():
    with pytest.raises(TypeError):
        httpauth.digest_auth()
    with pytest.raises(TypeError):
        httpauth.digest_auth(get_password, get_ha1=lambda handler, user, algorithm: None)
