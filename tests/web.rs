//! The web interface over HTTP against a real `picket serve`: first contact, security headers and
//! cookies, CSRF, every admin URL for signed-out, non-admin and admin-without-2FA visitors,
//! escaping of hostile input, and the pages' content. The browser walk (real headless Chromium,
//! Selenium) is `tests/web_browser.rs`.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::Server;
use common::registry::{Registry, totp_at};

/// A browser-like HTTP client: keeps cookies, sends forms with the CSRF token.
struct Web {
    base: String,
    cookies: BTreeMap<String, String>,
}

struct Answer {
    status: u16,
    location: String,
    body: String,
    headers: ureq::http::HeaderMap,
}

impl Web {
    fn new(base: &str) -> Self {
        Self {
            base: base.to_owned(),
            cookies: BTreeMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep(&mut self, mut resp: ureq::http::Response<ureq::Body>) -> Answer {
        for v in resp.headers().get_all("set-cookie") {
            let v = v.to_str().unwrap();
            let (pair, _) = v.split_once(';').unwrap_or((v, ""));
            let (k, val) = pair.split_once('=').unwrap();
            if v.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_owned(), val.to_owned());
            }
        }
        Answer {
            status: resp.status().as_u16(),
            location: resp
                .headers()
                .get("location")
                .map(|l| l.to_str().unwrap().to_owned())
                .unwrap_or_default(),
            headers: resp.headers().clone(),
            body: resp.body_mut().read_to_string().unwrap_or_default(),
        }
    }

    fn get(&mut self, path: &str) -> Answer {
        let mut req = Registry::agent().get(&format!("{}{path}", self.base));
        if !self.cookies.is_empty() {
            req = req.header("Cookie", &self.cookie_header());
        }
        let resp = req.call().unwrap();
        self.keep(resp)
    }

    /// Posts a form with this client's CSRF token (fetching a page first if it has none).
    fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Answer {
        if !self.cookies.contains_key("picket_csrf") {
            self.get("/");
        }
        let csrf = self.cookies["picket_csrf"].clone();
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(path, &all, None)
    }

