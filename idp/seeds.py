"""Seed folders (seeds/<scenario>/: tenant.yaml, clients.yaml, users.yaml), loaded idempotently."""
import datetime
import hashlib
import re
from pathlib import Path

import pyotp
from flask import current_app, has_request_context, request
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from . import config
from .database import insert_missing
from .extensions import db
from .oidc.resources import GRAPH_APP_ID, GRAPH_HOST
from .oidc.urls import tenants_changed
from .models import settings_changed
from .models import AuthenticatorAccount, Client, Consent, RefreshToken, Setting, Tenant, User

USER_STATES = ("invited", "registered", "mfa_sms", "mfa_authenticator", "mfa_totp")
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE = re.compile(r"^\+[1-9]\d{6,14}$")
# A scope or app role name as Entra accepts it (no space, no slash), and an App ID URI (api://…, https://…, urn:…).
PERMISSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
IDENTIFIER_URI = re.compile(r"^[a-z][a-z0-9+.-]*:[^\s]+$", re.I)


class SeedError(ValueError):
    """A seed file refused, with the file, the entry and the field it is about."""

    def __init__(self, path, entry, field, message):
        self.path, self.entry, self.field = path, entry, field
        where = f"{path}"
        if entry is not None:
            where += f", entry {entry}"
        if field:
            where += f", field '{field}'"
        super().__init__(f"{where}: {message}")


def resolve(name_or_path):
    """Return the folder of a scenario name (seeds/<name>) or a path."""
    path = Path(name_or_path)
    if path.is_dir():
        return path
    candidate = config.SEEDS_DIR / str(name_or_path)
    if candidate.is_dir():
        return candidate
    raise SeedError(name_or_path, None, None, "no such seed folder")


SEED_FILE_MAX_BYTES = 5_000_000
# A seed's YAML may use anchors and aliases (`<<: *defaults`), but what they expand to is bounded:
# a few hundred bytes of nested aliases ("billion laughs") would otherwise become millions of rows.
SEED_MAX_NODES = 100_000


def _expanded_size(node, sizes, open_nodes):
    """How many YAML nodes `node` stands for once its aliases are expanded (stops counting past the bound)."""
    key = id(node)
    if key in sizes:
        return sizes[key]
    if key in open_nodes:
        raise ValueError("a recursive alias (an anchor used inside itself)")
    open_nodes.add(key)
    total = 1
    if isinstance(node.value, list):
        for child in node.value:
            for part in (child if isinstance(child, tuple) else (child,)):
                total += _expanded_size(part, sizes, open_nodes)
                if total > SEED_MAX_NODES:
                    raise ValueError(f"its aliases expand to more than {SEED_MAX_NODES} values")
    open_nodes.discard(key)
    sizes[key] = total
    return total


