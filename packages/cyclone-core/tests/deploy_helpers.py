"""Test helpers for the twistd plugin and the worker pool: server processes and certificates."""

from __future__ import annotations

import datetime
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import dataclass
from pathlib import Path

#: Seconds a test waits for a server process to say where it listens, or to exit.
PROCESS_TIMEOUT = 30.0

SERVING = re.compile(r"cyclone serving \S+ on (https?)://(\S+?)(?: with \d+ workers)?$")

#: An application module the subprocess tests run: /pid answers with the process id,
#: /slow?release=PATH streams a first chunk, then finishes once PATH exists.
TEST_APP = textwrap.dedent(
    """
    import os
    import time

    from twisted.internet import defer, reactor, task

    from cyclone.handler import RequestHandler
    from cyclone.routing import Router


    class PidHandler(RequestHandler):
        def get(self):
            block = float(self.get_argument("block", "0"))
            if block:
                time.sleep(block)  # keeps this worker busy so another one accepts
            self.write({"pid": os.getpid(), "greeting": self.settings.get("greeting")})


    class SlowHandler(RequestHandler):
        async def get(self):
            release = self.get_argument("release")
            self.write("started\\n")
            await self.flush()
            while not os.path.exists(release):
                await task.deferLater(reactor, 0.02, lambda: None)
            self.write("finished\\n")


    class Application(Router):
        def __init__(self, **settings):
            super().__init__([(r"/pid", PidHandler), (r"/slow", SlowHandler)], **settings)


    def make_app(greeting="factory", **settings):
        return Application(greeting=greeting, **settings)


    instance = Application(greeting="instance")


    def broken(**settings):
        raise RuntimeError("this application cannot start")
    """
)


@dataclass
class Address:
    scheme: str
    host: str
    port: int


class ServerProcess:
    """A server subprocess whose output is read on a thread, line by line."""

    def __init__(self, argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        full_env = dict(os.environ)
        full_env["PYTHONUNBUFFERED"] = "1"
        full_env.update(env or {})
        self.process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=full_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(
        self, pattern: re.Pattern[str] | str, timeout: float = PROCESS_TIMEOUT
    ) -> re.Match[str]:
        """The first output line (from now on) matching ``pattern``; fails on exit or timeout."""
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"no line matching {regex.pattern!r}; output:\n" + self.output
                )
            try:
                line = self._queue.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                self._queue.put(None)
                raise AssertionError(
                    f"process exited ({self.process.wait()}) before {regex.pattern!r}; "
                    "output:\n" + self.output
                )
            self.lines.append(line)
            match = regex.search(line)
            if match:
                return match

    def wait_serving(self) -> Address:
        match = self.wait_for(SERVING)
        scheme, where = match.group(1), match.group(2)
        host, _, port = where.rpartition(":")
        return Address(scheme, host.strip("[]"), int(port))

    @property
    def output(self) -> str:
        while True:
            try:
                line = self._queue.get_nowait()
            except queue.Empty:
                break
            if line is None:
                self._queue.put(None)
                break
            self.lines.append(line)
        return "\n".join(self.lines)

    def signal(self, number: int = signal.SIGTERM) -> None:
        self.process.send_signal(number)

    def wait_exit(self, timeout: float = PROCESS_TIMEOUT) -> int:
        code = self.process.wait(timeout)
        self._reader.join(timeout)
        return code

    def kill(self) -> None:
        """Stop the whole session (twistd and any workers) if it is still running."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(PROCESS_TIMEOUT)


def twistd(*args: str) -> list[str]:
    """The argv running twistd with this interpreter."""
    return [sys.executable, "-c", "from twisted.scripts.twistd import run; run()", *args]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_certificates(directory: Path, names: list[str]) -> dict[str, Path]:
    """A CA (``ca.pem``) and, per name, ``<name>.crt``/``<name>.key`` and ``<name>.pem`` (both)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cyclone test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
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
    paths = {"ca": directory / "ca.pem"}
    paths["ca"].write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    for name in names:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
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
        cert_pem = cert.public_bytes(serialization.Encoding.PEM)
        key_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        paths[f"{name}.crt"] = directory / f"{name}.crt"
        paths[f"{name}.crt"].write_bytes(cert_pem)
        paths[f"{name}.key"] = directory / f"{name}.key"
        paths[f"{name}.key"].write_bytes(key_pem)
        paths[f"{name}.pem"] = directory / f"{name}.pem"
        paths[f"{name}.pem"].write_bytes(cert_pem + key_pem)
    return paths
