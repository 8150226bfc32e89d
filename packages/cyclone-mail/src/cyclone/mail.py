"""Compose e-mail with the standard library's ``email`` package; send it with Twisted.

    from twisted.internet import defer, task

    import cyclone.mail

    async def main(reactor):
        message = cyclone.mail.Message(
            "Ana <ana@example.com>", ["bob@example.com"], "Olá", "Hello, Bob.",
            html="<p>Hello, <b>Bob</b>.</p>")
        message.attach("report.pdf")
        mailconf = {"host": "smtp.example.com", "port": 587, "tls": "required",
                    "username": "ana", "password": "secret"}
        sent = await cyclone.mail.sendmail(mailconf, message)
        print("accepted:", sent.accepted)

    task.react(lambda reactor: defer.ensureDeferred(main(reactor)))

`Message` builds an RFC 5322 / MIME message (RFC 2045-2049) on
`email.message.EmailMessage`: a text body, optional HTML (or other text)
alternatives, attachments, Cc, Bcc (never written to the headers), Reply-To and
custom headers; non-ASCII display names and subjects become RFC 2047 encoded
words, non-ASCII attachment names RFC 2231 parameters. `Message.render()` gives
the exact bytes that go after ``DATA``.

`sendmail` delivers one message through an SMTP server with Twisted's
`ESMTPSenderFactory`: STARTTLS (required or opportunistic) or implicit TLS
(SMTPS, RFC 8314), AUTH PLAIN/LOGIN/CRAM-MD5, certificate verification, and a
deadline on the whole exchange. Failures arrive as `MailError` subclasses.
"""

from __future__ import annotations

import mimetypes
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from email import policy as email_policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import localtime, make_msgid
from io import BytesIO
from typing import Any, NamedTuple, TypeAlias

from OpenSSL import SSL
from service_identity import CertificateError, VerificationError
from twisted.internet import defer
from twisted.internet import error as internet_error
from twisted.internet.ssl import (
    Certificate,
    CertificateOptions,
    ClientContextFactory,
    optionsForClientTLS,
    platformTrust,
    trustRootFromCertificates,
)
from twisted.logger import Logger
from twisted.mail import smtp
from twisted.python.failure import Failure

from cyclone import _namespace  # noqa: F401  (cyclone.<module> on first use; no cyclone 1.x)

__all__ = [
    "AuthenticationFailed",
    "ConnectionFailed",
    "ContextFactory",
    "DeliveryFailed",
    "MailError",
    "Message",
    "RecipientRefused",
    "SentMail",
    "TLSFailed",
    "Timeout",
    "sendmail",
]

log = Logger()

#: How messages are serialised: CRLF line ends and 78-column header folding
#: (RFC 5322 §2.1.1), and 7-bit transfer encodings only (quoted-printable or
#: base64 for anything else), because Twisted's client never negotiates
#: 8BITMIME (RFC 6152) and an 8-bit body would then break RFC 5321 §2.4.
POLICY = email_policy.SMTP.clone(cte_type="7bit")

#: Default seconds for the whole SMTP exchange (and for the TCP connect).
DEFAULT_TIMEOUT = 60.0

AddressInput: TypeAlias = "str | Address"
AddressList: TypeAlias = "str | Address | Iterable[str | Address] | None"

# Headers that Message writes itself; add_header() replaces them instead of
# adding a second copy (RFC 5322 §3.6 allows each of these at most once).
_MANAGED_HEADERS = frozenset(
    {"from", "to", "cc", "reply-to", "subject", "date", "message-id", "sender"}
)
# RFC 5322 §3.6.3: Bcc recipients get the message without seeing the field.
_FORBIDDEN_HEADERS = frozenset({"bcc"})
# RFC 5322 §2.2: a field name is printable US-ASCII except the colon.
_FIELD_NAME = re.compile(r"[!-9;-~]+")


# -- errors -----------------------------------------------------------------


class MailError(Exception):
    """Sending failed; ``code`` and ``response`` hold the SMTP reply when there was one.

    The Twisted exception that caused it is chained as ``__cause__``.
    """

    def __init__(self, message: str, code: int | None = None, response: str | None = None):
        super().__init__(message)
        self.code = code
        self.response = response


