//! Email over SMTP with `lettre`, read from Kratos's `courier.smtp` keys.
//!
//! `connection_uri` means what it means in Kratos:
//!
//! - `smtp://user:password@host:port/`: STARTTLS is required (a server that
//!   does not offer it fails the delivery), unless `?disable_starttls=true`,
//!   which sends in clear text;
//! - `smtps://...`: TLS from the first byte (implicit TLS);
//! - `?skip_ssl_verify=true` accepts any certificate and host name;
//!   `?server_name=` names the host the certificate must be for (the URI's
//!   host by default).
//!
//! The port defaults to 25 (`smtp`) or 465 (`smtps`); user and password are
//! percent-decoded. Any other query parameter is refused, so a misspelled
//! option is not silently ignored. Messages are sent through a pool of
//! connections that are reused between messages.

use std::time::Duration;

use async_trait::async_trait;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::AsyncSmtpTransport;
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Identity, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{Address, AsyncTransport, Tokio1Executor};

use super::delivery::{Deliver, DeliveryError};
use super::message::Message;
use bia_config::SmtpConfig;

/// Time to connect, and for each SMTP command to be answered.
pub const SMTP_TIMEOUT: Duration = Duration::from_secs(10);

/// The sender when `from_address` is not set, as in Kratos.
const DEFAULT_FROM: &str = "no-reply@ory.kratos.sh";

/// Connections kept open to the server: as many as a worker's attempts
/// under way at once (two pull loops of eight).
const POOL_SIZE: u32 = 16;

/// A problem with the `courier.smtp` settings; `key` names the setting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {reason}")]
pub struct SmtpConfigError {
    /// The key under `courier.smtp`, e.g. `connection_uri`.
    pub key: &'static str,
    /// What is wrong (never the password).
    pub reason: String,
}

fn invalid(key: &'static str, reason: impl Into<String>) -> SmtpConfigError {
    SmtpConfigError {
        key,
        reason: reason.into(),
    }
}

/// How to reach the server, read from `connection_uri`.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpTarget {
    /// Host name or address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// How the connection is protected.
    pub security: Security,
    /// Accept any certificate and host name.
    pub skip_verify: bool,
    /// The name the certificate must be for.
    pub server_name: String,
    /// User name and password, when the URI has them.
    pub credentials: Option<(String, String)>,
}

impl std::fmt::Debug for SmtpTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpTarget")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("skip_verify", &self.skip_verify)
            .field("server_name", &self.server_name)
            .finish_non_exhaustive()
    }
}

/// How an SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// STARTTLS, required.
    StartTls,
    /// TLS from the first byte.
    Implicit,
    /// None (`disable_starttls=true`).
    Cleartext,
}

impl SmtpTarget {
    /// Reads a `connection_uri`; the error never repeats the password.
    pub fn parse(uri: &str) -> Result<Self, SmtpConfigError> {
        let key = "connection_uri";
        let url = url::Url::parse(uri).map_err(|e| invalid(key, format!("not a URI: {e}")))?;
        let (mut security, port) = match url.scheme() {
            "smtp" => (Security::StartTls, 25),
            "smtps" => (Security::Implicit, 465),
            other => {
                return Err(invalid(
                    key,
                    format!("unsupported scheme {other:?}; use smtp:// or smtps://"),
                ));
            }
        };
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| invalid(key, "names no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let mut skip_verify = false;
        let mut server_name = host.clone();
        for (name, value) in url.query_pairs() {
            match name.as_ref() {
                "disable_starttls" => {
                    if flag(&value)? && security == Security::StartTls {
                        security = Security::Cleartext;
                    }
                }
                "skip_ssl_verify" => skip_verify = flag(&value)?,
                "server_name" if !value.is_empty() => server_name = value.into_owned(),
                other => {
                    return Err(invalid(
                        key,
                        format!(
                            "unknown option {other:?}; known: disable_starttls, skip_ssl_verify, server_name"
                        ),
                    ));
                }
            }
        }
        Ok(SmtpTarget {
            port: url.port().unwrap_or(port),
            credentials: credentials(&url)?,
            host,
            security,
            skip_verify,
            server_name,
        })
    }
}

fn flag(value: &str) -> Result<bool, SmtpConfigError> {
    match value {
        "true" | "1" => Ok(true),
        "false" | "0" | "" => Ok(false),
        other => Err(invalid(
            "connection_uri",
            format!("{other:?} is not true or false"),
        )),
    }
}

fn credentials(url: &url::Url) -> Result<Option<(String, String)>, SmtpConfigError> {
    if url.username().is_empty() {
        return Ok(None);
    }
    let decode = |text: &str| {
        percent_encoding::percent_decode_str(text)
            .decode_utf8()
            .map(|t| t.into_owned())
            .map_err(|_| invalid("connection_uri", "the user or password is not UTF-8"))
    };
    Ok(Some((
        decode(url.username())?,
        decode(url.password().unwrap_or_default())?,
    )))
}

/// Everything `courier.smtp` says, checked.
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    /// The server.
    pub target: SmtpTarget,
    /// The sender.
    pub from: Mailbox,
    /// Extra headers on every email.
    pub headers: Vec<(String, String)>,
    /// The name sent with EHLO.
    pub local_name: String,
    /// A client certificate and key (PEM), read from their files.
    pub client_identity: Option<CertAndKey>,
    /// Time to connect and per command.
    pub timeout: Duration,
}

