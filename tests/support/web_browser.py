"""The browser walk of picket's web interface, in real headless Chromium driven by Selenium.

Run by tests/web_browser.rs, which starts `picket serve`, makes the administrator and the
campaign, and passes everything through the environment:

  PICKET_WEB_BASE       http://127.0.0.1:PORT
  PICKET_WEB_DATA       the registry's data directory (its outbox holds the mailed links)
  PICKET_WEB_WORK       a scratch directory (wheels, the browser profile)
  PICKET_WEB_SHOTS      where screenshots go
  PICKET_WEB_ROOT_TOTP  the administrator `root`'s TOTP secret
  PICKET_WEB_CAMPAIGN   the id of the detected campaign
  PICKET_WEB_AXE        axe.min.js (optional: accessibility is checked when given)
  PICKET_WEB_TWINE      the twine executable
  PICKET_WEB_BOT_PROJECTS  the campaign members' projects, comma-separated

Each step prints one line; any failed check raises, and the exit status is non-zero.
"""

import base64
import hashlib
import hmac
import http.server
import json
import os
import re
import struct
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib

import zxingcpp
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

BASE = os.environ["PICKET_WEB_BASE"]
DATA = os.environ["PICKET_WEB_DATA"]
WORK = os.environ["PICKET_WEB_WORK"]
SHOTS = os.environ["PICKET_WEB_SHOTS"]
ROOT_TOTP = os.environ["PICKET_WEB_ROOT_TOTP"]
CAMPAIGN = os.environ["PICKET_WEB_CAMPAIGN"]
AXE = os.environ.get("PICKET_WEB_AXE", "")
TWINE = os.environ["PICKET_WEB_TWINE"]
BOT_PROJECTS = os.environ["PICKET_WEB_BOT_PROJECTS"].split(",")
PASSWORD = "correct horse battery"
XSS = '<script>alert("x1")</script><img src=x onerror=alert("x2")>'

os.makedirs(SHOTS, exist_ok=True)
ALL_VIOLATIONS = []
STARTED = time.monotonic()


def step(message):
    print(f"[{time.monotonic() - STARTED:6.1f}s] {message}", flush=True)


# --- TOTP (RFC 6238) and one code per time step -------------------------------------------------
USED_STEPS = {}


def totp(secret, at):
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", at // 30), hashlib.sha1).digest()
    offset = digest[19] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


def fresh_code(secret):
    """A code for a time step not used yet by this secret (the server accepts one step of drift
    each way and each step once), waiting for the next step when both are spent."""
    while True:
        now = int(time.time())
        last = USED_STEPS.get(secret, -1)
        for at in (now, now + 30):
            if at // 30 > last:
                USED_STEPS[secret] = at // 30
                return totp(secret, at)
        time.sleep(1)