    fn post_raw(&mut self, path: &str, fields: &[(&str, &str)], origin: Option<&str>) -> Answer {
        let body = fields
            .iter()
            .map(|(k, v)| format!("{k}={}", urlencode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let mut req = Registry::agent()
            .post(&format!("{}{path}", self.base))
            .header("Content-Type", "application/x-www-form-urlencoded");
        if !self.cookies.is_empty() {
            req = req.header("Cookie", &self.cookie_header());
        }
        if let Some(o) = origin {
            req = req.header("Origin", o);
        }
        let resp = req.send(body.as_bytes()).unwrap();
        self.keep(resp)
    }

    fn log_in(&mut self, user: &str, totp: Option<&str>) {
        let a = self.post(
            "/account/login/",
            &[
                ("username", user),
                ("password", "correct horse battery"),
                ("totp", totp.unwrap_or("")),
                ("next", "/account/"),
            ],
        );
        assert_eq!(
            (a.status, a.location.as_str()),
            (303, "/account/"),
            "{}",
            a.body
        );
        assert!(self.cookies.contains_key("picket_session"));
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Every admin page and action, as (method, path).
const ADMIN_URLS: &[(&str, &str)] = &[
    ("GET", "/admin/"),
    ("GET", "/admin/quarantine/"),
    ("POST", "/admin/quarantine/"),
    ("GET", "/admin/campaigns/"),
    ("GET", "/admin/campaigns/some-id/"),
    ("POST", "/admin/campaigns/some-id/preview/"),
    ("POST", "/admin/campaigns/some-id/confirm/"),
    ("GET", "/admin/users/"),
    ("POST", "/admin/users/"),
    ("POST", "/admin/users/preview/"),
    ("GET", "/admin/domains/"),
    ("POST", "/admin/domains/"),
    ("GET", "/admin/audit/"),
];

#[test]
fn first_start_prints_next_steps_and_the_empty_home_page_tells_an_admin() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut child = Command::new(env!("CARGO_BIN_EXE_picket"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .env("PICKET_LOG", "warn")
        .envs(common::database_for(&data).map(|u| ("PICKET_DATABASE_URL", u)))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let base = common::announced_url(&mut child)
        .trim_end_matches("/simple/")
        .to_owned();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut said = String::new();
    while !said.contains("uv publish") {
        let mut line = String::new();
        assert!(err.read_line(&mut line).unwrap() > 0, "{said}");
        said.push_str(&line);
    }
    let _server = Server(child);
    assert!(said.contains("This registry is empty"), "{said}");
    assert!(said.contains(&format!("web:          {base}/")), "{said}");
    assert!(said.contains("picket admin create-user NAME --email ADDRESS --admin"));
    assert!(said.contains(&format!("pip install --index-url {base}/simple/")));
    assert!(said.contains(&format!("UV_DEFAULT_INDEX={base}/simple/")));
    assert!(said.contains(&format!("twine upload --repository-url {base}/legacy/")));

    // Anyone sees an empty index; an administrator sees how to begin.
    let mut web = Web::new(&base);
    let home = web.get("/");
    assert_eq!(home.status, 200);
    assert!(home.body.contains("No projects yet."));
    assert!(!home.body.contains("This registry is empty"));
    common::create_admin(&data, "root");
    web.log_in("root", None);
    let home = web.get("/");
    assert!(
        home.body.contains("This registry is empty"),
        "{}",
        home.body
    );
    assert!(
        home.body
            .contains(&format!("twine upload --repository-url {base}/legacy/"))
    );
}

#[test]
fn pages_forms_and_admin_urls_are_guarded() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    common::create_admin(&data, "root");
    let registry = Registry::start(&data, &[]);
    let (token, mallory_totp) = registry.onboard("mallory");
    // A project whose every written field is hostile.
    let xss = "<script>alert(1)</script><img src=x onerror=alert(2)>";
    let wheel = picket_testkit::zip(&[
        ("demo_xss/__init__.py", b"def f():\n    return 1\n"),
        (
            "demo_xss-1.0.dist-info/METADATA",
            format!(
                "Metadata-Version: 2.1\nName: demo-xss\nVersion: 1.0\nSummary: {xss}\nDescription-Content-Type: text/markdown\n\n# Hello\n\n{xss}\n\n[click](javascript:alert(3))\n"
            )
            .as_bytes(),
        ),
        (
            "demo_xss-1.0.dist-info/WHEEL",
            b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        ),
        ("demo_xss-1.0.dist-info/RECORD", b""),
    ]);
    let (status, body) = registry.upload_wheel_bytes(&token, "demo-xss", "1.0", &wheel);
    assert_eq!(status, 200, "{body}");

    // Public pages: security headers, escaping, sanitized Markdown.
    let mut anon = Web::new(&registry.base);
    let page = anon.get("/project/demo-xss/");
    assert_eq!(page.status, 200, "{}", page.body);
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'none'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    let csrf_cookie = page.headers["set-cookie"].to_str().unwrap();
    assert!(csrf_cookie.contains("HttpOnly") && csrf_cookie.contains("SameSite=Strict"));
    assert!(!csrf_cookie.contains("Secure"), "plain http: no Secure");
    assert!(page.body.contains("<h1>Hello</h1>"), "markdown rendered");
    assert!(!page.body.contains("<script>alert"), "{}", page.body);
    assert!(!page.body.contains("<img src=x onerror"), "{}", page.body);
    assert!(!page.body.contains("javascript:"), "{}", page.body);
    assert!(
        page.body
            .contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
        "summary as text"
    );
    assert!(page.body.contains("pip install --index-url"));
    assert!(page.body.contains("demo_xss-1.0-py3-none-any.whl"));
    let release = anon.get("/project/demo-xss/1.0/");
    assert_eq!(release.status, 200);
    assert!(release.body.contains("demo-xss==1.0"));
    assert_eq!(anon.get("/project/Demo.XSS/").status, 308);
    assert_eq!(anon.get("/project/nothing-here/").status, 404);
    assert_eq!(anon.get("/project/demo-xss/9.9/").status, 404);
    let search = anon.get(&format!("/search/?q={}", urlencode(xss)));
    assert_eq!(search.status, 200);
    assert!(!search.body.contains("<script>alert"));
    let search = anon.get("/search/?q=demo");
    assert!(
        search.body.contains("/project/demo-xss/"),
        "{}",
        search.body
    );
    let user = anon.get("/user/mallory/");
    assert!(user.body.contains("/project/demo-xss/"));
    assert_eq!(anon.get("/user/nobody-at-all/").status, 404);
    assert_eq!(anon.get("/static/style.css").status, 200);

    // Registration refusals are shown at their field, the typed values escaped.
    let reg = anon.post(
        "/account/register/",
        &[
            ("username", xss),
            ("email", "a@example.org"),
            ("password", "correct horse battery"),
        ],
    );
    assert_eq!(reg.status, 400);
    assert!(reg.body.contains("id=\"username-error\""), "{}", reg.body);
    assert!(!reg.body.contains("<script>alert"));
    let reg = anon.post(
        "/account/register/",
        &[
            ("username", "ok-name"),
            ("email", xss),
            ("password", "correct horse battery"),
        ],
    );
    assert!(reg.body.contains("id=\"email-error\""), "{}", reg.body);
    assert!(!reg.body.contains("<script>alert"));
    let reg = anon.post(
        "/account/register/",
        &[
            ("username", "ok-name"),
            ("email", "a@example.org"),
            ("password", "short"),
        ],
    );
    assert!(reg.body.contains("id=\"password-error\""), "{}", reg.body);

    // Forged posts: no token, a wrong token, another site's Origin.
    let mut victim = Web::new(&registry.base);
    victim.log_in("mallory", Some(&totp_at(&mallory_totp, 0)));
    let before = victim.get("/account/").body.matches("/revoke/").count();
    let forged = victim.post_raw("/account/tokens/", &[("name", "evil")], None);
    assert_eq!(forged.status, 403, "{}", forged.body);
    let forged = victim.post_raw(
        "/account/tokens/",
        &[("csrf", "guess"), ("name", "evil")],
        None,
    );
    assert_eq!(forged.status, 403);
    let csrf = victim.cookies["picket_csrf"].clone();
    let forged = victim.post_raw(
        "/account/tokens/",
        &[("csrf", &csrf), ("name", "evil")],
        Some("http://evil.example"),
    );
    assert_eq!(forged.status, 403);
    assert_eq!(
        victim.get("/account/").body.matches("/revoke/").count(),
        before
    );
    // The real form works, and the new token is shown once, its name as text.
    let made = victim.post("/account/tokens/", &[("name", xss), ("project", "")]);
    assert_eq!(made.status, 201, "{}", made.body);
    let shown = made
        .body
        .split("<pre id=\"new-token\"><code>")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .expect("the new token")
        .to_owned();
    assert!(shown.starts_with("pkt-") && shown.len() == 56, "{shown}");
    assert!(!made.body.contains("<script>alert"));
    let again = victim.get("/account/");
    assert_eq!(again.body.matches("/revoke/").count(), before + 1);
    assert!(!again.body.contains(&shown), "shown once");

    // Every admin URL: signed out → login; signed in without admin → 403; an admin whose
    // session had no second factor → 403; a real admin session → the page.
    let mut nobody = Web::new(&registry.base);
    for (method, path) in ADMIN_URLS {
        let a = if *method == "GET" {
            nobody.get(path)
        } else {
            nobody.post(path, &[("action", "release")])
        };
        assert_eq!(a.status, 303, "{method} {path}");
        assert!(
            a.location.starts_with("/account/login/?next="),
            "{method} {path}"
        );
        let a = if *method == "GET" {
            victim.get(path)
        } else {
            victim.post(path, &[("action", "release")])
        };
        assert_eq!(a.status, 403, "{method} {path}: {}", a.body);
    }
    let mut root = Web::new(&registry.base);
    root.log_in("root", None);
    for (method, path) in ADMIN_URLS {
        let a = if *method == "GET" {
            root.get(path)
        } else {
            root.post(path, &[("action", "release")])
        };
        assert_eq!(a.status, 403, "{method} {path}");
        assert!(a.body.contains("two-factor"), "{}", a.body);
    }
    let session = registry.login("root", None);
    let secret = registry.enrol_totp(&session);
    let mut root = Web::new(&registry.base);
    root.log_in("root", Some(&totp_at(&secret, 0)));
    for path in [
        "/admin/",
        "/admin/quarantine/",
        "/admin/campaigns/",
        "/admin/users/?q=mall",
    ] {
        let a = root.get(path);
        assert_eq!(a.status, 200, "{path}: {}", a.body);
    }
    assert_eq!(root.get("/admin/campaigns/some-id/").status, 404);
    assert!(root.get("/admin/users/?q=mall").body.contains("mallory"));
    // An admin action without a fresh code changes nothing.
    registry.register_verified("bob", "bob@example.org");
    let a = root.post(
        "/admin/users/",
        &[
            ("username", "bob"),
            ("action", "restrict-user"),
            ("reason", "test"),
            ("totp", "000000"),
        ],
    );
    assert_eq!(a.status, 403, "{}", a.body);
    assert!(
        !root
            .get("/admin/users/?q=bob")
            .body
            .contains(">restricted<")
    );
    let a = root.post(
        "/admin/users/",
        &[
            ("username", "bob"),
            ("action", "restrict-user"),
            ("reason", "test"),
            ("totp", &totp_at(&secret, 30)),
        ],
    );
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(a.body.contains("account.restrict"), "{}", a.body);
    assert!(
        root.get("/admin/users/?q=bob")
            .body
            .contains(">restricted<")
    );

    // The cohorts the live detector keeps on watch are listed beside the campaigns (stored
    // where the leading instance's detector keeps them, for every instance's console).
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let mut config = picket_store::StoreConfig::in_dir(&data);
            config.database_url = common::database_for(&data);
            let store = picket_store::Store::connect(&config).await.unwrap();
            store
                .set_setting(
                    picket_server::live::WATCH_SETTING,
                    r#"{"watch":[{"id":"2026-01-01-staff1","report":{"accounts":["staff1","staff2"],"reasons":["one employer's domain, set up by script"]}}]}"#,
                )
                .await
                .unwrap();
        });
    let campaigns = root.get("/admin/campaigns/");
    assert!(
        campaigns.body.contains("2026-01-01-staff1"),
        "{}",
        campaigns.body
    );
    assert!(
        campaigns.body.contains("one employer&#39;s domain")
            || campaigns.body.contains("one employer&#x27;s domain"),
        "{}",
        campaigns.body
    );

    // The audit log lists it, with its reason; filters narrow it.
    let audit = root.get("/admin/audit/?kind=account.&actor=root");
    assert_eq!(audit.status, 200);
    assert!(audit.body.contains("account.restrict") && audit.body.contains(">bob<"));
    assert!(
        !root
            .get("/admin/audit/?kind=domain.")
            .body
            .contains("account.restrict")
    );
    assert_eq!(root.get("/admin/audit/?days=x").status, 400);
    // Nuking shows the dry run first and changes nothing until confirmed.
    let preview = root.post(
        "/admin/users/preview/",
        &[("username", "mallory"), ("q", "mall")],
    );
    assert_eq!(preview.status, 200, "{}", preview.body);
    assert!(preview.body.contains("account.disable"), "{}", preview.body);
    assert!(
        preview.body.contains("project.quarantine"),
        "{}",
        preview.body
    );
    assert!(anon.get("/project/demo-xss/").body.contains("demo_xss-1.0"));
    // Removing from the quarantine queue shows the dry run's rows first, with no code asked;
    // without a fresh code nothing is removed.
    let out = common::admin_json(&data, &["quarantine", "demo-xss", "--reason", "review"]);
    assert!(out.status.success(), "{}", common::text(&out.stderr));
    let preview = root.post(
        "/admin/quarantine/",
        &[("project", "demo-xss"), ("action", "preview-remove")],
    );
    assert_eq!(preview.status, 200, "{}", preview.body);
    assert!(
        preview.body.contains("<code>project.remove</code>"),
        "{}",
        preview.body
    );
    assert!(
        preview.body.contains("Confirm: remove (1 changes)"),
        "{}",
        preview.body
    );
    assert!(
        preview
            .body
            .contains("<input type=\"hidden\" name=\"project\" value=\"demo-xss\">")
    );
    let refused = root.post(
        "/admin/quarantine/",
        &[
            ("project", "demo-xss"),
            ("action", "remove"),
            ("reason", "test"),
            ("totp", "000000"),
        ],
    );
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(
        root.get("/admin/quarantine/")
            .body
            .contains("value=\"demo-xss\"")
    );
    // A domain prohibition needs a fresh code too.
    let refused = root.post(
        "/admin/domains/",
        &[
            ("domain", "inbox.example"),
            ("action", "prohibit-domain"),
            ("reason", "test"),
            ("totp", "000000"),
        ],
    );
    assert_eq!(refused.status, 403);
    assert!(
        root.get("/admin/domains/")
            .body
            .contains("No domain is prohibited.")
    );

    // Added addresses go through the same checks as the API's and get a verification mail.
    let bad = victim.post("/account/emails/", &[("email", "not an address")]);
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("class=\"alert\""), "{}", bad.body);
    let mails = registry.mailed_links().len();
    let added = victim.post("/account/emails/", &[("email", "second@example.org")]);
    assert_eq!(added.status, 303, "{}", added.body);
    assert!(victim.get("/account/").body.contains("second@example.org"));
    assert_eq!(registry.mailed_links().len(), mails + 1);

    // Logging out ends the session itself, not just the cookie.
    let session_cookie = victim.cookies["picket_session"].clone();
    let out = victim.post("/account/logout/", &[]);
    assert_eq!(out.status, 303);
    let mut replay = Web::new(&registry.base);
    replay
        .cookies
        .insert("picket_session".into(), session_cookie);
    assert_eq!(replay.get("/account/").status, 303);
}

#[test]
fn behind_https_the_cookies_are_secure() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    common::create_admin(&data, "root");
    let registry = Registry::start(
        &data,
        &[("PICKET_SERVE_PUBLIC_URL", "https://pkgs.example.org")],
    );
    let mut web = Web::new(&registry.base);
    let page = web.get("/account/login/");
    let csrf = page.headers["set-cookie"].to_str().unwrap().to_owned();
    assert!(csrf.ends_with("; Secure"), "{csrf}");
    // The form's own Origin is the public URL's.
    let token = web.cookies["picket_csrf"].clone();
    let a = web.post_raw(
        "/account/login/",
        &[
            ("csrf", &token),
            ("username", "root"),
            ("password", "correct horse battery"),
            ("next", "/admin/"),
        ],
        Some("https://pkgs.example.org"),
    );
    assert_eq!(a.status, 303, "{}", a.body);
    let session = a.headers["set-cookie"].to_str().unwrap();
    assert!(
        session.starts_with("picket_session=pks-")
            && session.contains("HttpOnly")
            && session.contains("SameSite=Strict")
            && session.ends_with("; Secure"),
        "{session}"
    );
}

