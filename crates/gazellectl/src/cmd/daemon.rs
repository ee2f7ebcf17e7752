//! Talking to `gazelled` over its control socket.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use protocol::{Answer, PROTOCOL_VERSION, Request, Response, Verb, read_frame, write_frame};
use tokio::io::BufReader;
use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};

use crate::{EXIT_FAILED, EXIT_NOT_RUNNING};

/// How long the daemon has to answer a request (and to accept the connection and say hello).
/// Every verb but a waited-for sync answers in milliseconds; a daemon that says nothing for
/// this long is stopped (SIGSTOP, a debugger) or stuck, and the user should hear so.
pub const ANSWER_WITHIN: Duration = Duration::from_secs(30);

/// `force-sync --wait`: the longest silence between two events of a run (its start may wait
/// for another run to end, and a full sync of a large account reports every page).
pub const RUN_SILENCE_WITHIN: Duration = Duration::from_secs(30 * 60);

/// A connection that has said hello.
pub struct Daemon {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    socket: PathBuf,
}

fn silent(socket: &Path, limit: Duration) -> String {
    format!(
        "gazelled did not answer within {} s on {}: it is stopped or stuck (`gazellectl logs` shows its last lines; restarting it is safe)",
        limit.as_secs(),
        socket.display()
    )
}

impl Daemon {
    /// Loads the configuration and connects to the daemon it names.
    pub async fn connect_configured(file: Option<&Path>) -> Result<Daemon, ExitCode> {
        let config = crate::load_config(file)?.config;
        Daemon::connect(&config.paths.socket()).await
    }

    /// Connects and checks the protocol version; says plainly when the daemon is not running.
    pub async fn connect(socket: &Path) -> Result<Daemon, ExitCode> {
        let connecting = tokio::time::timeout(ANSWER_WITHIN, UnixStream::connect(socket))
            .await
            .map_err(|_| {
                eprintln!("gazellectl: {}", silent(socket, ANSWER_WITHIN));
                ExitCode::from(EXIT_FAILED)
            })?;
        let stream = connecting.map_err(|e| {
            if e.kind() == std::io::ErrorKind::PermissionDenied {
                // The socket is private to the user who runs the daemon.
                eprintln!(
                    "gazellectl: permission denied on {}: that daemon belongs to another user",
                    socket.display()
                );
                return ExitCode::from(EXIT_FAILED);
            }
            eprintln!(
                "gazelled is not running (no answer on {}).\nStart it with `gazellectl install` (at login) or `gazelled --foreground` (by hand).",
                socket.display()
            );
            ExitCode::from(EXIT_NOT_RUNNING)
        })?;
        let (read, writer) = stream.into_split();
        let mut daemon = Daemon {
            reader: BufReader::new(read),
            writer,
            socket: socket.to_owned(),
        };
        match daemon.request(&Request::Hello).await? {
            Response::Hello {
                protocol_version, ..
            } if protocol_version == PROTOCOL_VERSION => Ok(daemon),
            Response::Hello {
                daemon_version,
                protocol_version,
            } => {
                eprintln!(
                    "gazellectl: gazelled {daemon_version} speaks protocol {protocol_version}, this gazellectl speaks {PROTOCOL_VERSION}: install matching versions"
                );
                Err(ExitCode::from(EXIT_FAILED))
            }
            Response::Error { message, .. } => {
                eprintln!("gazellectl: {message}");
                Err(ExitCode::from(EXIT_FAILED))
            }
            other => {
                eprintln!("gazellectl: unexpected answer to hello: {other:?}");
                Err(ExitCode::from(EXIT_FAILED))
            }
        }
    }

    /// The daemon's version if one answers on `socket`, else why not (nothing printed).
    pub async fn probe(socket: &Path) -> Result<String, String> {
        tokio::time::timeout(ANSWER_WITHIN, Self::probe_unbounded(socket))
            .await
            .unwrap_or_else(|_| Err(silent(socket, ANSWER_WITHIN)))
    }