impl SmtpSettings {
    /// Checks `courier.smtp`; `None` when no `connection_uri` is set. Reads
    /// the client certificate files when they are named.
    pub fn from_config(config: &SmtpConfig) -> Result<Option<Self>, SmtpConfigError> {
        let Some(uri) = config.connection_uri.as_deref().filter(|u| !u.is_empty()) else {
            return Ok(None);
        };
        let target = SmtpTarget::parse(uri)?;
        let address: Address = config
            .from_address
            .as_deref()
            .unwrap_or(DEFAULT_FROM)
            .parse()
            .map_err(|e| invalid("from_address", format!("not an email address: {e}")))?;
        let name = config.from_name.clone().filter(|n| !n.is_empty());
        if name.as_deref().is_some_and(has_control) {
            return Err(invalid("from_name", "must not contain control characters"));
        }
        let mut headers = Vec::new();
        for (name, value) in &config.headers {
            if HeaderName::new_from_ascii(name.clone()).is_err() || has_control(value) {
                return Err(invalid(
                    "headers",
                    format!("{name:?}: not a valid header name and value"),
                ));
            }
            headers.push((name.clone(), value.clone()));
        }
        let local_name = config
            .local_name
            .clone()
            .unwrap_or_else(|| "localhost".into());
        if local_name.is_empty()
            || local_name
                .chars()
                .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(invalid("local_name", "must be a host name"));
        }
        Ok(Some(SmtpSettings {
            target,
            from: Mailbox::new(name, address),
            headers,
            local_name,
            client_identity: client_identity(config)?,
            timeout: SMTP_TIMEOUT,
        }))
    }
}

/// A client certificate and its key, both PEM.
type CertAndKey = (Vec<u8>, Vec<u8>);

fn client_identity(config: &SmtpConfig) -> Result<Option<CertAndKey>, SmtpConfigError> {
    let (cert, key) = match (&config.client_cert_path, &config.client_key_path) {
        (None, None) => return Ok(None),
        (Some(cert), Some(key)) => (cert, key),
        _ => {
            return Err(invalid(
                "client_cert_path",
                "client_cert_path and client_key_path go together",
            ));
        }
    };
    let read = |key: &'static str, path: &str| {
        std::fs::read(path).map_err(|e| invalid(key, format!("cannot read {path}: {e}")))
    };
    Ok(Some((
        read("client_cert_path", cert)?,
        read("client_key_path", key)?,
    )))
}

fn has_control(text: &str) -> bool {
    text.chars().any(char::is_control)
}

/// Delivers email through one SMTP server.
pub struct SmtpDelivery {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    settings: SmtpSettings,
}

impl std::fmt::Debug for SmtpDelivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpDelivery")
            .field("target", &self.settings.target)
            .finish_non_exhaustive()
    }
}

impl SmtpDelivery {
    /// A delivery through the server `settings` name. Connects only when the
    /// first message is sent.
    pub fn new(settings: SmtpSettings) -> Result<Self, SmtpConfigError> {
        let target = &settings.target;
        let mut builder =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(target.host.clone())
                .port(target.port)
                .timeout(Some(settings.timeout))
                .hello_name(ClientId::Domain(settings.local_name.clone()))
                .pool_config(PoolConfig::new().max_size(POOL_SIZE));
        if let Some((user, password)) = &target.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        builder = builder.tls(match target.security {
            Security::Cleartext => Tls::None,
            Security::StartTls => Tls::Required(tls_parameters(&settings)?),
            Security::Implicit => Tls::Wrapper(tls_parameters(&settings)?),
        });
        Ok(Self {
            transport: builder.build(),
            settings,
        })
    }

