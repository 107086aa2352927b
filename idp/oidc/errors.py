"""Errors in Microsoft's shape: AADSTS codes, trace and correlation ids, JSON or redirect."""
import json
import re
import string
import uuid
from datetime import UTC, datetime

from authlib.oauth2 import OAuth2Error

MESSAGES = {
    50034: "The user account {account} does not exist in the {tenant} directory. To sign into this application, the account must be added to the directory.",
    50053: "The account is locked, you've tried to sign in too many times with an incorrect user ID or password.",
    50058: "A silent sign-in request was sent but no user is signed in.",
    50076: "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '{resource}'.",
    50079: "Due to a configuration change made by your administrator, or because you moved to a new location, you must enroll in multi-factor authentication to access '{resource}'.",
    50011: "The redirect URI '{redirect_uri}' specified in the request does not match the redirect URIs configured for the application '{client_id}'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal.",
    50126: "Error validating credentials due to invalid username or password.",
    54005: "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.",
    65001: "The user or administrator has not consented to use the application with ID '{client_id}' named '{client_name}'. Send an interactive authorization request for this user and resource.",
    65004: "User declined to consent to access the app.",
    70000: "Provided grant is invalid or malformed.",
    70003: "The app requested an unsupported grant type '{grant_type}'.",
    70005: "response_type '{response_type}' is not enabled for the application.",
    70008: "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.",
    70011: "The provided value for the input parameter 'scope' is not valid. {detail}",
    90002: "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.",
    700016: "Application with identifier '{client_id}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.",
    700082: "The refresh token has expired or has been revoked. Send a new interactive authorization request for this user and resource.",
    7000215: "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'.",
    700025: "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.",
    7000218: "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
    501481: "The Code_Verifier does not match the code_challenge supplied in the authorization request.",
    900144: "The request body must contain the following parameter: '{parameter}'.",
    9002313: "Invalid request. Request is malformed or invalid. {detail}",
    9002326: "Cross-origin token redemption is permitted only for the 'Single-Page Application' client-type. Request origin: '{origin}'.",
    9002327: "Tokens issued for the 'Single-Page Application' client-type may only be redeemed via cross-origin requests.",
    900561: "The endpoint only accepts {method} requests. Received a {received} request.",
    500011: "The resource principal named {resource} was not found in the tenant named {tenant}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.",
    90033: "A transient error has occurred. Please try again. {detail}",
}

STATUS = {"invalid_client": 401, "server_error": 500}


class AADError(OAuth2Error):
    """An OAuth2 error carrying its AADSTS code and Microsoft's message."""

    def __init__(self, error, code, status_code=None, suberror=None, redirect_uri=None, state=None, **values):
        self.error = error
        self.code = code
        self.suberror = suberror
        # redirect_uri is both where the error may be sent and a value of some messages (AADSTS50011).
        self.message = f"AADSTS{code}: " + MESSAGES[code].format_map(_Blank(redirect_uri=redirect_uri or "",
                                                                            **values)).strip()
        super().__init__(description=None, status_code=status_code or STATUS.get(error, 400),
                         state=state, redirect_uri=redirect_uri, error=error)


class _Blank(dict):
    # A safety net only: every call site passes its message's values (tests/test_errors.py checks them all).
    def __missing__(self, key):
        return ""


def placeholders(template):
    """The names a message needs, e.g. {"client_id", "tenant"} for AADSTS700016."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def code_for(error):
    """Return the AADSTS code for any OAuth2 error, authlib's own included."""
    return _describe(error)[0]


def message_for(error):
    """Return "AADSTSnnnnn: <Microsoft's message>" for any OAuth2 error, every value filled in."""
    return _describe(error)[1]


def _describe(error):
    if isinstance(error, AADError):
        return error.code, error.message
    code = _authlib_code(error)
    values = _authlib_values(error)
    if any(not values.get(name) for name in placeholders(MESSAGES[code]) - {"detail"}):
        # authlib's error lacks a value this message names: say what authlib said rather than print ''.
        code = 9002313
    return code, f"AADSTS{code}: {MESSAGES[code].format_map(values)}".strip()


def _authlib_code(error):
    description = (error.description or "").lower()
    name = error.error
    if "code challenge failed" in description:
        return 501481
    if "code_verifier" in description and "missing" in description:
        return 900144
    if description.startswith("missing"):
        return 900144
    if name == "unsupported_grant_type":
        return 70003
    if name == "unsupported_response_type":
        return 70005
    if name == "invalid_scope":
        return 70011
    if name == "invalid_grant":
        return 70000
    if name == "login_required":
        return 50058
    if name == "consent_required":
        return 65001
    if name == "access_denied":
        return 65004
    if name == "invalid_client":
        return 700016
    return 9002313


def _authlib_values(error):
    """The values of a message, from what authlib's error and the request carry."""
    from flask import has_request_context, request

    detail = (error.description or error.get_error_description() or "").strip()
    values = {"detail": detail, "parameter": _missing_param(detail),
              "grant_type": getattr(error, "grant_type", None), "response_type": getattr(error, "response_type", None)}
    if has_request_context():
        # What the request sent (authlib's UnsupportedResponseTypeError carries its description as response_type).
        for name in ("grant_type", "response_type", "client_id"):
            values[name] = request.values.get(name) or values.get(name)
        values["tenant"] = (request.view_args or {}).get("tenant")
    return values


def _missing_param(description):
    """The parameter authlib names, as in "Missing 'code_verifier'"."""
    found = re.search(r"'([A-Za-z_]+)'", description)
    return found.group(1) if found else None


def error_payload(error):
    """Return Microsoft's JSON error body for an OAuth2 error."""
    code = code_for(error)
    trace_id, correlation_id = str(uuid.uuid4()), str(uuid.uuid4())
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    description = (f"{message_for(error)}\r\nTrace ID: {trace_id}\r\nCorrelation ID: {correlation_id}"
                   f"\r\nTimestamp: {stamp}")
    body = {
        "error": error.error,
        "error_description": description,
        "error_codes": [code],
        "timestamp": stamp,
        "trace_id": trace_id,
        "correlation_id": correlation_id,
        "error_uri": error_uri(code),
    }
    suberror = getattr(error, "suberror", None)
    if suberror:
        body["suberror"] = suberror
    return body


def error_uri(code):
    from flask import has_request_context

    from .urls import base_url

    base = base_url() if has_request_context() else ""
    return f"{base}/error?code={code}"


def json_error_response(error):
    from flask import Response

    body = error_payload(error)
    headers = {"Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store", "Pragma": "no-cache"}
    status = error.status_code or 400
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="idp-emulator"'
    return Response(json.dumps(body), status=status, headers=headers)
