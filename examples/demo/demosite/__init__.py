"""The cyclone demo site: one page per part of the framework.

    from demosite import make_app
    app = make_app(redis_url="redis://127.0.0.1:6379/0")
    reactor.listenTCP(8888, app, interface="127.0.0.1")

Each module holds one part; `make_app` lists every route in one place (the
sign-in routes of the identity providers, when there are some, come from
`demosite.external_signin.setup`).
"""

from __future__ import annotations

import os
from typing import Any

import cyclone.web
from cyclone.web import url
from demosite import chat, feed, forms, locales, redis_pubsub, rpc, signin, tour, upload
from demosite.base import NotFoundHandler
from demosite.signin import IdentityProviders
from demosite.uimodules import FeatureCard, LanguagePicker, SourceCode

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def make_app(
    redis_url: str | None = None,
    cookie_secret: str | None = None,
    providers: IdentityProviders | None = None,
) -> cyclone.web.Application:
    """The demo's routes and settings.

    ``redis_url=None`` leaves the Redis page off; ``providers`` adds "Sign in with
    OpenID Connect" and "Sign in with GitHub" (which need cyclone-web[client]).
    """
    sign_in_routes: list[Any] = []
    sign_in_settings: dict[str, Any] = {"external_sign_in": []}
    if providers is not None and providers.configured:
        from demosite import external_signin  # imports cyclone.auth, hence the HTTP client

        sign_in_routes, sign_in_settings = external_signin.setup(providers)
    locales.load_catalogs()
    room = chat.ChatRoom()
    news = feed.Feed()
    redis_link = redis_pubsub.RedisLink(redis_url)
    handlers = [
        url(r"/", tour.HomePage, name="home"),
        url(r"/templates", tour.TemplatesPage, name="templates"),
        url(r"/static-files", tour.StaticFilesPage, name="static-files"),
        url(r"/form", forms.FormPage, name="form"),
        url(r"/signin", signin.SignInPage, name="signin"),
        url(r"/signout", signin.SignOut, name="signout"),
        url(r"/account", signin.AccountPage, name="account"),
        url(r"/auth/basic", signin.BasicAuthPage, name="auth-basic"),
        url(r"/auth/digest", signin.DigestAuthPage, name="auth-digest"),
        *sign_in_routes,
        url(r"/upload", upload.UploadPage, name="upload"),
        url(r"/upload/file", upload.UploadReceiver, name="upload-file"),
        url(r"/locale", locales.LanguagePage, name="locale"),
        url(r"/locale/set", locales.SetLanguage, name="locale-set"),
        url(r"/chat", chat.ChatPage, name="chat"),
        url(r"/chat/socket", chat.ChatSocket, {"room": room}, name="chat-socket"),
        url(r"/feed", feed.FeedPage, name="feed"),
        url(r"/feed/events", feed.FeedEvents, {"feed": news}, name="feed-events"),
        url(r"/feed/publish", feed.FeedPublish, {"feed": news}, name="feed-publish"),
        url(r"/rpc", rpc.RpcPage, name="rpc"),
        url(r"/rpc/xml", rpc.XmlRpc, name="rpc-xml"),
        url(r"/rpc/json", rpc.JsonRpc, name="rpc-json"),
        url(r"/redis", redis_pubsub.RedisPage, {"link": redis_link}, name="redis"),
        url(r"/redis/events", redis_pubsub.RedisEvents, {"link": redis_link}, name="redis-events"),
        url(
            r"/redis/publish",
            redis_pubsub.RedisPublish,
            {"link": redis_link},
            name="redis-publish",
        ),
    ]
    return cyclone.web.Application(
        handlers,
        template_path=os.path.join(ROOT, "templates"),
        static_path=os.path.join(ROOT, "static"),
        ui_modules={
            "FeatureCard": FeatureCard,
            "SourceCode": SourceCode,
            "LanguagePicker": LanguagePicker,
        },
        cookie_secret=cookie_secret or os.urandom(32).hex(),
        login_url="/signin",
        xsrf_cookies=True,
        compress_response=True,
        default_handler_class=NotFoundHandler,
        # Shared objects, for the home page's status and for stopping cleanly.
        feed=news,
        chat_room=room,
        redis_link=redis_link,
        **sign_in_settings,
    )
