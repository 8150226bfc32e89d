"""A visit counter in Redis: python redis_example.py redis://127.0.0.1:6379/0"""

import sys

from twisted.internet import defer, task

import cyclone.redis
from cyclone.handler import RequestHandler
from cyclone.routing import Router
from cyclone.testing import Client

redis = cyclone.redis.connect(sys.argv[1])


class CounterHandler(RequestHandler):
    @cyclone.redis.unavailable_as_503
    async def post(self, name):
        self.write({"count": await redis.incr("visits:" + name)})


application = Router([(r"/count/(\w+)", CounterHandler)])


async def main(reactor):
    client = Client(application)
    await redis.delete("visits:home")
    for _ in range(3):
        print((await client.post("/count/home")).json())
    await redis.disconnect()


task.react(lambda reactor: defer.ensureDeferred(main(reactor)))