/// The text between `start` and the next `end` in `body`.
fn between(body: &str, start: &str, end: &str) -> String {
    body.split(start)
        .nth(1)
        .and_then(|rest| rest.split(end).next())
        .unwrap_or_else(|| panic!("no {start} in {body}"))
        .to_owned()
}

/// The recovery codes a page shows.
fn shown_codes(body: &str) -> Vec<String> {
    let list = between(body, "<ul id=\"recovery-codes\" class=\"codes\">", "</ul>");
    list.split("<li><code>")
        .skip(1)
        .map(|r| r.split('<').next().unwrap().to_owned())
        .collect()
}

#[test]
fn recovery_codes_log_in_once_and_addresses_can_change() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let registry = Registry::start(&data, &[]);
    registry.register_verified("carol", "carol@example.org");
    let mut web = Web::new(&registry.base);
    web.log_in("carol", None);

    // Enrolment on the page ends with the recovery codes, shown once and never cached.
    let begun = web.post("/account/two-factor/", &[]);
    assert_eq!(begun.status, 200, "{}", begun.body);
    let secret = between(&begun.body, "<code id=\"totp-secret\">", "<");
    let done = web.post(
        "/account/two-factor/confirm/",
        &[("code", &totp_at(&secret, -30))],
    );
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(done.headers["cache-control"], "no-store");
    let codes = shown_codes(&done.body);
    assert_eq!(codes.len(), 8, "{codes:?}");
    let distinct: std::collections::BTreeSet<_> = codes.iter().collect();
    assert_eq!(distinct.len(), 8);
    for code in &codes {
        assert!(
            code.len() == 11
                && code.as_bytes()[5] == b'-'
                && code
                    .chars()
                    .all(|c| c == '-' || c.is_ascii_lowercase() || c.is_ascii_digit()),
            "{code}"
        );
    }
    assert!(done.body.contains("<strong id=\"codes-left\">8</strong>"));
    let later = web.get("/account/two-factor/");
    assert!(!later.body.contains(&codes[0]), "shown once");

    // A recovery code logs in once, as typed (any case) on the page…
    let mut phone_lost = Web::new(&registry.base);
    phone_lost.log_in("carol", Some(&codes[0].to_uppercase()));
    let mut again = Web::new(&registry.base);
    let refused = again.post(
        "/account/login/",
        &[
            ("username", "carol"),
            ("password", "correct horse battery"),
            ("totp", &codes[0]),
            ("next", "/account/"),
        ],
    );
    assert_eq!(refused.status, 401, "{}", refused.body);
    assert!(refused.body.contains("already used"), "{}", refused.body);
    assert!(!again.cookies.contains_key("picket_session"));
    // …and through the JSON API.
    let login = |totp: &str| {
        registry.post_json(
            "/api/v1/login",
            None,
            &serde_json::json!({"username": "carol", "password": "correct horse battery", "totp": totp}),
        )
    };
    let (status, body) = login(&codes[1]);
    assert_eq!(status, 200, "{body}");
    let session = body["session"].as_str().unwrap().to_owned();
    assert_eq!(login(&codes[1]).0, 401);
    assert_eq!(login("aaaaa-bbbbb").0, 401, "not one of hers");
    assert!(
        web.get("/account/two-factor/")
            .body
            .contains("<strong id=\"codes-left\">6</strong>")
    );

    // New codes need a fresh TOTP code, and replace the old ones.
    let bad = web.post("/account/two-factor/recovery-codes/", &[("totp", "000000")]);
    assert_eq!(bad.status, 401, "{}", bad.body);
    assert!(bad.body.contains("class=\"alert\""));
    assert!(bad.body.contains("<strong id=\"codes-left\">6</strong>"));
    let forged = web.post_raw(
        "/account/two-factor/recovery-codes/",
        &[("totp", &totp_at(&secret, 0))],
        None,
    );
    assert_eq!(forged.status, 403, "no CSRF token");
    let fresh = web.post(
        "/account/two-factor/recovery-codes/",
        &[("totp", &totp_at(&secret, 0))],
    );
    assert_eq!(fresh.status, 200, "{}", fresh.body);
    let new_codes = shown_codes(&fresh.body);
    assert_eq!(new_codes.len(), 8);
    assert!(new_codes.iter().all(|c| !codes.contains(c)));
    assert_eq!(login(&codes[2]).0, 401, "old codes are gone");
    assert_eq!(login(&new_codes[0]).0, 200);
    // The API regenerates them too (a later time step: each TOTP code is used once).
    let (status, body) = registry.post_json(
        "/api/v1/account/2fa/recovery-codes",
        Some(&session),
        &serde_json::json!({"totp": totp_at(&secret, 30)}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["recovery_codes"].as_array().unwrap().len(), 8);
    assert_eq!(login(&new_codes[1]).0, 401);

    // E-mail addresses: a hostile one is shown as text and can't become primary unverified.
    let xss = "<script>alert(1)</script>@example.org";
    assert_eq!(web.post("/account/emails/", &[("email", xss)]).status, 303);
    assert_eq!(
        web.post("/account/emails/", &[("email", "work@example.org")])
            .status,
        303
    );
    let link = registry.mailed_links().pop().unwrap();
    assert_eq!(registry.verify(&link), 200);
    let page = web.get("/account/");
    assert!(!page.body.contains("<script>alert"), "{}", page.body);
    assert!(
        page.body
            .contains("&#60;script&#62;alert(1)&#60;/script&#62;@example.org")
    );
    let unverified = web.post("/account/emails/primary/", &[("email", xss)]);
    assert_eq!(unverified.status, 400, "{}", unverified.body);
    assert!(unverified.body.contains("not verified yet"));
    assert!(!unverified.body.contains("<script>alert"));
    let primary = web.post("/account/emails/remove/", &[("email", "carol@example.org")]);
    assert_eq!(primary.status, 400, "{}", primary.body);
    assert!(primary.body.contains("primary address"));
    let forged = web.post_raw(
        "/account/emails/primary/",
        &[("email", "work@example.org")],
        None,
    );
    assert_eq!(forged.status, 403);
    // A verified added address becomes primary; the old one stays, verified, and is told.
    let made = web.post("/account/emails/primary/", &[("email", "work@example.org")]);
    assert_eq!(made.status, 303, "{}", made.body);
    let page = web.get("/account/");
    assert!(
        page.body.contains("<li>work@example.org (primary)</li>"),
        "{}",
        page.body
    );
    assert!(page.body.contains(
        "Make primary<span class=\"visually-hidden\"> address: carol@example.org</span>"
    ));
    let notices = std::fs::read_dir(data.join("outbox"))
        .unwrap()
        .filter(|e| {
            let text = std::fs::read_to_string(e.as_ref().unwrap().path()).unwrap();
            text.contains("carol@example.org")
                && text.contains("primary address of your account is now work@example.org")
        })
        .count();
    assert_eq!(notices, 1);
    // The old primary is removed through the API, the hostile one on the page.
    let resp = Registry::agent()
        .delete(&format!(
            "{}/api/v1/account/emails/carol%40example.org",
            registry.base
        ))
        .header("Authorization", &format!("Bearer {session}"))
        .call()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 204);
    let resp = Registry::agent()
        .delete(&format!(
            "{}/api/v1/account/emails/work%40example.org",
            registry.base
        ))
        .header("Authorization", &format!("Bearer {session}"))
        .call()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400, "the primary one stays");
    assert_eq!(
        web.post("/account/emails/remove/", &[("email", xss)])
            .status,
        303
    );
    let page = web.get("/account/");
    assert!(!page.body.contains("carol@example.org") && !page.body.contains("alert(1)"));
    // Every change is in the journal.
    let out = common::admin_json(&data, &["export-events"]);
    let events = common::text(&out.stdout);
    for kind in [
        "\"account.2fa.recovery-code.use\"",
        "\"account.2fa.recovery-codes\"",
        "\"account.email.primary\"",
        "\"account.email.remove\"",
    ] {
        assert!(events.contains(kind), "{kind}: {events}");
    }
}

