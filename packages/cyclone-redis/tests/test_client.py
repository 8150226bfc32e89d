import re

import pytest
import pytest_twisted
import txredisapi
from twisted.internet import defer, reactor, task
from twisted.logger import formatEvent, globalLogPublisher

import cyclone.redis
from cyclone.redis import RedisUnavailable


@pytest.fixture
def clients():
    """Clients created by a test, disconnected after it."""
    created = []

    def track(client):
        created.append(client)
        return client

    yield track
    for client in created:
        pytest_twisted.blockon(client.disconnect())


def quick(url, **options):
    """Client options for tests: reconnect soon after a restart."""
    options.setdefault("max_reconnect_delay", 0.05)
    return cyclone.redis.connect(url, **options)


@pytest_twisted.ensureDeferred
async def test_strings_lists_hashes_and_sets_work_as_in_txredisapi(redis_url, key, clients):
    redis = clients(cyclone.redis.connect(redis_url))
    assert await redis.set(key + "s", "hello") == "OK"
    assert await redis.get(key + "s") == "hello"
    await redis.rpush(key + "l", "a")
    await redis.rpush(key + "l", "b")
    assert await redis.lrange(key + "l", 0, -1) == ["a", "b"]
    await redis.hmset(key + "h", {"name": "ana", "age": 31})
    assert await redis.hgetall(key + "h") == {"name": "ana", "age": 31}
    await redis.sadd(key + "set", ["x", "y"])
    assert await redis.smembers(key + "set") == {"x", "y"}
    assert await redis.delete([key + "s", key + "l", key + "h", key + "set"]) == 4


@pytest_twisted.ensureDeferred
async def test_first_command_waits_for_the_first_connection(redis_url, key, clients):
    redis = clients(cyclone.redis.connect(redis_url))
    assert not redis.connected
    assert await redis.incr(key) == 1
    assert redis.connected
    await redis.delete(key)


@pytest_twisted.ensureDeferred
async def test_application_settings_are_accepted(redis_url, key, clients):
    redis = clients(cyclone.redis.connect({"redis_url": redis_url, "debug": True}))
    assert await redis.ping() == "PONG"


@pytest_twisted.ensureDeferred
async def test_db_number_in_url_selects_the_database(redis_server, key, clients):
    server = redis_server()
    db3 = clients(cyclone.redis.connect(f"redis://127.0.0.1:{server.port}/3"))
    db0 = clients(cyclone.redis.connect({"redis": {"host": "127.0.0.1", "port": server.port}}))
    await db3.set(key, "in three")
    assert await db0.get(key) is None
    assert await db3.get(key) == "in three"


@pytest_twisted.ensureDeferred
async def test_non_lazy_connect_fires_with_a_connected_client(redis_url, clients):
    redis = clients(await cyclone.redis.connect(redis_url, lazy=False))
    assert redis.connected
    assert await redis.ping() == "PONG"


@pytest_twisted.ensureDeferred
async def test_non_lazy_connect_to_nothing_fails_with_redis_unavailable(unused_port):
    port = unused_port
    with pytest.raises(RedisUnavailable, match=f"127.0.0.1:{port}") as caught:
        await cyclone.redis.connect(f"redis://127.0.0.1:{port}/0", lazy=False, connect_timeout=60)
    assert "refused" in str(caught.value).lower()


@pytest_twisted.ensureDeferred
async def test_pool_keeps_several_connections_for_blocking_commands(redis_url, key, clients):
    redis = clients(cyclone.redis.connect(redis_url, pool_size=3))
    waiting = redis.blpop([key], timeout=30)
    assert await redis.rpush(key, "item") == 1
    assert await waiting == [key, "item"]
    assert redis.pool_size == 3


@pytest_twisted.ensureDeferred
async def test_redis_down_at_start_fails_fast_then_recovers(
    redis_server, key, clients, unused_port
):
    port = unused_port
    redis = clients(quick(f"redis://127.0.0.1:{port}/0", connect_timeout=60))
    with pytest.raises(RedisUnavailable) as caught:
        await redis.get(key)
    # The attempt's own error, not a timeout: nobody waited for connect_timeout.
    assert "refused" in str(caught.value).lower()
    assert isinstance(caught.value, txredisapi.ConnectionError)
    with pytest.raises(RedisUnavailable):
        await redis.get(key)

    redis_server(port=port)
    await redis.whenConnected()
    assert await redis.set(key, "back") == "OK"


