"""`pip install .` as an operator does it (issue 17): the wheel carries everything the app needs at run time.

The test builds the wheel from a copy of the checkout's files (so nothing the checkout made when it started, such
as its compiled catalogs, can slip in), installs it into a fresh virtual environment outside the checkout, and
runs the installed `idp` from a folder of its own: `idp init`, a portal and a person made with the CLI, `idp
serve` under the installed gunicorn, a complete sign-in, and the Dutch pages in both forms of address (the
compiled catalogs are in the wheel). Start-up must not write into site-packages.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
import requests

from tests.helpers import csrf_token, free_port, html_lang, pkce_pair
from tests.unit.test_cli import clean_environ, sign_in_at_portal

CHECKOUT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery"
CATALOGS = [f"idp/translations/{language}/LC_MESSAGES/messages.mo" for language in ("en", "nl", "nl@informal")]


def checkout_files() -> list[str]:
    """The checkout's files as a clean clone has them, plus new ones not yet committed (not what git ignores)."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=CHECKOUT,
                            capture_output=True, check=True).stdout.decode()
    return [name for name in listed.split("\0") if name and (CHECKOUT / name).is_file()]


def copy_of_checkout(target: Path) -> Path:
    for name in checkout_files():
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        (target / name).write_bytes((CHECKOUT / name).read_bytes())
    return target


def build_wheel(source: Path, dist: Path) -> Path:
    """What `pip install .` builds: in an isolated build environment with the build-system requirements."""
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--quiet", "-w",
                            str(dist)], capture_output=True, text=True, timeout=300, check=False)
    assert built.returncode == 0, built.stderr
    (wheel,) = dist.glob("idp-*.whl")
    return wheel


def fresh_venv(folder: Path, wheel: Path) -> Path:
    """A new virtual environment with the wheel and its dependencies, at the versions this run tests."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True, timeout=60)
    python = folder / "bin" / "python"
    frozen = subprocess.run([sys.executable, "-m", "pip", "freeze", "--exclude-editable"], capture_output=True,
                            text=True, check=True, timeout=60).stdout
    constraints = folder / "constraints.txt"
    constraints.write_text("".join(line + "\n" for line in frozen.splitlines() if " @ " not in line))
    installed = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
                                "--no-compile", "-c", str(constraints), str(wheel)],
                               capture_output=True, text=True, timeout=600, check=False)
    assert installed.returncode == 0, installed.stderr
    return folder / "bin"


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under the folder with its modification time and size, but Python's own bytecode cache (the
    install skips compiling everything, so what is imported is compiled when it is first imported)."""
    return {str(path.relative_to(folder)): (path.stat().st_mtime_ns, path.stat().st_size)
            for path in folder.rglob("*") if path.is_file() and "__pycache__" not in path.parts}