    /// The email for a message: plain text, or plain text and HTML.
    fn email(&self, message: &Message) -> Result<lettre::Message, DeliveryError> {
        let to: Address = message
            .recipient
            .parse()
            .map_err(|e| DeliveryError::permanent(format!("invalid recipient: {e}")))?;
        let mut builder = lettre::Message::builder()
            .from(self.settings.from.clone())
            .to(Mailbox::new(None, to))
            .subject(message.subject.clone())
            .message_id(Some(format!(
                "<{}@{}>",
                message.id, self.settings.local_name
            )));
        for (name, value) in &self.settings.headers {
            if let Ok(name) = HeaderName::new_from_ascii(name.clone()) {
                builder = builder.raw_header(HeaderValue::new(name, value.clone()));
            }
        }
        let plain = SinglePart::builder()
            .header(ContentType::TEXT_PLAIN)
            .body(message.body.clone());
        let built = match &message.html {
            None => builder.singlepart(plain),
            Some(html) => builder.multipart(
                MultiPart::alternative().singlepart(plain).singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(html.clone()),
                ),
            ),
        };
        built.map_err(|e| DeliveryError::permanent(format!("cannot build the email: {e}")))
    }
}

fn tls_parameters(settings: &SmtpSettings) -> Result<TlsParameters, SmtpConfigError> {
    let target = &settings.target;
    let mut builder = TlsParameters::builder(target.server_name.clone())
        .dangerous_accept_invalid_certs(target.skip_verify)
        .dangerous_accept_invalid_hostnames(target.skip_verify);
    if let Some((cert, key)) = &settings.client_identity {
        let identity = Identity::from_pem(cert, key).map_err(|e| {
            invalid(
                "client_cert_path",
                format!("not a usable certificate and key: {e}"),
            )
        })?;
        builder = builder.identify_with(identity);
    }
    builder
        .build_rustls()
        .map_err(|e| invalid("connection_uri", format!("TLS settings: {e}")))
}

#[async_trait]
impl Deliver for SmtpDelivery {
    async fn deliver(&self, message: &Message) -> Result<(), DeliveryError> {
        let email = self.email(message)?;
        self.transport.send(email).await.map_err(|e| {
            let code = e.status().map(|c| c.to_string());
            DeliveryError::new(format!("SMTP: {e}")).with_code(code)
        })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_uris_mean_what_they_mean_in_kratos() {
        let t = SmtpTarget::parse("smtp://me:p%40ss@mail.example:587/").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.security),
            ("mail.example", 587, Security::StartTls)
        );
        assert_eq!(t.credentials, Some(("me".into(), "p@ss".into())));
        let t = SmtpTarget::parse("smtp://mail.example/?disable_starttls=true").unwrap();
        assert_eq!(
            (t.port, t.security, t.credentials),
            (25, Security::Cleartext, None)
        );
        let t =
            SmtpTarget::parse("smtps://mail.example/?skip_ssl_verify=true&server_name=x.example")
                .unwrap();
        assert_eq!(
            (t.port, t.security, t.skip_verify),
            (465, Security::Implicit, true)
        );
        assert_eq!(t.server_name, "x.example");
        for bad in [
            "http://mail.example",
            "smtp://",
            "smtp://h/?starttls=no",
            "not a uri",
        ] {
            assert!(SmtpTarget::parse(bad).is_err(), "{bad}");
        }
        let error = SmtpTarget::parse("smtp://u:secret@h/?nope=1").unwrap_err();
        assert!(!error.to_string().contains("secret"));
        assert!(!format!("{t:?}").contains("password"));
    }

    #[test]
    fn settings_refuse_header_injection_and_bad_senders() {
        let mut config = SmtpConfig {
            connection_uri: Some("smtp://localhost/?disable_starttls=true".into()),
            ..SmtpConfig::default()
        };
        assert!(SmtpSettings::from_config(&config).unwrap().is_some());
        config.from_address = Some("not an address".into());
        assert_eq!(
            SmtpSettings::from_config(&config).unwrap_err().key,
            "from_address"
        );
        config.from_address = None;
        config.from_name = Some("Bia\r\nBcc: x@example.com".into());
        assert_eq!(
            SmtpSettings::from_config(&config).unwrap_err().key,
            "from_name"
        );
        config.from_name = None;
        config.headers.insert("X-Tag".into(), "a\nb".into());
        assert_eq!(
            SmtpSettings::from_config(&config).unwrap_err().key,
            "headers"
        );
        assert!(
            SmtpSettings::from_config(&SmtpConfig::default())
                .unwrap()
                .is_none()
        );
    }
}
