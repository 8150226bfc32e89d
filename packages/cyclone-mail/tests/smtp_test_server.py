"""A real SMTP server on loopback for tests: aiosmtpd in a thread, with STARTTLS and AUTH.

    certificates = make_certificates(tmp_path)
    with SMTPTestServer(certificates, users={"ana": "secret"}) as server:
        ...  # send to 127.0.0.1:server.port
        server.received[0].message["Subject"]

aiosmtpd is an independent implementation (asyncio, not Twisted), so the
client is tested against someone else's reading of RFC 5321. It runs its own
event loop in a daemon thread; the Twisted reactor stays free in the test.
Also used by examples/email's test (loaded by file path).
"""

from __future__ import annotations

import asyncio
import datetime
import email
import email.policy
import ipaddress
import ssl
import threading
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class Certificates:
    """PEM files: a throwaway CA, and a server certificate it signed for localhost/127.0.0.1."""

    ca_file: Path
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def make_certificates(directory: Path, names: Iterable[str] = ("localhost",)) -> Certificates:
    """Generate a CA and a server certificate (EC P-256, valid one day) into ``directory``."""
    now = datetime.datetime.now(datetime.timezone.utc)
    validity = (now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=1))

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cyclone.mail test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(validity[0])
        .not_valid_after(validity[1])
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )

    key = ec.generate_private_key(ec.SECP256R1())
    alternative_names: list[x509.GeneralName] = [x509.DNSName(name) for name in names]
    alternative_names.append(x509.IPAddress(ipaddress.ip_address(LOOPBACK)))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(validity[0])
        .not_valid_after(validity[1])
        .add_extension(x509.SubjectAlternativeName(alternative_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )

    directory = Path(directory)
    paths = Certificates(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    paths.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    paths.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths.key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


@dataclass
class ReceivedMail:
    """One message as the server got it: envelope, raw bytes, session facts."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    login: str | None
    tls: bool
    helo: str | None

    @property
    def message(self) -> EmailMessage:
        """The parsed message, as a mail store would keep it (CRLF become newlines)."""
        data = self.data.replace(b"\r\n", b"\n")
        parsed = email.message_from_bytes(data, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class _Handler:
    refused: set[str] = field(default_factory=set)
    data_reply: str | None = None
    received: list[ReceivedMail] = field(default_factory=list)

    async def handle_RCPT(
        self, server: SMTP, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address in self.refused:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Any, envelope: Any) -> str:
        if self.data_reply is not None:
            return self.data_reply
        login = session.auth_data.login.decode() if session.authenticated else None
        self.received.append(
            ReceivedMail(
                mail_from=envelope.mail_from,
                rcpt_tos=list(envelope.rcpt_tos),
                data=envelope.original_content,
                login=login,
                tls=session.ssl is not None,
                helo=session.host_name,
            )
        )
        return "250 2.0.0 Message accepted for delivery"


class SMTPTestServer:
    """aiosmtpd on 127.0.0.1 (a free port) in its own thread.

    ``tls``: "starttls" (default when certificates are given), "implicit"
    (SMTPS) or None. ``users`` maps login to password; with users, AUTH is
    offered (after STARTTLS in "starttls" mode) and required before MAIL.
    ``refused`` lists recipients answered with 550; ``data_reply`` replaces the
    answer to DATA (e.g. a 554 refusal). ``mechanisms`` limits the
    AUTH mechanisms offered (e.g. {"PLAIN"}).
    """

    def __init__(
        self,
        certificates: Certificates | None = None,
        *,
        tls: str | None = "starttls",
        users: dict[str, str] | None = None,
        refused: Iterable[str] = (),
        data_reply: str | None = None,
        mechanisms: Iterable[str] | None = None,
    ) -> None:
        if tls is not None and certificates is None:
            raise ValueError("a TLS test server needs certificates")
        self.tls = tls
        self.users = dict(users or {})
        self.handler = _Handler(refused=set(refused), data_reply=data_reply)
        self.port = 0
        self._certificates = certificates
        self._mechanisms = set(mechanisms) if mechanisms is not None else None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.AbstractServer | None = None

    @property
    def received(self) -> list[ReceivedMail]:
        return self.handler.received

    def _authenticate(
        self, server: SMTP, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login = auth_data.login.decode("utf-8", "replace")
        password = auth_data.password.decode("utf-8", "replace")
        ok = login in self.users and self.users[login] == password
        return AuthResult(success=ok, handled=False, auth_data=auth_data)

    def _make_protocol(self) -> SMTP:
        options: dict[str, Any] = {"hostname": "smtp.test", "timeout": 30}
        if self.tls == "starttls":
            assert self._certificates is not None
            options["tls_context"] = self._certificates.server_context()
        if self.users:
            options["authenticator"] = self._authenticate
            options["auth_required"] = True
            # aiosmtpd only sees STARTTLS as TLS; SMTPS is TLS from the first byte.
            options["auth_require_tls"] = self.tls == "starttls"
            if self._mechanisms is not None:
                offered = {"LOGIN", "PLAIN"}
                options["auth_exclude_mechanism"] = offered - self._mechanisms
        with warnings.catch_warnings():
            # Implicit TLS looks like "AUTH without TLS" to aiosmtpd, which warns.
            warnings.simplefilter("ignore", UserWarning)
            return SMTP(self.handler, loop=self._loop, **options)

    def start(self) -> SMTPTestServer:
        self._thread.start()
        ssl_context = None
        if self.tls == "implicit":
            assert self._certificates is not None
            ssl_context = self._certificates.server_context()

        async def listen() -> asyncio.AbstractServer:
            return await self._loop.create_server(
                self._make_protocol, LOOPBACK, 0, ssl=ssl_context
            )

        future = asyncio.run_coroutine_threadsafe(listen(), self._loop)
        self._server = future.result(timeout=10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        async def close() -> None:
            assert self._server is not None
            self._server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        if self._server is not None:
            asyncio.run_coroutine_threadsafe(close(), self._loop).result(timeout=10)
            self._server = None
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        if not self._thread.is_alive():
            self._loop.close()

    def __enter__(self) -> SMTPTestServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
