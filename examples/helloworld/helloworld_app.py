"""The hello world as an application for the twistd cyclone plugin.

    twistd -n cyclone --app=helloworld_app.Application              # http://127.0.0.1:8888/
    twistd -n cyclone --app=helloworld_app.Application --port=8080 --workers=2
    twistd cyclone --app=helloworld_app.Application --pidfile=hello.pid --logfile=hello.log

Run it from this directory (twistd imports ``helloworld_app`` from the
current one). The plugin takes care of listening, TLS, worker processes and a
graceful stop; the module only says what the application is.
"""

import cyclone.web


class MainHandler(cyclone.web.RequestHandler):
    def get(self):
        self.write("Hello, world")


class Application(cyclone.web.Application):
    def __init__(self, **settings):
        super().__init__([(r"/", MainHandler)], **settings)
