import asyncio

import cyclone.web


class MainHandler(cyclone.web.RequestHandler):
    async def get(self):
        await asyncio.sleep(0)  # any asyncio code can be awaited here, Deferreds too
        self.write("Hello, world")


def make_app():
    return cyclone.web.Application([(r"/", MainHandler)])


async def main():
    app = make_app()
    app.listen(8888, "127.0.0.1")
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
