//! Outgoing mail: into `DATA_DIR/outbox/*.eml` (written whole: temp file, then rename), or through
//! an SMTP relay when `smtp-url` is set.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// Where mail goes.
#[derive(Debug, Clone)]
pub struct Mailer {
    // Shared: the server's state, which holds the mailer, is cloned per request.
    outbox: Arc<Path>,
    smtp: Option<Arc<str>>,
    from: Arc<str>,
}

/// One message.
#[derive(Debug, Clone)]
pub struct Mail {
    /// Recipient.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
}

fn header_safe(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).collect()
}

impl Mailer {
    /// A mailer writing to `outbox` unless `smtp` (`smtp://host:port`) is given.
    pub fn new(outbox: PathBuf, smtp: Option<String>, from: String) -> Self {
        Self {
            outbox: outbox.into(),
            smtp: smtp.map(Arc::from),
            from: from.into(),
        }
    }

    fn render(&self, mail: &Mail, now_ms: i64) -> String {
        let id = data_encoding::HEXLOWER.encode(&crate::auth::random_bytes::<12>());
        let date = httpdate::fmt_http_date(
            std::time::UNIX_EPOCH
                + std::time::Duration::from_millis(u64::try_from(now_ms).unwrap_or(0)),
        );
        let body = mail.body.replace("\r\n", "\n").replace('\n', "\r\n");
        // Dot-stuffing for SMTP is applied at send time; the .eml holds the message as is.
        format!(
            "From: {}\r\nTo: {}\r\nSubject: {}\r\nDate: {date}\r\nMessage-ID: <{id}@picket>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n",
            header_safe(&self.from),
            header_safe(&mail.to),
            header_safe(&mail.subject),
        )
    }

    /// Sends (or files) a message.
    pub async fn send(&self, mail: &Mail, now_ms: i64) -> Result<(), String> {
        let message = self.render(mail, now_ms);
        match &self.smtp {
            Some(url) => self.send_smtp(url, &mail.to, &message).await,
            None => self.file(&message, now_ms).await,
        }
    }

    async fn file(&self, message: &str, now_ms: i64) -> Result<(), String> {
        tokio::fs::create_dir_all(&self.outbox)
            .await
            .map_err(|e| format!("{}: {e}", self.outbox.display()))?;
        let name = format!(
            "{now_ms}-{}.eml",
            data_encoding::HEXLOWER.encode(&crate::auth::random_bytes::<6>())
        );
        let temp = self.outbox.join(format!(".{name}.tmp"));
        let path = self.outbox.join(name);
        tokio::fs::write(&temp, message)
            .await
            .map_err(|e| format!("{}: {e}", temp.display()))?;
        tokio::fs::rename(&temp, &path)
            .await
            .map_err(|e| format!("{}: {e}", path.display()))
    }

    async fn send_smtp(&self, url: &str, to: &str, message: &str) -> Result<(), String> {
        let address = url
            .strip_prefix("smtp://")
            .ok_or_else(|| format!("smtp-url `{url}` must start with smtp://"))?
            .trim_end_matches('/');
        let stream = tokio::net::TcpStream::connect(address)
            .await
            .map_err(|e| format!("SMTP {address}: {e}"))?;
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read);
        let expect = async |lines: &mut BufReader<_>, code: &str| -> Result<(), String> {
            loop {
                let mut line = String::new();
                lines
                    .read_line(&mut line)
                    .await
                    .map_err(|e| format!("SMTP read: {e}"))?;
                if line.is_empty() {
                    return Err("SMTP server closed the connection".into());
                }
                if !line.starts_with(code) {
                    return Err(format!("SMTP: expected {code}, got `{}`", line.trim_end()));
                }
                // "250-" continues a multi-line reply; "250 " ends it.
                if line.as_bytes().get(3) != Some(&b'-') {
                    return Ok(());
                }
            }
        };
        expect(&mut lines, "220").await?;
        let from = header_safe(&self.from);
        let to = header_safe(to);
        let mut data = String::new();
        for line in message.split("\r\n") {
            if line.starts_with('.') {
                data.push('.');
            }
            data.push_str(line);
            data.push_str("\r\n");
        }
        for (command, code) in [
            ("EHLO picket\r\n".to_owned(), "250"),
            (format!("MAIL FROM:<{from}>\r\n"), "250"),
            (format!("RCPT TO:<{to}>\r\n"), "250"),
            ("DATA\r\n".to_owned(), "354"),
            (format!("{data}.\r\n"), "250"),
            ("QUIT\r\n".to_owned(), "221"),
        ] {
            write
                .write_all(command.as_bytes())
                .await
                .map_err(|e| format!("SMTP write: {e}"))?;
            expect(&mut lines, code).await?;
        }
        Ok(())
    }
}
