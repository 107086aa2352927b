"""A loopback SMTP server (aiosmtpd) whose mail lands in the dev mailbox, so other programs can send to it.

The mail parser and the server are imported when used: `up` reads this module's ports and stays light.
"""
import logging
import os
import re
import socket


log = logging.getLogger(__name__)

HREF = re.compile(r"""href\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
URL = re.compile(r"""https?://[^\s<>"')\]]+""")
CODE = re.compile(r"\bcode\b[^0-9\n]{0,60}?\b(\d{4,8})\b", re.IGNORECASE)
LOOPBACK = "127.0.0.1"


def parse(data, envelope_from=""):
    """Return the fields of a Message row from a raw RFC 5322 mail: sender, subject, text, html, links, code."""
    import email
    import email.policy
    import html

    message = email.message_from_bytes(data, policy=email.policy.default)
    html_part = message.get_body(preferencelist=("html",))
    text_part = message.get_body(preferencelist=("plain",))
    body_html = _content(html_part)
    body_text = _content(text_part)
    if body_text is None:
        body_text = _text_of(body_html) if body_html else ""
    found = [html.unescape(link) for link in HREF.findall(body_html)] if body_html else URL.findall(body_text)
    links = list(dict.fromkeys(link.strip() for link in found if link.strip()))
    code = CODE.search(body_text)
    return {
        "sender": str(message.get("From") or envelope_from or ""),
        "subject": str(message.get("Subject") or ""),
        "body_text": body_text,
        "body_html": body_html,
        "links": links,
        "code": code.group(1) if code else None,
    }


def _content(part):
    if part is None:
        return None
    try:
        return part.get_content()
    except (LookupError, ValueError):
        payload = part.get_payload(decode=True) or b""
        return payload.decode("utf-8", "replace")


def _text_of(markup):
    import html

    text = re.sub(r"(?is)<(script|style).*?</\1>", "", markup)
    text = re.sub(r"(?i)<br\s*/?>|</p>|</div>|</tr>", "\n", text)
    return html.unescape(re.sub(r"<[^>]+>", "", text)).strip()


def store(app, recipients, data, envelope_from=""):
    """Parse a received mail and add one dev-mailbox Message per recipient; return their ids."""
    from ..extensions import db
    from ..models import Message

    fields = parse(data, envelope_from)
    with app.app_context():
        rows = [Message(channel="email", to=rcpt.strip().lower(), **fields) for rcpt in recipients]
        db.session.add_all(rows)
        db.session.commit()
        return [row.id for row in rows]


class MailboxHandler:
    """aiosmtpd handler: every accepted mail goes into the dev mailbox."""

    def __init__(self, app):
        self.app = app

    async def handle_DATA(self, server, session, envelope):
        try:
            store(self.app, envelope.rcpt_tos, envelope.original_content or envelope.content, envelope.mail_from)
        except Exception:
            log.exception("could not store a mail received over SMTP")
            return "451 Requested action aborted: error in processing"
        return "250 Message accepted for delivery"


def port_free(host, port):
    """True when no server holds the port. Bound as the server binds it (asyncio sets SO_REUSEADDR): the connections
    a run that just stopped closed (TIME_WAIT, for a minute) do not make it taken, as they do not for the server."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


SMTP_OFFSET = 25  # the SMTP port is the IdP's port + 25 unless set: 8425 for 8400, 8525 for 8500


def port_for(idp_port, explicit=None, environ=None):
    """The dev mailbox's SMTP port: the one given (--smtp-port), else IDP_SMTP_PORT, else the IdP's port + 25.

    Derived from the IdP's port so that two instances on different ports never share a mailbox.
    """
    environ = os.environ if environ is None else environ
    if explicit is not None:
        return int(explicit)
    if str(environ.get("IDP_SMTP_PORT", "")).strip():
        return int(environ["IDP_SMTP_PORT"])
    port = int(idp_port) + SMTP_OFFSET
    return port if port <= 65535 else int(idp_port) - SMTP_OFFSET


def start(app, port=None, host=LOOPBACK):
    """Start the SMTP server in a background thread; return its controller, or None if the port is taken."""
    port = int(port if port is not None else app.config.get("IDP_SMTP_PORT", 8425))
    if not port_free(host, port):
        log.warning("SMTP port %s:%s is already in use: the dev mailbox will not receive mail over SMTP", host, port)
        return None
    from aiosmtpd.controller import Controller  # here: `up` reads this module's ports without loading asyncio

    controller = Controller(MailboxHandler(app), hostname=host, port=port, ready_timeout=5)
    try:
        controller.start()
    except Exception as exc:  # a race for the port, or the loop failed: never stop the IdP for this
        log.warning("SMTP server on %s:%s did not start (%s)", host, port, exc)
        try:
            controller.stop(no_assert=True)
        except Exception:
            pass
        return None
    log.info("SMTP server for the dev mailbox on %s:%s", host, port)
    return controller


def enabled(flag_disabled=False, environ=None):
    """False when disabled by --no-smtp, IDP_SMTP=off|0|false|no, or IDP_SMTP_PORT=0."""
    environ = os.environ if environ is None else environ
    if flag_disabled:
        return False
    if str(environ.get("IDP_SMTP", "on")).strip().lower() in ("off", "0", "false", "no"):
        return False
    return str(environ.get("IDP_SMTP_PORT", "8425")).strip() != "0"
