//! A real `picket serve` on a free loopback port, and the real clients that talk to it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use super::{Server, run, text};

/// A running registry.
pub struct Registry {
    /// The process (killed on drop).
    pub server: Server,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Its data directory.
    pub data: PathBuf,
}

impl Registry {
    /// Starts `picket serve` on `data` with extra environment (`PICKET_SERVE_*`).
    pub fn start(data: &Path, env: &[(&str, &str)]) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_picket"));
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data)
            .current_dir(data.parent().unwrap())
            .env("PICKET_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        super::use_database(&mut cmd, data);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start picket serve");
        let base = super::announced_url(&mut child)
            .trim_end_matches("/simple/")
            .to_owned();
        Self {
            server: Server(child),
            base,
            data: data.to_owned(),
        }
    }

    /// The simple-API URL.
    pub fn simple(&self) -> String {
        format!("{}/simple/", self.base)
    }

    /// The upload URL.
    pub fn legacy(&self) -> String {
        format!("{}/legacy/", self.base)
    }

    /// An HTTP agent that reports every status instead of failing on 4xx/5xx.
    pub fn agent() -> ureq::Agent {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .into()
    }

    /// `POST` JSON with an optional bearer credential; returns status and body.
    pub fn post_json(
        &self,
        path: &str,
        bearer: Option<&str>,
        body: &serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let mut req = Self::agent().post(&format!("{}{path}", self.base));
        if let Some(b) = bearer {
            req = req.header("Authorization", &format!("Bearer {b}"));
        }
        let mut resp = req
            .header("Content-Type", "application/json")
            .send(body.to_string().as_bytes())
            .unwrap();
        let status = resp.status().as_u16();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
        )
    }

    /// `GET` with headers; returns status, headers and body bytes.
    pub fn get(
        &self,
        path: &str,
        headers: &[(&str, &str)],
    ) -> (u16, ureq::http::HeaderMap, Vec<u8>) {
        let mut req = Self::agent().get(&format!("{}{path}", self.base));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let mut resp = req.call().unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp
            .body_mut()
            .with_config()
            .limit(64 << 20)
            .read_to_vec()
            .unwrap_or_default();
        (status, headers, body)
    }

    /// The verification links mailed so far, oldest first.
    pub fn mailed_links(&self) -> Vec<String> {
        let mut mails: Vec<_> = std::fs::read_dir(self.data.join("outbox"))
            .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        mails.sort();
        mails
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .filter_map(|p| {
                std::fs::read_to_string(p)
                    .unwrap()
                    .lines()
                    .find(|l| l.contains("/account/verify-email?token="))
                    .map(|l| l.trim().to_owned())
            })
            .collect()
    }

    /// Registers, verifies, logs in, enrols TOTP and creates a user-scoped token; returns the
    /// token and the TOTP secret.
    pub fn onboard(&self, user: &str) -> (String, String) {
        self.onboard_with(user, &format!("{user}@example.org"))
    }

    /// [`Registry::onboard`] with a given address.
    pub fn onboard_with(&self, user: &str, email: &str) -> (String, String) {
        self.register_verified(user, email);
        self.set_up_publishing(user)
    }

    /// Registers and verifies the address (the first half of [`Registry::onboard`]).
    pub fn register_verified(&self, user: &str, email: &str) {
        let (status, body) = self.post_json(
            "/api/v1/register",
            None,
            &serde_json::json!({"username": user, "email": email, "password": "correct horse battery"}),
        );
        assert_eq!(status, 201, "{body}");
        let link = self.mailed_links().pop().expect("a verification mail");
        assert_eq!(self.verify(&link), 200, "verify {link}");
    }

    /// Logs in, enrols TOTP and creates a user-scoped token (the second half of
    /// [`Registry::onboard`]); returns the token and the TOTP secret.
    pub fn set_up_publishing(&self, user: &str) -> (String, String) {
        let session = self.login(user, None);
        let secret = self.enrol_totp(&session);
        let (status, body) = self.post_json(
            "/api/v1/tokens",
            Some(&session),
            &serde_json::json!({"name": "ci"}),
        );
        assert_eq!(status, 201, "{body}");
        (body["token"].as_str().unwrap().to_owned(), secret)
    }

    /// Enrols TOTP for the session's account; returns the secret. Confirms with the previous
    /// step's code (one step of drift is accepted): the enrolment uses that step up, and the
    /// current code stays good for the caller's next login.
    pub fn enrol_totp(&self, session: &str) -> String {
        let (status, body) = self.post_json(
            "/api/v1/account/2fa/totp",
            Some(session),
            &serde_json::json!({}),
        );
        assert_eq!(status, 200, "{body}");
        let secret = body["secret"].as_str().unwrap().to_owned();
        let (status, body) = self.post_json(
            "/api/v1/account/2fa/totp/confirm",
            Some(session),
            &serde_json::json!({"code": totp_at(&secret, -30)}),
        );
        assert_eq!(status, 200, "{body}");
        secret
    }

    /// Follows a mailed verification link as a person does: opens the page (which verifies
    /// nothing by itself) and presses its button. Returns the status of the confirmation.
    pub fn verify(&self, link: &str) -> u16 {
        let (status, _, page) = self.get(link.trim_start_matches(&self.base), &[]);
        assert_eq!(status, 200, "{link}");
        assert!(
            super::text(&page).contains("method=\"post\""),
            "{}",
            super::text(&page)
        );
        let token = link.split_once("token=").expect("a token in the link").1;
        let mut resp = Self::agent()
            .post(&format!("{}/account/verify-email", self.base))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .send(format!("token={token}").as_bytes())
            .unwrap();
        let _ = resp.body_mut().read_to_string();
        resp.status().as_u16()
    }

    /// Logs in; returns the session.
    pub fn login(&self, user: &str, totp: Option<&str>) -> String {
        let (status, body) = self.post_json(
            "/api/v1/login",
            None,
            &serde_json::json!({"username": user, "password": "correct horse battery", "totp": totp}),
        );
        assert_eq!(status, 200, "{body}");
        body["session"].as_str().unwrap().to_owned()
    }
}

