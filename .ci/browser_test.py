#!/usr/bin/env python3
"""End-to-end test of the admin page in headless Chromium, driven through ChromeDriver's
W3C WebDriver HTTP API with the standard library only.

    python3 .ci/browser_test.py SHOTS_DIR NAME=BINARY[@WIDTHxHEIGHT] ...

For each NAME=BINARY (a window of 1280x900 unless given) it starts the server on free
loopback ports with a fresh database, a fresh Chromium profile and a known admin password,
and walks the flow a person would: log in, add an integration, read its token off the
page, use it for a real SCIM request (201), rotate with no grace period (old token 401,
new 200), rename, view details (the API URL shown, never the token), delete (token 401),
log out. Keyboard focus, the HttpOnly cookie and the URLs are checked on the way. A
screenshot of each step goes to SHOTS_DIR/NAME/NN-step.png.
"""

import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
PASSWORD = "browser-test-password-1"
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"
NAME = "Okta <EU> & co"
RENAMED = "Okta Europe"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method, url, body=None, headers=None, timeout=30):
    """(status, parsed JSON or text) of one request; HTTP errors are answers too."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, raw = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    try:
        return status, json.loads(raw or b"null")
    except ValueError:
        return status, raw.decode("utf-8", "replace")


def wait_for(what, check, timeout=30):
    deadline = time.time() + timeout
    while True:
        try:
            if check():
                return
        except (OSError, AssertionError):
            pass  # not up yet, or the page is between two documents
        if time.time() > deadline:
            sys.exit(f"timed out waiting for {what}")
        time.sleep(0.1)


class Browser:
    """One WebDriver session."""

    def __init__(self, driver, profile, width, height):
        args = [
            "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--disable-quic", "--disable-dev-shm-usage",
            f"--user-data-dir={profile}", f"--window-size={width},{height}",
        ]
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": args},
        }}}
        if width < 500:
            # A desktop window is at least 500 px wide: narrower is a phone's viewport.
            caps["capabilities"]["alwaysMatch"]["goog:chromeOptions"]["mobileEmulation"] = {
                "deviceMetrics": {"width": width, "height": height, "pixelRatio": 1}}
        status, r = http("POST", f"{driver}/session", caps, timeout=60)
        if status != 200:
            sys.exit(f"WebDriver session: {status} {r}")
        self.base = f"{driver}/session/{r['value']['sessionId']}"
        # Finding an element waits up to 5 s for it (a form's answer may still be loading).
        self.call("POST", "/timeouts", {"implicit": 5000, "pageLoad": 30000})

    def call(self, method, path, body=None):
        status, r = http(method, self.base + path, body)
        if status != 200:
            raise AssertionError(f"WebDriver {method} {path}: {status} {r}")
        return r["value"]

    def go(self, url):
        self.call("POST", "/url", {"url": url})

    def url(self):
        return self.call("GET", "/url")

    def find(self, css=None, xpath=None):
        using, value = ("css selector", css) if css else ("xpath", xpath)
        return self.call("POST", "/element", {"using": using, "value": value})[ELEMENT]

    def exists(self, xpath):
        # Without the implicit wait: an absent element is the expected answer here.
        self.call("POST", "/timeouts", {"implicit": 0})
        try:
            return bool(self.call("POST", "/elements", {"using": "xpath", "value": xpath}))
        finally:
            self.call("POST", "/timeouts", {"implicit": 5000})

    def click(self, el):
        self.call("POST", f"/element/{el}/click", {})

    def follow(self, el):
        """Clicks `el` and waits for the next page to have loaded."""
        self.script("window.__before = true")
        self.click(el)
        wait_for("the next page", lambda: self.script(
            "return window.__before !== true && document.readyState === 'complete'"), 30)

    def type(self, el, text, clear=False):
        if clear:
            self.call("POST", f"/element/{el}/clear", {})
        self.call("POST", f"/element/{el}/value", {"text": text})

    def prop(self, el, name):
        return self.call("GET", f"/element/{el}/property/{name}")

    def text(self, css):
        return self.call("GET", f"/element/{self.find(css)}/text")

    def script(self, js):
        return self.call("POST", "/execute/sync", {"script": js, "args": []})

    def source(self):
        return self.call("GET", "/source")

    def tab(self, times=1):
        keys = []
        for _ in range(times):
            keys += [{"type": "keyDown", "value": "\ue004"}, {"type": "keyUp", "value": "\ue004"}]
        self.call("POST", "/actions", {"actions": [{"type": "key", "id": "kb", "actions": keys}]})
        self.call("DELETE", "/actions")

    def screenshot(self, path):
        with open(path, "wb") as f:
            f.write(base64.b64decode(self.call("GET", "/screenshot")))

    def quit(self):
        http("DELETE", self.base)


def walk(name, binary, width, height, shots, work):
    os.makedirs(shots, exist_ok=True)
    scim_port, admin_port, driver_port = free_port(), free_port(), free_port()
    api = f"http://127.0.0.1:{scim_port}/scim/v2"
    admin = f"http://127.0.0.1:{admin_port}/admin"
    procs = []
    browser = None
    step = [0]

    def shot(label):
        step[0] += 1
        browser.screenshot(os.path.join(shots, f"{step[0]:02d}-{label}.png"))

    def scim(token, method="GET", path="/Users", body=None):
        headers = {"Authorization": f"Bearer {token}"}
        if body is not None:
            headers["Content-Type"] = "application/scim+json"
        return http(method, api + path, body, headers)[0]

    def heading():
        return browser.text("h1")

    def check_url_clean(*tokens):
        u = browser.url()
        for t in tokens:
            assert t not in u, "a token in the URL"

    try:
        env = dict(os.environ, SCIM_ADMIN_PASSWORD=PASSWORD, RUST_LOG="info")
        log = open(os.path.join(work, f"{name}-server.log"), "wb")
        procs.append(subprocess.Popen(
            [binary, "serve", "--bind", f"127.0.0.1:{scim_port}", "--base-url", api,
             "--admin-bind", f"127.0.0.1:{admin_port}",
             "--database", os.path.join(work, f"{name}.db")],
            env=env, stdout=subprocess.DEVNULL, stderr=log))
        procs.append(subprocess.Popen(
            [CHROMEDRIVER, f"--port={driver_port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        driver = f"http://127.0.0.1:{driver_port}"
        wait_for("the admin page", lambda: http("GET", admin + "/login", timeout=2)[0] == 200)
        wait_for("chromedriver", lambda: http("GET", driver + "/status", timeout=2)[1]["value"]["ready"])
        browser = Browser(driver, os.path.join(work, f"{name}-profile"), width, height)

        # Log in: the page redirects there; a wrong password is refused first.
        browser.go(admin)
        assert browser.url().endswith("/admin/login"), browser.url()
        assert heading() == "Log in"
        assert browser.script("return document.activeElement.id") == "password", \
            "the password field has focus"
        browser.type(browser.find("#password"), "not the password")
        browser.follow(browser.find(css="form button[type=submit]"))
        assert "Wrong password" in browser.text(".error")
        shot("login-refused")
        browser.type(browser.find("#password"), PASSWORD, clear=True)
        shot("login")
        browser.follow(browser.find(css="form button[type=submit]"))
        assert heading() == "Integrations", heading()
        assert browser.script("return document.cookie") == "", "the session cookie is HttpOnly"
        order = []
        for _ in range(4):
            browser.tab()
            order.append(browser.script("return document.activeElement.textContent.trim()"))
        assert order == ["Skip to content", "SCIM admin", "Log out", "Add and configure (SCIM)"], \
            f"focus order: {order}"
        shot("integrations")

        # Add and configure (SCIM) -> name -> Generate token.
        browser.follow(browser.find(xpath="//a[normalize-space()='Add and configure (SCIM)']"))
        assert heading() == "Add and configure (SCIM)"
        assert browser.script("return document.activeElement.id") == "name", "the name field has focus"
        browser.type(browser.find("#name"), NAME)
        shot("add")
        browser.follow(browser.find(xpath="//button[normalize-space()='Generate token']"))
        assert heading() == f"Token for {NAME}", heading()
        token = browser.prop(browser.find("#token"), "value")
        assert token.startswith("scim_"), token
        assert browser.prop(browser.find("#api-url"), "value") == api
        assert "will not be shown again" in browser.text(".warning")
        check_url_clean(token)
        browser.click(browser.find(xpath="//button[normalize-space()='Copy token']"))
        wait_for("the copy status", lambda: browser.text("#token-status") != "", 5)
        copied = browser.text("#token-status")
        assert copied in ("Copied.", "Press Ctrl+C to copy."), copied
        shot("token-shown-once")
        # Done is refused until the box is ticked.
        browser.click(browser.find(xpath="//button[normalize-space()='Done']"))
        assert heading() == f"Token for {NAME}", "Done needs the checkbox"
        assert browser.script("return document.getElementById('copied').validity.valueMissing")
        browser.click(browser.find("#copied"))
        shot("token-copied-ticked")
        browser.follow(browser.find(xpath="//button[normalize-space()='Done']"))
        assert heading() == "Integrations"
        assert "Done." in browser.text(".notice")
        assert token not in browser.source()
        row = f"//tr[td/a[normalize-space()='{NAME}']]"
        assert browser.exists(row)
        shot("integrations-added")

        # The token works: a real SCIM request.
        user = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": f"browser-{name}@example.com", "active": True}
        assert scim(token, "POST", "/Users", user) == 201, "POST /Users with the token"

        # Rotate with no grace period.
        browser.follow(browser.find(xpath=f"{row}//a[normalize-space()='Rotate token']"))
        assert heading() == f"Rotate the token of {NAME}"
        assert browser.prop(browser.find("input[name=grace][value='0']"), "checked")
        shot("rotate")
        browser.follow(browser.find(xpath="//button[normalize-space()='Rotate token']"))
        assert heading() == f"New token for {NAME}", heading()
        new_token = browser.prop(browser.find("#token"), "value")
        assert new_token.startswith("scim_") and new_token != token
        check_url_clean(token, new_token)
        shot("rotated-token")
        assert scim(token) == 401, "the old token stops at once"
        assert scim(new_token) == 200, "the new token works"
        browser.click(browser.find("#copied"))
        browser.follow(browser.find(xpath="//button[normalize-space()='Done']"))
        assert heading() == "Integrations"

        # Rename.
        browser.follow(browser.find(xpath=f"{row}//a[normalize-space()='Rename']"))
        assert heading() == f"Rename {NAME}"
        browser.type(browser.find("#name"), RENAMED, clear=True)
        shot("rename")
        browser.follow(browser.find(xpath="//button[normalize-space()='Rename']"))
        assert heading() == RENAMED, heading()
        assert "Renamed" in browser.text(".notice")
        assert scim(new_token) == 200, "renaming keeps the token"

        # View details from the list: the API URL, created, last used; never a token.
        browser.follow(browser.find(xpath="//a[normalize-space()='Back to integrations']"))
        row = f"//tr[td/a[normalize-space()='{RENAMED}']]"
        browser.follow(browser.find(xpath=f"{row}//a[normalize-space()='View details']"))
        assert heading() == RENAMED
        assert browser.prop(browser.find("#api-url"), "value") == api
        details = browser.text("dl")
        assert "Created" in details and "Last used" in details and "never" not in details, details
        src = browser.source()
        assert new_token not in src and token not in src and "scim_" not in src.split("<main", 1)[1]
        browser.click(browser.find(xpath="//button[normalize-space()='Copy URL']"))
        shot("details")

        # Delete, after the confirmation page.
        browser.follow(browser.find(xpath="//a[normalize-space()='Delete']"))
        assert heading() == f"Delete {RENAMED}?"
        shot("delete-confirm")
        assert scim(new_token) == 200, "the confirmation page deletes nothing"
        browser.follow(browser.find(xpath="//button[normalize-space()='Delete integration']"))
        assert heading() == "Integrations"
        assert "Deleted" in browser.text(".notice")
        assert not browser.exists(row)
        assert browser.exists("//tr[td/a[normalize-space()='default']]"), "the others stay"
        shot("deleted")
        assert scim(new_token) == 401, "deleting ends the token"

        # Log out: the session is gone.
        browser.follow(browser.find(xpath="//button[normalize-space()='Log out']"))
        assert heading() == "Log in"
        browser.go(admin)
        assert browser.url().endswith("/admin/login")
        shot("logged-out")
        print(f"{name}: the walk passed ({step[0]} screenshots in {shots})")
    except Exception:
        if browser is not None:
            try:
                browser.screenshot(os.path.join(shots, "FAILED.png"))
                print(f"{name}: failed at {browser.url()}; screenshot {shots}/FAILED.png",
                      file=sys.stderr)
            except Exception:
                pass
        with open(os.path.join(work, f"{name}-server.log"), "rb") as f:
            sys.stderr.write(f.read().decode("utf-8", "replace")[-3000:])
        raise
    finally:
        if browser is not None:
            browser.quit()
        for p in reversed(procs):
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    shots = sys.argv[1]
    os.makedirs(shots, exist_ok=True)
    print(f"screenshots: {shots}")
    work = tempfile.mkdtemp(prefix="scim-browser-")
    try:
        for spec in sys.argv[2:]:
            name, binary = spec.split("=", 1)
            size = "1280x900"
            if "@" in binary:
                binary, size = binary.rsplit("@", 1)
            width, height = (int(n) for n in size.split("x"))
            walk(name, binary, width, height, os.path.join(shots, name), work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
