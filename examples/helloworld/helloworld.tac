# coding: utf-8
# The old cyclone docs' hello world as a Twisted application:
#
#     twistd -ny helloworld.tac               # http://127.0.0.1:8888/
#     PORT=8080 twistd -ny helloworld.tac
#
# twistd takes care of daemonizing, pid files, log files, user/group switching and
# the reactor choice (see `twistd --help`).

import os

from twisted.application import internet, service

import cyclone.web


class IndexHandler(cyclone.web.RequestHandler):
    def get(self):
        self.write("hello world")


foobar = cyclone.web.Application([(r"/", IndexHandler)])

application = service.Application("foobar")
port = int(os.environ.get("PORT", 8888))
internet.TCPServer(port, foobar(), interface="127.0.0.1").setServiceParent(application)
