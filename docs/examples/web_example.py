"""Templates, a form protected from cross-site request forgery, and a secure cookie."""

from twisted.internet import defer, task

import cyclone.web
from cyclone.template import DictLoader
from cyclone.testing import Client

TEMPLATES = DictLoader(
    {
        "base.html": "<title>{% block title %}{% end %}</title>{% block body %}{% end %}",
        "greet.html": """{% extends "base.html" %}
{% block title %}Hello{% end %}
{% block body %}<p>Hello, {{ name }}!</p>
<form method="post">{% raw xsrf_form_html() %}<input name="name"></form>{% end %}""",
    }
)


class GreetHandler(cyclone.web.RequestHandler):
    def get(self):
        name = self.get_secure_cookie("name")
        self.render("greet.html", name=name.decode() if name else "stranger")

    def post(self):
        self.set_secure_cookie("name", self.get_argument("name"))
        self.redirect("/")


application = cyclone.web.Application(
    [(r"/", GreetHandler)],
    template_loader=TEMPLATES,
    cookie_secret="use a long random value",
    xsrf_cookies=True,
)


async def main(reactor):
    client = Client(application)
    page = await client.get("/")
    print(page.text.splitlines()[0])
    refused = await client.post("/", data={"name": "Ana"})
    print(refused.code, refused.reason)
    accepted = await client.post("/", data={"name": "Ana", "_xsrf": client.cookies["_xsrf"]})
    print(accepted.code, accepted.headers["Location"])
    print((await client.get("/")).text.splitlines()[0])


task.react(lambda reactor: defer.ensureDeferred(main(reactor)))