@pytest_twisted.ensureDeferred
async def test_redis_restarted_mid_run_fails_fast_then_reconnects(redis_server, key, clients):
    server = redis_server()
    redis = clients(quick(server.url))
    await redis.set(key, "before")
    server.kill()
    with pytest.raises(RedisUnavailable, match=f"127.0.0.1:{server.port}"):
        await redis.get(key)
    with pytest.raises(RedisUnavailable):
        await redis.get(key)
    assert not redis.connected

    server.start()
    await redis.whenConnected()
    assert await redis.get(key) is None  # a fresh server: nothing was saved
    assert await redis.set(key, "after") == "OK"


@pytest_twisted.ensureDeferred
async def test_command_in_flight_when_redis_dies_fails_with_redis_unavailable(
    redis_server, key, clients
):
    server = redis_server()
    redis = clients(quick(server.url, pool_size=2))
    await redis.ping()
    blocked = redis.blpop([key], timeout=0)
    await redis.ping()  # on the other connection, after BLPOP reached the server
    server.kill()
    with pytest.raises(RedisUnavailable, match="blpop") as caught:
        await blocked
    assert isinstance(caught.value.__cause__, txredisapi.ConnectionError)


@pytest_twisted.ensureDeferred
async def test_hung_redis_fails_after_reply_timeout_and_recovers(redis_server, key, clients):
    server = redis_server()
    redis = clients(quick(server.url, reply_timeout=0.2))
    await redis.ping()
    server.pause()
    try:
        with pytest.raises(RedisUnavailable, match="seconds"):
            await redis.get(key)
        # txredisapi fails the command first and aborts the connection just after.
        await defer.gatherResults([c.whenDisconnected() for c in list(redis._factory.pool)])
        assert not redis.connected
    finally:
        server.resume()
    await redis.whenConnected()
    assert await redis.ping() == "PONG"


@pytest_twisted.ensureDeferred
async def test_without_reconnect_the_client_stays_down(redis_server, key, clients):
    server = redis_server()
    redis = clients(quick(server.url, reconnect=False))
    await redis.ping()
    server.kill()
    with pytest.raises(RedisUnavailable):
        await redis.ping()
    server.start()
    with pytest.raises(RedisUnavailable):
        await redis.ping()


@pytest_twisted.ensureDeferred
async def test_wrong_password_is_reported_as_unavailable_with_the_reason(redis_server, clients):
    server = redis_server("--requirepass", "right")
    good = clients(cyclone.redis.connect(f"redis://:right@127.0.0.1:{server.port}/0"))
    assert await good.ping() == "PONG"
    bad = clients(cyclone.redis.connect(f"redis://:wrong@127.0.0.1:{server.port}/0"))
    with pytest.raises(RedisUnavailable, match="auth") as caught:
        await bad.ping()
    assert "wrong" not in str(caught.value)


@pytest_twisted.ensureDeferred
async def test_unix_socket_url(redis_server, tmp_path, key, clients):
    socket_path = str(tmp_path / "redis.sock")
    redis_server("--unixsocket", socket_path, "--unixsocketperm", "700")
    redis = clients(cyclone.redis.connect(f"unix://{socket_path}?db=2"))
    await redis.set(key, "over unix")
    assert await redis.get(key) == "over unix"


@pytest_twisted.ensureDeferred
async def test_disconnected_client_refuses_commands(redis_url):
    redis = cyclone.redis.connect(redis_url)
    await redis.ping()
    await redis.disconnect()
    with pytest.raises(RedisUnavailable, match="disconnected"):
        await redis.ping()


def test_unknown_command_is_an_attribute_error(redis_url, clients):
    redis = clients(cyclone.redis.connect(redis_url))
    with pytest.raises(AttributeError, match="no Redis command 'gett'"):
        redis.gett()


def test_pool_size_must_be_a_positive_integer():
    with pytest.raises(ValueError, match="'ten'"):
        cyclone.redis.connect("redis://127.0.0.1:1/0", pool_size="ten")


# --- TLS ----------------------------------------------------------------------------------


def _make_certificate(directory):
    """A self-signed certificate for 127.0.0.1 / localhost, made with openssl."""
    import subprocess

    cert, key_file = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout", str(key_file), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key_file


@pytest.fixture
def tls_server(redis_server, tmp_path, unused_port):
    cert, key_file = _make_certificate(tmp_path)
    port = unused_port
    server = redis_server(
        "--tls-port", str(port), "--port", "0",
        "--tls-cert-file", str(cert), "--tls-key-file", str(key_file),
        "--tls-ca-cert-file", str(cert), "--tls-auth-clients", "no",
        port=port,
    )  # fmt: skip
    return server, cert


