//! `smtp-sink --dir DIR [--port N] [--ack-delay-ms MS] [--tls starttls|implicit --cert PEM
//! --key PEM] [--auth USER:PASSWORD]`: a real SMTP server on loopback, which writes each
//! accepted message to `DIR/NNNNNN.eml` and its envelope to `DIR/NNNNNN.json`, atomically
//! (written under a temporary name, then renamed). It prints one JSON line,
//! `{"listening":"127.0.0.1:PORT"}`, once it accepts connections.
//!
//! The protocol, its state machine and its replies are mailin's (a real server's); this file
//! is only the connection loop around it, so that one server speaks the three ways shops'
//! mail servers do: plain (a relay on the Mac), STARTTLS (port 587) and implicit TLS (465),
//! with the certificate a test made (rcgen). With `--auth`, a message is accepted only after
//! AUTH PLAIN or LOGIN with that user, and the envelope records who authenticated.
//!
//! Stopping it (kill) is how a test takes the mail server down; starting it again on the same
//! port and directory brings it back with its numbering continued.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use clap::{Parser, ValueEnum};
use mailin::response::{INVALID_CREDENTIALS, OK, Response};
use mailin::{Action, AuthMechanism, Handler, SessionBuilder};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};

#[derive(Debug, Parser)]
#[command(about = "A local SMTP server that keeps every message as a file")]
struct Args {
    /// Where messages are written.
    #[arg(long)]
    dir: PathBuf,
    /// 0 = any free port.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// A slow server: wait this long after keeping a message before acknowledging it (the
    /// window in which a client has been delivered to but does not know it yet).
    #[arg(long, value_name = "MS", default_value_t = 0)]
    ack_delay_ms: u64,
    /// How the connection is encrypted (with `--cert` and `--key`).
    #[arg(long, value_enum, default_value = "none", requires_ifs = [("starttls", "cert"), ("implicit", "cert")])]
    tls: TlsMode,
    /// The server's certificate chain (PEM).
    #[arg(long, requires = "key")]
    cert: Option<PathBuf>,
    /// The server's private key (PEM).
    #[arg(long)]
    key: Option<PathBuf>,
    /// Require AUTH (PLAIN or LOGIN) with this user and password.
    #[arg(long, value_name = "USER:PASSWORD")]
    auth: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum TlsMode {
    /// Plain text (a relay on this machine).
    None,
    /// Plain text until the client says STARTTLS (port 587).
    Starttls,
    /// TLS from the first byte (port 465).
    Implicit,
}

#[derive(Clone)]
struct Sink {
    dir: PathBuf,
    next: Arc<AtomicU64>,
    ack_delay: Duration,
    /// The only user and password AUTH accepts.
    account: Option<Arc<(String, String)>>,
    // Per session:
    authenticated: Option<String>,
    from: String,
    to: Vec<String>,
    data: Vec<u8>,
}

impl Sink {
    fn authenticate(&mut self, user: &str, password: &str) -> Response {
        match self.account.as_deref() {
            Some((u, p)) if u == user && p == password => {
                self.authenticated = Some(user.to_owned());
                mailin::response::AUTH_OK
            }
            _ => INVALID_CREDENTIALS,
        }
    }
}

impl Handler for Sink {
    fn helo(&mut self, _ip: IpAddr, _domain: &str) -> Response {
        OK
    }

    fn data_start(&mut self, _domain: &str, from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.from = from.to_owned();
        self.to = to.to_vec();
        self.data.clear();
        OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let n = self.next.fetch_add(1, Ordering::SeqCst);
        let write = |name: String, bytes: &[u8]| -> std::io::Result<()> {
            let tmp = self.dir.join(format!(".{name}.tmp"));
            std::fs::File::create(&tmp)?.write_all(bytes)?;
            std::fs::rename(&tmp, self.dir.join(name))
        };
        let envelope = serde_json::json!({
            "from": self.from, "to": self.to, "authenticated": self.authenticated,
        })
        .to_string();
        // The envelope first: a reader that sees the .eml finds its envelope.
        let saved = write(format!("{n:06}.json"), envelope.as_bytes())
            .and_then(|()| write(format!("{n:06}.eml"), &self.data));
        match saved {
            Ok(()) => {
                std::thread::sleep(self.ack_delay);
                OK
            }
            Err(e) => {
                eprintln!("smtp-sink: cannot keep message {n}: {e}");
                mailin::response::INTERNAL_ERROR
            }
        }
    }

    fn auth_plain(
        &mut self,
        _authorization_id: &str,
        authentication_id: &str,
        password: &str,
    ) -> Response {
        self.authenticate(authentication_id, password)
    }

    fn auth_login(&mut self, username: &str, password: &str) -> Response {
        self.authenticate(username, password)
    }
}

/// A client connection, before or after TLS.
enum Conn {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ServerConnection, TcpStream>>),
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Conn::Plain(s) => s.read(buf),
            Conn::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Conn::Plain(s) => s.write(buf),
            Conn::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Conn::Plain(s) => s.flush(),
            Conn::Tls(s) => s.flush(),
        }
    }
}

/// A stalled client is dropped after this long (a bound on every read and write).
const IDLE: Duration = Duration::from_secs(60);