class ConnectionFailed(MailError):
    """No SMTP session: the connection was refused or lost, or the greeting was negative."""


class TLSFailed(MailError):
    """TLS could not be set up: STARTTLS missing or refused, or certificate verification failed."""


class AuthenticationFailed(MailError):
    """The server refused the credentials, or offers no AUTH mechanism we can use."""


class Timeout(MailError):
    """The server did not answer in time (connect, one reply, or the whole exchange)."""


class DeliveryFailed(MailError):
    """The server refused the message itself (MAIL FROM or DATA got a negative reply)."""


class RecipientRefused(DeliveryFailed):
    """The server refused every recipient, so nothing was sent.

    ``refused`` maps each address to its ``(code, response)``. When only some
    recipients are refused the message is delivered to the others and
    `sendmail` succeeds; see `SentMail.refused`.
    """

    def __init__(self, message: str, refused: dict[str, tuple[int, str]]):
        super().__init__(message)
        self.refused = refused


# -- composing --------------------------------------------------------------


@dataclass(frozen=True)
class _TextBody:
    content: str
    subtype: str
    charset: str


@dataclass(frozen=True)
class _Attachment:
    filename: str
    data: bytes
    maintype: str
    subtype: str
    charset: str | None


def _split_mime(mime: str) -> tuple[str, str]:
    maintype, slash, subtype = mime.strip().lower().partition("/")
    if not slash or not maintype or not subtype or "/" in subtype:
        raise ValueError(f"not a MIME type (type/subtype): {mime!r}")
    return maintype, subtype


def _parse_addresses(field: str, values: AddressList) -> tuple[Address, ...]:
    """Parse address strings (RFC 5322 §3.4) into `Address` objects, refusing junk.

    One string may hold several comma-separated addresses; a display name that
    contains a comma must be quoted, as the RFC requires.
    """
    if values is None:
        return ()
    if isinstance(values, (str, Address)):
        values = [values]
    parsed: list[Address] = []
    for value in values:
        if isinstance(value, Address):
            addresses: tuple[Address, ...] = (value,)
        elif isinstance(value, str):
            if "\r" in value or "\n" in value:
                raise ValueError(f"{field} address contains a line break: {value!r}")
            addresses = tuple(POLICY.header_factory(field, value).addresses)
        else:
            raise TypeError(
                f"{field} address must be a str or email.headerregistry.Address, not {value!r}"
            )
        if not addresses:
            raise ValueError(f"no address in {field}: {value!r}")
        for address in addresses:
            if not address.username or not address.domain:
                raise ValueError(
                    f"invalid {field} address {value!r} (expected user@domain; "
                    f'quote display names that contain commas: "Silva, Ana" <ana@example.com>)'
                )
        parsed.extend(addresses)
    return tuple(parsed)


