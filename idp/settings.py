"""QA settings shared by every worker (Setting rows): captcha mode, MFA policy override, faults."""
from flask import current_app, has_app_context

from .models import Setting

CAPTCHA_MODES = ("puzzle", "auto", "loop")
MFA_POLICIES = ("always", "once", "never")
# Channel -> the faults it accepts (idp.devices.messages and the push sender honour them).
FAULTS = {"sms": ("fail", "delay"), "email": ("fail",), "push": ("timeout",)}


class SettingsError(ValueError):
    """A setting refused, with a message that says which values are accepted."""


def _choice(name, value, allowed):
    if value is not None and value not in allowed:
        raise SettingsError(f"'{name}' must be one of {', '.join(allowed)} (or null for the default), not {value!r}")
    return value


def check_settings(values):
    """Return {"captcha", "mfa"} values checked (only keys given), or raise SettingsError."""
    if not isinstance(values, dict):
        raise SettingsError("settings must be a JSON object such as {\"captcha\": \"auto\", \"mfa\": \"never\"}")
    unknown = set(values) - {"captcha", "mfa"}
    if unknown:
        raise SettingsError(f"unknown setting(s): {', '.join(sorted(unknown))}; known: captcha, mfa")
    checked = {}
    if "captcha" in values:
        checked["captcha"] = _choice("captcha", values["captcha"], CAPTCHA_MODES)
    if "mfa" in values:
        checked["mfa"] = _choice("mfa", values["mfa"], MFA_POLICIES)
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
    mode = Setting.get("captcha")
    if mode in CAPTCHA_MODES:
        return mode
    configured = current_app.config.get("IDP_CAPTCHA", "puzzle") if has_app_context() else "puzzle"
    return configured if configured in CAPTCHA_MODES else "puzzle"


def mfa_override():
    """Return the QA MFA policy that overrides every tenant's (always|once|never), or None."""
    policy = Setting.get("mfa")
    return policy if policy in MFA_POLICIES else None


def faults():
    """Return the active faults, e.g. {"sms": "delay"} (channels without a fault are left out)."""
    return {k: v for k, v in (Setting.get("faults", {}) or {}).items() if v}


def current():
    """Return every QA setting as the control API shows it."""
    return {"captcha": captcha_mode(), "mfa": mfa_override(), "faults": {c: faults().get(c) for c in FAULTS},
            "clock_offset_seconds": int(Setting.get("clock_offset_seconds", 0) or 0)}


def apply(values):
    """Store checked settings (captcha, mfa; None clears) without committing."""
    for key, value in check_settings(values).items():
        Setting.put(key, value)


def apply_faults(values):
    """Merge checked faults into the stored ones (None clears a channel) without committing."""
    merged = {**faults(), **check_faults(values)}
    Setting.put("faults", {k: v for k, v in merged.items() if v})
