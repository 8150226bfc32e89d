"""A WebSocket echo server and a client talking to it over loopback."""

from twisted.internet import defer, task

from cyclone.routing import Router
from cyclone.websocket import WebSocketHandler, connect


class EchoHandler(WebSocketHandler):
    def on_message(self, message):
        self.write_message("echo: " + message)


async def main(reactor):
    port = reactor.listenTCP(0, Router([(r"/ws", EchoHandler)]), interface="127.0.0.1")
    connection = await connect(f"ws://127.0.0.1:{port.getHost().port}/ws")
    for word in ("hello", "world"):
        await connection.write_message(word)
        print(await connection.read_message())
    connection.close()
    await port.stopListening()


task.react(lambda reactor: defer.ensureDeferred(main(reactor)))
