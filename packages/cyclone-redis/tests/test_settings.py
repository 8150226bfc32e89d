import pytest

from cyclone.redis.settings import RedisSettings, parse_url, redis_settings


def test_plain_url_gives_host_port_and_db():
    settings = parse_url("redis://cache.local:6380/2")
    assert (settings.host, settings.port, settings.db) == ("cache.local", 6380, 2)
    assert settings.path is None and settings.tls is False and settings.password is None


def test_defaults_are_localhost_6379_db_0():
    assert redis_settings(None) == RedisSettings(host="localhost", port=6379, db=0)
    assert parse_url("redis://example.org") == RedisSettings(host="example.org")
    assert parse_url("redis://example.org/").db == 0


def test_password_and_username_are_percent_decoded():
    settings = parse_url("redis://alice:p%40ss%3Aword@h:1/0")
    assert (settings.username, settings.password) == ("alice", "p@ss:word")
    assert parse_url("redis://:secret@h").password == "secret"
    assert parse_url("redis://:secret@h").username is None


def test_password_never_shows_in_repr_or_address():
    settings = parse_url("redis://:hunter2@h:1/0")
    assert "hunter2" not in repr(settings) and "hunter2" not in settings.address


def test_query_parameters_override_url_parts():
    settings = parse_url("redis://h/1?db=5&password=x&username=u")
    assert (settings.db, settings.password, settings.username) == (5, "x", "u")


def test_rediss_means_tls_with_certificate_check_unless_disabled():
    assert parse_url("rediss://h:6390").tls is True
    assert parse_url("rediss://h:6390").tls_verify is True
    assert parse_url("rediss://h?ssl_cert_reqs=none").tls_verify is False
    assert parse_url("rediss://h:6390/1").address == "rediss://h:6390/1"


def test_ipv6_host_in_brackets():
    settings = parse_url("redis://[::1]:7000/0")
    assert settings.host == "::1" and settings.address == "redis://[::1]:7000/0"


def test_unix_socket_url_with_db_in_query():
    settings = parse_url("unix:///var/run/redis/redis.sock?db=3")
    assert (settings.path, settings.db) == ("/var/run/redis/redis.sock", 3)
    assert parse_url("unix://:pw@/tmp/r.sock").password == "pw"


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("http://h/0", "'http'"),
        ("redis://h/zero", "'zero'"),
        ("redis://h:99999/0", "port"),
        ("redis://h/0?timeout=3", "timeout"),
        ("unix://", "socket path"),
        ("rediss://h?ssl_cert_reqs=maybe", "'maybe'"),
        ("redis://h/-1", "non-negative"),
    ],
)
def test_bad_urls_are_refused_naming_the_offending_part(url, complaint):
    with pytest.raises(ValueError, match=complaint):
        parse_url(url)


def test_application_settings_with_redis_url():
    settings = redis_settings({"debug": True, "redis_url": "redis://r:1/4"})
    assert (settings.host, settings.port, settings.db) == ("r", 1, 4)


def test_application_settings_with_redis_mapping():
    settings = redis_settings(
        {"cookie_secret": "x", "redis": {"host": "r", "port": "6390", "db": 2, "password": "pw"}}
    )
    assert (settings.host, settings.port, settings.db, settings.password) == ("r", 6390, 2, "pw")
    assert redis_settings({"redis": "unix:///tmp/s.sock"}).path == "/tmp/s.sock"


def test_mapping_may_start_from_a_url():
    settings = redis_settings({"url": "redis://r:1/4", "db": 7})
    assert (settings.host, settings.db) == ("r", 7)


def test_unknown_mapping_keys_are_refused_by_name():
    with pytest.raises(ValueError, match="'hots'"):
        redis_settings({"hots": "r"})


def test_settings_of_another_type_are_refused():
    with pytest.raises(TypeError, match="int"):
        redis_settings(6379)