# --- a minimal PNG decoder (8-bit RGB/RGBA, not interlaced: what Chromium writes) --------------
def png_to_gray(png):
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width, height, channels = 8, b"", 0, 0, 0
    while pos < len(png):
        length, kind = struct.unpack(">I4s", png[pos : pos + 8])
        chunk = png[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", chunk)
            assert depth == 8 and interlace == 0 and color in (2, 6), (depth, color, interlace)
            channels = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat += chunk
        elif kind == b"IEND":
            break
    raw = zlib.decompress(idat)
    stride = width * channels
    prev = bytearray(stride)
    gray = bytearray()
    i = 0
    for _ in range(height):
        kind = raw[i]
        line = bytearray(raw[i + 1 : i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - channels] if x >= channels else 0
            b = prev[x]
            c = prev[x - channels] if x >= channels else 0
            if kind == 1:
                line[x] = (line[x] + a) & 0xFF
            elif kind == 2:
                line[x] = (line[x] + b) & 0xFF
            elif kind == 3:
                line[x] = (line[x] + (a + b) // 2) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[x] = (line[x] + pred) & 0xFF
        prev = line
        for x in range(0, stride, channels):
            gray.append((line[x] * 299 + line[x + 1] * 587 + line[x + 2] * 114) // 1000)
    return memoryview(bytes(gray)).cast("B", (height, width))


# --- wheels ---------------------------------------------------------------------------------------
def wheel(name, version, code, description=None, summary="a test package"):
    escaped = name.replace("-", "_")
    path = os.path.join(WORK, f"{escaped}-{version}-py3-none-any.whl")
    meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: {summary}\n"
    if description is not None:
        meta += f"Description-Content-Type: text/markdown\n\n{description}\n"
    dist = f"{escaped}-{version}.dist-info"
    with zipfile.ZipFile(path, "w") as z:
        if code:
            z.writestr(f"{escaped}/__init__.py", code)
        z.writestr(f"{dist}/METADATA", meta)
        z.writestr(
            f"{dist}/WHEEL",
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        z.writestr(f"{dist}/RECORD", "")
    return path


def twine_upload(token, path):
    out = subprocess.run(
        [TWINE, "upload", "--non-interactive", "--disable-progress-bar",
         "--repository-url", f"{BASE}/legacy/", "-u", "__token__", "-p", token, path],
        capture_output=True, text=True, env={**os.environ, "NO_COLOR": "1"},
    )
    assert out.returncode == 0, out.stdout + out.stderr


def on_simple(name):
    """Whether installers see `name`: listed in /simple/ with files on its page."""
    def get(path):
        request = urllib.request.Request(
            f"{BASE}{path}", headers={"Accept": "application/vnd.pypi.simple.v1+json"})
        try:
            with urllib.request.urlopen(request) as r:
                return json.load(r)
        except urllib.error.HTTPError:
            return None
    listed = any(p["name"] == name for p in get("/simple/")["projects"])
    page = get(f"/simple/{name}/")
    return listed and bool(page and page["files"])


# --- the browser ------------------------------------------------------------------------------------
def browser():
    options = Options()
    options.binary_location = os.environ.get("PICKET_WEB_CHROMIUM", "/usr/bin/chromium")
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1280,1000",
                f"--user-data-dir={os.path.join(WORK, 'profile-' + str(time.monotonic_ns()))}"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=os.environ.get("PICKET_WEB_CHROMEDRIVER", "/usr/bin/chromedriver"))
    return webdriver.Chrome(options=options, service=service)


driver = browser()


def go(path):
    driver.get(f"{BASE}{path}" if path.startswith("/") else path)


def fill(field_id, value):
    element = driver.find_element(By.ID, field_id)
    element.clear()
    element.send_keys(value)


def click(element):
    """Clicks something that loads a page, and waits for the new page.

    The old page is marked with a window property that a new document does not have. Waiting on the
    old `<html>` element going stale instead is racy: while Chromium swaps documents, asking about the
    old node can fail with "Node with given id does not belong to the document" rather than the stale
    element error, so every driver error while the page changes counts as "not yet"."""
    marker = f"picket-{time.monotonic_ns()}"
    driver.execute_script("window.__picketPage = arguments[0];", marker)
    element.click()

    def new_page(d):
        try:
            return d.execute_script("return document.readyState !== 'loading' && window.__picketPage === undefined;")
        except WebDriverException:
            return False

    WebDriverWait(driver, 15).until(new_page)


def submit(css="main form button[type=submit]"):
    click(driver.find_element(By.CSS_SELECTOR, css))


def body_text():
    return driver.find_element(By.TAG_NAME, "main").text


def shot(name, width=1280):
    driver.set_window_size(width, 1000)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, min(max(height + 100, 600), 4000))
    driver.save_screenshot(os.path.join(SHOTS, f"{name}.png"))
    driver.set_window_size(1280, 1000)


def no_script_ran():
    """Nothing the page was given ran: no alert is open, and no script or handler made it into
    the page from the payloads (the CSP would stop it too, so the markup is checked as well)."""
    try:
        alert = driver.switch_to.alert
        raise AssertionError(f"an alert opened: {alert.text}")
    except Exception as e:  # noqa: BLE001 - NoAlertPresentException is the good outcome
        if isinstance(e, AssertionError):
            raise
    html = driver.page_source
    assert "<script" not in html, "a script element in the page"
    assert "onerror=" not in driver.execute_script(
        "return [...document.querySelectorAll('*')].map(e => [...e.attributes].map(a => a.name + '=').join(' ')).join(' ')"
    ), "an event handler attribute in the page"


def axe(page_name):
    if not AXE:
        return
    with open(AXE, encoding="utf-8") as f:
        source = f.read()
    result = driver.execute_async_script(
        source + "\nconst done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations.map(v => "
        "({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(' '))}))));"
    )
    bad = [v for v in result if v["impact"] in ("serious", "critical")]
    for v in result:
        ALL_VIOLATIONS.append((page_name, v["impact"], v["id"], v["help"], v["nodes"][:3]))
    assert not bad, f"axe on {page_name}: {json.dumps(bad, indent=1)}"


def both_schemes(page_name):
    """axe in light and dark."""
    axe(page_name)
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "dark"}]})
    axe(page_name + " (dark)")
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})


