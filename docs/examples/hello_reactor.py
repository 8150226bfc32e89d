from twisted.internet import reactor

import cyclone.web


class MainHandler(cyclone.web.RequestHandler):
    def get(self):
        self.write("Hello, world")


application = cyclone.web.Application([(r"/", MainHandler)])
reactor.listenTCP(8888, application, interface="127.0.0.1")
reactor.run()
