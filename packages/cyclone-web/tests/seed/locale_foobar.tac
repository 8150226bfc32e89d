# coding: utf-8
# twisted application: foobar.tac

import cyclone.web
import cyclone.locale
from twisted.application import service, internet

class BaseHandler(cyclone.web.RequestHandler):
    def get_user_locale(self):
        lang = self.get_cookie("lang")
        return cyclone.locale.get(lang)

class IndexHandler(BaseHandler):
    def get(self):
        self.render("index.html")

    def post(self):
        _ = self.locale.translate
        name = self.get_argument("name")
        self.write(_("the name is: %s" % name))

class LangHandler(cyclone.web.RequestHandler):
    def get(self, lang):
        if lang in cyclone.locale.get_supported_locales():
            self.set_cookie("lang", lang)
        self.redirect("/")

class Application(cyclone.web.Application):
    def __init__(self):
        handlers = [
            (r"/", IndexHandler),
            (r"/lang/(.+)", LangHandler),
        ]

        settings = {
            "static_path": "./static",
            "template_path": "./template",
        }

        cyclone.locale.load_gettext_translations("./locale", "foobar")
        cyclone.web.Application.__init__(self, handlers, **settings)

application = service.Application("foobar")
internet.TCPServer(8888, Application(),
    interface="127.0.0.1").setServiceParent(application)
