//! Sending one message over SMTP with lettre: STARTTLS, implicit TLS, or plain for a relay on
//! this machine. The password comes from the configuration or, on macOS, from the Keychain;
//! it is handed to lettre and never formatted anywhere.

use std::time::Duration;

use config::{Smtp, SmtpSecurity};
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use store::mail::{Attachment, QueuedEmail};

/// Why a message was not sent.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SendError {
    /// Worth trying again later: the server is down, busy, or said "try later" (4xx).
    #[error("{0}")]
    Transient(String),
    /// Trying again cannot help: a bad address, a refusal (5xx).
    #[error("{0}")]
    Permanent(String),
}

/// The Keychain service under which the SMTP password may be stored (account = username).
pub const KEYCHAIN_SERVICE: &str = "Assistant Gazelle SMTP";

/// A configured mail server.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// For messages: `host:port (security)`, never the credentials.
    describe: String,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("server", &self.describe)
            .finish()
    }
}

/// TLS to `host` trusting `ca_file` (PEM) besides the public roots; the name and the chain
/// are still verified.
fn private_ca_tls(host: &str, ca_file: &std::path::Path) -> Result<TlsParameters, String> {
    let key = || format!("key `smtp.ca_file`: {}", ca_file.display());
    let pem = std::fs::read(ca_file).map_err(|e| format!("{}: {e}", key()))?;
    let ca = Certificate::from_pem(&pem)
        .map_err(|e| format!("{}: not a PEM certificate: {e}", key()))?;
    TlsParameters::builder(host.to_owned())
        .add_root_certificate(ca)
        .build_rustls()
        .map_err(|e| format!("{}: {e}", key()))
}

/// Hosts a plain (unencrypted) connection may go to.
fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_matches(|c| c == '[' || c == ']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl Mailer {
    /// The mailer of the configuration, `Ok(None)` when no `smtp.host` is set (alerts are
    /// then kept and logged, not e-mailed), or why the configuration cannot work.
    pub fn from_config(
        smtp: &Smtp,
        owner: Option<&config::EmailAddress>,
    ) -> Result<Option<Mailer>, String> {
        let Some(host) = smtp
            .host
            .as_deref()
            .map(str::trim)
            .filter(|h| !h.is_empty())
        else {
            return Ok(None);
        };
        let from = match (&smtp.from, owner) {
            (Some(from), _) => from.mailbox().clone(),
            (None, Some(owner)) => {
                Mailbox::new(Some("Assistant Gazelle".into()), owner.address().clone())
            }
            (None, None) => {
                return Err(
                    "key `smtp.from` (or `alerts.owner_email`) is needed to send e-mail".into(),
                );
            }
        };
        let builder = match smtp.security {
            SmtpSecurity::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)
                .map_err(|e| format!("key `smtp.host`: `{host}`: {e}"))?,
            SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)
                .map_err(|e| format!("key `smtp.host`: `{host}`: {e}"))?,
            SmtpSecurity::Plain if is_loopback(host) => {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            }
            SmtpSecurity::Plain => {
                return Err(format!(
                    "key `smtp.security`: \"plain\" sends passwords and alerts unencrypted, so it is only allowed to a relay on this machine, not `{host}`: use \"starttls\" or \"tls\""
                ));
            }
        };
        let builder = match (&smtp.ca_file, smtp.security) {
            (None, _) | (Some(_), SmtpSecurity::Plain) => builder,
            (Some(ca_file), security) => {
                let tls = private_ca_tls(host, ca_file)?;
                builder.tls(match security {
                    SmtpSecurity::Tls => Tls::Wrapper(tls),
                    _ => Tls::Required(tls),
                })
            }
        };
        let mut builder = builder
            .port(smtp.port)
            .timeout(Some(smtp.timeout.duration().min(Duration::from_secs(600))));
        if let Some(user) = &smtp.username {
            let password = match &smtp.password {
                Some(p) => p.expose().to_owned(),
                None => keychain_password(user).ok_or_else(|| {
                    format!("key `smtp.password`: not set, and no Keychain item \"{KEYCHAIN_SERVICE}\" for `{user}`")
                })?,
            };
            builder = builder.credentials(Credentials::new(user.clone(), password));
        }
        let security = match smtp.security {
            SmtpSecurity::Starttls => "STARTTLS",
            SmtpSecurity::Tls => "TLS",
            SmtpSecurity::Plain => "plain",
        };
        Ok(Some(Mailer {
            transport: builder.build(),
            from,
            describe: format!("{host}:{} ({security})", smtp.port),
        }))
    }

    /// The mail server's address (for messages and `doctor`).
    pub fn server(&self) -> &str {
        &self.describe
    }

    /// Sends one queued message with its attachments.
    pub async fn send(
        &self,
        email: &QueuedEmail,
        attachments: &[Attachment],
    ) -> Result<(), SendError> {
        let message = build(&self.from, email, attachments)?;
        self.transport.send(message).await.map(|_| ()).map_err(|e| {
            let text = self.explain(&e);
            if e.is_permanent() {
                SendError::Permanent(text)
            } else {
                SendError::Transient(text)
            }
        })
    }

    /// Connects and says hello (for `gazellectl doctor`).
    pub async fn check(&self) -> Result<(), String> {
        match self.transport.test_connection().await {
            Ok(true) => Ok(()),
            Ok(false) => Err(format!("{}: the server did not answer", self.describe)),
            Err(e) => Err(self.explain(&e)),
        }
    }

    /// lettre's error, with what to do when the server's certificate was refused (a refusal
    /// never falls back to plain text: the message waits and is retried).
    fn explain(&self, e: &lettre::transport::smtp::Error) -> String {
        let text = format!("{}: {e}", self.describe);
        if text.contains("invalid peer certificate") {
            format!(
                "{text} — the server's certificate is not trusted for this host name: check \
                 `smtp.host`, or, for a private relay, set `smtp.ca_file` to its CA"
            )
        } else {
            text
        }
    }
}

