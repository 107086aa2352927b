"""Requests that race against a real server (threads, 2 workers): check-then-insert never answers 500."""
import threading
from urllib.parse import urljoin, urlencode

import requests
from bs4 import BeautifulSoup

from ..conftest import CLIENT_ID, PASSWORD, REDIRECT_URI, TENANT
from .test_live import walk_screens

THREADS = 8


def at_once(calls):
    """Run the calls in threads released together; return their responses."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index, call):
        barrier.wait()
        try:
            results[index] = call()
        except requests.RequestException as exc:  # a dropped connection counts as a failure too
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def statuses(results):
    return [getattr(r, "status_code", repr(r)) for r in results]


def test_creating_one_user_many_times_at_once_gives_one_201_and_409s(live_server):
    api = f"{live_server.base_url}/_emulator/api"
    body = {"email": "race@example.fr", "password": PASSWORD, "state": "registered"}
    codes = statuses(at_once([lambda: requests.post(f"{api}/users", json=body, timeout=30)] * THREADS))
    assert sorted(codes) == [201] + [409] * (THREADS - 1), codes
    users = [u for u in requests.get(f"{api}/users").json()["users"] if u["email"] == "race@example.fr"]
    assert len(users) == 1


def test_inviting_one_new_address_many_times_at_once_never_fails(live_server):
    api = f"{live_server.base_url}/_emulator/api"
    body = {"email": "invite-race@example.fr", "send": False}
    codes = statuses(at_once([lambda: requests.post(f"{api}/invitations", json=body, timeout=30)] * THREADS))
    assert codes == [201] * THREADS, codes
    users = [u for u in requests.get(f"{api}/users").json()["users"] if u["email"] == "invite-race@example.fr"]
    assert len(users) == 1 and users[0]["state"] == "invited"


def test_reset_beside_settings_clock_and_faults_writes_never_fails(live_server):
    api = f"{live_server.base_url}/_emulator/api"
    calls = []
    for _ in range(3):
        calls += [lambda: requests.post(f"{api}/reset", json={}, timeout=60),
                  lambda: requests.put(f"{api}/settings", json={"captcha": "puzzle"}, timeout=60),
                  lambda: requests.put(f"{api}/clock", json={"offset_seconds": 60}, timeout=60),
                  lambda: requests.put(f"{api}/faults", json={"sms": "delay"}, timeout=60)]
    codes = statuses(at_once(calls))
    assert all(code == 200 for code in codes), codes
    assert requests.get(f"{api}/users").status_code == 200


def _at_app_consent(server):
    """A browser (requests session) signed in as the demo client, standing on the app-consent screen."""
    session = requests.Session()
    query = urlencode({"client_id": CLIENT_ID, "response_type": "code", "redirect_uri": REDIRECT_URI,
                       "scope": "openid profile", "state": "s", "nonce": "n"})
    answers = {"email": ("idSIButton9", {"loginfmt": "client.demo@example.fr"}),
               "password": ("idSIButton9", {"passwd": PASSWORD}), "kmsi": ("idSIButton9", {})}
    response = session.get(f"{server.base_url}/{TENANT}/oauth2/v2.0/authorize?{query}")
    for _ in range(10):
        soup = BeautifulSoup(response.text, "html.parser")
        screen = soup.body["data-screen"]
        if screen == "app-consent":
            form = soup.find(id="idBtn_Accept").find_parent("form")
            fields = {i["name"]: i.get("value", "") for i in form.find_all("input")
                      if i.get("name") and i.get("type") != "submit"}
            fields[soup.find(id="idBtn_Accept")["name"]] = soup.find(id="idBtn_Accept").get("value", "")
            return session, urljoin(response.url, form.get("action") or response.url), fields
        button, data = answers[screen]
        form = soup.find(id=button).find_parent("form")
        fields = {i["name"]: i.get("value", "") for i in form.find_all("input")
                  if i.get("name") and i.get("type") != "submit"}
        fields.update(data)
        response = session.post(urljoin(response.url, form.get("action") or response.url), data=fields)
    raise AssertionError("never reached app-consent")


def test_first_consent_from_several_browsers_at_once_keeps_one_consent(live_server):
    browsers = [_at_app_consent(live_server) for _ in range(THREADS)]
    results = at_once([lambda b=b: b[0].post(b[1], data=b[2], allow_redirects=False, timeout=30) for b in browsers])
    codes = statuses(results)
    assert all(code in (302, 303) for code in codes), codes
    assert all(r.headers["Location"].startswith(REDIRECT_URI) and "code=" in r.headers["Location"] for r in results)
    # The consent is recorded once: a new sign-in goes straight back to the app.
    query = urlencode({"client_id": CLIENT_ID, "response_type": "code", "redirect_uri": REDIRECT_URI,
                       "scope": "openid profile", "state": "s", "nonce": "n"})
    params, seen = walk_screens(requests.Session(), f"{live_server.base_url}/{TENANT}/oauth2/v2.0/authorize?{query}")
    assert "app-consent" not in seen and "code" in params


def test_two_serve_started_together_on_an_empty_data_folder_both_come_up_with_one_set_of_seeds(tmp_path):
    from ..conftest import LiveServer

    servers = [LiveServer(tmp_path / "shared"), LiveServer(tmp_path / "shared")]
    errors = []

    def start(server):
        try:
            server.start()
        except RuntimeError as exc:
            errors.append(str(exc))

    threads = [threading.Thread(target=start, args=(server,)) for server in servers]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(90)
        assert errors == []
        for server in servers:
            users = requests.get(f"{server.base_url}/_emulator/api/users").json()["users"]
            assert len({u["email"] for u in users}) == len(users) > 0
            invited = [u["email"] for u in users if u["state"] == "invited"]
            # Seeding ran once: each seeded invited user got exactly one invitation email.
            for email in invited:
                mails = requests.get(f"{server.base_url}/_emulator/api/messages",
                                     params={"to": email, "channel": "email"}).json()["messages"]
                assert len(mails) == 1, (email, mails)
    finally:
        for server in servers:
            server.stop()
