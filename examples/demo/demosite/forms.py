"""A form with XSRF protection and server-side validation.

The application has ``xsrf_cookies=True``: every POST must carry the token that
``{% module xsrf_form_html() %}`` puts in the form (or an ``X-XSRFToken``
header), else it gets 403. The form has ``novalidate`` so the browser sends
whatever was typed and the server's validation is what you see.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from demosite.base import BaseHandler

#: Longest accepted name and message, in characters.
MAX_NAME = 40
MAX_MESSAGE = 280
FAVOURITES = ["templates", "websocket", "sse", "rpc", "locale", "redis"]
# Good enough to catch typos; the only real check of an address is sending it mail.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass
class Greeting:
    """The form's fields as typed, and what is wrong with them (field -> message)."""

    name: str = ""
    email: str = ""
    age: str = ""
    favourite: str = ""
    message: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    def validate(self) -> bool:
        """Fill ``errors``; True when there are none."""
        self.errors.clear()
        if not self.name:
            self.errors["name"] = "Please tell us your name."
        elif len(self.name) > MAX_NAME:
            self.errors["name"] = f"At most {MAX_NAME} characters, please."
        if self.email and not _EMAIL.match(self.email):
            self.errors["email"] = "That does not look like an e-mail address."
        if self.age and not (self.age.isdigit() and 1 <= int(self.age) <= 130):
            self.errors["age"] = "A whole number between 1 and 130."
        if self.favourite not in FAVOURITES:
            self.errors["favourite"] = "Pick one of the choices."
        if len(self.message) > MAX_MESSAGE:
            self.errors["message"] = f"At most {MAX_MESSAGE} characters, please."
        return not self.errors


class FormPage(BaseHandler):
    """GET shows the form; POST validates it and shows the errors or the greeting."""

    page = "form"

    def get(self) -> None:
        self.render("form.html", form=Greeting(favourite=FAVOURITES[0]), choices=FAVOURITES)

    def post(self) -> None:
        form = Greeting(
            name=self.get_body_argument("name", ""),
            email=self.get_body_argument("email", ""),
            age=self.get_body_argument("age", ""),
            favourite=self.get_body_argument("favourite", ""),
            message=self.get_body_argument("message", ""),
        )
        if not form.validate():
            # Shown again with the errors, and what was typed kept in the fields.
            self.render("form.html", form=form, choices=FAVOURITES)
            return
        self.render("greeting.html", form=form)
