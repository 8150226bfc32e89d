"""Run the e-mail example as a user would, against a real SMTP server on loopback.

The server is cyclone-mail's test helper (aiosmtpd with STARTTLS and AUTH, in a
thread); the example runs in a subprocess.
"""

from __future__ import annotations

import importlib.util
import pathlib
import selectors
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

HERE = pathlib.Path(__file__).parent
HELPER = HERE.parents[1] / "packages" / "cyclone-mail" / "tests" / "smtp_test_server.py"
USERS = {"ana": "s3cret"}


def _load_helper() -> Any:
    spec = importlib.util.spec_from_file_location("cyclone_mail_smtp_test_server", HELPER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


smtp_test_server = _load_helper()


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return smtp_test_server.make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def smtp(certificates: Any) -> Iterator[Any]:
    with smtp_test_server.SMTPTestServer(certificates, users=USERS) as server:
        yield server


def smtp_options(server: Any, certificates: Any, prefix: str = "") -> list[str]:
    return [
        f"--{prefix}port",
        str(server.port),
        f"--{prefix}tls",
        "required",
        f"--{prefix}ca-file",
        str(certificates.ca_file),
        f"--{prefix}username",
        "ana",
    ]


# -- send.py: the plain Twisted script ---------------------------------------


def run_send(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(HERE / "send.py"), *arguments],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_send_script_delivers_text_html_and_an_attachment(
    smtp: Any, certificates: Any, tmp_path: pathlib.Path
) -> None:
    report = tmp_path / "relatório.csv"
    report.write_text("a,b\n1,2\n")
    finished = run_send(
        *smtp_options(smtp, certificates),
        "--password",
        USERS["ana"],
        "--from",
        "Ana Ção <ana@example.com>",
        "--to",
        "bob@example.com",
        "--bcc",
        "audit@example.com",
        "--subject",
        "Relatório ✓",
        "--message",
        "Olá Bob",
        "--html",
        "<p>Olá <b>Bob</b></p>",
        "--attach",
        str(report),
    )
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert finished.stdout.startswith("sent <")
    [received] = smtp.received
    assert received.login == "ana" and received.tls
    assert received.rcpt_tos == ["bob@example.com", "audit@example.com"]
    message = received.message
    assert message["Subject"] == "Relatório ✓"
    assert message["From"].addresses[0].display_name == "Ana Ção"
    assert "Bcc" not in message
    alternative, attachment = message.iter_parts()
    plain, html = alternative.iter_parts()
    assert plain.get_content().strip() == "Olá Bob"
    assert html.get_content().strip() == "<p>Olá <b>Bob</b></p>"
    assert attachment.get_filename() == "relatório.csv"
    assert attachment.get_payload(decode=True) == b"a,b\n1,2\n"


def test_send_script_reports_a_refused_password(smtp: Any, certificates: Any) -> None:
    finished = run_send(
        *smtp_options(smtp, certificates),
        "--password",
        "wrong",
        "--from",
        "ana@example.com",
        "--to",
        "bob@example.com",
        "--subject",
        "x",
        "--message",
        "y",
    )
    assert finished.returncode == 1
    assert finished.stdout.startswith("failed: AuthenticationFailed:")
    assert smtp.received == []


# -- app.py: the web form ----------------------------------------------------


@pytest.fixture
def app_url(smtp: Any, certificates: Any, tmp_path: pathlib.Path) -> Iterator[str]:
    yield from _start_app(smtp, certificates, USERS["ana"])


@pytest.fixture
def app_with_wrong_password_url(smtp: Any, certificates: Any) -> Iterator[str]:
    yield from _start_app(smtp, certificates, "wrong")


def _start_app(smtp: Any, certificates: Any, password: str) -> Iterator[str]:
    with tempfile.TemporaryFile("w+") as errors:
        app = subprocess.Popen(
            [
                sys.executable,
                "-u",
                str(HERE / "app.py"),
                "--port",
                "0",
                "--from",
                "Demo <demo@example.com>",
                *smtp_options(smtp, certificates, prefix="smtp-"),
                "--smtp-password",
                password,
            ],
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        )
        try:
            assert app.stdout is not None
            with selectors.DefaultSelector() as selector:
                selector.register(app.stdout, selectors.EVENT_READ)
                ready = selector.select(timeout=60)
            first_line = app.stdout.readline() if ready else ""
            if not first_line.startswith("listening on "):
                app.kill()
                app.wait()
                errors.seek(0)
                pytest.fail(f"app.py did not start: {first_line!r}\n{errors.read()}")
            yield first_line.split()[-1]
        finally:
            app.terminate()
            try:
                app.wait(timeout=10)
            except subprocess.TimeoutExpired:
                app.kill()
                app.wait()
            if app.stdout is not None:
                app.stdout.close()


def post_form(
    url: str, fields: dict[str, str], files: list[tuple[str, str, bytes]]
) -> tuple[int, str]:
    """POST multipart/form-data (RFC 7578), as a browser submits the form."""
    boundary = uuid.uuid4().hex
    body = b""
    for name, value in fields.items():
        body += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value.encode()
            + b"\r\n"
        )
    for name, filename, content in files:
        body += (
            (
                f"--{boundary}\r\nContent-Disposition: form-data; name={name!r}; "
                f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
            )
            .encode()
            .replace(b"'", b'"')
            + content
            + b"\r\n"
        )
    body += f"--{boundary}--\r\n".encode()
    request = urllib.request.Request(
        url,
        data=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_the_form_page_is_served(app_url: str) -> None:
    with urllib.request.urlopen(app_url, timeout=30) as response:
        page = response.read().decode()
    assert 'action="/sendmail"' in page
    assert 'enctype="multipart/form-data"' in page


def test_posting_the_form_sends_plain_and_html_with_attachments(smtp: Any, app_url: str) -> None:
    picture = bytes(range(256)) * 8
    status, page = post_form(
        app_url + "sendmail",
        {
            "to_addrs": "bob@example.com, carl@example.com",
            "subject": "Olá from the form",
            "message": "Plain text body",
            "content_type": "text/plain",
            "html": "<p>HTML body</p>",
        },
        [("attachment", "me.png", picture)],
    )
    assert status == 200, page
    assert "Success" in page
    assert "bob@example.com" in page
    [received] = smtp.received
    assert received.rcpt_tos == ["bob@example.com", "carl@example.com"]
    assert received.mail_from == "demo@example.com"
    message = received.message
    assert message["Subject"] == "Olá from the form"
    assert message["X-MailTag"] == "sampleUpload"
    alternative, png, fake = message.iter_parts()
    assert [part.get_content_type() for part in alternative.iter_parts()] == [
        "text/plain",
        "text/html",
    ]
    assert png.get_filename() == "me.png"
    assert png.get_content_type() == "image/png"
    assert png.get_payload(decode=True) == picture
    assert fake.get_filename() == "fake.txt"
    assert fake.get_payload(decode=True) == b"this file is fake!"


def test_posting_an_html_message_sends_text_html(smtp: Any, app_url: str) -> None:
    status, page = post_form(
        app_url + "sendmail",
        {
            "to_addrs": "bob@example.com",
            "subject": "html",
            "message": "<h1>Hi</h1>",
            "content_type": "text/html",
        },
        [],
    )
    assert status == 200, page
    html, _fake = smtp.received[0].message.iter_parts()
    assert html.get_content_type() == "text/html"
    assert html.get_content().strip() == "<h1>Hi</h1>"


def test_an_invalid_address_is_a_400_page(smtp: Any, app_url: str) -> None:
    status, page = post_form(
        app_url + "sendmail",
        {"to_addrs": "not an address", "subject": "x", "message": "y"},
        [],
    )
    assert status == 400
    assert "not an address" in page
    assert smtp.received == []


def test_an_smtp_failure_is_a_502_page_that_says_why(
    smtp: Any, app_with_wrong_password_url: str
) -> None:
    status, page = post_form(
        app_with_wrong_password_url + "sendmail",
        {"to_addrs": "bob@example.com", "subject": "x", "message": "y"},
        [],
    )
    assert status == 502
    assert "Failure" in page
    assert "refused the credentials" in page
    assert smtp.received == []
