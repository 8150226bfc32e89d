"""aiohttp WebSocket echo on /ws (its C frame reader and masking).

python bench/servers/ws_aiohttp.py 8080
"""

import sys

from aiohttp import WSMsgType, web


async def echo(request):
    socket = web.WebSocketResponse()
    await socket.prepare(request)
    async for message in socket:
        if message.type == WSMsgType.TEXT:
            await socket.send_str(message.data)
        elif message.type == WSMsgType.BINARY:
            await socket.send_bytes(message.data)
    return socket


def main():
    application = web.Application()
    application.add_routes([web.get("/ws", echo)])
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
