"""Tornado's documented hello world, with only the import changed (and a --port option).

python tornado_hello.py               # http://127.0.0.1:8888/
python tornado_hello.py --port=8080
"""

import asyncio

import cyclone.web
from cyclone.options import define, options, parse_command_line

define("port", default=8888, help="port to listen on (0: any free port)")


class MainHandler(cyclone.web.RequestHandler):
    def get(self):
        self.write("Hello, world")


def make_app():
    return cyclone.web.Application(
        [
            (r"/", MainHandler),
        ]
    )


async def main():
    parse_command_line()
    app = make_app()
    port = app.listen(options.port, "127.0.0.1")
    print(f"http://127.0.0.1:{port.getHost().port}/", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