    async fn probe_unbounded(socket: &Path) -> Result<String, String> {
        let stream = UnixStream::connect(socket).await.map_err(|e| {
            format!(
                "gazelled is not running (no answer on {}: {e})",
                socket.display()
            )
        })?;
        let (read, mut writer) = stream.into_split();
        let mut reader = BufReader::new(read);
        write_frame(&mut writer, &Request::Hello)
            .await
            .map_err(|e| format!("{}: {e}", socket.display()))?;
        match read_frame::<_, Response>(&mut reader).await {
            Ok(Some(Response::Hello {
                daemon_version,
                protocol_version,
            })) if protocol_version == PROTOCOL_VERSION => Ok(daemon_version),
            Ok(Some(Response::Hello {
                daemon_version,
                protocol_version,
            })) => Err(format!(
                "gazelled {daemon_version} speaks protocol {protocol_version}, this gazellectl {PROTOCOL_VERSION}"
            )),
            Ok(other) => Err(format!("unexpected answer to hello: {other:?}")),
            Err(e) => Err(format!("unreadable answer: {e}")),
        }
    }

    pub async fn send(&mut self, request: &Request) -> Result<(), ExitCode> {
        let sending = tokio::time::timeout(ANSWER_WITHIN, write_frame(&mut self.writer, request));
        match sending.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::FileTooLarge => {
                eprintln!(
                    "gazellectl: not sent, nothing changed: the request is too large ({e}); shorten its text"
                );
                Err(ExitCode::from(EXIT_FAILED))
            }
            Ok(Err(e)) => {
                eprintln!("gazellectl: lost the daemon: {e}");
                Err(ExitCode::from(EXIT_FAILED))
            }
            Err(_) => {
                eprintln!("gazellectl: {}", silent(&self.socket, ANSWER_WITHIN));
                Err(ExitCode::from(EXIT_FAILED))
            }
        }
    }

    /// The next answer, within [`ANSWER_WITHIN`].
    pub async fn next(&mut self) -> Result<Response, ExitCode> {
        self.next_within(ANSWER_WITHIN).await
    }

    /// The next answer, or a clear failure after `limit` of silence.
    pub async fn next_within(&mut self, limit: Duration) -> Result<Response, ExitCode> {
        let reading = tokio::time::timeout(limit, read_frame::<_, Response>(&mut self.reader));
        let Ok(read) = reading.await else {
            eprintln!("gazellectl: {}", silent(&self.socket, limit));
            return Err(ExitCode::from(EXIT_FAILED));
        };
        match read {
            Ok(Some(r)) => Ok(r),
            Ok(None) => {
                eprintln!("gazellectl: the daemon closed the connection");
                Err(ExitCode::from(EXIT_FAILED))
            }
            Err(e) => {
                eprintln!("gazellectl: unreadable answer from the daemon: {e}");
                Err(ExitCode::from(EXIT_FAILED))
            }
        }
    }

    pub async fn request(&mut self, request: &Request) -> Result<Response, ExitCode> {
        self.send(request).await?;
        self.next().await
    }

    /// A request whose answer may take up to `limit` (a sync that waits for another).
    pub async fn request_within(
        &mut self,
        request: &Request,
        limit: Duration,
    ) -> Result<Response, ExitCode> {
        self.send(request).await?;
        self.next_within(limit).await
    }
}

/// Connects, asks one thing, and returns the answer; an error answer is printed, with the
/// exit code [`refused`] gives it.
pub async fn ask(file: Option<&Path>, request: Request) -> Result<Response, ExitCode> {
    let mut daemon = Daemon::connect_configured(file).await?;
    match daemon.request(&request).await? {
        Response::Error { code, message } => Err(refused(code, &message)),
        other => Ok(other),
    }
}

/// Prints the daemon's refusal; the exit code says whose the fault is: 2 (bad usage) for a
/// request the daemon found malformed or a value it rejects (an unknown id, a date that
/// does not exist, a bound passed), 1 for a failure.
pub fn refused(code: protocol::ErrorCode, message: &str) -> ExitCode {
    eprintln!("gazellectl: {message}");
    match code {
        protocol::ErrorCode::BadRequest | protocol::ErrorCode::Invalid => {
            ExitCode::from(crate::EXIT_USAGE)
        }
        _ => ExitCode::from(EXIT_FAILED),
    }
}

impl Daemon {
    /// Sends a verb and reads its answer, parts included: each part is given to `each` as it
    /// arrives (a list of any length is never held whole), the last one is returned.
    pub async fn call_each<V: Verb>(
        &mut self,
        verb: V,
        mut each: impl FnMut(V::Answer),
    ) -> Result<V::Answer, ExitCode> {
        self.send(&Request::from(verb)).await?;
        loop {
            match self.next().await? {
                Response::Part(part) => each(typed::<V>(part)?),
                Response::Answer(answer) => return typed::<V>(answer),
                Response::Error { code, message } => return Err(refused(code, &message)),
                other => return Err(unexpected(&other)),
            }
        }
    }
}

