"""Tornado 6 WebSocket echo on /ws.

python bench/servers/ws_tornado.py 8080
"""

import asyncio
import sys

import tornado.web
import tornado.websocket


class Echo(tornado.websocket.WebSocketHandler):
    def open(self):
        # Tornado leaves Nagle on unless asked; cyclone, aiohttp and Autobahn turn it off.
        self.set_nodelay(True)

    def on_message(self, message):
        self.write_message(message, binary=isinstance(message, bytes))


async def serve(port):
    application = tornado.web.Application([(r"/ws", Echo)], log_function=lambda handler: None)
    application.listen(port, address="127.0.0.1", backlog=1024)
    await asyncio.Event().wait()


def main():
    asyncio.run(serve(int(sys.argv[1])))


if __name__ == "__main__":
    main()
