"""The first run of `idp-emulator up`: its ports (a taken one fails in one line, two instances keep their own
mailbox), what it prints (accounts, admin password, SMTP port, phone links), the seeded invitation mail, and
the device commands finding the running instance from any folder."""
import os
import re
import smtplib
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
import requests

from idp import seeds
from idp.extensions import db
from idp.models import Invitation, Message

from ..conftest import free_port
from .test_e2e_demo import Demo

SEEDED = seeds.validate(seeds.resolve("default"))[2]
INVITED = [item["email"] for item in SEEDED if item.get("state") == "invited"]
SUBJECT = "Baker Tilly – Configurez votre nouvel accès à votre Espace Client"
README = Path(__file__).resolve().parents[2] / "README.md"


def free_idp_port():
    """A free port whose SMTP port (+ 25, the default) is free too."""
    while True:
        port = free_port()
        if port + 25 <= 65535 and _free(port + 25):
            return port


def _free(port):
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def instance(folder, state_home, derived_smtp=False, **env):
    """A Demo (`up` in a subprocess, see test_e2e_demo) recording itself under its own state folder."""
    demo = Demo(folder)
    demo.env.update(XDG_STATE_HOME=str(state_home), **env)
    for name in ("IDP_URL", "IDP_SMTP", "CLIENT_ADMIN_PASSWORD", "CLIENT_DATABASE_URL"):
        if name not in env:
            demo.env.pop(name, None)
    if derived_smtp:
        demo.idp_port = free_idp_port()
        demo.idp = f"http://localhost:{demo.idp_port}"
        demo.smtp_port = demo.idp_port + 25
        del demo.env["IDP_SMTP_PORT"]
    return demo


def run(demo, *args, cwd=None, **env):
    """`idp-emulator ARGS` with the demo's environment (minus its data folder), from another folder."""
    environment = {k: v for k, v in demo.env.items() if k != "IDP_DATA_DIR"}
    environment.update(env)
    return subprocess.run([sys.executable, "-m", "idp.cli", *args], env=environment, cwd=cwd,
                          capture_output=True, text=True, timeout=60)


def messages(demo, to=None):
    response = requests.get(f"{demo.idp}/_emulator/api/messages", params={"to": to} if to else {}, timeout=10)
    return response.json()["messages"]


@pytest.mark.parametrize("taken", ["idp", "client", "smtp"])
def test_up_on_a_taken_port_exits_non_zero_with_one_line(tmp_path, taken):
    demo = instance(tmp_path / "demo", tmp_path / "state")
    demo.folder.mkdir(parents=True)
    ports = {"idp": demo.idp_port, "client": demo.client_port, "smtp": demo.smtp_port}
    option = {"idp": "--idp-port", "client": "--client-port", "smtp": "--smtp-port"}[taken]
    what = {"idp": "the IdP", "client": "the Espace Client", "smtp": "the dev mailbox's SMTP"}[taken]
    with socket.socket() as other:
        other.bind(("127.0.0.1", ports[taken]))
        other.listen()
        result = demo.cli("up", "--idp-port", str(demo.idp_port), "--client-port", str(demo.client_port),
                          "--smtp-port", str(demo.smtp_port), "--workers", "1")
    assert result.returncode != 0
    assert result.stdout == ""
    assert result.stderr.splitlines() == [f"idp-emulator: port {ports[taken]} on 127.0.0.1 is already in use "
                                          f"(another idp-emulator?); choose another for {what} with {option}"]
    assert not list((tmp_path / "state").glob("**/*.json"))


@pytest.mark.parametrize("command, what", [("serve", "the IdP"), ("client", "the Espace Client")])
def test_serve_and_client_on_a_taken_port_exit_non_zero_with_one_line(tmp_path, command, what):
    demo = instance(tmp_path / "demo", tmp_path / "state")
    demo.folder.mkdir(parents=True)
    with socket.socket() as other:
        other.bind(("127.0.0.1", demo.idp_port))
        other.listen()
        result = demo.cli(command, "--port", str(demo.idp_port), "--workers", "1")
    assert result.returncode != 0 and result.stdout == ""
    assert result.stderr.splitlines() == [f"idp-emulator: port {demo.idp_port} on 127.0.0.1 is already in use "
                                          f"(another idp-emulator?); choose another for {what} with --port"]