@pytest.mark.slow
def test_the_wheel_installed_outside_the_checkout_signs_a_person_in(tmp_path):
    wheel = build_wheel(copy_of_checkout(tmp_path / "source"), tmp_path / "dist")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("templates", "migrations"):  # mapped into the package, file for file
        shipped = {n.removeprefix(f"idp/{name}/") for n in names if n.startswith(f"idp/{name}/")}
        expected = {n.removeprefix(f"{name}/") for n in checkout_files() if n.startswith(f"{name}/")}
        assert shipped == expected
        assert not any(n.startswith(f"{name}/") for n in names)  # nothing at the top of site-packages
    # the catalogs compiled in the build; the OpenAPI description the provider serves
    assert {*CATALOGS, "idp/static/idp.css", "idp/static/idp.js", "idp/openapi.yaml"} <= names

    bin_ = fresh_venv(tmp_path / "venv", wheel)
    home = tmp_path / "home"  # where the operator runs it: no checkout in sight
    home.mkdir()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    (home / "config.toml").write_text(f"""\
[server]
issuer = "{base}"
dev_mode = true
secret_key = "wheel-test-secret-key-0123456789-abcdefghijklmn"
encryption_key = "wheel-test-encryption-key-0123456789-abcdefghij"
instance_path = "{home / 'instance'}"

[passwords]
bcrypt_rounds = 4
""")
    # No PYTHONPATH (the checkout would win), no IDP_* of the test run.
    env = {**{k: v for k, v in clean_environ().items() if k != "PYTHONPATH"}, "IDP_CONFIG": str(home / "config.toml")}

    def idp(*args: str) -> str:
        done = subprocess.run([str(bin_ / "idp"), *args], cwd=home, env=env, capture_output=True, text=True,
                              timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        return done.stdout

    located = subprocess.run([str(bin_ / "python"), "-c", "import idp; print(idp.__file__)"], cwd=home, env=env,
                             capture_output=True, text=True, check=True).stdout.strip()
    package = Path(located).parent
    assert package.is_relative_to(tmp_path / "venv") and package.name == "idp"
    site_packages = package.parent
    before = snapshot(site_packages)

    assert "2 signing key(s) created" in idp("init")
    portal = json.loads(idp("clients", "add", "--name", "Jongerenportaal", "--redirect-uri",
                         "http://127.0.0.1:9013/callback", "--first-party", "--profile", "form_of_address=je",
                         "--json"))
    person = json.loads(idp("users", "add", "--email", "sam@example.org", "--password", PASSWORD, "--name",
                         "Sam de Boer", "--json"))

    out, err = (home / "serve.out").open("w"), (home / "serve.err").open("w")
    server = subprocess.Popen([str(bin_ / "idp"), "serve", "--bind", f"127.0.0.1:{port}", "--workers", "1",
                               "--threads", "2"], cwd=home, env=env, stdout=out, stderr=err)
    try:
        wait_until_up(server, base, home / "serve.err")
        tokens = sign_in_at_portal(base, portal, "sam@example.org", PASSWORD)
        userinfo = requests.get(base + "/userinfo", timeout=10,
                                headers={"Authorization": f"Bearer {tokens['access_token']}"}).json()
        assert (userinfo["sub"], userinfo["email"]) == (person["sub"], "sam@example.org")
        described = requests.get(base + "/openapi.yaml", timeout=10)  # the description, from inside the wheel
        assert (described.status_code, described.content) == (200, (CHECKOUT / "idp" / "openapi.yaml").read_bytes())

        # Dutch from the compiled catalogs: nl on the page, nl@informal in what the je-portal says to the reader.
        browser = requests.Session()
        browser.headers["Accept-Language"] = "nl"
        login = login_page(browser, base, portal)
        assert html_lang(login.text) == "nl" and "Wachtwoord" in login.text
        refused = browser.post(login.url, timeout=10, data={
            "csrf_token": csrf_token(login.text), "stage": "password", "username": "", "password": ""})
        assert "Vul je e-mailadres en je wachtwoord in." in refused.text
        english = requests.Session()
        english.headers["Accept-Language"] = "en"
        login = login_page(english, base, portal)
        assert html_lang(login.text) == "en" and "Password" in login.text and "Wachtwoord" not in login.text
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        out.close()
        err.close()
    assert "Booting worker" in (home / "serve.err").read_text()  # the installed gunicorn answered
    assert snapshot(site_packages) == before  # nothing written into site-packages: no catalog, no file at all


def wait_until_up(server: subprocess.Popen, base: str, errors: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"idp serve exited with {server.returncode}: {errors.read_text()}")
        try:
            requests.get(base + "/health", timeout=(2, 10)).raise_for_status()
            return
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.1)
    pytest.fail("idp serve did not come up: " + errors.read_text())


def login_page(browser: requests.Session, base: str, portal: dict) -> requests.Response:
    """The sign-in page of a new authorization request of the portal."""
    response = browser.get(base + "/authorize", timeout=10, params={
        "response_type": "code", "client_id": portal["client_id"], "redirect_uri": portal["redirect_uris"][0],
        "scope": "openid", "state": "s2", "nonce": "n2", "code_challenge": pkce_pair()[1],
        "code_challenge_method": "S256"})
    assert response.status_code == 200 and "/login/" in response.url, response.url
    return response