#[test]
fn owners_remove_a_release_a_file_and_the_project_after_typing_its_name() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let registry = Registry::start(&data, &[]);
    let (token, secret) = registry.onboard("olive");
    for version in ["1.0", "2.0"] {
        let (status, body) = registry.upload_wheel(
            &token,
            "olive-pkg",
            version,
            &[("olive_pkg/__init__.py", b"def f():\n    return 1\n")],
        );
        assert_eq!(status, 200, "{body}");
    }
    let simple = || {
        let (status, _, body) = registry.get("/simple/olive-pkg/", &[]);
        (status, common::text(&body))
    };
    let wheel = |v: &str| format!("olive_pkg-{v}-py3-none-any.whl");
    assert!(simple().1.contains(&wheel("2.0")));

    // Someone else can't, not even to see the confirmation page.
    registry.register_verified("stranger", "stranger@example.org");
    let mut stranger = Web::new(&registry.base);
    stranger.log_in("stranger", None);
    let refused = stranger.post(
        "/manage/project/olive-pkg/remove/",
        &[("what", "project"), ("confirm", "olive-pkg")],
    );
    assert_eq!(refused.status, 403, "{}", refused.body);

    let mut web = Web::new(&registry.base);
    web.log_in("olive", Some(&totp_at(&secret, 0)));
    let manage = web.get("/manage/project/olive-pkg/");
    assert!(manage.body.contains("Remove olive-pkg…"), "{}", manage.body);
    // The first step shows what goes, file by file, and removes nothing.
    let step = web.post(
        "/manage/project/olive-pkg/remove/",
        &[("what", "release"), ("version", "2.0")],
    );
    assert_eq!(step.status, 200, "{}", step.body);
    assert!(step.body.contains(&wheel("2.0")) && !step.body.contains(&wheel("1.0")));
    assert!(step.body.contains("Remove only this file<span class=\"visually-hidden\"> olive_pkg-2.0-py3-none-any.whl</span>…"));
    assert!(simple().1.contains(&wheel("2.0")));
    // A wrong name, or a form from elsewhere, removes nothing.
    let wrong = web.post(
        "/manage/project/olive-pkg/remove/",
        &[
            ("what", "release"),
            ("version", "2.0"),
            ("confirm", "olive"),
        ],
    );
    assert_eq!(wrong.status, 400, "{}", wrong.body);
    assert!(wrong.body.contains("nothing was removed"));
    let forged = web.post_raw(
        "/manage/project/olive-pkg/remove/",
        &[
            ("what", "release"),
            ("version", "2.0"),
            ("confirm", "olive-pkg"),
        ],
        None,
    );
    assert_eq!(forged.status, 403);
    assert!(simple().1.contains(&wheel("2.0")));
    // Hostile form values are shown as text.
    let hostile = web.post(
        "/manage/project/olive-pkg/remove/",
        &[
            ("what", "file"),
            ("filename", "\"><script>alert(1)</script>"),
        ],
    );
    assert_eq!(hostile.status, 200, "{}", hostile.body);
    assert!(!hostile.body.contains("<script>alert"), "{}", hostile.body);
    // The name typed (in any spelling) removes the release…
    let done = web.post(
        "/manage/project/olive-pkg/remove/",
        &[
            ("what", "release"),
            ("version", "2.0"),
            ("confirm", "Olive_Pkg"),
        ],
    );
    assert_eq!(
        (done.status, done.location.as_str()),
        (303, "/manage/project/olive-pkg/"),
        "{}",
        done.body
    );
    let (status, page) = simple();
    assert_eq!(status, 200);
    assert!(
        !page.contains(&wheel("2.0")) && page.contains(&wheel("1.0")),
        "{page}"
    );
    // …a single file…
    let done = web.post(
        "/manage/project/olive-pkg/remove/",
        &[
            ("what", "file"),
            ("filename", &wheel("1.0")),
            ("confirm", "olive-pkg"),
        ],
    );
    assert_eq!(done.status, 303, "{}", done.body);
    assert!(!simple().1.contains(&wheel("1.0")));
    // …and the project.
    let done = web.post(
        "/manage/project/olive-pkg/remove/",
        &[("what", "project"), ("confirm", "olive-pkg")],
    );
    assert_eq!((done.status, done.location.as_str()), (303, "/account/"));
    assert_eq!(simple().0, 404);
    assert_eq!(web.get("/project/olive-pkg/").status, 404);
    let out = common::admin_json(&data, &["export-events"]);
    let events = common::text(&out.stdout);
    for kind in [
        "\"release.remove\"",
        "\"file.remove\"",
        "\"project.remove\"",
    ] {
        assert!(events.contains(kind), "{kind}");
    }
}

