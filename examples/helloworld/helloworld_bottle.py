#!/usr/bin/env python
#
# The old cyclone demos/helloworld/helloworld_bottle.py. Its code is unchanged
# but for the port, which PORT may override (python helloworld_bottle.py serves
# http://127.0.0.1:8888/), and the layout ruff wants (import order, blank lines).

import os
import sys

import cyclone.sqlite  # noqa: F401  (the old demo imports it; kept to show it still loads)
from cyclone.bottle import route, run


@route("/")
def index(web):
    web.write("Hello, world")


run(host="127.0.0.1", port=int(os.environ.get("PORT", 8888)), log=sys.stdout)
