"""Every AADSTS message is filled in: each call site passes its message's values, nothing renders '' or {name}."""
import ast
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from authlib.oauth2.rfc6749 import errors as authlib_errors

import idp
import idp.oidc.grants  # noqa: F401  (its grants add their messages to MESSAGES)
from idp.oidc.errors import MESSAGES, AADError, code_for, message_for, placeholders

from ..conftest import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, TENANT
from ..helpers import authorize_url

PACKAGE = Path(idp.__file__).parent
# The call sites whose code is a variable: idp/__init__.py's JSON answer to HTTP errors (9002313, or 90033 for a
# 500), and the prompt=none errors the journey's checks name (idp/journey/flow.py's prompt_none_error).
DYNAMIC_CALLS = {("__init__.py", frozenset({"detail"})): (9002313, 90033),
                 ("journey/flow.py", frozenset({"suberror", "client_id", "client_name"})): (65001,),
                 ("journey/flow.py", frozenset({"resource"})): (50079, 50076),
                 ("journey/flow.py", frozenset()): (50058,)}


def aaderror_calls():
    """(file, line, code or None, keyword names) of every AADError(...) in the package."""
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name != "AADError":
                continue
            code = node.args[1].value if len(node.args) > 1 and isinstance(node.args[1], ast.Constant) else None
            yield path.relative_to(PACKAGE).as_posix(), node.lineno, code, {k.arg for k in node.keywords}


def test_every_call_site_passes_the_values_its_message_names():
    calls = list(aaderror_calls())
    assert len(calls) > 50
    for path, line, code, keywords in calls:
        assert None not in keywords, f"{path}:{line} passes **values: its message cannot be checked"
        codes = DYNAMIC_CALLS.get((path, frozenset(keywords))) if code is None else (code,)
        assert codes, f"{path}:{line}: AADError with a computed code"
        for each in codes:
            assert each in MESSAGES, f"{path}:{line}: AADSTS{each} has no message"
            optional = {"detail"} if MESSAGES[each].endswith("{detail}") else set()  # a trailing detail may be left out
            missing = placeholders(MESSAGES[each]) - keywords - optional - {"redirect_uri"}
            assert not missing, f"{path}:{line}: AADSTS{each} needs {sorted(missing)}"


@pytest.mark.parametrize("code", sorted(MESSAGES))
def test_every_message_renders_complete(code):
    values = {name: f"<{name}>" for name in placeholders(MESSAGES[code])}
    message = AADError("invalid_request", code, **values).message
    assert message.startswith(f"AADSTS{code}: ")
    assert "''" not in message and "{" not in message and "}" not in message
    for value in values.values():
        assert value in message


@pytest.mark.parametrize("error, code, words", [
    (authlib_errors.UnsupportedGrantTypeError("magic"), 70003, "unsupported grant type 'magic'."),
    (authlib_errors.UnsupportedResponseTypeError("token"), 70005, "response_type 'token' is not enabled"),
    (authlib_errors.InvalidRequestError("Missing 'code_verifier'"), 900144, "parameter: 'code_verifier'."),
    (authlib_errors.InvalidGrantError(), 70000, "Provided grant is invalid or malformed."),
    (authlib_errors.InvalidScopeError(), 70011, "The provided value for the input parameter 'scope' is not valid."),
    # no client_id in the request: authlib's own words, never "identifier ''"
    (authlib_errors.InvalidClientError(), 9002313, "Invalid request. Request is malformed or invalid."),
])
def test_authlibs_errors_are_described_with_their_values(app, error, code, words):
    with app.test_request_context(f"/{TENANT}/oauth2/v2.0/token", method="POST"):
        assert code_for(error) == code
        message = message_for(error)
    assert message.startswith(f"AADSTS{code}: ") and words in message and "''" not in message


def test_an_unsupported_grant_type_is_named_in_the_answer(client):
    body = client.post(f"/{TENANT}/oauth2/v2.0/token", data={"grant_type": "magic", "client_id": CLIENT_ID,
                                                             "client_secret": CLIENT_SECRET}).json
    assert body["error"] == "unsupported_grant_type" and body["error_codes"] == [70003]
    assert body["error_description"].startswith("AADSTS70003: The app requested an unsupported grant type 'magic'.\r\n")


def test_an_unsupported_response_type_is_named_in_the_error_sent_back(client):
    url, _ = authorize_url(response_type="token", redirect_uri=REDIRECT_URI)
    response = client.get(url)
    assert response.status_code == 302 and response.location.startswith(REDIRECT_URI)
    error = dict(parse_qsl(urlsplit(response.location).query))
    assert error["error"] == "unsupported_response_type"
    assert error["error_description"] == "AADSTS70005: response_type 'token' is not enabled for the application."