#[test]
fn archived_projects_say_so_take_no_uploads_and_still_install() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let registry = Registry::start(&data, &[]);
    let (token, secret) = registry.onboard("ada");
    let wheel = |v: &str| {
        picket_testkit::installable_wheel(
            "ada-tool",
            v,
            &[("ada_tool/__init__.py", b"VALUE = 1\n")],
        )
    };
    let (status, body) = registry.upload_wheel_bytes(&token, "ada-tool", "1.0", &wheel("1.0"));
    assert_eq!(status, 200, "{body}");

    let mut web = Web::new(&registry.base);
    web.log_in("ada", Some(&totp_at(&secret, 0)));
    let bad = web.post(
        "/manage/project/ada-tool/status/",
        &[("status", "quarantined"), ("reason", "")],
    );
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert!(bad.body.contains("Unknown project status"));
    let reason = "<script>alert(1)</script> use ada-tool2";
    let forged = web.post_raw(
        "/manage/project/ada-tool/status/",
        &[("status", "archived"), ("reason", reason)],
        None,
    );
    assert_eq!(forged.status, 403);
    let set = web.post(
        "/manage/project/ada-tool/status/",
        &[("status", "archived"), ("reason", reason)],
    );
    assert_eq!(set.status, 303, "{}", set.body);
    let page = web.get("/project/ada-tool/");
    assert!(
        page.body.contains("<strong>Archived:</strong>"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("<script>alert"), "{}", page.body);
    assert!(
        page.body
            .contains("&#60;script&#62;alert(1)&#60;/script&#62; use ada-tool2")
    );
    assert!(
        web.get("/manage/project/ada-tool/")
            .body
            .contains("<strong id=\"current-status\">archived</strong>")
    );

    // The simple index says so, in both formats (PEP 792), and still lists the file.
    let (_, _, json) = registry.get(
        "/simple/ada-tool/",
        &[("Accept", "application/vnd.pypi.simple.v1+json")],
    );
    let json: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(
        json["project-status"],
        serde_json::json!({ "status": "archived", "reason": reason })
    );
    assert_eq!(json["files"].as_array().unwrap().len(), 1);
    let (_, _, html) = registry.get("/simple/ada-tool/", &[("Accept", "text/html")]);
    let html = common::text(&html);
    assert!(
        html.contains("<meta name=\"pypi:project-status\" content=\"archived\">"),
        "{html}"
    );
    assert!(
        html.contains("content=\"&lt;script&gt;alert(1)&lt;/script&gt; use ada-tool2\""),
        "{html}"
    );

    // `picket check` against the registry notes it, with the owners' reason, and still inspects
    // the release.
    let check_data = tmp.path().join("check-data");
    std::fs::create_dir_all(&check_data).unwrap();
    let (_, doc) = common::check_json(&check_data, &registry.simple(), &["ada-tool"]);
    let package = common::package(&doc, "ada-tool");
    let finding = common::finding(package, "project-status");
    assert_eq!(finding["severity"], "low", "{doc}");
    assert!(
        finding["message"]
            .as_str()
            .unwrap()
            .contains("is archived (\"<script>alert(1)</script> use ada-tool2\")"),
        "{doc}"
    );
    assert_eq!(package["version"], "1.0", "{doc}");
    assert!(package["error"].is_null(), "{doc}");

    // No new uploads.
    let (status, body) = registry.upload_wheel_bytes(&token, "ada-tool", "1.1", &wheel("1.1"));
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("archived"), "{body}");

    // pip and uv still install it.
    if let Some(venv) = common::venv() {
        let env = tmp.path().join("env");
        common::registry::fresh_venv(&venv, &env);
        let out = common::registry::pip_install(&env, &registry, &["ada-tool"]);
        assert!(out.status.success(), "{}", common::registry::both(&out));
        let out = Command::new(venv.join("bin/uv"))
            .args(["pip", "install", "--no-cache", "--python"])
            .arg(env.join("bin/python"))
            .arg("--target")
            .arg(tmp.path().join("uv-target"))
            .args(["--index-url", &registry.simple(), "ada-tool"])
            .env_remove("UV_INDEX_URL")
            .env_remove("UV_DEFAULT_INDEX")
            .env_remove("UV_EXTRA_INDEX_URL")
            .env("UV_NO_CONFIG", "1")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", common::registry::both(&out));
        assert!(tmp.path().join("uv-target/ada_tool/__init__.py").exists());
    }

    // The JSON API sets it too; active again takes uploads.
    let session = registry.login("ada", Some(&totp_at(&secret, 30)));
    let (status, body) = registry.post_json(
        "/api/v1/projects/ada-tool/status",
        Some(&session),
        &serde_json::json!({"status": "deprecated", "reason": "superseded"}),
    );
    assert_eq!(status, 200, "{body}");
    let mut resp = Registry::agent()
        .get(&format!(
            "{}/api/v1/projects/ada-tool/status",
            registry.base
        ))
        .header("Authorization", &format!("Bearer {session}"))
        .call()
        .unwrap();
    let doc: serde_json::Value =
        serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(doc["status"], "deprecated", "{doc}");
    assert!(
        web.get("/project/ada-tool/")
            .body
            .contains("<strong>Deprecated:</strong>")
    );
    let (status, _) = registry.post_json(
        "/api/v1/projects/ada-tool/status",
        Some(&session),
        &serde_json::json!({"status": "active"}),
    );
    assert_eq!(status, 200);
    let (status, body) = registry.upload_wheel_bytes(&token, "ada-tool", "1.1", &wheel("1.1"));
    assert_eq!(status, 200, "{body}");
    let (_, _, json) = registry.get(
        "/simple/ada-tool/",
        &[("Accept", "application/vnd.pypi.simple.v1+json")],
    );
    let json: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert!(json.get("project-status").is_none(), "{json}");
}

