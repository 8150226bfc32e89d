"""Run the authentication example as a user would and log in with curl and urllib."""

from __future__ import annotations

import os
import pathlib
import queue
import re
import shutil
import subprocess
import sys
import threading
import urllib.error
import urllib.request

import pytest

HERE = pathlib.Path(__file__).parent
#: Seconds to wait for the server to listen, or for a response.
TIMEOUT = 30.0


@pytest.fixture(scope="module")
def base_url():
    """server.py in a subprocess on a free port (it logs "starting on <port>")."""
    process = subprocess.Popen(
        [sys.executable, "-u", str(HERE / "server.py"), "0"],
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()
    output: list[str] = []

    def read():
        for line in process.stdout:
            output.append(line)
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    try:
        while True:
            line = lines.get(timeout=TIMEOUT)
            assert line is not None, "the server exited:\n" + "".join(output)
            match = re.search(r"starting on (\d+)", line)
            if match:
                break
        yield f"http://127.0.0.1:{match.group(1)}"
    finally:
        process.terminate()
        process.wait(timeout=TIMEOUT)


def curl(*args):
    executable = shutil.which("curl")
    assert executable, "curl is required to test the authentication example"
    finished = subprocess.run(
        [executable, "-sS", "--max-time", str(TIMEOUT), "-w", "\n%{http_code}", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    body, _, status = finished.stdout.rpartition("\n")
    return int(status), body


def urllib_get(url, handler_class, username, password):
    manager = urllib.request.HTTPPasswordMgrWithDefaultRealm()
    manager.add_password(None, url, username, password)
    opener = urllib.request.build_opener(handler_class(manager))
    try:
        with opener.open(url, timeout=TIMEOUT) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        # Without a body, older CPythons (Debian 12's 3.11.2) read '' here instead of b''.
        body = error.read()
        return error.code, body.decode() if isinstance(body, bytes) else body


def test_index_lists_the_protected_pages(base_url):
    status, body = curl(base_url + "/")
    assert status == 200
    for path in ("/basic", "/digest", "/digest-md5", "/legacy"):
        assert f'href="{path}"' in body


@pytest.mark.parametrize(
    ("path", "scheme"),
    [("/basic", "Basic"), ("/legacy", "Basic"), ("/digest", "Digest"), ("/digest-md5", "Digest")],
)
def test_pages_without_credentials_answer_401_with_a_challenge(base_url, path, scheme):
    status, _ = curl("-o", "/dev/null", base_url + path)
    assert status == 401
    headers = curl("-s", "-D", "-", "-o", "/dev/null", base_url + path)[1]
    assert f"www-authenticate: {scheme.lower()} realm=" in headers.lower()


@pytest.mark.parametrize(
    ("option", "path", "greeting"),
    [
        ("--basic", "/basic", "Hello, admin (Basic)"),
        ("--basic", "/legacy", "Hello, admin (legacy Basic)"),
        ("--digest", "/digest", "Hello, admin (Digest)"),
        ("--digest", "/digest-md5", "Hello, admin (Digest MD5)"),
    ],
)
def test_curl_logs_in(base_url, option, path, greeting):
    assert curl(option, "-u", "admin:secret", base_url + path) == (200, greeting)
    assert curl(option, "-u", "admin:wrong", "-o", "/dev/null", base_url + path)[0] == 401


def test_urllib_logs_in_with_basic_and_md5_digest(base_url):
    basic = urllib_get(base_url + "/basic", urllib.request.HTTPBasicAuthHandler, "guest", "guest")
    assert basic == (200, "Hello, guest (Basic)")
    digest = urllib_get(
        base_url + "/digest-md5", urllib.request.HTTPDigestAuthHandler, "guest", "guest"
    )
    assert digest == (200, "Hello, guest (Digest MD5)")
    wrong = urllib_get(
        base_url + "/digest-md5", urllib.request.HTTPDigestAuthHandler, "guest", "nope"
    )
    assert wrong[0] == 401


@pytest.mark.parametrize(
    ("path", "greeting"),
    [
        ("/basic", "Hello, admin (Basic)"),
        ("/digest", "Hello, admin (Digest)"),
        ("/digest-md5", "Hello, admin (Digest MD5)"),
        ("/legacy", "Hello, admin (legacy Basic)"),
    ],
)
def test_chromium_logs_in(browser, base_url, path, greeting):
    """A real browser answers each challenge (Digest: it picks from SHA-256 and MD5)."""
    context = browser.new_context(http_credentials={"username": "admin", "password": "secret"})
    try:
        page = context.new_page()
        response = page.goto(base_url + path)
        assert response.status == 200
        assert page.text_content("body") == greeting
    finally:
        context.close()


def test_chromium_with_a_wrong_password_gets_401(browser, base_url):
    context = browser.new_context(http_credentials={"username": "admin", "password": "nope"})
    try:
        response = context.new_page().goto(base_url + "/digest")
        assert response.status == 401
    finally:
        context.close()
