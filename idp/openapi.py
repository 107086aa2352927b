"""The OpenAPI 3 document of the control API (served at /_emulator/api/openapi.json).

tests/test_control_api.py checks that every route of the control blueprint is here and every path
here is a route, so keep both in step.
"""
import copy

from .journey.captcha import MAX_ROUNDS, MAX_SET_ROUNDS, MODES as CAPTCHA_MODES
from .settings import LANGUAGES, MFA_POLICIES
from .trainer import demo as _demo


def _ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema, description):
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description):
    return _json(_ref("Error"), description)


def _body(schema, required=True):
    return {"required": required, "content": {"application/json": {"schema": schema}}}


EMAIL = {"name": "email", "in": "path", "required": True, "schema": {"type": "string", "format": "email"},
         "description": "The user's email address."}
ERRORS = {"400": _error("Bad request body or parameter."),
          "401": _error("Beyond loopback: no bearer key sent."),
          "403": _error("Beyond loopback: wrong bearer key."),
          "503": _error("Beyond loopback and no IDP_CONTROL_KEY configured: the API is disabled.")}


def _op(summary, responses, **extra):
    op = {"summary": summary, "responses": {**responses, **{k: v for k, v in ERRORS.items() if k not in responses}}}
    op.update(extra)
    return op


NULLABLE_STRING = {"type": "string", "nullable": True}
DEMO = (f"Demo mode: the printed guide's values (email code {_demo.EMAIL_CODE}, SMS code {_demo.SMS_CODE}, "
        f"number to match {_demo.PUSH_NUMBER}, one captcha round, the guide's dates); codes stay single-use.")
LANGUAGE = "The language of every page, mail and SMS; null: ui_locales or the browser's, else French."
CAPTCHA_ROUNDS = {"type": "integer", "nullable": True, "minimum": 1, "maximum": MAX_SET_ROUNDS,
                  "description": f"Rounds of each new captcha puzzle (a wrong answer still adds one); "
                                 f"null = 1 to {MAX_ROUNDS} at random."}

