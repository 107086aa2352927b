"""Microsoft's @azure/msal-node (a Node web app): auth code flow against the real server over TLS, then silent calls."""
import json
import os
import subprocess
from pathlib import Path

import pytest
import requests

from .. import jslibs
from ..conftest import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, TENANT
from .test_live import walk_screens

SCRIPT = Path(__file__).parents[1] / "node" / "auth_code.js"


def read_step(process, step):
    line = process.stdout.readline()
    assert line, f"msal-node stopped before '{step}': {process.stderr.read()}"
    answer = json.loads(line)
    assert answer["step"] == step, answer
    return answer


def test_msal_node_auth_code_then_silent_from_the_cache(client_libraries_server, verify_with_the_emulator_ca):
    idp = client_libraries_server
    folder = jslibs.install()
    config = {"authority": f"{idp.base_url}/{TENANT}", "clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET,
              "redirectUri": REDIRECT_URI, "idleMs": 3000}
    # Node trusts the emulator's local CA the way a developer would tell it to.
    env = {**os.environ, "NODE_PATH": str(folder / "node_modules"), "NODE_EXTRA_CA_CERTS": str(idp.ca_path)}
    process = subprocess.Popen(["node", str(SCRIPT), json.dumps(config)], env=env, text=True,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        url = read_step(process, "url")["url"]
        assert url.startswith(f"{idp.base_url}/{TENANT}/oauth2/v2.0/authorize?")
        browser = requests.Session()
        browser.verify = str(idp.ca_path)
        params, seen = walk_screens(browser, url)
        assert seen == ["email", "password", "kmsi", "app-consent"]
        process.stdin.write(params["code"] + "\n")
        process.stdin.flush()
        signed_in = read_step(process, "code")
        assert signed_in["username"] == "client.demo@example.fr"
        assert signed_in["idTokenClaims"]["aud"] == CLIENT_ID
        # Microsoft's short scope form: what lets msal-node find the token in its cache.
        assert "User.Read" in signed_in["scopes"]
        silent = read_step(process, "silent")
        assert silent["fromCache"] is True and silent["accessToken"] == signed_in["accessToken"]
        refreshed = read_step(process, "refreshed")  # after 3 s idle, on the kept-alive connection
        assert refreshed["fromCache"] is False and refreshed["accessToken"] != signed_in["accessToken"]
        assert process.wait(timeout=30) == 0, process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        for stream in (process.stdin, process.stdout, process.stderr):
            stream.close()
