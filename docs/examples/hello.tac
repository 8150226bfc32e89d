# Run with: twistd -ny hello.tac
import cyclone.web
from twisted.application import internet, service


class MainHandler(cyclone.web.RequestHandler):
    def get(self):
        self.write("Hello, world")


application = service.Application("hello")
web_application = cyclone.web.Application([(r"/", MainHandler)])
internet.TCPServer(8888, web_application, interface="127.0.0.1").setServiceParent(application)