#[test]
fn a_nuke_is_undone_in_one_step_after_a_preview() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    common::create_admin(&data, "root");
    let registry = Registry::start(&data, &[]);
    let (token, nora_totp) = registry.onboard("nora");
    let (status, body) = registry.upload_wheel(
        &token,
        "nora-lib",
        "1.0",
        &[("nora_lib/__init__.py", b"def f():\n    return 1\n")],
    );
    assert_eq!(status, 200, "{body}");
    let files = || {
        let (_, _, body) = registry.get("/simple/nora-lib/", &[]);
        common::text(&body).contains("nora_lib-1.0-py3-none-any.whl")
    };
    assert!(files());
    let out = common::admin_json(&data, &["nuke-user", "nora", "--reason", "looked bad"]);
    assert!(out.status.success(), "{}", common::text(&out.stderr));
    // The server sees the CLI's change through the journal within a second or so.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while files() {
        assert!(std::time::Instant::now() < deadline, "nuked: quarantined");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }

    let session = registry.login("root", None);
    let secret = registry.enrol_totp(&session);
    let mut root = Web::new(&registry.base);
    root.log_in("root", Some(&totp_at(&secret, 0)));
    assert!(
        root.get("/admin/users/?q=nora")
            .body
            .contains("Preview restore")
    );
    // The preview is the store's dry run: exactly what the confirm would change, nothing yet.
    let preview = root.post(
        "/admin/users/preview/",
        &[
            ("username", "nora"),
            ("action", "restore-user"),
            ("q", "nora"),
        ],
    );
    assert_eq!(preview.status, 200, "{}", preview.body);
    for row in [
        "<code>account.enable</code>",
        "<code>project.release</code>",
    ] {
        assert!(preview.body.contains(row), "{row}: {}", preview.body);
    }
    assert!(
        preview.body.contains("Confirm: restore nora (2 changes)"),
        "{}",
        preview.body
    );
    assert!(!files());
    let wrong = root.post(
        "/admin/users/",
        &[
            ("username", "nora"),
            ("action", "restore-user"),
            ("reason", "a mistake"),
            ("totp", "000000"),
        ],
    );
    assert_eq!(wrong.status, 403, "{}", wrong.body);
    assert!(!files());
    let done = root.post(
        "/admin/users/",
        &[
            ("username", "nora"),
            ("action", "restore-user"),
            ("reason", "a mistake"),
            ("totp", &totp_at(&secret, 30)),
        ],
    );
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("Done: 2 changes"), "{}", done.body);
    assert!(files(), "released");
    registry.login("nora", Some(&totp_at(&nora_totp, 0)));
    // The CLI and the API run the same action: nothing is left to restore.
    let out = common::admin_json(
        &data,
        &["restore-user", "nora", "--reason", "again", "--dry-run"],
    );
    assert!(out.status.success(), "{}", common::text(&out.stderr));
    assert!(!common::text(&out.stdout).contains("project.release"));
}