SCHEMAS = {
    "Error": {"type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "required": ["status", "message"],
        "properties": {"status": {"type": "integer"}, "message": {"type": "string"}}}}},
    "User": {"type": "object", "required": ["email", "state", "locked"], "properties": {
        "email": {"type": "string"}, "name": {"type": "string"},
        "state": {"type": "string", "enum": ["invited", "registered", "mfa_sms", "mfa_authenticator", "mfa_totp"]},
        "locked": {"type": "boolean"}, "locked_until": {**NULLABLE_STRING, "format": "date-time"},
        "invited": {"type": "boolean"}, "has_account": {"type": "boolean"},
        "mfa_method": {"type": "string", "nullable": True, "enum": ["authenticator", "totp", "sms", None]},
        "phone": NULLABLE_STRING, "oid": {"type": "string"}, "tenant": {"type": "string"},
        "created_at": {"type": "string", "format": "date-time"},
        "mailbox_url": {"type": "string"}, "phone_url": {"type": "string"}}},
    "NewUser": {"type": "object", "required": ["email"], "additionalProperties": False, "properties": {
        "email": {"type": "string", "format": "email"},
        "state": {"type": "string", "default": "registered",
                  "enum": ["invited", "registered", "mfa_sms", "mfa_authenticator", "mfa_totp"]},
        "password": {"type": "string", "description": "Required unless state is invited."},
        "phone": {"type": "string", "pattern": r"^\+[1-9]\d{6,14}$", "description": "E.164; required for mfa_sms."},
        "name": {"type": "string"},
        "totp_secret": {"type": "string", "description": "Base32; generated when absent (mfa_totp, mfa_authenticator)."},
        "locked": {"type": "boolean", "description": "Locked out, as after too many wrong passwords."},
        "locked_seconds": {"type": "integer", "minimum": 1, "default": 3600},
        "invited": {"type": "boolean", "description": "A guest of the tenant (defaults to true for state invited)."},
        "consents": {"type": "array", "items": {"type": "string"}, "description": "Client ids already consented to."},
        "tenant": {"type": "string", "description": "Tenant id or domain; default: the first tenant."},
        "country": {"type": "string"}}},
    "Message": {"type": "object", "required": ["id", "channel", "to", "code", "links"], "properties": {
        "id": {"type": "integer"}, "channel": {"type": "string", "enum": ["email", "sms"]},
        "to": {"type": "string"}, "from": {"type": "string"}, "subject": {"type": "string"},
        "text": {"type": "string"}, "code": {**NULLABLE_STRING, "description": "The one-time code it carries, if any."},
        "links": {"type": "array", "items": {"type": "string"}}, "journey": NULLABLE_STRING,
        "created_at": {"type": "string", "format": "date-time"},
        "delivered_at": {"type": "string", "format": "date-time"}}},
    "Push": {"type": "object", "required": ["number", "status"], "properties": {
        "id": {"type": "integer"}, "number": {"type": "integer", "description": "The number shown on the sign-in page."},
        "status": {"type": "string", "enum": ["pending", "approved", "denied", "wrong_number", "expired"]},
        "journey": NULLABLE_STRING, "created_at": {"type": "string", "format": "date-time"},
        "expires_at": {"type": "string", "format": "date-time"},
        "delivered": {"type": "boolean", "description": "False while the push fault 'timeout' is on."}}},
    "Faults": {"type": "object", "additionalProperties": False, "properties": {
        "sms": {"type": "string", "nullable": True, "enum": ["fail", "delay", None]},
        "email": {"type": "string", "nullable": True, "enum": ["fail", None]},
        "push": {"type": "string", "nullable": True, "enum": ["timeout", None]}}},
    "Settings": {"type": "object", "properties": {
        "captcha": {"type": "string", "enum": list(CAPTCHA_MODES)},
        "captcha_rounds": CAPTCHA_ROUNDS,
        "mfa": {"type": "string", "nullable": True, "enum": [*MFA_POLICIES, None],
                "description": "Overrides every tenant's MFA policy; null = the tenant's."},
        "demo": {"type": "boolean", "description": DEMO},
        "language": {"type": "string", "nullable": True, "enum": [*LANGUAGES, None], "description": LANGUAGE},
        "faults": _ref("Faults"), "clock_offset_seconds": {"type": "integer"}}},
    "SettingsUpdate": {"type": "object", "additionalProperties": False, "properties": {
        "captcha": {"type": "string", "nullable": True, "enum": [*CAPTCHA_MODES, None]},
        "captcha_rounds": CAPTCHA_ROUNDS,
        "mfa": {"type": "string", "nullable": True, "enum": [*MFA_POLICIES, None]},
        "demo": {"type": "boolean", "nullable": True, "description": DEMO + " Null: as the server was started."},
        "language": {"type": "string", "nullable": True, "enum": [*LANGUAGES, None], "description": LANGUAGE}}},
    "Clock": {"type": "object", "required": ["offset_seconds"], "properties": {
        "offset_seconds": {"type": "integer"}, "now": {"type": "string", "format": "date-time"}}},
    "JourneySummary": {"type": "object", "required": ["id", "status"], "properties": {
        "id": {"type": "string"}, "email": NULLABLE_STRING, "client_id": NULLABLE_STRING,
        "kind": {"type": "string", "enum": ["authorization", "invitation"]},
        "status": {"type": "string", "enum": ["open", "complete"]},
        "screen": {**NULLABLE_STRING, "description": "The screen an open journey is at."},
        "screens": {"type": "array", "items": {"type": "string"}},
        "created_at": {"type": "string", "format": "date-time"},
        "updated_at": {"type": "string", "format": "date-time"},
        "completed_at": {**NULLABLE_STRING, "format": "date-time"}}},
    "Journey": {"allOf": [_ref("JourneySummary"), {"type": "object", "properties": {
        "client": {"type": "object", "nullable": True}, "tenant": NULLABLE_STRING,
        "user": {"type": "object", "nullable": True}, "request": {"type": "object"},
        "events": {"type": "array", "items": {"type": "object", "properties": {
            "at": {"type": "string"}, "kind": {"type": "string"}, "name": {"type": "string"},
            "data": {"type": "object"}}}},
        "messages": {"type": "array", "items": {"type": "object"}},
        "tokens": {"type": "array", "items": {"type": "object"}}}}]},
}

