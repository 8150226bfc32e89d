"""Run helloworld_bottle.py as a user would, on a free port, and request the page."""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys
import urllib.request

HERE = pathlib.Path(__file__).parent
#: Seconds to wait for the server to listen, answer or stop.
TIMEOUT = 30.0


def test_bottle_hello_world_answers_and_stops_on_sigterm() -> None:
    process = subprocess.Popen(
        [sys.executable, "-u", str(HERE / "helloworld_bottle.py")],
        cwd=HERE,
        env={**os.environ, "PORT": "0", "PYTHONDONTWRITEBYTECODE": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    try:
        assert process.stdout is not None
        port = None
        for line in process.stdout:
            output.append(line)
            match = re.search(r"serving on http://127\.0\.0\.1:(\d+)", line)
            if match:
                port = int(match.group(1))
                break
        assert port is not None, "helloworld_bottle.py exited:\n" + "".join(output)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=TIMEOUT) as response:
            assert (response.status, response.read()) == (200, b"Hello, world")
        process.terminate()
        rest, _ = process.communicate(timeout=TIMEOUT)
        assert "Main loop terminated." in rest
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(TIMEOUT)


def test_bottle_hello_world_is_the_old_demo_but_for_the_port() -> None:
    source = (HERE / "helloworld_bottle.py").read_text()
    assert "import cyclone.sqlite  # noqa: F401" in source
    assert "from cyclone.bottle import route, run\n" in source
    assert '@route("/")\ndef index(web):\n    web.write("Hello, world")\n' in source
    assert (
        'run(host="127.0.0.1", port=int(os.environ.get("PORT", 8888)), log=sys.stdout)' in source
    )
