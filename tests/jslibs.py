"""Microsoft's JavaScript libraries (msal-browser, msal-node), installed from npm at test time into a cache kept across runs."""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

MSAL_BROWSER = "5.30.0"
# msal-node 5 and later need Node 20; Debian 12's nodejs is Node 18, which msal-node 3 supports.
# Both lines have the API these tests use (getAuthCodeUrl, acquireTokenByCode, acquireTokenSilent).
MSAL_NODE = {20: "7.2.3", 16: "3.8.9"}
CACHE = Path(os.environ.get("IDP_TESTS_NPM_CACHE") or Path.home() / ".cache" / "idp-emulator-tests" / "npm")


def node_major():
    node = shutil.which("node")
    if node is None or shutil.which("npm") is None:
        pytest.fail("Node.js and npm are needed for the MSAL.js tests: install them (Debian: apt-get install nodejs npm; "
                    ".ci/run does it) and run the tests again.")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    return int(version.lstrip("v").split(".")[0])


def install():
    """Return the folder whose node_modules holds @azure/msal-browser and @azure/msal-node (npm install once)."""
    major = node_major()
    msal_node = next((version for least, version in sorted(MSAL_NODE.items(), reverse=True) if major >= least), None)
    if msal_node is None:
        pytest.fail(f"Node {major} is too old for @azure/msal-node: Node 16 or later is needed.")
    folder = CACHE / f"msal-browser-{MSAL_BROWSER}-msal-node-{msal_node}"
    if (folder / "node_modules" / "@azure" / "msal-node" / "package.json").exists():
        return folder
    # Installed beside, then renamed: a run that stops halfway, or another run installing at the
    # same time, never leaves a half-filled folder under the final name.
    staging = CACHE / f"{folder.name}.{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    result = subprocess.run(["npm", "install", "--prefix", str(staging), "--no-audit", "--no-fund", "--ignore-scripts",
                             f"@azure/msal-browser@{MSAL_BROWSER}", f"@azure/msal-node@{msal_node}"],
                            capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        pytest.fail(f"npm could not install the MSAL.js packages (the registry must be reachable):\n{result.stderr[-3000:]}")
    try:
        staging.rename(folder)
    except OSError:  # another run installed them first
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def msal_browser_bundle(folder):
    """The browser build of msal-browser (a UMD script defining `msal`) that the package ships."""
    path = folder / "node_modules" / "@azure" / "msal-browser" / "lib" / "msal-browser.min.js"
    assert path.exists(), f"{path} is missing: the package layout changed"
    return path
