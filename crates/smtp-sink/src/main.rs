//! `smtp-sink --dir DIR [--port N] [--ack-delay-ms MS]`: a real SMTP server on loopback (mailin-embedded: the
//! protocol, its state machine and its replies are a real server's), which writes each
//! accepted message to `DIR/NNNNNN.eml` and its envelope to `DIR/NNNNNN.json`, atomically
//! (written under a temporary name, then renamed). It prints one JSON line,
//! `{"listening":"127.0.0.1:PORT"}`, once it accepts connections.
//!
//! Stopping it (kill) is how a test takes the mail server down; starting it again on the same
//! port and directory brings it back with its numbering continued.

use std::io::Write as _;
use std::net::{IpAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use clap::Parser;
use mailin_embedded::response::{OK, Response};
use mailin_embedded::{Handler, Server, SslConfig};

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
}

#[derive(Clone)]
struct Sink {
    dir: PathBuf,
    next: Arc<AtomicU64>,
    from: String,
    to: Vec<String>,
    data: Vec<u8>,
    ack_delay: std::time::Duration,
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
        let envelope = serde_json::json!({"from": self.from, "to": self.to}).to_string();
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
                mailin_embedded::response::INTERNAL_ERROR
            }
        }
    }
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    if let Err(e) = std::fs::create_dir_all(&args.dir) {
        eprintln!("smtp-sink: cannot create {}: {e}", args.dir.display());
        return std::process::ExitCode::FAILURE;
    }
    // Continue the numbering of an earlier run in the same directory.
    let existing = std::fs::read_dir(&args.dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                .count() as u64
        })
        .unwrap_or(0);
    let listener = match TcpListener::bind(("127.0.0.1", args.port)) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("smtp-sink: cannot listen on 127.0.0.1:{}: {e}", args.port);
            return std::process::ExitCode::FAILURE;
        }
    };
    let address = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let sink = Sink {
        dir: args.dir,
        next: Arc::new(AtomicU64::new(existing)),
        from: String::new(),
        to: Vec::new(),
        data: Vec::new(),
        ack_delay: std::time::Duration::from_millis(args.ack_delay_ms),
    };
    let mut server = Server::new(sink);
    server
        .with_name("smtp-sink.localhost")
        .with_tcp_listener(listener);
    if let Err(e) = server.with_ssl(SslConfig::None) {
        eprintln!("smtp-sink: {e}");
        return std::process::ExitCode::FAILURE;
    }
    println!("{}", serde_json::json!({"listening": address}));
    let _ = std::io::stdout().flush();
    match server.serve() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("smtp-sink: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
