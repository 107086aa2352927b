"""The language of every page, mail and SMS: French (the msgids) or English (idp/translations/en).

Which one a request gets, first match wins:
1. `ui_locales` on the request (the authorization request's parameter; any emulator page takes it too);
2. the journey's `ui_locales`: screens of a flow keep the language its authorization request asked for;
3. the `language` setting (control panel, control API, seed), when set: a trainer's choice for the room;
4. the browser's `Accept-Language`;
5. French.

The catalogues are loaded once per process; a request works out its language once, and each string is
then one dictionary lookup (the templates' `_()` and the Python views' `gettext` both end here).
"""
import functools
from pathlib import Path

from babel import support
from flask import g, has_request_context, request
from werkzeug.exceptions import HTTPException

LOCALES = ("fr", "en")
DEFAULT_LOCALE = "fr"
TRANSLATIONS = Path(__file__).parent / "translations"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def supported(tags):
    """The first supported language of a `ui_locales` / BCP 47 list ("en-US fr", "en_GB"), or None."""
    for tag in (tags or "").replace(",", " ").split():
        language = tag.replace("_", "-").split("-")[0].lower()
        if language in LOCALES:
            return language
    return None


@functools.cache
def translations(locale):
    """The catalogue of one language, read once per process (French is the source text: nothing to read)."""
    if locale == DEFAULT_LOCALE:
        return support.NullTranslations()
    return support.Translations.load(str(TRANSLATIONS), [locale])


def _flow_locale():
    """The `ui_locales` of the flow this request's URL names (already loaded by the view: no query then)."""
    flow_id = (request.view_args or {}).get("flow_id")
    if not flow_id:
        return None
    from .extensions import db
    from .models import Flow

    flow = db.session.get(Flow, flow_id)
    return supported((flow.params or {}).get("ui_locales")) if flow is not None else None


def _setting_locale():
    from .settings import language

    return language()


def select_locale():
    """This request's language (see the module's docstring); outside a request, the setting or French."""
    if not has_request_context():
        try:
            return _setting_locale() or DEFAULT_LOCALE
        except RuntimeError:  # no application context either
            return DEFAULT_LOCALE
    # A form-posted authorization request carries it in its body (never read a JSON body for it). A body that
    # cannot be read (too large, malformed) is what the error page being translated is about: no ui_locales then.
    try:
        posted = request.form.get("ui_locales") if request.mimetype in FORM_TYPES else None
    except HTTPException:
        posted = None
    return (supported(request.args.get("ui_locales")) or supported(posted)
            or _flow_locale() or _setting_locale()
            or request.accept_languages.best_match(LOCALES) or DEFAULT_LOCALE)


def current_locale():
    """This request's language, worked out once per request."""
    if not has_request_context():
        return select_locale()
    locale = g.get("i18n_locale")
    if locale is None:
        locale = g.i18n_locale = select_locale()
    return locale


def current_translations():
    """This request's catalogue (babel Translations), looked up once per request."""
    if not has_request_context():
        return translations(select_locale())
    found = g.get("i18n_translations")
    if found is None:
        found = g.i18n_translations = translations(current_locale())
    return found


def gettext(message):
    """The templates' `_()` (Jinja's new-style gettext then fills in the variables, escaped)."""
    return current_translations().gettext(message)


def ngettext(singular, plural, n):
    return current_translations().ngettext(singular, plural, n)


def install(app):
    """Give the templates `_()`/`ngettext()` that follow each request's language, and `current_locale()`."""
    app.jinja_env.add_extension("jinja2.ext.i18n")
    app.jinja_env.install_gettext_callables(gettext, ngettext, newstyle=True)
    app.jinja_env.globals["current_locale"] = current_locale


def N_(message):
    """Mark a string for the catalogue where it is defined (a constant); translate it with gettext where shown."""
    return message
