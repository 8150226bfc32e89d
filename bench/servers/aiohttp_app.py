"""aiohttp's web server (with its C HTTP parser) serving the benchmark routes.

    python bench/servers/aiohttp_app.py 8080

The framework a user picks instead of cyclone, so the peer issue 20 measures
against. The runner refuses to measure it unless ``aiohttp.http_parser`` uses the
C parser. aiohttp has no template engine of its own: GET /template renders the same
page through aiohttp-jinja2 (jinja2, autoescaping on), the way aiohttp applications
usually do; its template files are the jinja2 spelling of the Tornado ones.
"""

import os
import sys

import aiohttp_jinja2
import jinja2
from aiohttp import web
from payloads import BIG, HELLO, JSON_DOCUMENT, TEMPLATE_CONTEXT, TEMPLATE_DIRECTORY, TEMPLATE_NAME


async def hello(request):
    return web.Response(body=HELLO, content_type="text/plain")


async def json_document(request):
    return web.json_response(JSON_DOCUMENT)


async def big(request):
    return web.Response(body=BIG, content_type="application/octet-stream")


async def form(request):
    fields = await request.post()
    return web.Response(text=str(len(fields)))


async def template(request):
    return aiohttp_jinja2.render_template(TEMPLATE_NAME, request, TEMPLATE_CONTEXT)


def main():
    application = web.Application()
    aiohttp_jinja2.setup(
        application,
        loader=jinja2.FileSystemLoader(os.path.join(TEMPLATE_DIRECTORY, "jinja2")),
        autoescape=True,
    )
    application.add_routes(
        [
            web.get("/hello", hello),
            web.get("/json", json_document),
            web.get("/big", big),
            web.post("/form", form),
            web.get("/template", template),
        ]
    )
    web.run_app(
        application,
        host="127.0.0.1",
        port=int(sys.argv[1]),
        backlog=1024,
        access_log=None,
        print=None,
    )


if __name__ == "__main__":
    main()