@pytest_twisted.ensureDeferred
async def test_rediss_url_talks_tls(tls_server, key, clients):
    server, _ = tls_server
    redis = clients(
        cyclone.redis.connect(f"rediss://localhost:{server.port}/0?ssl_cert_reqs=none")
    )
    await redis.set(key, "secret")
    assert await redis.get(key) == "secret"


@pytest_twisted.ensureDeferred
async def test_rediss_checks_the_certificate_against_a_given_trust_root(tls_server, clients):
    from twisted.internet import ssl

    server, cert = tls_server
    trusted = ssl.optionsForClientTLS(
        "localhost", trustRoot=ssl.Certificate.loadPEM(cert.read_bytes())
    )
    redis = clients(
        cyclone.redis.connect(f"rediss://localhost:{server.port}/0", tls_options=trusted)
    )
    assert await redis.ping() == "PONG"

    # The system's trust store doesn't know a self-signed certificate.
    untrusted = clients(
        cyclone.redis.connect(f"rediss://localhost:{server.port}/0", max_reconnect_delay=60)
    )
    with pytest.raises(RedisUnavailable):
        await untrusted.ping()
    with pytest.raises(RedisUnavailable, match="certificate verify failed"):
        await untrusted.ping()


# --- unavailable_as_503 -------------------------------------------------------------------


def _app(redis):
    from cyclone.handler import RequestHandler
    from cyclone.routing import Router

    class AsyncHandler(RequestHandler):
        @cyclone.redis.unavailable_as_503
        async def get(self):
            self.write({"value": await redis.get("cyclone-test:503")})

    class InlineCallbacksHandler(RequestHandler):
        @cyclone.redis.unavailable_as_503
        @defer.inlineCallbacks
        def get(self):
            value = yield redis.get("cyclone-test:503")
            self.write({"value": value})

    class DeferredHandler(RequestHandler):
        @cyclone.redis.unavailable_as_503
        def get(self):
            return redis.get("cyclone-test:503").addCallback(lambda v: self.write({"value": v}))

    class BrokenHandler(RequestHandler):
        @cyclone.redis.unavailable_as_503
        async def get(self):
            raise ValueError("not a Redis problem")

    return Router(
        [
            (r"/async", AsyncHandler),
            (r"/inline", InlineCallbacksHandler),
            (r"/deferred", DeferredHandler),
            (r"/broken", BrokenHandler),
        ]
    )


@pytest_twisted.ensureDeferred
async def test_handlers_answer_503_while_redis_is_down_and_200_when_back(
    redis_server, clients, unused_port
):
    from cyclone.testing import Client

    port = unused_port
    redis = clients(quick(f"redis://127.0.0.1:{port}/0"))
    client = Client(_app(redis))
    for path in ("/async", "/inline", "/deferred"):
        response = await client.get(path)
        assert response.code == 503, path

    redis_server(port=port)
    await redis.whenConnected()
    for path in ("/async", "/inline", "/deferred"):
        response = await client.get(path)
        assert (response.code, response.json()) == (200, {"value": None}), path


@pytest_twisted.ensureDeferred
async def test_other_errors_pass_through_the_503_decorator(redis_url, clients):
    from cyclone.testing import Client

    redis = clients(cyclone.redis.connect(redis_url))
    response = await Client(_app(redis)).get("/broken")
    assert response.code == 500


# --- what the client logs -----------------------------------------------------------------


@pytest.fixture
def logged():
    """Every twisted.logger event of the test, formatted: (level name, text)."""
    events = []
    globalLogPublisher.addObserver(events.append)

    def lines(containing=""):
        found = [(event["log_level"].name, formatEvent(event)) for event in events]
        return [(level, text) for level, text in found if containing in text]

    yield lines
    globalLogPublisher.removeObserver(events.append)


def assert_no_object_reprs_or_retry_notes(lines):
    for _, text in lines:
        assert " object at 0x" not in text, text
        assert "Scheduling retry" not in text, text


@pytest_twisted.ensureDeferred
async def test_a_pool_logs_one_line_once_connected(redis_server, key, clients, logged):
    server = redis_server()
    redis = clients(cyclone.redis.connect(server.url, pool_size=3))
    await redis.whenConnected()
    await defer.gatherResults([redis.blpop([key], timeout=1) for _ in range(3)])
    assert len(redis._factory.pool) == 3
    assert logged(server.url) == [
        ("info", f"Connected to Redis at {server.url} (client, pool of 3)")
    ]