fn typed<V: Verb>(answer: Answer) -> Result<V::Answer, ExitCode> {
    V::take(answer).map_err(|other| unexpected(&other))
}

fn unexpected(answer: &impl std::fmt::Debug) -> ExitCode {
    eprintln!("gazellectl: unexpected answer from the daemon: {answer:?}");
    ExitCode::from(EXIT_FAILED)
}

/// Asks one verb of the configured daemon, on a runtime of its own; the answer, or the exit
/// code after the refusal was printed. For a list verb, see [`call_each`].
pub fn call<V: Verb>(file: Option<&Path>, verb: V) -> Result<V::Answer, ExitCode> {
    call_each(file, verb, |_| {})
}

/// [`call`] for the verbs answered in parts ([`protocol::Listing`]): `each` gets every part
/// but the last, which is returned.
pub fn call_each<V: Verb>(
    file: Option<&Path>,
    verb: V,
    each: impl FnMut(V::Answer),
) -> Result<V::Answer, ExitCode> {
    let runtime = crate::runtime()?;
    runtime.block_on(async {
        let mut daemon = Daemon::connect_configured(file).await?;
        daemon.call_each(verb, each).await
    })
}

/// All the parts of a list verb's answer in one list (for the short lists a table shows).
pub fn call_all<V, T>(file: Option<&Path>, verb: V) -> Result<Vec<T>, ExitCode>
where
    V: protocol::Listing<Answer = Vec<T>>,
{
    let mut all = Vec::new();
    let last = call_each(file, verb, |part| all.extend(part))?;
    all.extend(last);
    Ok(all)
}

/// The daemon's lock, as the CLI finds it.
pub enum DaemonLock {
    /// No daemon runs; none can start while this is held.
    Held(std::fs::File),
    /// A daemon holds it (running, or starting and not yet answering).
    Busy,
}

/// Takes `<data_dir>/gazelled.lock` without waiting: what the CLI holds while it writes what
/// the daemon owns (the database for `migrate-v4`, the tokens for `auth` without a daemon).
pub fn daemon_lock(lock_path: &Path) -> Result<DaemonLock, String> {
    use std::fs::{OpenOptions, TryLockError};
    // Created as the daemon would (private), so a daemon started meanwhile waits.
    if let Some(dir) = lock_path.parent() {
        store::open::create_private_dir(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(lock_path)
        .map_err(|e| {
            format!(
                "cannot check the daemon's lock {}: {e}",
                lock_path.display()
            )
        })?;
    match file.try_lock() {
        Ok(()) => Ok(DaemonLock::Held(file)),
        Err(TryLockError::WouldBlock) => Ok(DaemonLock::Busy),
        Err(TryLockError::Error(e)) => Err(format!(
            "cannot check the daemon's lock {}: {e}",
            lock_path.display()
        )),
    }
}

/// Who may use the Gazelle tokens now.
pub enum TokenOwner {
    /// The running daemon: the request goes to it.
    Daemon(Daemon),
    /// No daemon: this process, holding the daemon's lock until it is done.
    Here(std::fs::File),
}

/// The daemon if one answers, else the daemon's lock, so that one process only ever
/// refreshes the tokens (with rotating refresh tokens, two would revoke each other's).
pub async fn token_owner(config: &config::Config) -> Result<TokenOwner, ExitCode> {
    let socket = config.paths.socket();
    if Daemon::probe(&socket).await.is_ok() {
        return Daemon::connect(&socket).await.map(TokenOwner::Daemon);
    }
    match daemon_lock(&config.paths.lock_file()) {
        Ok(DaemonLock::Held(lock)) => Ok(TokenOwner::Here(lock)),
        Ok(DaemonLock::Busy) => {
            eprintln!(
                "gazellectl: gazelled holds the tokens but does not answer on {}: it is starting, stopped or stuck (`gazellectl logs`); try again in a moment",
                socket.display()
            );
            Err(ExitCode::from(crate::EXIT_BUSY))
        }
        Err(message) => {
            eprintln!("gazellectl: {message}");
            Err(ExitCode::from(EXIT_FAILED))
        }
    }
}
