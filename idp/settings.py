"""QA settings shared by every worker (Setting rows): captcha mode and rounds, MFA policy override, demo mode,
language, faults."""
from flask import current_app, has_app_context

from .journey.captcha import MAX_ROUNDS, MAX_SET_ROUNDS, MODES as CAPTCHA_MODES, resolve_mode
from .models import Setting

MFA_POLICIES = ("always", "once", "never")
# The languages of the screens, mails, SMS and phone (the setting "language"; None: the browser's, else French).
LANGUAGES = ("fr", "en")
# The settings PUT /_emulator/api/settings and a seed's settings.yaml accept (besides faults and the clock).
SETTINGS = ("captcha", "captcha_rounds", "mfa", "demo", "language")
# Channel -> the faults it accepts (idp.devices.messages and the push sender honour them).
FAULTS = {"sms": ("fail", "delay"), "email": ("fail",), "push": ("timeout",)}


class SettingsError(ValueError):
    """A setting refused, with a message that says which values are accepted."""


def _choice(name, value, allowed):
    if value is not None and value not in allowed:
        raise SettingsError(f"'{name}' must be one of {', '.join(allowed)} (or null for the default), not {value!r}")
    return value


def _rounds(value):
    if value is not None and (type(value) is not int or not 1 <= value <= MAX_SET_ROUNDS):
        raise SettingsError(f"'captcha_rounds' must be a whole number from 1 to {MAX_SET_ROUNDS} "
                            f"(or null for the default: 1 to {MAX_ROUNDS} at random), not {value!r}")
    return value


def _flag(name, value):
    if value is not None and type(value) is not bool:
        raise SettingsError(f"'{name}' must be true or false (or null for the default), not {value!r}")
    return value


def check_settings(values):
    """Return the settings of SETTINGS checked (only keys given), or raise SettingsError."""
    if not isinstance(values, dict):
        raise SettingsError("settings must be a JSON object such as {\"captcha\": \"auto\", \"mfa\": \"never\"}")
    unknown = set(values) - set(SETTINGS)
    if unknown:
        raise SettingsError(f"unknown setting(s): {', '.join(sorted(unknown))}; known: {', '.join(SETTINGS)}")
    checked = {}
    if "captcha" in values:
        checked["captcha"] = _choice("captcha", values["captcha"], CAPTCHA_MODES)
    if "captcha_rounds" in values:
        checked["captcha_rounds"] = _rounds(values["captcha_rounds"])
    if "mfa" in values:
        checked["mfa"] = _choice("mfa", values["mfa"], MFA_POLICIES)
    if "demo" in values:
        checked["demo"] = _flag("demo", values["demo"])
    if "language" in values:
        checked["language"] = _choice("language", values["language"], LANGUAGES)
    return checked


def check_faults(values):
    """Return a faults mapping checked (only keys given), or raise SettingsError."""
    if not isinstance(values, dict):
        raise SettingsError("faults must be a JSON object such as {\"sms\": \"fail\", \"email\": null}")
    unknown = set(values) - set(FAULTS)
    if unknown:
        raise SettingsError(f"unknown fault channel(s): {', '.join(sorted(unknown))}; known: {', '.join(FAULTS)}")
    return {channel: _choice(channel, value, FAULTS[channel]) for channel, value in values.items()}


def captcha_mode():
    """Return the captcha mode: the QA setting, else IDP_CAPTCHA (puzzle by default)."""
    configured = current_app.config.get("IDP_CAPTCHA") if has_app_context() else None
    return resolve_mode(configured, Setting.get("captcha"))


def captcha_rounds():
    """Return the number of rounds a new puzzle has (QA setting; one in demo mode), or None: 1 to MAX_ROUNDS at random."""
    from .trainer import demo

    if demo.active():
        return demo.CAPTCHA_ROUNDS
    rounds = Setting.get("captcha_rounds")
    return rounds if type(rounds) is int and 1 <= rounds <= MAX_SET_ROUNDS else None


def mfa_override():
    """Return the QA MFA policy that overrides every tenant's (always|once|never), or None."""
    policy = Setting.get("mfa")
    return policy if policy in MFA_POLICIES else None


def language():
    """Return the language every page uses (fr|en), or None: chosen per request (ui_locales, the browser), else fr."""
    value = Setting.get("language")
    return value if value in LANGUAGES else None


def faults():
    """Return the active faults, e.g. {"sms": "delay"} (channels without a fault are left out)."""
    return {k: v for k, v in (Setting.get("faults", {}) or {}).items() if v}


def current():
    """Return every QA setting as the control API shows it."""
    from .trainer import demo

    return {"captcha": captcha_mode(), "captcha_rounds": captcha_rounds(), "mfa": mfa_override(),
            "demo": demo.active(), "language": language(), "faults": {c: faults().get(c) for c in FAULTS},
            "clock_offset_seconds": int(Setting.get("clock_offset_seconds", 0) or 0)}


def apply(values):
    """Store checked settings (captcha, captcha_rounds, mfa, demo, language; None clears) without committing."""
    for key, value in check_settings(values).items():
        Setting.put(key, value)


def apply_faults(values):
    """Merge checked faults into the stored ones (None clears a channel) without committing."""
    merged = {**faults(), **check_faults(values)}
    Setting.put("faults", {k: v for k, v in merged.items() if v})