PATHS = {
    "/scenarios": {"get": _op("List the seed scenarios (folders under seeds/).", {
        "200": _json({"type": "object", "properties": {"scenarios": {"type": "array", "items": {"type": "string"}}}},
                     "Scenario names.")})},
    "/reset": {"post": _op("Wipe the database and load a scenario (settings, clock and faults start again).", {
        "200": _json({"type": "object", "properties": {"scenario": {"type": "string"}, "tenant": {"type": "string"},
                                                       "users": {"type": "array", "items": {"type": "string"}}}},
                     "Loaded."),
        "404": _error("No such scenario.")},
        requestBody=_body({"type": "object", "properties": {"scenario": {"type": "string", "default": "default"}}},
                          required=False))},
    "/users": {
        "get": _op("List users with their state.", {"200": _json(
            {"type": "object", "properties": {"users": {"type": "array", "items": _ref("User")}}}, "Users.")}),
        "post": _op("Create a user directly in a state.", {
            "201": _json(_ref("User"), "Created."), "409": _error("The email is taken, or no tenant is loaded.")},
            requestBody=_body(_ref("NewUser")))},
    "/users/{email}": {
        "parameters": [EMAIL],
        "get": _op("One user.", {"200": _json(_ref("User"), "The user."), "404": _error("No such user.")}),
        "delete": _op("Delete a user and everything tied to them.", {
            "204": {"description": "Deleted."}, "404": _error("No such user.")})},
    "/users/{email}/totp": {
        "parameters": [EMAIL],
        "get": _op("The user's current TOTP code at the emulator's clock.", {
            "200": _json({"type": "object", "required": ["code", "expires_in"], "properties": {
                "code": {"type": "string"}, "expires_in": {"type": "integer"}}}, "The code."),
            "404": _error("No such user."), "409": _error("The user has no authenticator app.")})},
    "/users/{email}/push": {
        "parameters": [EMAIL],
        "get": _op("The pending Authenticator notification (with its number).", {
            "200": _json(_ref("Push"), "Pending."), "404": _error("No such user, or nothing pending.")})},
    "/users/{email}/push/approve": {
        "parameters": [EMAIL],
        "post": _op("Approve the pending notification, as the phone would (number matching).", {
            "200": _json(_ref("Push"), "Answered: approved, or wrong_number if the number differs."),
            "404": _error("No such user, or nothing pending."), "409": _error("The push fault 'timeout' is on.")},
            requestBody=_body({"type": "object", "properties": {"number": {
                "type": "integer", "description": "The number typed in the app; absent = the right one."}}},
                required=False))},
    "/users/{email}/push/deny": {
        "parameters": [EMAIL],
        "post": _op("Deny the pending notification.", {
            "200": _json(_ref("Push"), "Denied."), "404": _error("No such user, or nothing pending."),
            "409": _error("The push fault 'timeout' is on.")})},
    "/invitations": {"post": _op("Invite a client: create the invitation and send the invitation email.", {
        "201": _json({"type": "object", "required": ["inviteRedeemUrl"], "properties": {
            "id": {"type": "string"}, "email": {"type": "string"}, "inviteRedeemUrl": {"type": "string"},
            "inviteRedirectUrl": {"type": "string"},
            "sent": {"type": "string", "nullable": True, "enum": ["smtp", "mailbox", None]},
            "user": _ref("User")}}, "Invited."),
        "409": _error("The email already has an account.")},
        requestBody=_body({"type": "object", "required": ["email"], "properties": {
            "email": {"type": "string", "format": "email"}, "name": {"type": "string"},
            "redirect_url": {"type": "string", "description": "Where the journey ends (default: the app's home)."},
            "send": {"type": "boolean", "default": True, "description": "Send the invitation email."},
            "tenant": {"type": "string"}}}))},
    "/messages": {"get": _op("Delivered mail and SMS, newest first.", {
        "200": _json({"type": "object", "properties": {"messages": {"type": "array", "items": _ref("Message")}}},
                     "Messages.")},
        parameters=[
            {"name": "to", "in": "query", "schema": {"type": "string"},
             "description": "Recipient: an email (also finds SMS to that user's phone) or an E.164 number."},
            {"name": "channel", "in": "query", "schema": {"type": "string", "enum": ["email", "sms"]}},
            {"name": "limit", "in": "query", "schema": {"type": "integer", "default": 50, "maximum": 500}}])},
    "/captcha": {"get": _op("The answer of the puzzle shown to this user now.", {
        "200": _json({"type": "object", "properties": {"journey": {"type": "string"}, "mode": {"type": "string"},
                                                       "answer": {}}}, "The answer."),
        "404": _error("No journey of this email is at the captcha screen."),
        "409": _error("The puzzle has not been shown yet.")},
        parameters=[{"name": "email", "in": "query", "required": True, "schema": {"type": "string"}}])},
    "/settings": {
        "get": _op("Current QA settings.", {"200": _json(_ref("Settings"), "Settings.")}),
        "put": _op("Change captcha mode, captcha rounds and MFA policy (absent keys unchanged, null = default).", {
            "200": _json(_ref("Settings"), "Settings now.")}, requestBody=_body(_ref("SettingsUpdate")))},
    "/clock": {
        "get": _op("The emulator's clock.", {"200": _json(_ref("Clock"), "Clock.")}),
        "put": _op("Move the emulator's clock (codes, tokens, lockouts, TOTP).", {
            "200": _json(_ref("Clock"), "Clock now.")},
            requestBody=_body({"type": "object", "required": ["offset_seconds"], "properties": {
                "offset_seconds": {"type": "integer", "description": "Seconds from real time (0 = real time)."}}}))},
    "/faults": {
        "get": _op("Active faults.", {"200": _json(_ref("Faults"), "Faults.")}),
        "put": _op("Turn faults on or off (absent keys unchanged, null = off).", {
            "200": _json(_ref("Faults"), "Faults now.")}, requestBody=_body(_ref("Faults")))},
    "/journeys": {"get": _op("Recent journeys, newest first.", {
        "200": _json({"type": "object", "properties": {"journeys": {"type": "array", "items": _ref("JourneySummary")}}},
                     "Journeys.")},
        parameters=[{"name": "email", "in": "query", "schema": {"type": "string"}},
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "default": 20, "maximum": 200}}])},
    "/journeys/{journey_id}": {
        "parameters": [{"name": "journey_id", "in": "path", "required": True, "schema": {"type": "string"}}],
        "get": _op("The recorder's timeline of one journey: screens, inputs (no secrets), messages, tokens.", {
            "200": _json(_ref("Journey"), "The timeline."), "404": _error("No such journey.")})},
    "/openapi.json": {"get": _op("This document.", {
        "200": {"description": "OpenAPI 3 document.", "content": {"application/json": {"schema": {"type": "object"}}}}})},
}


def document(server_url="/_emulator/api"):
    """Return the OpenAPI document, its server at `server_url`."""
    return {
        "openapi": "3.0.3",
        "info": {"title": "idp-emulator control API", "version": "1",
                 "description": "Drive the emulator from QA scripts. Bound to loopback; beyond loopback send "
                                "'Authorization: Bearer <IDP_CONTROL_KEY>'. Errors: "
                                "{\"error\": {\"status\": N, \"message\": \"…\"}}."},
        "servers": [{"url": server_url}],
        "components": {"schemas": copy.deepcopy(SCHEMAS),
                       "securitySchemes": {"controlKey": {"type": "http", "scheme": "bearer",
                                                          "description": "Needed only beyond loopback."}}},
        "security": [{}, {"controlKey": []}],
        "paths": copy.deepcopy(PATHS),
    }
