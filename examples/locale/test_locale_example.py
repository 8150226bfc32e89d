"""Serve the localization example on loopback and read its pages in three languages over HTTP."""

from __future__ import annotations

import io
import pathlib
import runpy
import shutil
import subprocess
import sys
from http.cookies import SimpleCookie
from urllib.parse import urlencode

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.web.client import Agent, readBody
from twisted.web.http_headers import Headers

import cyclone.locale
from cyclone.locale.po import read_po

HERE = pathlib.Path(__file__).parent

# Twisted's own client: readBody warns that its transport proxy cannot abortConnection.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Using readBody with a transport:DeprecationWarning"
)


@pytest.fixture
def app_directory(tmp_path, monkeypatch):
    """A copy of the example without any .mo, as a fresh checkout has; cwd is its root."""
    directory = tmp_path / "foobar"
    shutil.copytree(HERE, directory, ignore=shutil.ignore_patterns("*.mo", "__pycache__"))
    monkeypatch.chdir(directory)
    saved = (
        cyclone.locale._translations,
        cyclone.locale._default_locale,
        cyclone.locale._supported_locales,
    )
    yield directory
    (
        cyclone.locale._translations,
        cyclone.locale._default_locale,
        cyclone.locale._supported_locales,
    ) = saved
    cyclone.locale.Locale._cache.clear()


@pytest.fixture
def base_url(app_directory):
    """Run foobar.tac as twistd would, but serve its Application on a free loopback port."""
    namespace = runpy.run_path(str(app_directory / "foobar.tac"))
    port = reactor.listenTCP(0, namespace["Application"](), interface="127.0.0.1")
    yield f"http://127.0.0.1:{port.getHost().port}"
    pytest_twisted.blockon(port.stopListening())


async def _request(url, method=b"GET", headers=None, body=None):
    from twisted.web.client import FileBodyProducer

    producer = FileBodyProducer(io.BytesIO(body)) if body is not None else None
    request_headers = Headers({k: [v] for k, v in (headers or {}).items()})
    response = await Agent(reactor).request(method, url.encode(), request_headers, producer)
    return response, (await readBody(response)).decode("utf-8")


async def _post_name(base_url, name, headers=None):
    headers = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
    body = urlencode({"name": name}).encode()
    response, text = await _request(base_url + "/", b"POST", headers, body)
    assert response.code == 200, text
    return text


def test_start_up_compiled_the_catalogs(base_url, app_directory):
    for code in ("pt_BR", "es_ES"):
        assert (app_directory / "locale" / code / "LC_MESSAGES" / "foobar.mo").is_file()
    assert cyclone.locale.get_supported_locales() == {"en_US", "pt_BR", "es_ES"}


@pytest_twisted.ensureDeferred
async def test_index_is_english_without_cookie_or_accept_language(base_url):
    response, page = await _request(base_url + "/")
    assert response.code == 200
    assert "<title>cyclone localization demo</title>" in page
    assert "write someone&#39;s name:" in page  # autoescaped
    assert 'value="send"' in page
    assert "3 languages available" in page


@pytest_twisted.ensureDeferred
async def test_lang_handler_sets_the_cookie_that_picks_the_language(base_url):
    response, _ = await _request(base_url + "/lang/pt_BR")
    assert response.code == 302
    assert response.headers.getRawHeaders(b"location") == [b"/"]
    cookie = SimpleCookie(response.headers.getRawHeaders(b"set-cookie")[0].decode())
    assert cookie["lang"].value == "pt_BR"

    headers = {b"Cookie": b"lang=pt_BR"}
    _, page = await _request(base_url + "/", headers=headers)
    assert "<title>demonstração de localização do cyclone</title>" in page
    assert "escreva o nome de alguém:" in page
    assert 'value="enviar"' in page
    assert "3 idiomas disponíveis" in page
    assert "mudar idioma:" in page


@pytest_twisted.ensureDeferred
async def test_unsupported_language_sets_no_cookie(base_url):
    response, _ = await _request(base_url + "/lang/fr_FR")
    assert response.code == 302
    assert response.headers.getRawHeaders(b"set-cookie") is None


@pytest_twisted.ensureDeferred
async def test_accept_language_quality_values_choose_the_page_language(base_url):
    spanish = {b"Accept-Language": b"fr-FR, es-ES;q=0.8, pt-BR;q=0.5"}
    _, page = await _request(base_url + "/", headers=spanish)
    assert "escriba el nombre de alguien:" in page
    assert "3 idiomas disponibles" in page

    refused = {b"Accept-Language": b"es;q=0, pt;q=0.3"}  # q=0: never Spanish
    _, page = await _request(base_url + "/", headers=refused)
    assert "escreva o nome de alguém:" in page

    cookie_wins = {b"Accept-Language": b"es-ES", b"Cookie": b"lang=en_US"}
    _, page = await _request(base_url + "/", headers=cookie_wins)
    assert "write someone&#39;s name:" in page  # autoescaped


@pytest_twisted.ensureDeferred
async def test_posted_name_is_answered_with_each_languages_plural_rule(base_url):
    english = await _post_name(base_url, "Ana")
    assert english == "the name is: Ana\n3 letters"
    assert await _post_name(base_url, "A") == "the name is: A\n1 letter"

    brazil = {b"Cookie": b"lang=pt_BR"}
    assert await _post_name(base_url, "Ana", brazil) == "o nome é: Ana\n3 letras"
    # Brazilian Portuguese counts zero as singular (plural=(n > 1)) ...
    assert await _post_name(base_url, "", brazil) == "o nome é: \n0 letra"
    # ... Spanish does not (plural=(n != 1)).
    spain = {b"Accept-Language": b"es-ES"}
    assert await _post_name(base_url, "", spain) == "el nombre es: \n0 letras"
    assert await _post_name(base_url, "José", spain) == "el nombre es: José\n4 letras"


def test_committed_template_matches_the_sources_and_the_documented_commands_work(app_directory):
    def cli(*arguments):
        finished = subprocess.run(
            [sys.executable, "-m", "cyclone.locale", *arguments],
            capture_output=True,
            text=True,
            check=False,
        )
        assert finished.returncode == 0, finished.stderr
        return finished

    def message_ids(path):
        with open(path, "rb") as stream:
            return [(m.context, m.id, m.id_plural) for m in read_po(stream).messages]

    cli("extract", "--project", "foobar", "-o", "fresh.pot", "foobar.tac", "template")
    assert message_ids("fresh.pot") == message_ids("foobar.pot")
    cli("update", "-i", "fresh.pot", "-d", "locale", "-D", "foobar")
    for code in ("pt_BR", "es_ES"):
        po = app_directory / "locale" / code / "LC_MESSAGES" / "foobar.po"
        with open(po, "rb") as stream:
            catalog = read_po(stream)
        assert all(m.translated for m in catalog.messages if m.id), code
    compiled = cli("compile", "-d", "locale", "-D", "foobar")
    assert "(7/7 translated)" in compiled.stderr