/// The MIME message of a queued e-mail: multipart/alternative, UTF-8 text and HTML, with its
/// stable Message-ID and its thread; with attachments, that inside a multipart/mixed.
pub fn build(
    from: &Mailbox,
    email: &QueuedEmail,
    attachments: &[Attachment],
) -> Result<Message, SendError> {
    let to: Mailbox = email.recipient.parse().map_err(|e| {
        SendError::Permanent(format!(
            "recipient `{}` is not an address: {e}",
            email.recipient
        ))
    })?;
    let mut builder = Message::builder()
        .from(from.clone())
        .to(to)
        .subject(email.subject.clone())
        .message_id(Some(email.message_id.clone()));
    if let Some(thread) = &email.thread_id {
        builder = builder
            .in_reply_to(thread.clone())
            .references(thread.clone());
    }
    let alternative = MultiPart::alternative()
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_PLAIN)
                .body(email.body_text.clone()),
        )
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_HTML)
                .body(email.body_html.clone()),
        );
    let body = if attachments.is_empty() {
        alternative
    } else {
        let mut mixed = MultiPart::mixed().multipart(alternative);
        for file in attachments {
            let kind = ContentType::parse(&file.content_type).map_err(|e| {
                SendError::Permanent(format!(
                    "attachment `{}`: content type `{}`: {e}",
                    file.file_name, file.content_type
                ))
            })?;
            mixed = mixed.singlepart(
                lettre::message::Attachment::new(file.file_name.clone())
                    .body(file.body.clone(), kind),
            );
        }
        mixed
    };
    builder
        .multipart(body)
        .map_err(|e| SendError::Permanent(format!("cannot build the message: {e}")))
}

#[cfg(target_os = "macos")]
fn keychain_password(user: &str) -> Option<String> {
    security_framework::passwords::get_generic_password(KEYCHAIN_SERVICE, user)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
}

#[cfg(not(target_os = "macos"))]
fn keychain_password(_user: &str) -> Option<String> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn smtp(toml_text: &str) -> Smtp {
        toml::from_str(toml_text).unwrap()
    }

    #[test]
    fn plain_is_only_for_loopback_and_a_sender_is_needed() {
        let owner: config::EmailAddress = serde_json::from_str("\"owner@example.test\"").unwrap();
        let err = Mailer::from_config(
            &smtp("host = \"mail.example.test\"\nsecurity = \"plain\""),
            Some(&owner),
        )
        .unwrap_err();
        assert!(err.contains("smtp.security"), "{err}");
        assert!(
            Mailer::from_config(
                &smtp("host = \"127.0.0.1\"\nsecurity = \"plain\"\nport = 2525"),
                Some(&owner)
            )
            .unwrap()
            .is_some()
        );
        let err = Mailer::from_config(&smtp("host = \"127.0.0.1\"\nsecurity = \"plain\""), None)
            .unwrap_err();
        assert!(err.contains("smtp.from"), "{err}");
        assert!(Mailer::from_config(&smtp(""), None).unwrap().is_none());
        let err = Mailer::from_config(
            &smtp("host = \"127.0.0.1\"\nsecurity = \"plain\"\nusername = \"u\""),
            Some(&owner),
        )
        .unwrap_err();
        assert!(err.contains("smtp.password"), "{err}");
    }
}
