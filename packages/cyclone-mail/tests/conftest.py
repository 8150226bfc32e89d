"""Fixtures: a throwaway CA and a real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# pytest runs with --import-mode=importlib, which puts no test directory on
# sys.path; the helper module lives beside this file.
sys.path.insert(0, str(Path(__file__).parent))

from smtp_test_server import Certificates, SMTPTestServer, make_certificates


@pytest.fixture(scope="session")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def smtp_server(certificates: Certificates) -> Iterator[Callable[..., SMTPTestServer]]:
    """Start servers with ``smtp_server(**options)``; all stop after the test."""
    started: list[SMTPTestServer] = []

    def start(**options: Any) -> SMTPTestServer:
        options.setdefault("tls", "starttls")
        server = SMTPTestServer(certificates, **options).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