class Message:
    """An e-mail message: headers, a text body, alternatives and attachments.

    ``Message(from_addr, to_addrs, subject, message, mime="text/plain",
    charset="utf-8")`` is the old cyclone signature: ``message`` is the body,
    of type ``mime`` (``"text/html"`` for an HTML-only mail). Give ``html=``
    (or call `add_alternative`) to send both a plain text and an HTML version
    as ``multipart/alternative`` (RFC 2046 §5.1.4): clients show the richest
    one they support, and the plain text always goes first, as the RFC asks.

    ``cc`` and ``bcc`` take the same forms as ``to_addrs``: one string (which
    may list several addresses separated by commas), an `Address`, or a list
    of them. Bcc recipients receive the message but never appear in it.
    ``Date`` and ``Message-ID`` are fixed when the message is created so that
    `render` is repeatable.
    """

    def __init__(
        self,
        from_addr: AddressInput,
        to_addrs: AddressList,
        subject: str,
        message: str,
        mime: str = "text/plain",
        charset: str = "utf-8",
        *,
        html: str | None = None,
        cc: AddressList = None,
        bcc: AddressList = None,
        reply_to: AddressList = None,
    ) -> None:
        from_addresses = _parse_addresses("From", from_addr)
        if len(from_addresses) != 1:
            raise ValueError(f"from_addr must be exactly one address, got {from_addr!r}")
        self.from_addr = from_addr
        self.to_addrs: list[AddressInput] = self._as_list("To", to_addrs)
        self.cc: list[AddressInput] = self._as_list("Cc", cc)
        self.bcc: list[AddressInput] = self._as_list("Bcc", bcc)
        self.reply_to: list[AddressInput] = self._as_list("Reply-To", reply_to)
        if not isinstance(subject, str):
            raise TypeError(f"subject must be a str, not {subject!r}")
        self.subject = subject
        self.date: datetime = localtime()
        self.message_id: str = make_msgid(domain=_message_id_domain(from_addresses[0]))
        self._bodies: list[_TextBody] = []
        self._attachments: list[_Attachment] = []
        self._headers: list[tuple[str, str, dict[str, str]]] = []
        self._add_body(message, mime, charset)
        if html is not None:
            self.add_alternative(html, "text/html", charset)

    @staticmethod
    def _as_list(field: str, values: AddressList) -> list[AddressInput]:
        _parse_addresses(field, values)
        if values is None:
            return []
        if isinstance(values, (str, Address)):
            return [values]
        return list(values)

    def _add_body(self, content: str, mime: str, charset: str | None) -> None:
        if not isinstance(content, str):
            raise TypeError(f"a message body must be a str, not {type(content).__name__}")
        maintype, subtype = _split_mime(mime)
        if maintype != "text":
            raise ValueError(f"a message body must be text/*, not {mime!r}; use attach()")
        if any(body.subtype == subtype for body in self._bodies):
            raise ValueError(f"the message already has a text/{subtype} body")
        self._bodies.append(_TextBody(content, subtype, charset or "utf-8"))

    def add_alternative(
        self, content: str, mime: str = "text/html", charset: str | None = None
    ) -> None:
        """Add another rendering of the body (by default HTML) as multipart/alternative.

        Each type may appear once. The order sent is: text/plain first, then the
        others in the order added, so the last one added is the preferred one
        (RFC 2046 §5.1.4).
        """
        self._add_body(content, mime, charset or self._bodies[0].charset)

    def attach(
        self,
        filename: str | os.PathLike[str],
        mime: str | None = None,
        charset: str | None = None,
        content: str | bytes | None = None,
    ) -> None:
        """Attach a file: read from ``filename``, or ``content`` given under that name.

        The MIME type is guessed from the file name when ``mime`` is None
        (``application/octet-stream`` if unknown). A ``str`` content is encoded
        with ``charset`` (default UTF-8), which is then declared on the part.
        Attachments are sent base64-encoded, so their bytes arrive unchanged.
        """
        name = os.path.basename(os.fspath(filename))
        if not name:
            raise ValueError(f"an attachment needs a file name, got {filename!r}")
        if content is None:
            with open(filename, "rb") as file:
                data = file.read()
        elif isinstance(content, str):
            charset = charset or "utf-8"
            data = content.encode(charset)
        elif isinstance(content, (bytes, bytearray, memoryview)):
            data = bytes(content)
        else:
            raise TypeError(f"attachment content must be str or bytes, not {content!r}")
        if mime is None:
            mime = mimetypes.guess_type(name, strict=False)[0] or "application/octet-stream"
        maintype, subtype = _split_mime(mime)
        self._attachments.append(_Attachment(name, data, maintype, subtype, charset))

    def add_header(self, key: str, value: str, **params: str) -> None:
        """Add a header, e.g. ``add_header("X-MailTag", "signup")``.

        ``params`` become MIME parameters (``name="value"``, RFC 2231-encoded
        when needed). Date, Message-ID, Subject, From, Sender, To, Cc and Reply-To
        are replaced rather than repeated. Bcc is refused: it would disclose the
        blind recipients; pass ``bcc=`` instead.
        """
        if not isinstance(key, str) or not _FIELD_NAME.fullmatch(key):
            raise ValueError(f"invalid header name: {key!r}")
        if key.lower() in _FORBIDDEN_HEADERS:
            raise ValueError("a Bcc header would reveal the blind recipients; use bcc=")
        if not isinstance(value, str):
            raise TypeError(f"header {key} value must be a str, not {value!r}")
        if "\r" in value or "\n" in value:
            raise ValueError(f"header {key} value contains a line break: {value!r}")
        self._headers.append((key, value, params))

    @property
    def envelope_from(self) -> str:
        """The sender's address alone (``user@domain``), for SMTP ``MAIL FROM``."""
        return _parse_addresses("From", self.from_addr)[0].addr_spec

    @property
    def recipients(self) -> list[str]:
        """Every address to deliver to: To, then Cc, then Bcc, without duplicates."""
        seen: dict[str, None] = {}
        for field, values in (("To", self.to_addrs), ("Cc", self.cc), ("Bcc", self.bcc)):
            for address in _parse_addresses(field, values):
                seen.setdefault(address.addr_spec, None)
        return list(seen)

    def to_email_message(self) -> EmailMessage:
        """Build the `EmailMessage` (a fresh one each call) that `render` serialises."""
        email = EmailMessage(policy=POLICY)
        email["From"] = _parse_addresses("From", self.from_addr)
        if self.to_addrs:
            email["To"] = _parse_addresses("To", self.to_addrs)
        if self.cc:
            email["Cc"] = _parse_addresses("Cc", self.cc)
        if self.reply_to:
            email["Reply-To"] = _parse_addresses("Reply-To", self.reply_to)
        email["Subject"] = self.subject
        email["Date"] = self.date
        email["Message-ID"] = self.message_id
        for key, value, params in self._headers:
            if key.lower() in _MANAGED_HEADERS:
                del email[key]
            email.add_header(key, value, **params)

        plain_first = sorted(self._bodies, key=lambda body: body.subtype != "plain")
        first, *others = plain_first
        email.set_content(first.content, subtype=first.subtype, charset=first.charset)
        for body in others:
            email.add_alternative(body.content, subtype=body.subtype, charset=body.charset)
        for attachment in self._attachments:
            part = EmailMessage(policy=POLICY)
            part.set_content(
                attachment.data,
                maintype=attachment.maintype,
                subtype=attachment.subtype,
                disposition="attachment",
                filename=attachment.filename,
            )
            if attachment.charset:
                part.set_param("charset", attachment.charset)
            if email.get_content_type() != "multipart/mixed":
                email.make_mixed()
            email.attach(part)
        for part in email.walk():
            if part is not email:
                # The email package copies MIME-Version into converted sub-parts;
                # RFC 2045 §4 wants it once, at the top.
                del part["MIME-Version"]
        return email

    def render(self) -> bytes:
        """The message exactly as sent after SMTP ``DATA``: 7-bit, CRLF line ends."""
        return self.to_email_message().as_bytes(policy=POLICY)

    def __bytes__(self) -> bytes:
        return self.render()

    def __repr__(self) -> str:
        return f"<cyclone.mail.Message {self.message_id} {self.subject!r} to {self.recipients}>"