def test_up_fails_when_a_server_stops_while_starting(tmp_path):
    demo = instance(tmp_path / "demo", tmp_path / "state", CLIENT_DATABASE_URL="nosuchdatabase://")
    demo.folder.mkdir(parents=True)
    result = demo.cli("up", "--idp-port", str(demo.idp_port), "--client-port", str(demo.client_port), "--workers", "1")
    assert result.returncode != 0
    assert "is up" not in result.stdout
    assert re.fullmatch(r"idp-emulator: the Espace Client stopped while starting \(exit \d+\); see its messages above",
                        result.stderr.splitlines()[-1])
    with pytest.raises(requests.ConnectionError):  # the IdP it had started is stopped too
        requests.get(f"{demo.idp}/_emulator/", timeout=5)


def test_up_reports_a_database_it_cannot_use_in_one_line_and_starts_nothing(tmp_path):
    """The preparation runs in a process of its own (prepare-up): its failure is still `up`'s one line and exit 1."""
    demo = instance(tmp_path / "demo", tmp_path / "state", IDP_DATABASE_URL=f"sqlite:///{tmp_path}/missing/idp.db")
    demo.folder.mkdir(parents=True)
    result = demo.cli("up", "--idp-port", str(demo.idp_port), "--client-port", str(demo.client_port))
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == ["idp-emulator: cannot use the database: unable to open database file "
                                          "(a read-only or full data folder, or a database server that is down?)"]
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{demo.idp}/_emulator/", timeout=5)


