"""A JSON API on cyclone-core alone, exercised with the in-process test client."""

from twisted.internet import defer, task

from cyclone.handler import HTTPError, RequestHandler
from cyclone.routing import Router
from cyclone.testing import Client

ITEMS = {"1": "tea", "2": "coffee"}


class ItemHandler(RequestHandler):
    def get(self, item_id):
        if item_id not in ITEMS:
            raise HTTPError(404, "no item %s", item_id)
        self.write({"id": item_id, "name": ITEMS[item_id]})

    def put(self, item_id):
        ITEMS[item_id] = self.get_argument("name")
        self.set_status(204)


application = Router([(r"/items/(\d+)", ItemHandler)], xsrf_cookies=False)


async def main(reactor):
    client = Client(application)
    print((await client.get("/items/1")).json())
    print((await client.put("/items/3", data={"name": "juice"})).code)
    print((await client.get("/items/3")).json())
    print((await client.get("/items/9")).code)


task.react(lambda reactor: defer.ensureDeferred(main(reactor)))
