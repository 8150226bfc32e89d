"""cyclone.mail: composing messages, and sending them to a real SMTP server on loopback."""

from __future__ import annotations

import base64
import email
import email.policy
import socket
from collections.abc import Callable
from email.headerregistry import Address
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from smtp_test_server import LOOPBACK, Certificates, SMTPTestServer
from twisted.internet import defer, protocol, reactor
from twisted.internet.testing import MemoryReactorClock
from twisted.logger import LogLevel, formatEvent, globalLogPublisher

import cyclone.mail
from cyclone.mail import (
    AuthenticationFailed,
    ConnectionFailed,
    DeliveryFailed,
    MailError,
    Message,
    RecipientRefused,
    SentMail,
    Timeout,
    TLSFailed,
    sendmail,
)
from cyclone.util import ObjectDict

StartServer = Callable[..., SMTPTestServer]
USERS = {"ana": "s3cret-ção"}


def parse(data: bytes) -> EmailMessage:
    """Parse as a mail store would: wire CRLFs become local newlines first."""
    parsed = email.message_from_bytes(data.replace(b"\r\n", b"\n"), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def text(part: EmailMessage) -> str:
    """A text part's content; base64 text carries CRLFs (RFC 2045 §6.8 canonical form)."""
    content = part.get_content()
    assert isinstance(content, str)
    return content.replace("\r\n", "\n")


def simple_message(**options: Any) -> Message:
    return Message("Ana <ana@example.com>", ["bob@example.com"], "Hello", "Hi Bob.", **options)


def mailconf(server: SMTPTestServer, certificates: Certificates, **options: Any) -> dict[str, Any]:
    conf: dict[str, Any] = {
        "host": LOOPBACK,
        "port": server.port,
        "tls": "required",
        "tls_ca_file": str(certificates.ca_file),
        "username": "ana",
        "password": USERS["ana"],
        "timeout": 10,
    }
    conf.update(options)
    return {key: value for key, value in conf.items() if value is not None}


# -- composing --------------------------------------------------------------


def test_plain_message_has_headers_and_body_with_crlf_line_ends() -> None:
    message = simple_message()
    data = message.render()
    assert b"\n" not in data.replace(b"\r\n", b"")
    parsed = parse(data)
    assert parsed["From"] == "Ana <ana@example.com>"
    assert parsed["To"] == "bob@example.com"
    assert parsed["Subject"] == "Hello"
    assert parsed.get_content_type() == "text/plain"
    assert parsed.get_content_charset() == "utf-8"
    assert text(parsed) == "Hi Bob.\n"


def test_date_and_message_id_are_set_once_so_render_repeats_exactly() -> None:
    message = simple_message()
    parsed = parse(message.render())
    assert parsed["Message-ID"] == message.message_id
    assert message.message_id.endswith("@example.com>")
    assert parsed["Date"].datetime == message.date.replace(microsecond=0)
    assert message.render() == message.render()


def test_mime_text_html_sends_an_html_only_message_as_the_old_api_did() -> None:
    message = Message("a@example.com", "b@example.com", "Hi", "<p>Hi</p>", mime="text/html")
    parsed = parse(message.render())
    assert parsed.get_content_type() == "text/html"
    assert text(parsed) == "<p>Hi</p>\n"
    assert message.to_addrs == ["b@example.com"]


def test_html_argument_makes_multipart_alternative_with_plain_text_first() -> None:
    message = simple_message(html="<p>Hi <b>Bob</b>.</p>")
    parsed = parse(message.render())
    assert parsed.get_content_type() == "multipart/alternative"
    plain, html = parsed.iter_parts()
    assert plain.get_content_type() == "text/plain"
    assert html.get_content_type() == "text/html"
    assert text(html) == "<p>Hi <b>Bob</b>.</p>\n"


def test_add_alternative_puts_plain_text_first_whatever_the_primary_body() -> None:
    message = Message("a@example.com", ["b@example.com"], "Hi", "<p>Hi</p>", mime="text/html")
    message.add_alternative("Hi", mime="text/plain")
    parts = [part.get_content_type() for part in parse(message.render()).iter_parts()]
    assert parts == ["text/plain", "text/html"]
    with pytest.raises(ValueError, match="already has a text/html body"):
        message.add_alternative("<p>again</p>")
    with pytest.raises(ValueError, match="text/"):
        message.add_alternative("x", mime="application/json")


def test_attach_reads_a_file_and_guesses_its_mime_type(tmp_path: Path) -> None:
    picture = tmp_path / "me.png"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    message = simple_message(html="<p>hi</p>")
    message.attach(picture)
    message.attach(str(tmp_path / "me.png"), mime="application/x-custom")
    parsed = parse(message.render())
    assert parsed.get_content_type() == "multipart/mixed"
    body, png, custom = parsed.iter_parts()
    assert body.get_content_type() == "multipart/alternative"
    assert png.get_content_type() == "image/png"
    assert png.get_filename() == "me.png"
    assert png.get_content_disposition() == "attachment"
    assert png.get_content() == picture.read_bytes()
    assert custom.get_content_type() == "application/x-custom"
    assert "MIME-Version" not in png


def test_attach_content_given_as_bytes_or_text_with_a_charset() -> None:
    message = simple_message()
    message.attach("fake.txt", mime="text/plain", charset="utf-8", content="this file is fake!")
    message.attach("latin.txt", charset="iso-8859-1", content="olá")
    message.attach("blob", content=b"\x00\x01\r\n\n\r")
    _, fake, latin, blob = parse(message.render()).iter_parts()
    assert text(fake) == "this file is fake!"
    assert latin.get_content_type() == "text/plain"
    assert latin.get_content_charset() == "iso-8859-1"
    assert latin.get_payload(decode=True) == "olá".encode("iso-8859-1")
    assert blob.get_content_type() == "application/octet-stream"
    assert blob.get_payload(decode=True) == b"\x00\x01\r\n\n\r"
    with pytest.raises(TypeError):
        message.attach("x.txt", content=42)  # type: ignore[arg-type]


def test_non_ascii_names_subject_body_and_filename_are_encoded_and_decode_back() -> None:
    message = Message(
        "José Silva <jose@example.com>",
        [Address("Zoë Ünal", "zoe", "example.org")],
        "Relatório de março — ✓",
        "Olá, Zoë! Ação concluída.",
        cc=['"Müller, Jürgen" <jm@example.de>'],
    )
    message.attach("relatório final.pdf", content=b"%PDF-1.4")
    data = message.render()
    assert data.isascii()
    head = data.split(b"\r\n\r\n", 1)[0]
    assert b"=?utf-8?" in head  # RFC 2047 encoded words
    assert b"filename*=utf-8''relat%C3%B3rio%20final.pdf" in data  # RFC 2231
    parsed = parse(data)
    assert parsed["From"].addresses[0].display_name == "José Silva"
    assert parsed["To"].addresses[0].display_name == "Zoë Ünal"
    assert parsed["Cc"].addresses[0].display_name == "Müller, Jürgen"
    assert parsed["Subject"] == "Relatório de março — ✓"
    body, attachment = parsed.iter_parts()
    assert text(body) == "Olá, Zoë! Ação concluída.\n"
    assert attachment.get_filename() == "relatório final.pdf"
    assert attachment.get_content_type() == "application/pdf"


def test_other_charsets_are_declared_and_used_for_the_body() -> None:
    message = Message("a@example.com", ["b@example.com"], "x", "Olá", charset="iso-8859-1")
    parsed = parse(message.render())
    assert parsed.get_content_charset() == "iso-8859-1"
    assert parsed.get_payload(decode=True) == "Olá\n".encode("iso-8859-1")


def test_bcc_recipients_are_delivered_to_but_never_written_in_headers() -> None:
    message = simple_message(cc="carl@example.com", bcc=["secret@example.com"])
    data = message.render()
    assert b"secret@example.com" not in data
    assert "Bcc" not in parse(data)
    assert message.recipients == ["bob@example.com", "carl@example.com", "secret@example.com"]


def test_recipients_are_to_then_cc_then_bcc_without_duplicates() -> None:
    message = Message(
        "a@example.com",
        "Bob <bob@example.com>, carl@example.com",
        "x",
        "y",
        cc=["carl@example.com", "dan@example.com"],
        bcc="bob@example.com",
    )
    assert message.recipients == ["bob@example.com", "carl@example.com", "dan@example.com"]
    assert message.envelope_from == "a@example.com"


def test_reply_to_and_custom_headers_are_written() -> None:
    message = simple_message(reply_to="Help Desk <help@example.com>")
    message.add_header("X-MailTag", "sampleUpload")
    message.add_header("X-Report", "attached", kind="monthly")
    message.add_header("Subject", "Replaced")
    parsed = parse(message.render())
    assert parsed["Reply-To"] == "Help Desk <help@example.com>"
    assert parsed["X-MailTag"] == "sampleUpload"
    assert parsed["X-Report"] == 'attached; kind="monthly"'
    assert parsed.get_all("Subject") == ["Replaced"]


def test_add_header_refuses_bcc_bad_names_and_line_breaks() -> None:
    message = simple_message()
    with pytest.raises(ValueError, match="bcc="):
        message.add_header("Bcc", "x@example.com")
    with pytest.raises(ValueError, match="header name"):
        message.add_header("Bad Name", "x")
    with pytest.raises(ValueError, match="line break"):
        message.add_header("X-Evil", "a\r\nBcc: x@example.com")


@pytest.mark.parametrize(
    "address",
    ["not an address", "Silva, Ana <ana@example.com>", "a@example.com\r\nBcc: b@x.com", ""],
)
def test_invalid_addresses_are_refused_when_the_message_is_built(address: str) -> None:
    with pytest.raises(ValueError):
        Message("a@example.com", [address], "x", "y")


def test_from_addr_must_be_one_address() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        Message("a@example.com, b@example.com", ["c@example.com"], "x", "y")


def test_long_and_non_ascii_bodies_use_seven_bit_transfer_encodings() -> None:
    message = Message("a@example.com", ["b@example.com"], "x", "ç" * 500 + "\n" + "a" * 1200)
    data = message.render()
    assert data.isascii()
    assert max(len(line) for line in data.split(b"\r\n")) <= 78
    assert text(parse(data)) == "ç" * 500 + "\n" + "a" * 1200 + "\n"


# -- sending: success -------------------------------------------------------


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
@pytest_twisted.ensureDeferred
async def test_starttls_and_auth_deliver_exactly_the_rendered_bytes(
    smtp_server: StartServer, certificates: Certificates, mechanism: str
) -> None:
    server = smtp_server(users=USERS, mechanisms={mechanism})
    message = simple_message(cc="carl@example.com", bcc="secret@example.com")
    sent = await sendmail(mailconf(server, certificates, helo="client.test"), message)
    assert isinstance(sent, SentMail)
    assert sent.accepted_count == 3
    assert sent.accepted == ["bob@example.com", "carl@example.com", "secret@example.com"]
    assert sent.refused == {}
    count, responses = sent  # the old (numOk, addresses) tuple still unpacks
    assert count == 3 and len(responses) == 3
    [received] = server.received
    assert received.tls is True
    assert received.login == "ana"
    assert received.helo == "client.test"
    assert received.mail_from == "ana@example.com"
    assert received.rcpt_tos == ["bob@example.com", "carl@example.com", "secret@example.com"]
    assert received.data == message.render()
    assert "Bcc" not in received.message
    assert b"secret@example.com" not in received.data


@pytest_twisted.ensureDeferred
async def test_html_alternative_and_attachments_arrive_intact(
    smtp_server: StartServer, certificates: Certificates, tmp_path: Path
) -> None:
    server = smtp_server(users=USERS)
    picture = tmp_path / "me.png"
    picture.write_bytes(bytes(range(256)) * 100)
    message = Message(
        "Zoë <zoe@example.com>",
        ["bob@example.com"],
        "Ação ✓",
        "plain ç",
        html="<p>html ç</p>",
    )
    message.attach(picture)
    message.attach("relatório.txt", content="linha 1\nlinha 2\n")
    message.add_header("X-MailTag", "sampleUpload")
    await sendmail(mailconf(server, certificates), message)
    parsed = server.received[0].message
    assert parsed["Subject"] == "Ação ✓"
    assert parsed["From"].addresses[0].display_name == "Zoë"
    assert parsed["X-MailTag"] == "sampleUpload"
    alternative, png, notes = parsed.iter_parts()
    plain, html = alternative.iter_parts()
    assert text(plain) == "plain ç\n"
    assert text(html) == "<p>html ç</p>\n"
    assert png.get_content() == picture.read_bytes()
    assert notes.get_filename() == "relatório.txt"
    assert notes.get_payload(decode=True) == b"linha 1\nlinha 2\n"


@pytest_twisted.ensureDeferred
async def test_sending_logs_no_starting_or_stopping_factory_lines(
    smtp_server: StartServer, certificates: Certificates
) -> None:
    from twisted.logger import formatEvent, globalLogPublisher

    lines: list[str] = []

    def observer(event: dict[str, Any]) -> None:
        lines.append(formatEvent(event))

    server = smtp_server(users=USERS)
    globalLogPublisher.addObserver(observer)
    try:
        await sendmail(mailconf(server, certificates), simple_message())
    finally:
        globalLogPublisher.removeObserver(observer)
    assert len(server.received) == 1
    assert not [line for line in lines if "factory" in line.lower()], lines


@pytest_twisted.ensureDeferred
async def test_lines_starting_with_a_dot_survive_at_any_position(
    smtp_server: StartServer, certificates: Certificates
) -> None:
    server = smtp_server(users=USERS)
    # Put line-leading dots everywhere, including at Twisted's 16 KiB chunk edges.
    lines = [("." if i % 3 == 0 else "") + "x" * (i % 70) for i in range(2000)]
    body = "\n".join(lines) + "\n.\n..\n"
    message = Message("a@example.com", ["b@example.com"], "dots", body)
    await sendmail(mailconf(server, certificates), message)
    assert server.received[0].data == message.render()


@pytest_twisted.ensureDeferred
async def test_opportunistic_tls_uses_starttls_when_offered(
    smtp_server: StartServer, certificates: Certificates
) -> None:
    server = smtp_server(users=USERS)
    await sendmail(mailconf(server, certificates, tls="opportunistic"), simple_message())
    assert server.received[0].tls is True


@pytest_twisted.ensureDeferred
async def test_opportunistic_tls_sends_in_clear_when_starttls_is_not_offered(
    smtp_server: StartServer, certificates: Certificates
) -> None:
    server = smtp_server(tls=None)
    conf = mailconf(server, certificates, tls="opportunistic", username=None, password=None)
    await sendmail(conf, simple_message())
    assert server.received[0].tls is False
    assert server.received[0].login is None


@pytest_twisted.ensureDeferred
async def test_plain_smtp_without_tls_or_auth_as_the_old_default(
    smtp_server: StartServer,
) -> None:
    server = smtp_server(tls=None)
    await sendmail({"host": LOOPBACK, "port": server.port}, simple_message())
    assert server.received[0].tls is False


@pytest_twisted.ensureDeferred
async def test_implicit_tls_smtps_with_auth(
    smtp_server: StartServer, certificates: Certificates
) -> None:
    server = smtp_server(tls="implicit", users=USERS)
    conf = mailconf(server, certificates, tls=None, ssl=True)
    await sendmail(conf, simple_message())
    assert server.received[0].login == "ana"


@pytest_twisted.ensureDeferred
async def test_mailconf_may_be_a_settings_object_with_attributes(
    smtp_server: StartServer, certificates: Certificates
) -> None:
    server = smtp_server(users=USERS)
    settings = ObjectDict(email_settings=ObjectDict(mailconf(server, certificates)))
    await sendmail(settings.email_settings, simple_message())

    class Conf:
        host = LOOPBACK
        port = server.port
        tls = True
        tls_ca_file = certificates.ca_file
        username = "ana"
        password = USERS["ana"]

    await sendmail(Conf(), simple_message())
    assert len(server.received) == 2


@pytest_twisted.ensureDeferred
async def test_tls_verify_off_accepts_an_untrusted_certificate(
    smtp_server: StartServer, certificates: Certificates
) -> None:
    server = smtp_server(users=USERS)
    conf = mailconf(server, certificates, tls_ca_file=None, tls_verify=False)
    await sendmail(conf, simple_message())
    assert server.received[0].tls is True


@pytest_twisted.ensureDeferred
async def test_some_recipients_refused_still_delivers_and_reports_them(
    smtp_server: StartServer, certificates: Certificates
) -> None:
    server = smtp_server(users=USERS, refused={"ghost@example.com"})
    message = Message("a@example.com", ["bob@example.com", "ghost@example.com"], "x", "y")
    sent = await sendmail(mailconf(server, certificates), message)
    assert sent.accepted == ["bob@example.com"]
    assert sent.refused == {"ghost@example.com": (550, "5.1.1 No such user here")}
    assert server.received[0].rcpt_tos == ["bob@example.com"]


# -- sending: failures ------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


@pytest_twisted.ensureDeferred
async def test_refused_connection_raises_connection_failed() -> None:
    with pytest.raises(ConnectionFailed, match="could not talk to 127.0.0.1") as caught:
        await sendmail({"host": LOOPBACK, "port": free_port()}, simple_message())
    assert isinstance(caught.value, MailError)


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
@pytest_twisted.ensureDeferred
async def test_wrong_password_raises_authentication_failed_without_leaking_it(
    smtp_server: StartServer, certificates: Certificates, mechanism: str
) -> None:
    server = smtp_server(users=USERS, mechanisms={mechanism})
    password = "wrong-pässword"
    with pytest.raises(AuthenticationFailed, match="'ana'") as caught:
        await sendmail(mailconf(server, certificates, password=password), simple_message())
    assert caught.value.code == 535
    assert server.received == []
    secret = password.encode()
    encoded = [
        base64.b64encode(value) for value in (secret, b"ana\0ana\0" + secret, b"\0ana\0" + secret)
    ]
    for text_shown in (
        str(caught.value),
        repr(caught.value.__cause__),
        str(caught.value.__cause__),
    ):
        assert password not in text_shown
        assert not any(value.decode() in text_shown for value in encoded)


@pytest_twisted.ensureDeferred
async def test_credentials_without_tls_where_auth_needs_tls_explain_the_fix(
    smtp_server: StartServer, certificates: Certificates
) -> None:
    server = smtp_server(users=USERS)
    with pytest.raises(AuthenticationFailed, match="tls='required'"):
        await sendmail(mailconf(server, certificates, tls=False), simple_message())


@pytest_twisted.ensureDeferred
async def test_every_recipient_refused_raises_recipient_refused(
    smtp_server: StartServer, certificates: Certificates
) -> None:
    server = smtp_server(users=USERS, refused={"bob@example.com"})
    with pytest.raises(RecipientRefused, match="bob@example.com") as caught:
        await sendmail(mailconf(server, certificates), simple_message())
    assert caught.value.refused == {"bob@example.com": (550, "5.1.1 No such user here")}
    assert isinstance(caught.value, DeliveryFailed)
    assert server.received == []


@pytest_twisted.ensureDeferred
async def test_message_refused_after_data_raises_delivery_failed(
    smtp_server: StartServer, certificates: Certificates
) -> None:
    server = smtp_server(users=USERS, data_reply="554 5.6.0 Message looks like spam")
    with pytest.raises(DeliveryFailed, match="looks like spam") as caught:
        await sendmail(mailconf(server, certificates), simple_message())
    assert not isinstance(caught.value, RecipientRefused)
    assert caught.value.code == 554


@pytest_twisted.ensureDeferred
async def test_required_starttls_not_offered_raises_tls_failed(
    smtp_server: StartServer, certificates: Certificates
) -> None:
    server = smtp_server(tls=None)
    conf = mailconf(server, certificates, username=None, password=None)
    with pytest.raises(TLSFailed, match="does not offer STARTTLS"):
        await sendmail(conf, simple_message())
    assert server.received == []


@pytest_twisted.ensureDeferred
async def test_untrusted_certificate_raises_tls_failed(
    smtp_server: StartServer, certificates: Certificates
) -> None:
    server = smtp_server(users=USERS)
    with pytest.raises(TLSFailed):
        await sendmail(mailconf(server, certificates, tls_ca_file=None), simple_message())
    assert server.received == []


@pytest_twisted.ensureDeferred
async def test_certificate_for_another_host_raises_tls_failed(
    smtp_server: StartServer, certificates: Certificates
) -> None:
    server = smtp_server(users=USERS)
    conf = mailconf(server, certificates, tls_hostname="smtp.elsewhere.example")
    with pytest.raises(TLSFailed):
        await sendmail(conf, simple_message())
    assert server.received == []


@pytest_twisted.ensureDeferred
async def test_opportunistic_tls_never_skips_verification_silently(
    smtp_server: StartServer, certificates: Certificates
) -> None:
    server = smtp_server()
    conf = mailconf(
        server, certificates, tls="opportunistic", tls_ca_file=None, username=None, password=None
    )
    with pytest.raises(TLSFailed):
        await sendmail(conf, simple_message())
    assert server.received == []


@pytest_twisted.ensureDeferred
async def test_implicit_tls_with_an_untrusted_certificate_raises_tls_failed(
    smtp_server: StartServer, certificates: Certificates
) -> None:
    server = smtp_server(tls="implicit", users=USERS)
    conf = mailconf(server, certificates, tls=None, ssl=True, tls_ca_file=None)
    with pytest.raises(TLSFailed):
        await sendmail(conf, simple_message())


class _Listening:
    """A Twisted server on loopback for misbehaving-server tests."""

    def __init__(self, protocol_class: type[protocol.Protocol]) -> None:
        factory = protocol.Factory.forProtocol(protocol_class)
        self.port = reactor.listenTCP(0, factory, interface=LOOPBACK)

    @property
    def number(self) -> int:
        return int(self.port.getHost().port)


@pytest.fixture
def listen() -> Any:
    ports: list[_Listening] = []

    def start(protocol_class: type[protocol.Protocol]) -> _Listening:
        ports.append(_Listening(protocol_class))
        return ports[-1]

    yield start
    for listening in ports:
        listening.port.stopListening()


class _Silent(protocol.Protocol):
    """Accepts the connection and never says a word."""


class _Unwelcoming(protocol.Protocol):
    def connectionMade(self) -> None:
        self.transport.write(b"554 5.3.2 Not accepting mail from you\r\n")


class _HangsUpAfterGreeting(protocol.Protocol):
    def connectionMade(self) -> None:
        self.transport.write(b"220 smtp.test ESMTP\r\n")

    def dataReceived(self, data: bytes) -> None:
        self.transport.loseConnection()


@pytest_twisted.ensureDeferred
async def test_connection_lost_mid_exchange_raises_connection_failed(listen: Any) -> None:
    server = listen(_HangsUpAfterGreeting)
    with pytest.raises(ConnectionFailed, match="could not talk to"):
        await sendmail({"host": LOOPBACK, "port": server.number}, simple_message())


@pytest_twisted.ensureDeferred
async def test_server_that_never_speaks_raises_timeout(listen: Any) -> None:
    server = listen(_Silent)
    conf = {"host": LOOPBACK, "port": server.number, "timeout": 0.5}
    with pytest.raises(Timeout):
        await sendmail(conf, simple_message())


@pytest_twisted.ensureDeferred
async def test_server_that_never_speaks_over_implicit_tls_raises_timeout(listen: Any) -> None:
    server = listen(_Silent)
    conf = {"host": LOOPBACK, "port": server.number, "timeout": 0.5, "ssl": True}
    with pytest.raises(Timeout):
        await sendmail(conf, simple_message())


@pytest_twisted.ensureDeferred
async def test_negative_greeting_raises_connection_failed_with_the_reply(listen: Any) -> None:
    server = listen(_Unwelcoming)
    with pytest.raises(ConnectionFailed, match="Not accepting mail") as caught:
        await sendmail({"host": LOOPBACK, "port": server.number}, simple_message())
    assert caught.value.code == 554


def test_whole_exchange_deadline_fires_even_if_nothing_else_does() -> None:
    clock = MemoryReactorClock()
    conf = {"host": "smtp.example.com", "timeout": 30, "connect_timeout": 5}
    result = sendmail(conf, simple_message(), reactor=clock)
    host, port, _, timeout, _ = clock.tcpClients[0]
    assert (host, port, timeout) == ("smtp.example.com", 25, 5)
    failures: list[Any] = []
    result.addErrback(failures.append)
    clock.advance(29)
    assert failures == []
    clock.advance(1)
    [failure] = failures
    assert failure.check(Timeout)
    assert "30.0s" in str(failure.value)
    assert clock.connectors[0]._disconnected


def test_cancelling_the_deferred_abandons_the_exchange() -> None:
    clock = MemoryReactorClock()
    result = sendmail({"host": "smtp.example.com"}, simple_message(), reactor=clock)
    failures: list[Any] = []
    result.addErrback(failures.append)
    result.cancel()
    [failure] = failures
    assert failure.check(defer.CancelledError)
    assert clock.connectors[0]._disconnected
    assert not clock.getDelayedCalls()


@pytest.mark.parametrize(
    ("conf", "error"),
    [
        ({}, "'host'"),
        ({"host": "h", "tls": "sometimes"}, "'tls'"),
        ({"host": "h", "port": "25"}, "'port'"),
        ({"host": "h", "port": 70000}, "'port'"),
        ({"host": "h", "timeout": 0}, "'timeout'"),
        ({"host": "h", "username": "ana"}, "no 'password'"),
        ({"host": "h", "ssl": "yes"}, "'ssl'"),
    ],
)
def test_invalid_mailconf_is_refused_at_once(conf: dict[str, Any], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        sendmail(conf, simple_message(), reactor=MemoryReactorClock())


def test_a_message_without_recipients_is_refused_at_once() -> None:
    message = Message("a@example.com", [], "x", "y")
    with pytest.raises(ValueError, match="no recipients"):
        sendmail({"host": "h"}, message, reactor=MemoryReactorClock())
    with pytest.raises(TypeError):
        sendmail({"host": "h"}, b"raw", reactor=MemoryReactorClock())  # type: ignore[arg-type]


def test_default_ports_follow_the_tls_mode() -> None:
    for conf, port in [
        ({"host": "h"}, 25),
        ({"host": "h", "tls": True}, 587),
        ({"host": "h", "tls": "opportunistic"}, 25),
        ({"host": "h", "ssl": True, "tls_verify": False}, 465),
    ]:
        clock = MemoryReactorClock()
        sendmail(conf, simple_message(), reactor=clock).addErrback(lambda _: None).cancel()
        clients = clock.tcpClients or clock.sslClients
        assert clients[0][1] == port, conf


def test_module_exports_what_it_documents() -> None:
    assert set(cyclone.mail.__all__) <= set(dir(cyclone.mail))


@pytest.mark.parametrize(
    ("options", "warned"),
    [
        ({}, True),
        ({"tls": "opportunistic"}, True),
        ({"tls": "required"}, False),
        ({"ssl": True}, False),
    ],
)
def test_credentials_that_may_travel_unencrypted_are_logged_as_a_warning(
    options: dict[str, Any], warned: bool
) -> None:
    events: list[dict[str, Any]] = []
    globalLogPublisher.addObserver(events.append)
    try:
        conf = {"host": "h", "username": "ana", "password": "pw", **options}
        sendmail(conf, simple_message(), reactor=MemoryReactorClock()).addErrback(
            lambda _: None
        ).cancel()
    finally:
        globalLogPublisher.removeObserver(events.append)
    warnings = [e for e in events if e.get("log_level") == LogLevel.warn]
    assert bool(warnings) is warned
    assert all("pw" not in formatEvent(e) for e in events)


# -- cyclone 1.x -----------------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_cyclone_1x_message_and_sendmail_calls_work(
    smtp_server: StartServer, certificates: Certificates
) -> None:
    # 1.3's documented calls, keyword for keyword; only the CA file is new (certificates
    # are verified now; a server with a publicly trusted certificate needs nothing).
    server = smtp_server(users=USERS)
    msg = cyclone.mail.Message(
        from_addr="root@localhost",
        to_addrs=["user1@localhost", "user2@localhost"],
        subject="Test, 123",
        message="Hello thar!",
        mime="text/html",
    )
    msg.attach("fake.txt", mime="text/plain", content="gotcha")
    msg.add_header("X-MailTag", "foobar")
    mailconf = dict(
        host=LOOPBACK,
        port=server.port,
        username="ana",
        password=USERS["ana"],
        tls=True,
        tls_ca_file=str(certificates.ca_file),
    )
    responses: list[Any] = []
    d = cyclone.mail.sendmail(mailconf, msg)
    d.addCallback(responses.append)
    await d
    [(count, _)] = responses
    assert count == 2
    received = server.received[0]
    assert received.tls and received.login == "ana"
    assert received.rcpt_tos == ["user1@localhost", "user2@localhost"]
    parsed = received.message
    assert parsed["X-MailTag"] == "foobar"
    body, attachment = parsed.iter_parts()
    assert body.get_content_type() == "text/html"
    assert attachment.get_filename() == "fake.txt"
    assert attachment.get_payload(decode=True) == b"gotcha"


@pytest_twisted.ensureDeferred
async def test_context_factory_works_with_twisteds_own_smtp_factory_as_in_1x(
    smtp_server: StartServer,
) -> None:
    # What 1.3's sendmail did, written by hand as 1.x applications could.
    from io import BytesIO

    from twisted.mail.smtp import ESMTPSenderFactory

    server = smtp_server(users=USERS)
    message = simple_message()
    result: defer.Deferred[Any] = defer.Deferred()
    factory = ESMTPSenderFactory(
        b"ana",
        USERS["ana"].encode(),
        message.envelope_from,
        message.recipients,
        # Twisted's sender turns LF into CRLF itself, as 1.3's text rendering expected.
        BytesIO(message.render().replace(b"\r\n", b"\n")),
        result,
        contextFactory=cyclone.mail.ContextFactory(),
        requireAuthentication=True,
        requireTransportSecurity=True,
    )
    reactor.connectTCP(LOOPBACK, server.port, factory)
    count, _ = await result
    assert count == 1
    assert server.received[0].tls is True
    assert server.received[0].data == message.render()


def test_context_factory_refuses_sslv3_as_in_1x() -> None:
    from OpenSSL import SSL

    context = cyclone.mail.ContextFactory().getContext()
    assert context.set_options(0) & SSL.OP_NO_SSLv3  # set_options returns the mask in force