fn tls_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, String> {
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("--cert {}: {e}", cert.display()))?;
    let key =
        PrivateKeyDer::from_pem_file(key).map_err(|e| format!("--key {}: {e}", key.display()))?;
    ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_no_client_auth().with_single_cert(certs, key))
        .map(Arc::new)
        .map_err(|e| format!("the certificate and key: {e}"))
}

/// One SMTP session, start to end.
fn serve(
    tcp: TcpStream,
    builder: &SessionBuilder,
    sink: Sink,
    tls: Option<(TlsMode, Arc<ServerConfig>)>,
) -> Result<(), String> {
    tcp.set_read_timeout(Some(IDLE))
        .map_err(|e| e.to_string())?;
    tcp.set_write_timeout(Some(IDLE))
        .map_err(|e| e.to_string())?;
    let remote = tcp
        .peer_addr()
        .map(|a| a.ip())
        .unwrap_or(IpAddr::from([127, 0, 0, 1]));
    let tls_session = |config: &Arc<ServerConfig>| {
        ServerConnection::new(Arc::clone(config)).map_err(|e| format!("TLS: {e}"))
    };
    let conn = match &tls {
        Some((TlsMode::Implicit, config)) => {
            Conn::Tls(Box::new(StreamOwned::new(tls_session(config)?, tcp)))
        }
        _ => Conn::Plain(tcp),
    };
    let mut stream = BufReader::new(conn);
    let mut session = builder.build(remote, sink);
    let reply = |stream: &mut BufReader<Conn>, response: &Response| -> Result<(), String> {
        let out = stream.get_mut();
        response.write_to(out).map_err(|e| e.to_string())?;
        out.flush().map_err(|e| e.to_string())
    };
    reply(&mut stream, &session.greeting())?;
    let mut line = Vec::with_capacity(128);
    loop {
        line.clear();
        if stream
            .read_until(b'\n', &mut line)
            .map_err(|e| e.to_string())?
            == 0
        {
            return Ok(()); // the client hung up
        }
        let response = session.process(&line);
        match response.action {
            Action::Reply => reply(&mut stream, &response)?,
            Action::NoReply => {}
            Action::Close => return reply(&mut stream, &response),
            Action::UpgradeTls => {
                reply(&mut stream, &response)?;
                let (Some((TlsMode::Starttls, config)), Conn::Plain(tcp)) =
                    (&tls, stream.into_inner())
                else {
                    return Err("STARTTLS without a certificate".into());
                };
                let conn = Conn::Tls(Box::new(StreamOwned::new(tls_session(config)?, tcp)));
                stream = BufReader::new(conn);
                session.tls_active();
            }
        }
    }
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("smtp-sink: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<(), String> {
    std::fs::create_dir_all(&args.dir)
        .map_err(|e| format!("cannot create {}: {e}", args.dir.display()))?;
    // Continue the numbering of an earlier run in the same directory.
    let existing = std::fs::read_dir(&args.dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                .count() as u64
        })
        .unwrap_or(0);
    let tls = match (args.tls, &args.cert, &args.key) {
        (TlsMode::None, _, _) => None,
        (mode, Some(cert), Some(key)) => Some((mode, tls_config(cert, key)?)),
        _ => return Err("--tls needs --cert and --key".into()),
    };
    let account = match &args.auth {
        None => None,
        Some(pair) => {
            let (user, password) = pair
                .split_once(':')
                .ok_or("--auth: expected USER:PASSWORD")?;
            Some(Arc::new((user.to_owned(), password.to_owned())))
        }
    };
    let mut builder = SessionBuilder::new("smtp-sink.localhost");
    if account.is_some() {
        builder
            .enable_auth(AuthMechanism::Plain)
            .enable_auth(AuthMechanism::Login);
        // Over implicit TLS the whole session is encrypted; in plain mode the tests want AUTH
        // on loopback. Under STARTTLS, AUTH is offered only after the upgrade, as servers do.
        if args.tls != TlsMode::Starttls {
            builder.insecure_enable_plaintext_auth();
        }
    }
    if args.tls == TlsMode::Starttls {
        builder.enable_start_tls();
    }
    let listener = TcpListener::bind(("127.0.0.1", args.port))
        .map_err(|e| format!("cannot listen on 127.0.0.1:{}: {e}", args.port))?;
    let address = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let sink = Sink {
        dir: args.dir,
        next: Arc::new(AtomicU64::new(existing)),
        ack_delay: Duration::from_millis(args.ack_delay_ms),
        account,
        authenticated: None,
        from: String::new(),
        to: Vec::new(),
        data: Vec::new(),
    };
    println!("{}", serde_json::json!({"listening": address}));
    let _ = std::io::stdout().flush();
    for conn in listener.incoming() {
        let tcp = match conn {
            Ok(tcp) => tcp,
            Err(e) => {
                eprintln!("smtp-sink: accept: {e}");
                continue;
            }
        };
        let (builder, sink, tls) = (builder.clone(), sink.clone(), tls.clone());
        std::thread::spawn(move || {
            if let Err(e) = serve(tcp, &builder, sink, tls) {
                eprintln!("smtp-sink: session ended: {e}");
            }
        });
    }
    Ok(())
}