def load_yaml(text):
    """Parse YAML as yaml.safe_load does, refusing recursive aliases and alias bombs (ValueError)."""
    import yaml

    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _expanded_size(node, {}, set())
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _read(path, expect):
    import yaml  # only seeding reads YAML

    try:
        data = path.read_bytes()
        if len(data) > SEED_FILE_MAX_BYTES:
            raise SeedError(path, None, None, f"is {len(data)} bytes; a seed file has at most {SEED_FILE_MAX_BYTES}")
        data = load_yaml(data.decode("utf-8"))
    except FileNotFoundError:
        raise SeedError(path, None, None, "file missing") from None
    except OSError as exc:
        raise SeedError(path, None, None, f"cannot be read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise SeedError(path, None, None, "is not UTF-8 text") from None
    except (yaml.YAMLError, ValueError, RecursionError) as exc:
        raise SeedError(path, None, None, f"not valid YAML ({exc})") from None
    if data is None:
        data = expect()
    if not isinstance(data, expect):
        raise SeedError(path, None, None, f"must be a YAML {'list' if expect is list else 'mapping'}")
    return data


def _require(path, entry, item, field, kind=str, pattern=None, message=None):
    value = item.get(field)
    if value is None or value == "":
        raise SeedError(path, entry, field, "is required")
    if not isinstance(value, kind):
        raise SeedError(path, entry, field, f"must be a {kind.__name__}")
    if pattern is not None and not pattern.match(str(value)):
        raise SeedError(path, entry, field, message or "is not valid")
    return value


def validate(folder):
    """Read and check a seed folder; return (tenant, clients, users) or raise SeedError."""
    folder = Path(folder)
    tenant_path, clients_path, users_path = (folder / n for n in ("tenant.yaml", "clients.yaml", "users.yaml"))
    tenant = _read(tenant_path, dict)
    _require(tenant_path, None, tenant, "id", pattern=GUID, message="must be a lower-case GUID")
    _require(tenant_path, None, tenant, "domain")
    _require(tenant_path, None, tenant, "name")
    if tenant.get("mfa", "always") not in ("always", "once", "never"):
        raise SeedError(tenant_path, None, "mfa", "must be always, once or never")
    read_logo(folder, tenant)
    clients = _read(clients_path, list)
    seen = set()
    for index, item in enumerate(clients, 1):
        if not isinstance(item, dict):
            raise SeedError(clients_path, index, None, "must be a mapping")
        cid = _require(clients_path, index, item, "client_id")
        if cid in seen:
            raise SeedError(clients_path, index, "client_id", f"duplicate client_id {cid}")
        seen.add(cid)
        _require(clients_path, index, item, "name")
        for field in ("redirect_uris", "spa_redirect_uris", "post_logout_redirect_uris"):
            uris = item.get(field, [])
            if not isinstance(uris, list) or not all(isinstance(u, str) and u.startswith(("http://", "https://")) for u in uris):
                raise SeedError(clients_path, index, field, "must be a list of http(s) URLs")
        secret = item.get("client_secret")
        if secret is not None and not isinstance(secret, str):
            raise SeedError(clients_path, index, "client_secret", "must be a string")
        read_certificates(folder, clients_path, index, item)
        if not isinstance(item.get("allow_public_client_flows", False), bool):
            raise SeedError(clients_path, index, "allow_public_client_flows", "must be true or false")
    check_apis(clients_path, clients)
    users = _read(users_path, list)
    emails = set()
    for index, item in enumerate(users, 1):
        if not isinstance(item, dict):
            raise SeedError(users_path, index, None, "must be a mapping")
        try:
            check_user(item)
        except UserError as exc:
            raise SeedError(users_path, index, exc.field, exc.message) from None
        email = item["email"].strip().lower()
        if email in emails:
            raise SeedError(users_path, index, "email", f"duplicate email {email}")
        emails.add(email)
    return tenant, clients, users


USER_FIELDS = ("email", "state", "password", "phone", "name", "totp_secret", "locked", "locked_seconds", "invited",
               "guest", "consents", "country", "birth_date", "idp")
MAX_LOCKED_SECONDS = 10 * 366 * 86400


class UserError(ValueError):
    """A user entry refused: the field and what is wrong with it."""

    def __init__(self, field, message):
        super().__init__(f"'{field}' {message}")
        self.field, self.message = field, message


def check_user(item):
    """Check one user entry, of a seed file or a control API body (one rule for both); raise UserError.

    Every field has one type: a YAML `locked: 'no'` or a `consents` string is refused, not read as true
    or as a list of characters.
    """
    def text(field, required=False, pattern=None, message="must be a string"):
        value = item.get(field)
        if value is None or value == "":
            if required:
                raise UserError(field, "is required")
            return None
        if not isinstance(value, str) or (pattern is not None and not pattern.match(value.strip())):
            raise UserError(field, message)
        return value

    text("email", required=True, pattern=EMAIL, message="must be an email address")
    state = item.get("state", "registered")
    if not isinstance(state, str) or state not in USER_STATES:
        raise UserError("state", f"must be one of {', '.join(USER_STATES)}")
    text("password", required=state != "invited", message="must be a string")
    text("phone", required=state == "mfa_sms", pattern=PHONE, message="must be E.164, e.g. +33612345678")
    for field in ("name", "idp"):
        text(field)
    if text("country") is not None and not re.fullmatch(r"[A-Z]{2}", item["country"]):
        raise UserError("country", "must be a two-letter country code, e.g. FR")
    if text("totp_secret") is not None:
        try:
            pyotp.TOTP(item["totp_secret"]).now()
        except Exception:
            raise UserError("totp_secret", "must be base32") from None
    for field in ("locked", "invited", "guest"):
        if item.get(field) is not None and not isinstance(item[field], bool):
            raise UserError(field, "must be true or false")
    seconds = item.get("locked_seconds")
    if seconds is not None and (type(seconds) is not int or not 0 < seconds <= MAX_LOCKED_SECONDS):
        raise UserError("locked_seconds", f"must be a whole number of seconds, 1 to {MAX_LOCKED_SECONDS}")
    consents = item.get("consents")
    if consents is not None and (not isinstance(consents, list) or not all(isinstance(c, str) for c in consents)):
        raise UserError("consents", "must be a list of client ids")
    birth = item.get("birth_date")
    if birth is not None and (not isinstance(birth, datetime.date) or isinstance(birth, datetime.datetime)):
        raise UserError("birth_date", "must be a date (YYYY-MM-DD)")


def read_certificates(folder, path, entry, item):
    """Return a client's `certificates` (PEM files relative to the seed folder) as stored: PEM and thumbprints."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization

    names = item.get("certificates", [])
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
        raise SeedError(path, entry, "certificates", "must be a list of PEM file names (relative to the seed folder)")
    certificates = []
    for name in names:
        try:
            data = (Path(folder) / name).read_bytes()
        except OSError:
            raise SeedError(path, entry, "certificates", f"file {name} not found in {folder}") from None
        try:
            certificate = x509.load_pem_x509_certificate(data)
        except ValueError:
            raise SeedError(path, entry, "certificates", f"{name} is not a PEM certificate") from None
        certificates.append({
            "pem": certificate.public_bytes(serialization.Encoding.PEM).decode(),
            "x5t": _b64(certificate.fingerprint(hashes.SHA1())),  # x5t is SHA-1 by definition (RFC 7515)
            "x5t#S256": _b64(certificate.fingerprint(hashes.SHA256())),
        })
    return certificates


def _b64(data):
    import base64

    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def check_apis(path, clients):
    """Check what apps expose (identifier_uris, scopes, app_roles) and the app roles granted to them (app_role_assignments)."""
    owners = {}
    for index, item in enumerate(clients, 1):
        uris = item.get("identifier_uris", [])
        if not isinstance(uris, list) or not all(isinstance(u, str) and IDENTIFIER_URI.match(u) for u in uris):
            raise SeedError(path, index, "identifier_uris", "must be a list of URIs, e.g. api://<client_id>")
        for uri in uris:
            if uri.rstrip("/").lower() in (GRAPH_HOST, GRAPH_APP_ID):
                raise SeedError(path, index, "identifier_uris", f"{uri} is Microsoft Graph's")
            if uri.rstrip("/") in owners:
                raise SeedError(path, index, "identifier_uris", f"{uri} is already the identifier of another app")
            owners[uri.rstrip("/")] = item
        owners[item["client_id"]] = item
        for field in ("scopes", "app_roles"):
            names = item.get(field, [])
            if not isinstance(names, list) or not all(isinstance(n, str) and PERMISSION.match(n) for n in names):
                raise SeedError(path, index, field, "must be a list of names such as access_as_user or Data.Read.All "
                                                    "(letters, digits, '.', '_', '-')")
    for index, item in enumerate(clients, 1):
        roles = item.get("roles", [])
        if not isinstance(roles, list) or not all(isinstance(r, str) and PERMISSION.match(r) for r in roles):
            raise SeedError(path, index, "roles", "must be a list of Microsoft Graph application permissions, e.g. User.Invite.All")
        assignments = item.get("app_role_assignments", {})
        if not isinstance(assignments, dict):
            raise SeedError(path, index, "app_role_assignments",
                            "must be a mapping of resource to role names, e.g. {https://graph.microsoft.com: [User.Invite.All]}")
        for resource, names in assignments.items():
            if not isinstance(names, list) or not all(isinstance(n, str) and PERMISSION.match(n) for n in names):
                raise SeedError(path, index, "app_role_assignments", f"the roles of {resource} must be a list of role names")
            key = str(resource).rstrip("/")
            if key.lower() in (GRAPH_HOST, GRAPH_APP_ID):
                continue
            api = owners.get(key)
            if api is None:
                raise SeedError(path, index, "app_role_assignments",
                                f"no app of this file exposes {resource} (give it identifier_uris), and it is not Microsoft Graph")
            unknown = [n for n in names if n not in api.get("app_roles", [])]
            if unknown:
                raise SeedError(path, index, "app_role_assignments",
                                f"{api['name']} defines no app role {unknown[0]} (its app_roles: {', '.join(api.get('app_roles', [])) or 'none'})")


def assigned_roles(clients, item):
    """A client's app_role_assignments as stored: {audience (Graph's app id or the API's client id): [roles]}."""
    audiences = {}
    for other in clients:
        for uri in other.get("identifier_uris", []):
            audiences[uri.rstrip("/")] = other["client_id"]
        audiences[other["client_id"]] = other["client_id"]
    stored = {}
    for resource, names in (item.get("app_role_assignments") or {}).items():
        key = str(resource).rstrip("/")
        audience = GRAPH_APP_ID if key.lower() in (GRAPH_HOST, GRAPH_APP_ID) else audiences[key]
        stored[audience] = [*stored.get(audience, []), *(n for n in names if n not in stored.get(audience, []))]
    return stored


LOGO_MAX_BYTES = 100_000
SVG = "{http://www.w3.org/2000/svg}"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"


def read_logo(folder, tenant):
    """Return the SVG text of tenant.yaml's `branding: {logo: PATH}` (relative to the seed folder), or None.

    The logo is served from the emulator's own origin and shown in pages, so it must be a plain SVG image:
    no script, no event handler, nothing fetched from elsewhere (offline), not huge.
    """
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import ParseError, fromstring

    path = Path(folder) / "tenant.yaml"
    branding = tenant.get("branding")
    if branding is None:
        return None
    if not isinstance(branding, dict):
        raise SeedError(path, None, "branding", "must be a mapping, e.g. {logo: branding/logo.svg}")
    logo = branding.get("logo")
    if logo is None:
        return None
    if not isinstance(logo, str) or not logo.lower().endswith(".svg") or Path(logo).is_absolute():
        raise SeedError(path, None, "branding.logo", "must be the path of an .svg file, relative to the seed folder")
    file = Path(folder) / logo
    try:
        data = file.read_bytes()
    except OSError:
        raise SeedError(path, None, "branding.logo", f"file missing: {file}") from None
    if len(data) > LOGO_MAX_BYTES:
        raise SeedError(path, None, "branding.logo",
                        f"{file} is {len(data)} bytes; a logo has at most {LOGO_MAX_BYTES}")
    try:
        text = data.decode("utf-8")
        root = fromstring(text, forbid_dtd=True)
    except (UnicodeDecodeError, ParseError, DefusedXmlException) as exc:
        raise SeedError(path, None, "branding.logo", f"{file} is not a well-formed SVG file ({exc})") from None
    if root.tag != f"{SVG}svg":
        raise SeedError(path, None, "branding.logo", f"{file} is not an SVG image (root element {root.tag})")
    for element in root.iter():
        tag = element.tag.rsplit("}", 1)[-1]
        if tag in ("script", "foreignObject"):
            raise SeedError(path, None, "branding.logo", f"{file} has a <{tag}> element; a logo is a plain image")
        for name, value in element.attrib.items():
            if name.rsplit("}", 1)[-1].lower().startswith("on"):
                raise SeedError(path, None, "branding.logo", f"{file} has an event handler ({name})")
            if name in ("href", XLINK_HREF) and not value.startswith(("#", "data:image/")):
                raise SeedError(path, None, "branding.logo",
                                f"{file} refers to {value}; a logo carries everything it shows")
    return text


def read_settings(folder):
    """Read the optional settings.yaml of a seed folder (captcha, captcha_rounds, mfa, faults, clock_offset_seconds)."""
    from .settings import SETTINGS, SettingsError, check_faults, check_settings

    path = Path(folder) / "settings.yaml"
    if not path.exists():
        return {}
    data = _read(path, dict)
    known = (*SETTINGS, "faults", "clock_offset_seconds")
    unknown = set(data) - set(known)
    if unknown:
        raise SeedError(path, None, sorted(unknown)[0], f"unknown setting (known: {', '.join(known)})")
    try:
        settings = check_settings({k: v for k, v in data.items() if k in SETTINGS})
        if "faults" in data:
            settings["faults"] = {k: v for k, v in check_faults(data["faults"] or {}).items() if v}
    except SettingsError as exc:
        raise SeedError(path, None, None, str(exc)) from None
    if "clock_offset_seconds" in data:
        offset = data["clock_offset_seconds"]
        if type(offset) is not int or abs(offset) > MAX_LOCKED_SECONDS:
            raise SeedError(path, None, "clock_offset_seconds",
                            "must be a whole number of seconds from real time, at most ten years")
        settings["clock_offset_seconds"] = data["clock_offset_seconds"]
    return settings


def load(folder, idp_url=None, client_url=None):
    """Load a seed folder: add what is missing, update what differs; loading twice changes nothing.

    Each seeded `invited` user without an invitation gets one, with its email in the mailbox; idp_url
    and client_url make its links (default: IDP_BASE_URL or the request's, and the first app's home).
    """
    folder = resolve(folder)
    tenant_data, clients, users = validate(folder)
    settings = read_settings(folder)
    method = current_app.config["IDP_PASSWORD_HASH"]
    tenant = db.session.get(Tenant, tenant_data["id"])
    if tenant is None:
        tenant = Tenant(id=tenant_data["id"], domain=tenant_data["domain"].lower(), name=tenant_data["name"])
        db.session.add(tenant)
    tenant.domain, tenant.name = tenant_data["domain"].lower(), tenant_data["name"]
    tenant.mfa = tenant_data.get("mfa", "always")
    extra = {k: v for k, v in tenant_data.items() if k not in ("id", "domain", "name", "mfa")}
    if tenant.extra != extra:
        tenant.extra = extra
    logo = read_logo(folder, tenant_data)
    etag = hashlib.sha256(logo.encode()).hexdigest()[:16] if logo else None
    if tenant.logo_etag != etag:
        tenant.logo_svg, tenant.logo_etag = logo, etag
    for item in clients:
        client = db.session.get(Client, item["client_id"])
        if client is None:
            client = Client(client_id=item["client_id"], tenant_id=tenant.id)
            db.session.add(client)
        client.tenant_id, client.name = tenant.id, item["name"]
        client.redirect_uris = list(item.get("redirect_uris", []))
        client.spa_redirect_uris = list(item.get("spa_redirect_uris", []))
        client.post_logout_redirect_uris = list(item.get("post_logout_redirect_uris", []))
        client.roles = list(item.get("roles", []))
        client.identifier_uris = list(item.get("identifier_uris", []))
        client.scopes = list(item.get("scopes", []))
        client.app_roles = list(item.get("app_roles", []))
        client.app_role_assignments = assigned_roles(clients, item)
        certificates = read_certificates(folder, folder / "clients.yaml", None, item)
        if client.certificates != certificates:
            client.certificates = certificates
        client.allow_public_client_flows = bool(item.get("allow_public_client_flows", False))
        secret = item.get("client_secret")
        if secret is None:
            client.secret_hash = None
        elif not client.check_secret(secret):
            client.secret_hash = generate_password_hash(secret, method=method)
        extra = {k: v for k, v in item.items() if k not in
                 ("client_id", "client_secret", "name", "redirect_uris", "spa_redirect_uris", "post_logout_redirect_uris",
                  "roles", "certificates", "allow_public_client_flows",
                  "identifier_uris", "scopes", "app_roles", "app_role_assignments")}
        if client.extra != extra:
            client.extra = extra
    db.session.flush()
    _apply_registrations()
    for item in users:
        apply_user(tenant, item, method)
    invite_seeded_users(tenant, users, idp_url, client_url)
    for key, value in settings.items():
        Setting.put(key, value)
    tenants_changed()  # every worker reads the tenant and its clients again
    db.session.commit()
    return tenant


def apply_user(tenant, item, method=None):
    """Create or update one user in the given state (seed entry or control API body)."""
    method = method or current_app.config["IDP_PASSWORD_HASH"]
    email = item["email"].strip().lower()
    state = item.get("state", "registered")
    # Two requests may create the same user at once: the database keeps one row, never a 500.
    insert_missing(User, ("email",), email=email, tenant_id=tenant.id)
    user = User.by_email(email)
    user.tenant_id = tenant.id
    user.name = item.get("name") or user.name or email.split("@")[0]
    user.invited = bool(item.get("invited", state == "invited" or item.get("guest", False)))
    password = item.get("password")
    if state == "invited":
        user.password_hash = None
    elif password is not None and not user.check_password(password):
        if user.password_hash is not None:
            RefreshToken.revoke_all(user.id)  # a new password ends the refresh tokens of every sign-in
        user.password_hash = generate_password_hash(password, method=method)
    user.idp = item.get("idp", "live.com" if user.invited and state != "invited" else None) if state != "invited" else None
    user.email_verified = state != "invited"
    user.country = item.get("country", user.country or ("FR" if state != "invited" else None))
    user.birth_date = item.get("birth_date", user.birth_date)
    if state != "invited" and user.invited and user.tenant_consent_at is None:
        user.tenant_consent_at = user.created_at or datetime.datetime(2026, 1, 1)
    if item.get("phone"):
        user.phone = item["phone"]
    user.mfa_method = {"mfa_sms": "sms", "mfa_authenticator": "authenticator", "mfa_totp": "totp"}.get(state)
    if state in ("mfa_authenticator", "mfa_totp"):
        user.totp_secret = item.get("totp_secret") or user.totp_secret or pyotp.random_base32()
    elif item.get("totp_secret") is None and state != "mfa_sms":
        user.totp_secret = None
    if item.get("locked") and not user.is_locked():
        from . import clock

        user.locked_until = clock.now() + datetime.timedelta(seconds=int(item.get("locked_seconds", 3600)))
    db.session.flush()
    if state == "mfa_authenticator":
        exists = db.session.scalar(select(AuthenticatorAccount.id).where(AuthenticatorAccount.user_id == user.id))
        if exists is None:
            db.session.add(AuthenticatorAccount(user_id=user.id))
    for client_id in item.get("consents") or []:
        insert_missing(Consent, ("user_id", "client_id"), user_id=user.id, client_id=client_id, scopes=["openid", "profile"])
    return user


def invite_seeded_users(tenant, users, idp_url=None, client_url=None):
    """Invite each seeded `invited` user who has no invitation yet, and put the branded email in the mailbox.

    So that at first start (and after a reset) the newcomer finds the guide's first step, the email and its
    "Je configure mon nouvel accès" button, as `idp-emulator invite` would have sent it. Delivered straight
    to the mailbox: the SMTP server may not run yet (`up` seeds before starting it).
    """
    from html import unescape

    from . import invitations
    from .devices.messages import LINK, send_email
    from .models import Invitation

    invited = [item for item in users if item.get("state", "registered") == "invited"]
    if not invited:
        return
    if not idp_url:
        idp_url = current_app.config.get("IDP_BASE_URL") or (
            request.url_root.rstrip("/") if has_request_context() else "http://localhost:8400")
    return_url = f"{client_url.rstrip('/')}/" if client_url else app_home(tenant) or f"{idp_url.rstrip('/')}/_emulator/"
    for item in invited:
        email = item["email"].strip().lower()
        if db.session.scalar(select(Invitation.id).where(Invitation.email == email)) is not None:
            continue  # loading twice changes nothing
        _, invitation = invitations.invite(tenant, email, return_url, display_name=item.get("name") or "",
                                           invited_by="seed")
        url = invitations.redeem_url(idp_url.rstrip("/"), invitation)
        subject, text, html, brand = invitations.invitation_email(tenant, invitation, url)
        # The links as the SMTP server reads them from the HTML (the button first), so the mail is the same.
        links = list(dict.fromkeys([url] + [unescape(link) for link in LINK.findall(html)]))
        send_email(email, subject, text, html=html, sender=f"{brand['sender_name']} <{brand['sender_email']}>",
                   links=links)


def app_home(tenant):
    """The home of the tenant's first confidential app (where an invitation leads by default), or None."""
    from urllib.parse import urlsplit

    clients = db.session.scalars(select(Client).where(Client.tenant_id == tenant.id).order_by(Client.name)).all()
    for client in sorted(clients, key=lambda c: c.is_public):
        if client.redirect_uris:
            parts = urlsplit(client.redirect_uris[0])
            return f"{parts.scheme}://{parts.netloc}/"
    return None


# What a reset keeps: the signing keys and the session secret (earlier tokens still verify, every host keeps
# signing with the same keys), and the versions, which must only ever grow for the caches to see the change.
KEPT_TABLES = ("signing_key", "app_secret", "stamp")


# Settings a wipe keeps: what `up` registered for the running Espace Client (its host and port).
KEPT_SETTINGS = ("client_registrations",)


def wipe(commit=True):
    """Delete every row of every table but KEPT_TABLES and KEPT_SETTINGS.

    Under a database-wide lock: a reset running beside another reset waits for it rather than breaking it.
    commit=False leaves the transaction open for load() (see reset()).
    """
    from .database import lock_for_transaction

    lock_for_transaction("reset")
    for table in reversed(db.metadata.sorted_tables):
        if table.name in KEPT_TABLES:
            continue
        if table is Setting.__table__:
            db.session.execute(table.delete().where(table.c.key.not_in(KEPT_SETTINGS)))
        else:
            db.session.execute(table.delete())
    db.session.expunge_all()  # every row the session knew is gone
    Setting.forget()
    settings_changed()
    tenants_changed()
    if commit:
        db.session.commit()


def reset(name_or_path, idp_url=None, client_url=None):
    """Wipe the database and load a scenario, in one transaction; a scenario that is not valid wipes nothing."""
    folder = resolve(name_or_path)
    validate(folder)
    read_settings(folder)
    wipe(commit=False)
    return load(folder, idp_url=idp_url, client_url=client_url)


def register_client_urls(client_id, client_url):
    """Add the Espace Client's redirect and post-logout URIs for the host and port it runs on (what `up` does).

    Kept in a setting a reset keeps, so a reset (CLI or control API) applies them again: the running
    Espace Client must not get AADSTS50011 after QA resets the database.
    """
    registrations = dict(Setting.get("client_registrations") or {})
    urls = list(registrations.get(client_id, []))
    if client_url not in urls:
        registrations[client_id] = urls + [client_url]
        Setting.put("client_registrations", registrations)
    _apply_registration(client_id, client_url)
    db.session.commit()


def _apply_registrations():
    for client_id, urls in (Setting.get("client_registrations") or {}).items():
        for url in urls:
            _apply_registration(client_id, url)


def _apply_registration(client_id, client_url):
    from urllib.parse import urlsplit

    client = db.session.get(Client, client_id)
    if client is None:
        return
    parts = urlsplit(client_url)
    bases = [client_url.rstrip("/")]
    if parts.hostname in ("localhost", "127.0.0.1"):
        bases = [f"{parts.scheme}://{name}:{parts.port}" for name in ("localhost", "127.0.0.1")]
    redirects = list(client.redirect_uris or [])
    logouts = list(client.post_logout_redirect_uris or [])
    for base in bases:
        if f"{base}/auth/callback" not in redirects:
            redirects.append(f"{base}/auth/callback")
        if f"{base}/" not in logouts:
            logouts.append(f"{base}/")
    if redirects != client.redirect_uris or logouts != client.post_logout_redirect_uris:
        client.redirect_uris, client.post_logout_redirect_uris = redirects, logouts  # the flush bumps "tenants"
