"""The dev mailbox, read like a webmail: every email the system sent (and mail received over loopback SMTP),
newest first, beside a reading pane with the selected mail."""
import re
from email.utils import parseaddr
from html.parser import HTMLParser

from babel.dates import format_datetime
from flask import Blueprint, abort, make_response, render_template, request
from sqlalchemy import select

from .. import clock
from ..devices.messages import delivered
from ..extensions import db
from ..i18n import current_locale
from ..models import Message
from ..trainer import demo

bp = Blueprint("mailbox", __name__, url_prefix="/_emulator/mailbox")

PAGE_SIZE = 200
SNIPPET = 140
# The page around the mail: our own stylesheet and script (it sizes the mail's frame); the mail sits in a sandboxed frame.
PAGE_CSP = ("default-src 'none'; style-src 'self' 'unsafe-inline'; script-src 'self'; img-src 'self' data:; "
            "frame-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'self'")
# The mail's HTML: no scripts, no network, no forms; styles inline only. Same origin (never with scripts) so that the
# page's script can read the mail's height; links open in a new, unsandboxed tab.
RAW_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'; base-uri 'none'; "
           "sandbox allow-same-origin allow-popups allow-popups-to-escape-sandbox")
# Where a mail's links open: a new tab, as in a webmail (the mailbox stays where it was).
BASE_TARGET = '<base target="_blank">'


def _emails():
    return delivered(select(Message).where(Message.channel == "email"))


def _listing(to):
    query = _emails()
    if to:
        query = query.where(Message.to == to)
    return db.session.scalars(query.order_by(Message.created_at.desc(), Message.id.desc()).limit(PAGE_SIZE)).all()


def sender(message):
    """Return (display name, address) of the mail's sender; the name falls back on the address."""
    name, address = parseaddr(message.sender or "")
    return (name or address or message.sender or ""), address


class _VisibleText(HTMLParser):
    """The text a reader sees in a mail's HTML: no head, title, style or script."""

    HIDDEN = {"head", "title", "style", "script"}
    # Tags that end a line of text: a space there keeps two paragraphs' words apart.
    BLOCKS = {"p", "div", "br", "tr", "td", "th", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "blockquote"}

    def __init__(self):
        super().__init__()
        self.parts, self.hidden = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in self.HIDDEN:
            self.hidden += 1
        if tag in self.BLOCKS:
            self.parts.append(" ")

    def handle_endtag(self, tag):
        if tag in self.HIDDEN and self.hidden:
            self.hidden -= 1
        if tag in self.BLOCKS:
            self.parts.append(" ")

    def handle_data(self, data):
        if not self.hidden:
            self.parts.append(data)


def _visible_text(html):
    parser = _VisibleText()
    parser.feed(html)
    parser.close()
    return "".join(parser.parts)


def snippet(message):
    """The first words of the mail's text (of its HTML when it has no text part), on one line, as a mail list shows."""
    text = " ".join((message.body_text or _visible_text(message.body_html or "")).split())
    return text if len(text) <= SNIPPET else text[:SNIPPET].rsplit(" ", 1)[0] + "…"


def short_time(moment):
    """A list's date, in the page's language: the time today, the day this year, the full date before (the guide's in demo mode)."""
    now = clock.now()
    if demo.active():
        moment = now = demo.shown_time(moment, "mail")
    if moment.date() == now.date():
        return format_datetime(moment, "HH:mm", locale=current_locale())
    if moment.year == now.year:
        return format_datetime(moment, "d MMM", locale=current_locale())
    return format_datetime(moment, "dd/MM/y", locale=current_locale())


def long_time(moment):
    """The reading pane's date, in the page's language (times are the emulator clock's UTC; the guide's in demo mode)."""
    moment = demo.shown_time(moment, "mail")
    locale = current_locale()
    # CLDR's words for the day and month; the pattern's "à" is a literal, so it has its English pair.
    pattern = "EEEE d MMMM y 'à' HH:mm" if locale == "fr" else "EEEE d MMMM y 'at' HH:mm"
    return format_datetime(moment, pattern, locale=locale) + " UTC"


def _page(template, messages, to, selected=None):
    response = make_response(render_template(
        template, messages=messages, to=to, message=selected, sender=sender, snippet=snippet,
        short_time=short_time, long_time=long_time))
    response.headers["Content-Security-Policy"] = PAGE_CSP
    return response


def _to():
    return (request.args.get("to") or "").strip().lower()


@bp.route("", strict_slashes=False)
def index():
    to = _to()
    return _page("mailbox/index.html", _listing(to), to)


def _message(message_id):
    message = db.session.scalar(_emails().where(Message.id == message_id))
    if message is None:
        abort(404)
    return message


@bp.route("/<int:message_id>")
def message(message_id):
    message = _message(message_id)
    if message.read_at is None:
        message.read_at = clock.now()
    to = _to()
    return _page("mailbox/message.html", _listing(to), to, message)


def _with_base_target(html):
    """Put <base target="_blank"> in the mail's head (or at its start), keeping its doctype first."""
    for tag in (r"<head\b[^>]*>", r"<html\b[^>]*>", r"<!doctype[^>]*>"):
        found = re.search(tag, html, re.IGNORECASE)
        if found:
            return html[:found.end()] + BASE_TARGET + html[found.end():]
    return BASE_TARGET + html


@bp.route("/<int:message_id>/raw")
def raw(message_id):
    """The mail's HTML part alone, for the sandboxed frame of the reading pane."""
    message = _message(message_id)
    if message.body_html:
        response = make_response(_with_base_target(message.body_html))
        response.mimetype = "text/html"
    else:
        response = make_response(message.body_text or "")
        response.mimetype = "text/plain"
    response.headers["Content-Security-Policy"] = RAW_CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