def test_the_cli_and_up_itself_load_no_web_stack():
    """`up` only supervises its servers: importing the CLI loads neither Flask nor SQLAlchemy (nor the SMTP
    server's asyncio and mail parser, nor an HTTP client); `from idp import create_app` still works."""
    code = ("import sys, idp.cli, idp.devices.smtp, idp.instances\n"
            "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'flask', 'sqlalchemy', 'werkzeug', 'asyncio',"
            " 'aiosmtpd', 'email', 'http', 'ssl', 'requests', 'client_app'})\n"
            "assert not heavy, heavy\n"
            "from idp import create_app\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parent.parent)


def test_up_prints_accounts_admin_smtp_and_phones_and_mails_the_invited_user(tmp_path):
    demo = instance(tmp_path / "demo", tmp_path / "state", derived_smtp=True,
                    CLIENT_ADMIN_PASSWORD="Admin-Secret-1").start()
    try:
        output = demo.output()
        assert f"  Client admin:   {demo.client}/admin/invitations  (password: Admin-Secret-1)" in output
        assert f"  Mailbox:        {demo.idp}/_emulator/mailbox" in output
        assert f"  SMTP:           127.0.0.1:{demo.idp_port + 25}  (mail sent there lands in the mailbox)" in output
        assert "<phone-or-email>" not in output
        for item in SEEDED:
            line = next(line for line in output.splitlines() if line.startswith(f"  {item['email']} "))
            state = item.get("state", "registered") + (", locked" if item.get("locked") else "")
            assert re.match(rf"  {re.escape(item['email'])} +{re.escape(state)} ", line), line
            if item.get("state") == "invited":
                assert f"{demo.idp}/_emulator/mailbox?to={quote(item['email'])}" in line
            else:
                assert line.endswith(f" password {item['password']}"), line
        phones = [line.split()[-1] for line in output.split("Their phones")[1].splitlines()[1:] if "/phone/" in line]
        expected = [f"{demo.idp}/_emulator/phone/"
                    + (quote(item["phone"], safe="") if item.get("phone") else item["email"])
                    for item in SEEDED if item.get("phone") or item.get("state", "").startswith("mfa_")]
        assert phones == expected and f"{demo.idp}/_emulator/phone/%2B33612345678" in phones
        for url in phones:  # each opens that user's phone
            page = requests.get(url, timeout=10)
            assert page.status_code == 200 and 'data-screen="phone-home"' in page.text, url

        # At first start the invited user already has the invitation, as `idp-emulator invite` sends it.
        for email in INVITED:
            mail = messages(demo, email)
            assert [m["subject"] for m in mail] == [SUBJECT]
            assert mail[0]["links"][0].startswith(f"{demo.idp}/redeem?tenant=")
            landing = requests.Session().get(mail[0]["links"][0], timeout=10)  # the guide's next screen
            assert landing.status_code == 200 and 'data-screen="email"' in landing.text
        # A reset over the control API sends it again, once.
        assert requests.post(f"{demo.idp}/_emulator/api/reset", json={}, timeout=30).status_code == 200
        assert [len(messages(demo, email)) for email in INVITED] == [1] * len(INVITED)
    finally:
        assert demo.stop() == 0
    assert not list((tmp_path / "state").glob("**/*.json")), "a stopped instance is forgotten"


def test_two_instances_keep_their_own_mailbox_and_commands_find_them_from_any_folder(tmp_path):
    state = tmp_path / "state"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    first = instance(tmp_path / "first", state, derived_smtp=True).start()
    second = None
    try:
        # One instance: `invite` from another folder, with no setting, finds it.
        result = run(first, "invite", "one@example.fr", cwd=elsewhere)
        assert result.returncode == 0, result.stderr
        assert f"via the Graph API of {first.idp}" in result.stdout

        # A second `up` on the same data folder would share its mailbox: refused in one line.
        result = run(first, "up", "--idp-port", str(free_idp_port()), "--client-port", str(free_port()),
                     IDP_DATA_DIR=first.env["IDP_DATA_DIR"])
        assert result.returncode != 0 and result.stderr.splitlines() == [
            f"idp-emulator: {first.env['IDP_DATA_DIR']} is already used by the idp-emulator at {first.idp}; "
            "start another one from another folder or with another IDP_DATA_DIR"]

        second = instance(tmp_path / "second", state, derived_smtp=True).start()
        assert second.smtp_port != first.smtp_port
        # Two instances: without a choice the command names both and stops.
        result = run(first, "invite", "who@example.fr", cwd=elsewhere)
        assert result.returncode != 0
        assert first.idp in result.stderr and second.idp in result.stderr and "--idp-url" in result.stderr
        result = run(first, "invite", "two@example.fr", "--idp-url", second.idp, cwd=elsewhere)
        assert result.returncode == 0 and f"via the Graph API of {second.idp}" in result.stdout, result.stderr
        result = run(first, "mail", "--to", "two@example.fr", cwd=elsewhere, IDP_URL=second.idp)
        assert result.returncode == 0 and "two@example.fr" in result.stdout and "/redeem?" in result.stdout
        # The control API's invitation goes over each instance's own SMTP port, into its own mailbox.
        for demo, email in ((first, "three@example.fr"), (second, "four@example.fr")):
            sent = requests.post(f"{demo.idp}/_emulator/api/invitations", json={"email": email}, timeout=30).json()
            assert sent["sent"] == "smtp"
        assert list(elsewhere.iterdir()) == [], "the commands wrote nothing in the folder they ran from"
        invited = {demo.idp: sorted({m["to"] for m in messages(demo)} - set(INVITED)) for demo in (first, second)}
        assert invited == {first.idp: ["one@example.fr", "three@example.fr"],
                           second.idp: ["four@example.fr", "two@example.fr"]}
    finally:
        if second is not None:
            second.stop()
        first.stop()


def test_seeding_sends_each_invited_user_one_invitation(app):
    """The seeds' invited users get the invitation mail once: loading the seeds again changes nothing."""
    def invitations():
        mail = db.session.query(Message).filter(Message.to.in_(INVITED)).all()
        return sorted((m.to, m.subject) for m in mail), db.session.query(Invitation).count()

    with app.app_context():
        first = invitations()
        assert first == ([(email, SUBJECT) for email in sorted(INVITED)], len(INVITED))
        mail = db.session.query(Message).filter_by(to=INVITED[0]).one()
        invitation = db.session.query(Invitation).filter_by(email=INVITED[0]).one()
        assert mail.links[0] == f"http://localhost:8400/redeem?tenant={invitation.tenant_id}&invitation={invitation.id}"
        assert invitation.redirect_url == "http://localhost:8401/"
        seeds.load("default")
        assert invitations() == first


def test_up_runs_each_app_with_one_worker_and_serve_with_two():
    """`up` serves one developer or trainer: one gunicorn worker per app unless --workers says more."""
    from idp.cli import client, serve, up

    def workers(command):
        return next(param.default for param in command.params if param.name == "workers")

    assert (workers(up), workers(serve), workers(client)) == (1, 2, 2)
    row = next(line for line in README.read_text().splitlines() if line.startswith("| `idp-emulator up ["))
    assert "[--workers 1]" in row and "one gunicorn worker each" in row


def _children(pid):
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _maps_sqlalchemy(pid):
    return "/sqlalchemy/" in Path(f"/proc/{pid}/maps").read_text()


def test_up_builds_each_app_in_its_one_worker_only_and_the_mailbox_still_receives_smtp(tmp_path):
    """With one worker, each server's master holds no app (nothing to share): the app, and the IdP's SMTP server,
    live in the worker alone. The masters are `up` forked (cli.ServerProcess), not new Pythons: they share what
    `up` has loaded (the same command line, no exec)."""
    demo = instance(tmp_path / "demo", tmp_path / "state")
    demo.folder.mkdir(parents=True)
    demo.log = open(demo.log_path, "wb")
    demo.process = subprocess.Popen(
        [sys.executable, "-m", "idp.cli", "up", "--idp-port", str(demo.idp_port), "--client-port",
         str(demo.client_port)], env=demo.env, cwd=demo.folder, stdout=demo.log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while "Press Ctrl-C to stop." not in demo.output():
            assert demo.process.poll() is None and time.monotonic() < deadline, demo.output()
            time.sleep(0.2)
        masters = _children(demo.process.pid)
        assert len(masters) == 2
        command = Path(f"/proc/{demo.process.pid}/cmdline").read_bytes()
        for master in masters:
            assert Path(f"/proc/{master}/cmdline").read_bytes() == command
            workers = _children(master)
            assert len(workers) == 1
            assert not _maps_sqlalchemy(master) and _maps_sqlalchemy(workers[0])
        with smtplib.SMTP("127.0.0.1", demo.smtp_port, timeout=10) as smtp:
            smtp.sendmail("app@example.fr", ["one.worker@example.fr"],
                          "Subject: Votre code\r\n\r\nVotre code est 424242.")
        assert [m["code"] for m in messages(demo, "one.worker@example.fr")] == ["424242"]
    finally:
        assert demo.stop() == 0


def test_readme_documents_every_option_of_up_and_serve():
    """Every option a person types (not the hidden ones `up` gives its own servers)."""
    from idp.cli import serve, up

    text = README.read_text()
    for command in (up, serve):
        for param in command.params:
            if getattr(param, "hidden", False):
                continue
            assert any(option in text for option in param.opts), (command.name, param.opts)
        row = next(line for line in text.splitlines() if line.startswith(f"| `idp-emulator {command.name} ["))
        assert "[--smtp-port N]" in row


def test_two_processes_recording_the_same_instance_at_once_never_fail(tmp_path):
    """Two `up` starting on one URL (the second then fails to bind its port): recording the instance must not fail
    in the first, which would leave its servers running without it (each writes its own temporary file)."""
    (tmp_path / "data").mkdir()
    code = ("import sys\nfrom idp import instances\n"
            "for _ in range(300):\n"
            f"    instances.register(idp_url='http://localhost:8470', client_url=None, domain='d', ca=None,"
            f" data_dir={str(tmp_path / 'data')!r}, smtp_port=None)\n")
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")}
    writers = [subprocess.Popen([sys.executable, "-c", code], env=env, stderr=subprocess.PIPE, text=True)
               for _ in range(3)]
    errors = [writer.communicate(timeout=60)[1] for writer in writers]
    assert [writer.returncode for writer in writers] == [0, 0, 0], errors
    assert [p.name for p in (tmp_path / "state" / "idp-emulator" / "instances").iterdir()] == ["localhost-8470.json"]


def test_up_that_cannot_record_itself_says_so_in_one_line_and_starts_nothing(tmp_path):
    (tmp_path / "not-a-folder").write_text("XDG_STATE_HOME names a file")
    demo = instance(tmp_path / "demo", tmp_path / "not-a-folder")
    demo.folder.mkdir(parents=True)
    result = demo.cli("up", "--idp-port", str(demo.idp_port), "--client-port", str(demo.client_port), "--workers", "1")
    assert result.returncode != 0 and "is up" not in result.stdout
    assert result.stderr.splitlines()[-1].startswith(
        f"idp-emulator: cannot record the instance in {tmp_path / 'not-a-folder' / 'idp-emulator' / 'instances'}: ")
    for url in (demo.idp, demo.client):
        with pytest.raises(requests.ConnectionError):
            requests.get(f"{url}/", timeout=5)
