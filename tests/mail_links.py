"""Reading the links the e-mails of a test carry (sign-up confirmation, invitations, resets)."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.core import mail


def link_path(message, marker: str) -> str:
    """The path of the first link in `message` whose URL contains `marker`."""
    url = next(word for line in message.body.splitlines() for word in line.split() if marker in word and "://" in word)
    return urlsplit(url).path


def confirm_sign_up(client, email: str):
    """Open the confirmation link e-mailed to `email` and press its button; returns the response."""
    [message] = [m for m in mail.outbox if m.to == [email] and "/signup/confirm/" in m.body]
    return client.post(link_path(message, "/signup/confirm/"))


def confirm_sign_up_in_browser(page, base_url: str, email: str) -> None:
    """After the sign-up form: the page says to check the e-mail; open its link and confirm."""
    page.get_by_role("heading", name="Check your e-mail to confirm").wait_for()
    [message] = [m for m in mail.outbox if m.to == [email] and "/signup/confirm/" in m.body]
    page.goto(base_url + link_path(message, "/signup/confirm/"))
    page.get_by_role("button", name="Confirm and continue").click()
