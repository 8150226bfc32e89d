# coding: utf-8
# twisted application: foobar.tac -- run it with `twistd -ny foobar.tac` from this directory
import cyclone.locale
import cyclone.web
from cyclone.locale.mo import compile_catalogs
from twisted.application import internet, service


class BaseHandler(cyclone.web.RequestHandler):
    def get_user_locale(self):
        lang = self.get_cookie("lang")
        if lang:
            return cyclone.locale.get(lang)
        return None  # no cookie yet: use the browser's Accept-Language


class IndexHandler(BaseHandler):
    def get(self):
        self.render("index.html", languages=sorted(cyclone.locale.get_supported_locales()))

    def post(self):
        _ = self.locale.translate
        name = self.get_argument("name")
        letters = len(name)
        self.write(_("the name is: %s") % name)
        self.write("\n")
        # TRANSLATORS: how many letters the name has
        self.write(_("%(count)d letter", "%(count)d letters", letters) % {"count": letters})


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
        # Only the .po files are kept in git; build any missing or stale .mo
        # (the same as `python -m cyclone.locale compile -d locale -D foobar`).
        compile_catalogs("./locale", "foobar")
        cyclone.locale.load_gettext_translations("./locale", "foobar")
        cyclone.web.Application.__init__(self, handlers, **settings)


application = service.Application("foobar")
internet.TCPServer(8888, Application(), interface="127.0.0.1").setServiceParent(application)
