#!/usr/bin/env python
"""The old cyclone docs' hello world, as a plain script.

python helloworld.py          # http://127.0.0.1:8888/
python helloworld.py 8080     # or PORT=8080 python helloworld.py
"""

import os
import sys

from twisted.internet import reactor
from twisted.python import log

import cyclone.web


class MainHandler(cyclone.web.RequestHandler):
    def get(self):
        self.write("Hello, world")


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else int(os.environ.get("PORT", 8888))
    log.startLogging(sys.stdout)
    application = cyclone.web.Application([(r"/", MainHandler)])

    reactor.listenTCP(port, application, interface="127.0.0.1")
    reactor.run()


if __name__ == "__main__":
    main()