/// The current TOTP code for `secret`.
pub fn totp_now(secret: &str) -> String {
    totp_at(secret, 0)
}

/// The TOTP code for `secret` `offset` seconds from now.
pub fn totp_at(secret: &str, offset: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    picket_server::auth::totp_code(secret, now.saturating_add_signed(offset)).unwrap()
}

/// `twine upload` of `files` with `token`; returns the output (not asserted).
pub fn twine(venv: &Path, registry: &Registry, token: &str, files: &[&Path]) -> Output {
    Command::new(venv.join("bin/twine"))
        .args([
            "upload",
            "--non-interactive",
            "--disable-progress-bar",
            "--repository-url",
        ])
        .arg(registry.legacy())
        .args(["-u", "__token__", "-p", token])
        .args(files)
        .env("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
        .env_remove("TWINE_REPOSITORY_URL")
        .env_remove("TWINE_USERNAME")
        .env_remove("TWINE_PASSWORD")
        .output()
        .expect("run twine")
}

/// A fresh virtualenv at `dir` (from the test venv's Python, without pip's network).
pub fn fresh_venv(venv: &Path, dir: &Path) {
    run(Command::new(venv.join("bin/python"))
        .args(["-m", "venv"])
        .arg(dir));
}

/// `pip install` into `target` (a venv) from the registry only.
pub fn pip_install(target: &Path, registry: &Registry, args: &[&str]) -> Output {
    Command::new(target.join("bin/python"))
        .args([
            "-m",
            "pip",
            "install",
            "--no-cache-dir",
            "--disable-pip-version-check",
            "--index-url",
        ])
        .arg(registry.simple())
        .args(args)
        .env("PIP_CONFIG_FILE", "/dev/null")
        .env_remove("PIP_INDEX_URL")
        .env_remove("PIP_EXTRA_INDEX_URL")
        .output()
        .expect("run pip")
}

/// Combined output for assertion messages.
pub fn both(out: &Output) -> String {
    format!("{}\n{}", text(&out.stdout), text(&out.stderr))
}

/// A hand-built `multipart/form-data` body: `fields`, then the file as `content`.
pub fn multipart(fields: &[(&str, &str)], file: Option<(&str, &[u8])>) -> (String, Vec<u8>) {
    let boundary = "----picket-test-boundary-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    if let Some((filename, bytes)) = file {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"content\"; filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

impl Registry {
    /// Uploads like twine does, by hand: returns the status and the reason phrase's text (body).
    pub fn upload_raw(
        &self,
        token: Option<&str>,
        fields: &[(&str, &str)],
        file: Option<(&str, &[u8])>,
    ) -> (u16, String) {
        let (content_type, body) = multipart(fields, file);
        let mut req = Self::agent()
            .post(&self.legacy())
            .header("Content-Type", &content_type);
        if let Some(t) = token {
            let credential = data_encoding::BASE64.encode(format!("__token__:{t}").as_bytes());
            req = req.header("Authorization", &format!("Basic {credential}"));
        }
        let mut resp = req.send(&body[..]).unwrap();
        let status = resp.status().as_u16();
        (status, resp.body_mut().read_to_string().unwrap_or_default())
    }

    /// Uploads a wheel of `name` `version` built in memory with the usual form fields.
    pub fn upload_wheel(
        &self,
        token: &str,
        name: &str,
        version: &str,
        files: &[(&str, &[u8])],
    ) -> (u16, String) {
        self.upload_wheel_bytes(
            token,
            name,
            version,
            &picket_testkit::wheel(name, version, files),
        )
    }

    /// Uploads `bytes` as the wheel of `name` `version`, with the form fields twine sends.
    pub fn upload_wheel_bytes(
        &self,
        token: &str,
        name: &str,
        version: &str,
        bytes: &[u8],
    ) -> (u16, String) {
        let escaped: String = picket_formats::normalize(name).replace('-', "_");
        let filename = format!("{escaped}-{version}-py3-none-any.whl");
        self.upload_raw(
            Some(token),
            &[
                (":action", "file_upload"),
                ("protocol_version", "1"),
                ("name", name),
                ("version", version),
                ("filetype", "bdist_wheel"),
                ("metadata_version", "2.1"),
            ],
            Some((&filename, bytes)),
        )
    }
}

/// Sends raw request bytes and returns the response head (status line and headers), for
/// requests a client library won't send as is (a declared body over the limit without the body;
/// an encoding the library would decode itself).
pub fn raw_head(base: &str, request: &str) -> String {
    use std::io::{Read, Write};
    let address = base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap() == 1 {
        head.push(byte[0]);
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// The status code of [`raw_head`]'s answer.
pub fn raw_status(base: &str, request: &str) -> u16 {
    let head = raw_head(base, request);
    head.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status in `{head}`"))
}

/// A registry with one user (created by the admin CLI, so no 2FA dance) and its token.
pub fn registry_with_user(tmp: &std::path::Path, env: &[(&str, &str)]) -> (Registry, String) {
    let data = tmp.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let out = super::picket_with_stdin(
        tmp,
        &[
            "admin",
            "--data-dir",
            data.to_str().unwrap(),
            "create-user",
            "carol",
            "--email",
            "carol@example.org",
            "--password-stdin",
        ],
        "a long enough password\n",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = super::picket_with_stdin(
        tmp,
        &[
            "admin",
            "--data-dir",
            data.to_str().unwrap(),
            "create-token",
            "carol",
        ],
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let token = text(&out.stdout).trim().to_owned();
    assert!(token.starts_with("pkt-"), "{token}");
    (Registry::start(&data, env), token)
}

/// moto's S3 server on a free loopback port (a real S3 can't exist here) with the bucket
/// `bucket` made, started with `env` (`INITIAL_NO_AUTH_ACTION_COUNT=1`: credentials checked
/// from the request after the bucket's on); returns it and its endpoint URL.
pub fn s3_bucket(venv: &Path, bucket: &str, env: &[(&str, &str)]) -> (super::Server, String) {
    let port = super::free_port();
    let server = super::Server(
        Command::new(venv.join("bin/moto_server"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server"),
    );
    super::wait_for_port(port);
    let endpoint = format!("http://127.0.0.1:{port}");
    let mut resp = Registry::agent()
        .put(&format!("{endpoint}/{bucket}"))
        .send_empty()
        .unwrap();
    assert_eq!(
        resp.status().as_u16(),
        200,
        "{}",
        resp.body_mut().read_to_string().unwrap_or_default()
    );
    (server, endpoint)
}
