"""The guestbook: sign in, leave a message, watch new messages arrive live.

Run it with ``python -m guestbook.app`` from the tutorial folder, or in
production with ``twistd -n cyclone --app=guestbook.app:make_app``.
"""

from __future__ import annotations

import os
import pathlib
from typing import Any

import cyclone.web
from cyclone.sse import SSEHandler

TEMPLATES = pathlib.Path(__file__).parent / "templates"
MAX_MESSAGE_LENGTH = 500


# step: store
class Guestbook:
    """The messages, kept in memory, and the live streams waiting for new ones."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.listeners: set[LiveHandler] = set()

    def add(self, author: str, text: str) -> dict[str, Any]:
        message = {"id": len(self.messages) + 1, "author": author, "text": text}
        self.messages.append(message)
        for listener in list(self.listeners):
            listener.sendEvent(message, event="message", eid=message["id"])
        return message


# step: base
class BaseHandler(cyclone.web.RequestHandler):
    """What every page shares: the guestbook and the signed-in user."""

    @property
    def guestbook(self) -> Guestbook:
        book: Guestbook = self.settings["guestbook"]
        return book

    def get_current_user(self) -> str | None:
        name = self.get_secure_cookie("user")
        return name.decode() if name else None


# step: pages
class HomeHandler(BaseHandler):
    def get(self) -> None:
        self.render("home.html", messages=self.guestbook.messages)


class MessageHandler(BaseHandler):
    def get(self, message_id: str) -> None:
        index = int(message_id) - 1
        if not 0 <= index < len(self.guestbook.messages):
            raise cyclone.web.HTTPError(404, "no message %s", message_id)
        self.write(self.guestbook.messages[index])


# step: form
class PostHandler(BaseHandler):
    @cyclone.web.authenticated
    def post(self) -> None:
        text = self.get_argument("text").strip()
        if not text or len(text) > MAX_MESSAGE_LENGTH:
            raise cyclone.web.HTTPError(
                400, "a message has 1 to %d characters", MAX_MESSAGE_LENGTH
            )
        self.guestbook.add(self.current_user, text)
        self.redirect(self.reverse_url("home"))


# step: sign-in
class SignInHandler(BaseHandler):
    def get(self) -> None:
        self.render("sign_in.html", error=None, next=self.get_argument("next", "/"))

    def post(self) -> None:
        name = self.get_argument("name", "").strip()
        next_url = self.get_argument("next", "/")
        if not name.isalnum() or len(name) > 30:
            self.set_status(400)
            self.render("sign_in.html", error="Use 1 to 30 letters or digits.", next=next_url)
            return
        self.set_secure_cookie("user", name)
        self.redirect(next_url if next_url.startswith("/") else "/")


class SignOutHandler(BaseHandler):
    def post(self) -> None:
        self.clear_cookie("user")
        self.redirect(self.reverse_url("home"))


# step: live
class LiveHandler(SSEHandler):
    """Streams each new message to the page as a Server-Sent Event."""

    def bind(self) -> None:
        self.settings["guestbook"].listeners.add(self)

    def unbind(self) -> None:
        self.settings["guestbook"].listeners.discard(self)


# step: application
def make_app(
    cookie_secret: str | None = None, guestbook: Guestbook | None = None, **settings: Any
) -> cyclone.web.Application:
    """The application; ``cookie_secret`` defaults to the GUESTBOOK_SECRET variable."""
    secret = cookie_secret or os.environ.get("GUESTBOOK_SECRET")
    if not secret:
        raise ValueError("set a cookie_secret (or the GUESTBOOK_SECRET environment variable)")
    return cyclone.web.Application(
        [
            cyclone.web.url(r"/", HomeHandler, name="home"),
            (r"/messages/(\d+)", MessageHandler),
            (r"/post", PostHandler),
            (r"/sign-in", SignInHandler),
            (r"/sign-out", SignOutHandler),
            (r"/live", LiveHandler),
        ],
        template_path=str(TEMPLATES),
        cookie_secret=secret,
        xsrf_cookies=True,
        login_url="/sign-in",
        guestbook=guestbook or Guestbook(),
        **settings,
    )


# step: run
if __name__ == "__main__":
    import sys

    from twisted.internet import reactor
    from twisted.python import log

    log.startLogging(sys.stdout)
    reactor.listenTCP(8888, make_app(), interface="127.0.0.1")
    reactor.run()