@pytest_twisted.ensureDeferred
async def test_an_outage_is_one_warning_with_the_reason_then_one_line_when_back(
    redis_server, key, clients, logged
):
    server = redis_server()
    redis = clients(quick(server.url, pool_size=2))
    await redis.ping()
    server.kill()
    with pytest.raises(RedisUnavailable):
        await redis.ping()
    # Let both connections retry a few times (every 50 ms at most) while Redis is down.
    await task.deferLater(reactor, 0.5, lambda: None)
    server.start()
    await redis.whenConnected()
    assert await redis.ping() == "PONG"

    connected, down, back = logged(server.url)
    assert connected == ("info", f"Connected to Redis at {server.url} (client, pool of 2)")
    level, text = down
    assert level == "warn"
    assert text.startswith(
        f"Redis at {server.url} is unavailable (client, pool of 2), "
        "reconnecting in the background: connection lost: "
    )
    level, text = back
    assert level == "info"
    found = re.fullmatch(
        re.escape(f"Connected to Redis at {server.url} again (client, pool of 2) after ")
        + r"\d+\.\d s and (\d+) failed attempt\(s\)",
        text,
    )
    assert found is not None, text
    assert int(found.group(1)) >= 2  # several attempts, and not one line each
    assert_no_object_reprs_or_retry_notes(logged())


@pytest_twisted.ensureDeferred
async def test_a_client_without_reconnect_says_it_will_not_reconnect(
    redis_server, clients, logged
):
    server = redis_server()
    redis = clients(quick(server.url, reconnect=False))
    await redis.ping()
    server.kill()
    with pytest.raises(RedisUnavailable):
        await redis.ping()
    [(level, text)] = logged("is unavailable")
    assert level == "warn"
    assert text.startswith(f"Redis at {server.url} is unavailable (client), not reconnecting: ")


@pytest_twisted.ensureDeferred
async def test_a_wrong_password_stays_visible_as_a_warning(redis_server, clients, logged):
    server = redis_server("--requirepass", "right")
    url = f"redis://:wrong@127.0.0.1:{server.port}/0"
    bad = clients(cyclone.redis.connect(url))
    with pytest.raises(RedisUnavailable):
        await bad.ping()
    warnings = [text for level, text in logged() if level == "warn"]
    address = f"redis://127.0.0.1:{server.port}/0"
    assert any(
        text.startswith(f"Redis at {address} is unavailable (client)") and "auth" in text
        for text in warnings
    ), warnings
    assert not any("wrong" in text for _, text in logged())  # the password is not logged


STOPPING_SCRIPT = """
import json
import sys

from twisted.internet import defer, reactor
from twisted.logger import formatEvent, globalLogPublisher

import cyclone.redis

events = []
globalLogPublisher.addObserver(events.append)


async def main():
    client = cyclone.redis.connect(sys.argv[1], pool_size=2)
    subscriber = cyclone.redis.Subscriber(sys.argv[1])
    await client.whenConnected()
    await subscriber.subscribe("cyclone-test:stopping", print)
    assert await client.ping() == "PONG"
    reactor.stop()  # without disconnecting: the reactor closes the connections


def run():
    defer.ensureDeferred(main()).addErrback(lambda failure: (failure.printTraceback(), reactor.stop()))


reactor.callWhenRunning(run)
reactor.run()
for event in events:
    print(json.dumps([event["log_level"].name, formatEvent(event)]))
"""


def test_stopping_the_process_is_not_reported_as_an_outage(redis_url, tmp_path):
    import json
    import subprocess
    import sys

    script = tmp_path / "stopping.py"
    script.write_text(STOPPING_SCRIPT)
    result = subprocess.run(
        [sys.executable, str(script), redis_url], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr, result.stdout + result.stderr
    lines = [tuple(json.loads(line)) for line in result.stdout.splitlines()]
    # The client pool and the subscriber connect concurrently: either may log first.
    assert sorted(line for line in lines if "Redis" in line[1]) == [
        ("info", f"Connected to Redis at {redis_url} (client, pool of 2)"),
        ("info", f"Connected to Redis at {redis_url} (subscriber)"),
    ]
    assert [line for line in lines if line[0] != "info"] == []
    assert_no_object_reprs_or_retry_notes(lines)