def _message_id_domain(sender: Address) -> str:
    """The sender's domain as ASCII for Message-ID (RFC 5322 §3.6.4), sparing a DNS lookup."""
    try:
        return sender.domain.encode("idna").decode("ascii")
    except UnicodeError:
        return "localhost"


# -- sending ----------------------------------------------------------------


class SentMail(NamedTuple):
    """What the server said: unpacks like the old ``(accepted_count, responses)`` tuple.

    ``responses`` lists ``(address, code, text)`` for each RCPT command.
    """

    accepted_count: int
    responses: list[tuple[str, int, str]]

    @property
    def accepted(self) -> list[str]:
        """Recipients the server took (2xx reply to RCPT, RFC 5321 §4.2.1)."""
        return [address for address, code, _ in self.responses if 200 <= code < 300]

    @property
    def refused(self) -> dict[str, tuple[int, str]]:
        """Recipients the server refused, with its ``(code, text)`` for each."""
        return {
            address: (code, text)
            for address, code, text in self.responses
            if not 200 <= code < 300
        }


_TLS_MODES = frozenset({"required", "opportunistic"})


@dataclass(frozen=True)
class _Settings:
    """A validated ``mailconf``."""

    host: str
    port: int
    username: bytes | None
    password: bytes | None
    tls: str | None
    ssl: bool
    timeout: float
    connect_timeout: float
    helo: str | None
    tls_verify: bool
    tls_ca_file: str | None
    tls_hostname: str

    @classmethod
    def from_mailconf(cls, mailconf: Mapping[str, Any] | Any) -> _Settings:
        def option(name: str, default: Any = None) -> Any:
            if isinstance(mailconf, Mapping):
                value = mailconf.get(name, default)
            else:
                value = getattr(mailconf, name, default)
            return default if value is None else value

        host = option("host")
        if not isinstance(host, str) or not host:
            raise ValueError(f"mailconf needs a 'host' (str), got {host!r}")
        tls_option = option("tls", False)
        if tls_option is True:
            tls: str | None = "required"
        elif tls_option is False or tls_option == "":
            tls = None
        elif isinstance(tls_option, str) and tls_option in _TLS_MODES:
            tls = tls_option
        else:
            raise ValueError(
                f"mailconf 'tls' must be 'required', 'opportunistic' or False, got {tls_option!r}"
            )
        implicit_tls = option("ssl", False)
        if not isinstance(implicit_tls, bool):
            raise ValueError(f"mailconf 'ssl' must be True or False, got {implicit_tls!r}")
        default_port = 465 if implicit_tls else 587 if tls == "required" else 25
        port = option("port", default_port)
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise ValueError(f"mailconf 'port' must be an int in 1..65535, got {port!r}")
        timeout = option("timeout", DEFAULT_TIMEOUT)
        connect_timeout = option("connect_timeout", timeout)
        for name, value in (("timeout", timeout), ("connect_timeout", connect_timeout)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ValueError(f"mailconf {name!r} must be a positive number, got {value!r}")
        username, password = option("username"), option("password")
        if username and password is None:
            raise ValueError("mailconf has a 'username' but no 'password'")
        helo = option("helo")
        if helo is not None and (not isinstance(helo, str) or not helo.isascii() or not helo):
            raise ValueError(f"mailconf 'helo' must be an ASCII host name, got {helo!r}")
        tls_ca_file = option("tls_ca_file")
        if tls_ca_file is not None:
            tls_ca_file = os.fspath(tls_ca_file)
        return cls(
            host=host,
            port=port,
            username=_credential(username) if username else None,
            password=_credential(password) if username else None,
            tls=tls,
            ssl=implicit_tls,
            timeout=float(timeout),
            connect_timeout=float(connect_timeout),
            helo=helo,
            tls_verify=bool(option("tls_verify", True)),
            tls_ca_file=tls_ca_file,
            tls_hostname=option("tls_hostname", host),
        )

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def _credential(value: str | bytes) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    raise TypeError(f"SMTP username and password must be str or bytes, not {type(value).__name__}")


_PEM_CERTIFICATE = re.compile(
    rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL
)


def _tls_options(settings: _Settings) -> Any:
    """The TLS client options: verified against the CA file or the system's roots."""
    if not settings.tls_verify:
        return CertificateOptions(verify=False)
    if settings.tls_ca_file is None:
        trust_root = platformTrust()
    else:
        with open(settings.tls_ca_file, "rb") as file:
            blocks = _PEM_CERTIFICATE.findall(file.read())
        if not blocks:
            raise ValueError(f"no PEM certificate in tls_ca_file {settings.tls_ca_file!r}")
        trust_root = trustRootFromCertificates([Certificate.loadPEM(block) for block in blocks])
    return optionsForClientTLS(settings.tls_hostname, trustRoot=trust_root)


def _dot_stuff(data: bytes) -> bytes:
    """Escape line-leading dots so none ends ``DATA`` early (RFC 5321 §4.5.2).

    Done here over the whole message because Twisted does it per 16 KiB chunk
    and misses a dot that starts a chunk.
    """
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    if data.startswith(b"."):
        data = b"." + data
    return data.replace(b"\r\n.", b"\r\n..")


class ContextFactory(ClientContextFactory):
    """cyclone 1.x's TLS client context for code that builds its own Twisted SMTP factory.

    ``ESMTPSenderFactory(..., contextFactory=cyclone.mail.ContextFactory())``.
    As in 1.x it refuses SSLv3 (POODLE) and does not check the server's
    certificate; it also refuses TLS 1.0 and 1.1 (deprecated by RFC 8996).
    `sendmail` does not use it: it verifies certificates (``tls_verify``).
    """

    def getContext(self) -> SSL.Context:
        context = super().getContext()
        context.set_options(SSL.OP_NO_SSLv2 | SSL.OP_NO_SSLv3)
        context.set_min_proto_version(SSL.TLS1_2_VERSION)
        return context


class _Sender(smtp.ESMTPSender):
    """Twisted's ESMTP sender, fed data that is already CRLF and dot-stuffed."""

    def transformChunk(self, chunk: bytes) -> bytes:
        self.resetTimeout()
        return chunk

    def sendError(self, exc: Exception) -> None:
        if self.factory.sendFinished:
            # The outcome is already reported (or abandoned): only hang up, as
            # Twisted would otherwise fire its consumed Deferred a second time.
            smtp.SMTPClient.sendError(self, exc)
            return
        super().sendError(exc)


class _SenderFactory(smtp.ESMTPSenderFactory):
    protocol = _Sender
    noisy = False  # one message sent is not worth two "Starting/Stopping factory" log lines


def sendmail(
    mailconf: Mapping[str, Any] | Any, message: Message, *, reactor: Any = None
) -> defer.Deferred[SentMail]:
    """Send ``message`` through the SMTP server described by ``mailconf``.

    ``mailconf`` is a dict (or any object with these attributes, such as a
    settings `ObjectDict`):

    ``host`` (required); ``port`` (default 465 with ``ssl``, 587 with
    ``tls="required"``, else 25); ``username`` and ``password`` (when set,
    authentication is mandatory); ``tls``: ``"required"`` (or True: STARTTLS,
    RFC 3207, must succeed), ``"opportunistic"`` (STARTTLS when offered) or
    False (default, never); ``ssl``: True for implicit TLS from the first byte
    (SMTPS, RFC 8314 §3.3); ``tls_verify`` (default True) and ``tls_ca_file``
    (PEM file of trusted CAs, default the system's) and ``tls_hostname``
    (default ``host``) control certificate verification, and verification is
    never skipped silently, in opportunistic mode too; ``timeout`` (seconds,
    default 60) bounds every reply and the whole exchange, ``connect_timeout``
    (default ``timeout``) the TCP connect; ``helo``: the name we give in EHLO
    (default this machine's FQDN).

    The Deferred fires with a `SentMail` once the server accepted the message
    for at least one recipient, or fails with a `MailError` subclass. Cancel
    it to abort the exchange. Invalid ``mailconf`` or ``message`` raise
    ValueError/TypeError at once.
    """
    if not isinstance(message, Message):
        raise TypeError(f"message must be a cyclone.mail.Message, not {message!r}")
    settings = _Settings.from_mailconf(mailconf)
    recipients = _envelope_recipients(message)
    if reactor is None:
        from twisted.internet import reactor
    tls_options = _tls_options(settings) if settings.tls or settings.ssl else None
    _warn_if_credentials_may_travel_in_clear(settings)
    return _Delivery(reactor, settings, message, recipients, tls_options).start()


def _envelope_recipients(message: Message) -> list[str]:
    """The RCPT TO addresses, refusing what Twisted's client cannot send."""
    recipients = message.recipients
    if not recipients:
        raise ValueError("the message has no recipients (to_addrs, cc and bcc are empty)")
    for address in [message.envelope_from, *recipients]:
        if not address.isascii():
            raise ValueError(
                f"non-ASCII address needs SMTPUTF8, which is unsupported: {address!r}"
            )
    return recipients


def _warn_if_credentials_may_travel_in_clear(settings: _Settings) -> None:
    if settings.username and not (settings.tls == "required" or settings.ssl):
        log.warn(
            "cyclone.mail: credentials for {address} may be sent without TLS "
            "(set mailconf tls='required' or ssl=True)",
            address=settings.address,
        )


class _Delivery:
    """One message's trip to the server: the SMTP exchange, its deadline, cancelling it."""

    def __init__(
        self,
        reactor: Any,
        settings: _Settings,
        message: Message,
        recipients: list[str],
        tls_options: Any,
    ) -> None:
        self.reactor = reactor
        self.settings = settings
        self.message_id = message.message_id
        self.tls_options = tls_options
        self.outcome: defer.Deferred[Any] = defer.Deferred()
        self.factory = _SenderFactory(
            settings.username,
            settings.password,
            message.envelope_from,
            recipients,
            BytesIO(_dot_stuff(message.render())),
            self.outcome,
            retries=0,
            timeout=settings.timeout,
            contextFactory=tls_options if settings.tls else None,
            heloFallback=True,
            requireAuthentication=settings.username is not None,
            requireTransportSecurity=settings.tls == "required",
        )
        if settings.helo:
            self.factory.domain = settings.helo.encode("ascii")
        self.result: defer.Deferred[SentMail] = defer.Deferred(self._cancel)

    def start(self) -> defer.Deferred[SentMail]:
        settings = self.settings
        if settings.ssl:
            self.connector = self.reactor.connectSSL(
                settings.host,
                settings.port,
                self.factory,
                self.tls_options,
                timeout=settings.connect_timeout,
            )
        else:
            self.connector = self.reactor.connectTCP(
                settings.host, settings.port, self.factory, timeout=settings.connect_timeout
            )
        self.deadline = self.reactor.callLater(settings.timeout, self._expire)
        self.outcome.addBoth(self._finished)
        return self.result

    def _abort(self) -> None:
        self.factory.sendFinished = True
        protocol = self.factory.currentProtocol
        if protocol is not None and protocol.transport is not None:
            protocol.transport.abortConnection()
        else:
            self.connector.disconnect()

    def _cancel(self, result: defer.Deferred[SentMail]) -> None:
        if self.deadline.active():
            self.deadline.cancel()
        self._abort()

    def _expire(self) -> None:
        self._abort()
        if not self.result.called:
            self.result.errback(
                Timeout(
                    f"{self.settings.address} did not complete the exchange "
                    f"in {self.settings.timeout}s"
                )
            )

    def _finished(self, value: Any) -> None:
        if self.deadline.active():
            self.deadline.cancel()
        if self.result.called:
            if isinstance(value, Failure):
                log.debug("cyclone.mail: late failure ignored: {f}", f=value.value)
            return
        if isinstance(value, Failure):
            self.result.errback(
                _as_mail_error(value.value or Exception(repr(value)), self.settings)
            )
            return
        accepted_count, responses = value
        sent = SentMail(accepted_count, [_response(*response) for response in responses])
        log.debug(
            "cyclone.mail: {id} accepted for {n} recipient(s) by {address}",
            id=self.message_id,
            n=accepted_count,
            address=self.settings.address,
        )
        self.result.callback(sent)


def _text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _response(address: bytes | str, code: int, text: bytes | str) -> tuple[str, int, str]:
    return _text(address), code, _text(text)


def _is_tls_failure(cause: BaseException | None) -> bool:
    return isinstance(cause, (SSL.Error, VerificationError, CertificateError))


def _as_mail_error(exc: BaseException, settings: _Settings) -> MailError:
    """Translate a Twisted SMTP client failure into the matching `MailError`."""
    if isinstance(exc, smtp.SMTPClientError) and exc.log:
        transcript = exc.log
        exc.log = _redact_transcript(transcript)
        exc.args = tuple(exc.log if arg is transcript else arg for arg in exc.args)
    error = _classify(exc, settings)
    error.__cause__ = exc
    return error


def _redact_transcript(transcript: bytes) -> bytes:
    """Hide the credentials in Twisted's transcript (it is part of its exception's text).

    Any line we sent that is not a plain SMTP command is a SASL response
    (RFC 4954 §4: base64 user names and passwords), and so is the initial
    response after ``AUTH <mechanism>``.
    """
    lines = []
    for line in transcript.split(b"\n"):
        if line.startswith(b">>> "):
            words = line[4:].split(b" ")
            verb = words[0].upper()
            if verb == b"AUTH":
                line = b">>> " + b" ".join(words[:2]) + (b" [hidden]" if len(words) > 2 else b"")
            elif verb not in _SMTP_COMMANDS and line != b">>> .":
                line = b">>> [hidden]"
        lines.append(line)
    return b"\n".join(lines)


_SMTP_COMMANDS = frozenset(
    {b"EHLO", b"HELO", b"MAIL", b"RCPT", b"DATA", b"RSET", b"QUIT", b"STARTTLS", b"NOOP"}
)


def _describe_tls_failure(cause: BaseException, settings: _Settings) -> str:
    if isinstance(cause, (VerificationError, CertificateError)):
        return f"the certificate is not valid for {settings.tls_hostname!r} ({cause})"
    reasons = [
        str(reason[-1]) for reason in getattr(cause, "args", [[]])[0] if isinstance(reason, tuple)
    ]
    detail = ", ".join(reasons) or repr(cause)
    if "certificate verify failed" in detail:
        trusted = settings.tls_ca_file or "the system's trusted CAs"
        detail += f" (not signed by {trusted}; set tls_ca_file, or tls_verify=False for tests)"
    return detail


def _classify(exc: BaseException, settings: _Settings) -> MailError:
    where = settings.address
    if isinstance(exc, MailError):
        return exc
    if not isinstance(exc, smtp.SMTPClientError):
        return MailError(f"sending through {where} failed: {exc!r}")
    code = exc.code if exc.code > 0 else None
    text = _text(exc.resp)
    reply = f"{exc.code} {text}" if code else text
    if isinstance(exc, smtp.SMTPDeliveryError):
        addresses: list[Any] = list(exc.addresses or [])  # type: ignore[call-overload]
        responses = [_response(*response) for response in addresses]
        if responses and not any(200 <= rcode < 300 for _, rcode, _ in responses):
            refused = {address: (rcode, rtext) for address, rcode, rtext in responses}
            listing = "; ".join(f"{a}: {c} {t}" for a, (c, t) in refused.items())
            return RecipientRefused(f"{where} refused every recipient: {listing}", refused)
        return DeliveryFailed(f"{where} refused the message: {reply}", code, text)
    if isinstance(exc, smtp.TLSRequiredError):
        return TLSFailed(f"{where} does not offer STARTTLS and mailconf tls is 'required'")
    if isinstance(exc, smtp.TLSError):
        return TLSFailed(f"{where} refused STARTTLS: {reply}", code, text)
    if isinstance(exc, (smtp.AUTHDeclinedError, smtp.AuthenticationError)):
        user = _text(settings.username)
        return AuthenticationFailed(
            f"{where} refused the credentials of {user!r}: {reply}", code, text
        )
    if isinstance(exc, (smtp.AUTHRequiredError, smtp.EHLORequiredError)):
        hint = (
            ""
            if settings.tls or settings.ssl
            else " (many servers offer AUTH only after STARTTLS: set tls='required')"
        )
        return AuthenticationFailed(
            f"{where} offers no AUTH mechanism we support (CRAM-MD5, LOGIN, PLAIN){hint}",
            code,
            text,
        )
    if isinstance(exc, smtp.SMTPTimeoutError):
        return Timeout(f"{where} did not answer within {settings.timeout}s")
    if isinstance(exc, smtp.SMTPConnectError):
        cause = exc.__cause__
        if cause is not None and _is_tls_failure(cause):
            return TLSFailed(f"TLS with {where} failed: {_describe_tls_failure(cause, settings)}")
        if isinstance(cause, internet_error.TimeoutError):
            return Timeout(f"connecting to {where} timed out after {settings.connect_timeout}s")
        if code is not None:
            return ConnectionFailed(f"{where} refused the session: {reply}", code, text)
        detail = repr(cause) if cause is not None else text
        return ConnectionFailed(f"could not talk to {where}: {detail}")
    return MailError(f"SMTP exchange with {where} failed: {reply}", code, text)