def mailed_link(address):
    outbox = os.path.join(DATA, "outbox")
    for name in sorted(os.listdir(outbox), reverse=True):
        with open(os.path.join(outbox, name), encoding="utf-8") as f:
            mail = f.read()
        if address in mail:
            match = re.search(r"(http://\S+/account/verify-email\?token=\S+)", mail)
            if match:
                return match.group(1)
    raise AssertionError(f"no verification mail to {address}")


try:
    # 1. Home and registration, with the e-mail policy's message at the e-mail field.
    go("/")
    assert "Find, install and publish Python packages" in body_text()
    both_schemes("home")
    shot("home")
    go("/account/register/")
    fill("username", "alice")
    fill("email", "alice@example")
    fill("password", PASSWORD)
    submit()
    error = driver.find_element(By.ID, "email-error").text
    assert "isn't valid" in error, error
    assert driver.find_element(By.ID, "email").get_attribute("aria-invalid") == "true"
    both_schemes("register with an error")
    shot("register-error")
    fill("email", "alice@example.org")
    fill("password", PASSWORD)
    submit()
    assert "We sent a verification link" in body_text(), body_text()
    step("registered alice; the address error was shown at the e-mail field")

    # 2. Verify through the mailed link.
    go(mailed_link("alice@example.org"))
    submit()
    assert "is verified" in body_text(), body_text()
    step("verified through the outbox mail")

    # 3. Log in, enrol TOTP from the QR code.
    go("/account/login/")
    fill("username", "alice")
    fill("password", PASSWORD)
    submit()
    assert driver.current_url.endswith("/account/"), driver.current_url
    both_schemes("account")
    go("/account/two-factor/")
    submit()
    qr = driver.find_element(By.ID, "totp-qr")
    both_schemes("two-factor enrolment")
    shot("two-factor")
    decoded = zxingcpp.read_barcodes(png_to_gray(qr.screenshot_as_png))
    assert decoded, "the QR code did not decode"
    uri = decoded[0].text
    assert uri.startswith("otpauth://totp/picket:alice?"), uri
    secret = re.search(r"secret=([A-Z2-7]+)", uri).group(1)
    assert secret == driver.find_element(By.ID, "totp-secret").text
    fill("code", fresh_code(secret))
    submit()
    assert "Your account asks for a code" in body_text(), body_text()
    codes = [c.text for c in driver.find_elements(By.CSS_SELECTOR, "#recovery-codes code")]
    assert len(codes) == 8 and all(re.fullmatch(r"[a-z2-7]{5}-[a-z2-7]{5}", c) for c in codes), codes
    both_schemes("recovery codes")
    step("enrolled TOTP from the decoded QR code; 8 recovery codes shown once")

    # Log out, and in again with a code.
    click(driver.find_element(By.CSS_SELECTOR, "header form button"))
    go("/account/login/")
    fill("username", "alice")
    fill("password", PASSWORD)
    submit()
    assert "Two-factor authentication is on" in body_text(), body_text()
    fill("password", PASSWORD)
    fill("totp", fresh_code(secret))
    submit()
    assert driver.current_url.endswith("/account/"), driver.current_url + body_text()
    step("logged in again with a TOTP code")

    # 4. A token (its name hostile), shown once; twine upload with it.
    fill("token-name", XSS)
    submit("form[action='/account/tokens/'] button")
    token = driver.find_element(By.CSS_SELECTOR, "#new-token code").text
    assert re.fullmatch(r"pkt-[a-z2-7]{52}", token), token
    assert XSS in body_text(), "the token name is shown as text"
    no_script_ran()
    shot("token-created")
    description = f"# Harbor kit\n\nA **real** tool.\n\n{XSS}\n\n[x](javascript:alert(3))\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"
    twine_upload(token, wheel("harbor-kit", "1.0", "def main():\n    return 1\n", description, summary=XSS))
    twine_upload(token, wheel("harbor-kit", "1.1", "def main():\n    return 2\n", description, summary=XSS))
    step("uploaded harbor-kit 1.0 and 1.1 with twine and the web-made token")

    # 5. The project page: rendered Markdown, payloads as text, files with hashes.
    go("/project/harbor-kit/")
    assert driver.find_element(By.CSS_SELECTOR, ".description h1").text == "Harbor kit"
    assert driver.find_element(By.CSS_SELECTOR, ".summary").text == XSS
    assert "harbor_kit-1.1-py3-none-any.whl" in body_text()
    assert driver.find_elements(By.CSS_SELECTOR, ".description table")
    assert not driver.find_elements(By.CSS_SELECTOR, ".description a[href^='javascript']")
    no_script_ran()
    both_schemes("project")
    shot("project")
    shot("project-phone", width=390)
    go("/project/harbor-kit/1.0/")
    assert "harbor-kit==1.0" in body_text()
    step("project and release pages: Markdown rendered, payloads shown as text")

    # Yank with a hostile reason; it shows as text.
    go("/manage/project/harbor-kit/")
    fill("reason-2", XSS)
    click(driver.find_element(By.XPATH, "//input[@id='reason-2']/ancestor::form//button"))
    go("/project/harbor-kit/1.0/")
    assert "Yanked" in body_text() and XSS in body_text(), body_text()
    no_script_ran()
    # Removing a release starts with a page of what goes; leaving it removes nothing.
    go("/manage/project/harbor-kit/")
    click(driver.find_element(By.XPATH, "//button[contains(., 'release 1.0 or')]"))
    assert "harbor_kit-1.0-py3-none-any.whl" in body_text(), body_text()
    both_schemes("remove confirmation")
    go(f"/search/?q={urllib.parse.quote(XSS)}")
    no_script_ran()
    go("/search/?q=harbor")
    assert "harbor-kit" in body_text()
    both_schemes("search")
    shot("search")
    step("yank reason and search query shown as text")

    # 6. An empty upload is held; the owner sees why.
    twine_upload(token, wheel("tidewater-shell", "0.1", None))
    assert not on_simple("tidewater-shell")
    go("/account/")
    assert "held for review" in body_text()
    go("/manage/project/tidewater-shell/")
    assert "Held for review" in body_text()
    evidence = driver.find_element(By.CSS_SELECTOR, ".banner .evidence").text
    assert "empty" in evidence, evidence
    both_schemes("manage a held project")
    shot("held-project")
    step("the empty upload is held and its owner sees the gate's evidence")

    # Alice is no administrator: the console refuses her.
    go("/admin/")
    assert "for the index's administrators" in body_text(), body_text()

    # 7. A forged cross-site form post is refused (another site: localhost vs 127.0.0.1).
    port = int(BASE.rsplit(":", 1)[1])
    target = f"http://127.0.0.1:{port}/account/tokens/"

    class Evil(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            page = (f'<!DOCTYPE html><html lang="en"><title>evil</title><form method="post" action="{target}">'
                    '<input name="name" value="stolen"><input name="csrf" value="guess">'
                    '<button id="go" type="submit">win a prize</button></form></html>').encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args):
            pass

    evil = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Evil)
    threading.Thread(target=evil.serve_forever, daemon=True).start()
    go(f"http://localhost:{evil.server_address[1]}/")
    click(driver.find_element(By.ID, "go"))
    # SameSite=Strict keeps the session cookie off a cross-site post, so it arrives signed out
    # (and without the CSRF cookie): the login page, nothing made.
    landed = driver.current_url
    page = driver.find_element(By.TAG_NAME, "body").text
    assert "/account/login/" in landed or "CSRF check failed" in page, (landed, page)
    assert "pkt-" not in page
    evil.shutdown()
    go("/account/")
    assert "stolen" not in body_text()
    step(f"a forged cross-site post was refused (landed on {landed.split('?')[0]})")

    # 8. The administrator: log in with a code, release the held project.
    driver.delete_all_cookies()
    go("/account/login/?next=/admin/")
    fill("username", "root")
    fill("password", PASSWORD)
    fill("totp", fresh_code(ROOT_TOTP))
    submit()
    assert driver.current_url.endswith("/admin/"), driver.current_url
    both_schemes("admin dashboard")
    shot("admin")
    go("/admin/quarantine/")
    assert "tidewater-shell" in body_text()
    both_schemes("quarantine queue")
    shot("admin-quarantine")
    driver.find_element(By.CSS_SELECTOR, "input[value='tidewater-shell']").click()
    click(driver.find_element(By.CSS_SELECTOR, "button[value='preview-remove']"))
    assert "project.remove" in body_text(), body_text()
    both_schemes("quarantine removal preview")
    go("/admin/quarantine/")
    driver.find_element(By.CSS_SELECTOR, "input[value='tidewater-shell']").click()
    fill("reason-q", "reviewed: an empty placeholder, harmless")
    fill("totp-q", "123456" if totp(ROOT_TOTP, int(time.time())) != "123456" else "654321")
    click(driver.find_element(By.CSS_SELECTOR, "button[value='release']"))
    assert "two-factor code is invalid" in body_text(), body_text()
    assert not on_simple("tidewater-shell")
    driver.find_element(By.CSS_SELECTOR, "input[value='tidewater-shell']").click()
    fill("reason-q", "reviewed: an empty placeholder, harmless")
    fill("totp-q", fresh_code(ROOT_TOTP))
    click(driver.find_element(By.CSS_SELECTOR, "button[value='release']"))
    assert "Done:" in body_text(), body_text()
    assert on_simple("tidewater-shell")
    step("a wrong code changed nothing; with a fresh code the admin released the held project")

    # 9. The campaign: preview exactly what apply changes, confirm, members' projects gone.
    go("/admin/campaigns/")
    click(driver.find_element(By.LINK_TEXT, CAMPAIGN))
    both_schemes("campaign")
    shot("admin-campaign")
    click(driver.find_element(By.CSS_SELECTOR, "button[value='apply']"))
    rows = driver.find_elements(By.CSS_SELECTOR, "#preview tbody tr")
    kinds = [r.find_element(By.TAG_NAME, "code").text for r in rows]
    assert "project.quarantine" in kinds and "account.disable" in kinds, kinds
    assert on_simple(BOT_PROJECTS[0]), "a preview changes nothing"
    both_schemes("campaign preview")
    shot("admin-campaign-preview")
    fill("reason-c", "fake-account campaign, reviewed")
    fill("totp-c", fresh_code(ROOT_TOTP))
    click(driver.find_element(By.CSS_SELECTOR, "form[action$='/confirm/'] button"))
    assert "Done:" in body_text(), body_text()
    done = len(driver.find_elements(By.CSS_SELECTOR, ".banner.ok li"))
    assert done == len(rows), (done, len(rows))
    for name in BOT_PROJECTS:
        assert not on_simple(name), name
    step(f"campaign previewed ({len(rows)} changes) and applied; its projects left /simple/")

    go("/admin/users/?q=bot")
    assert "disabled" in body_text()
    both_schemes("users")
    shot("admin-users")
    step("users page lists the disabled members")
    go("/admin/audit/?kind=campaign.")
    assert "campaign.apply" in body_text(), body_text()
    both_schemes("audit log")
    shot("admin-audit")
    go("/admin/domains/")
    assert "inbox.example" in body_text(), "the campaign prohibited its domain"
    both_schemes("domains")
    step("audit log and domain policy pages")
finally:
    driver.quit()
    with open(os.path.join(SHOTS, "axe.json"), "w", encoding="utf-8") as f:
        json.dump(ALL_VIOLATIONS, f, indent=1)
print(f"minor or moderate accessibility findings: {len(ALL_VIOLATIONS)}")
print("ok")
