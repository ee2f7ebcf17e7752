//! The control socket.
//!
//! A Unix socket in a directory only the user can enter (0700), itself 0600. A socket file
//! left by a dead daemon is detected by a connect probe and replaced; nothing else at that
//! path is ever removed, and a directory the daemon does not own is never chmod-ed. Each peer's uid must be
//! the daemon's own. Frames are capped (see `protocol`), an idle connection is closed after
//! [`IDLE_TIMEOUT`], and a malformed frame is answered with an error, never a crash.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use protocol::{
    ErrorCode, FrameError, PROTOCOL_VERSION, Request, Response, read_frame, write_frame,
};
use std::panic::AssertUnwindSafe;
use sync_engine::{Mode, Stream, Trigger};
use tokio::io::BufReader;
use tokio::net::{UnixListener, UnixStream};

use crate::context::Context;
use crate::handlers::{self, Parts};
use crate::runner::RunEvent;
use crate::shutdown::Shutdown;

/// macOS limits a socket path to 104 bytes (`sun_path`), Linux to 108.
pub const MAX_SOCKET_PATH: usize = 104;
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// Binds the socket, replacing a stale one.
///
/// `owns_dir`: the directory is the daemon's own (the default `<data_dir>/run/`), created
/// and kept at 0700. Any other directory is the user's: it is created (0700) when missing,
/// and otherwise must already be private to `uid` (no group or other access); the daemon
/// never changes the permissions of a directory it does not own (`~/gazelled.sock` must not
/// make the home directory 0700). Only a stale *socket* is ever removed.
pub async fn bind(path: &Path, owns_dir: bool, uid: u32) -> Result<(UnixListener, u32), String> {
    use std::os::unix::fs::FileTypeExt;
    let length = path.as_os_str().len();
    if length >= MAX_SOCKET_PATH {
        return Err(format!(
            "socket path {} is {length} bytes; macOS allows fewer than {MAX_SOCKET_PATH}: set paths.socket to a shorter path",
            path.display()
        ));
    }
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .ok_or_else(|| format!("socket path {} has no directory", path.display()))?;
    match std::fs::metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            store::open::create_private_dir(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        Err(e) => return Err(format!("cannot read {}: {e}", dir.display())),
        // Ours (it may predate a fix of its permissions): tighten it.
        Ok(_) if owns_dir => std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| format!("cannot secure {}: {e}", dir.display()))?,
        Ok(meta) if meta.uid() != uid || meta.mode() & 0o077 != 0 => {
            return Err(format!(
                "the control socket's directory {} is not private (mode {:o}, owner uid {}): \
                 paths.socket must be in a directory only you can enter (chmod 700), or left \
                 unset for the default <data_dir>/run/gazelled.sock",
                dir.display(),
                meta.mode() & 0o7777,
                meta.uid()
            ));
        }
        Ok(_) => {}
    }
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => {
            if UnixStream::connect(path).await.is_ok() {
                return Err(format!("another daemon answers on {}", path.display()));
            }
            tracing::info!(socket = %path.display(), "replacing a stale socket left by a dead daemon");
            std::fs::remove_file(path)
                .map_err(|e| format!("cannot remove the stale socket {}: {e}", path.display()))?;
        }
        Ok(_) => {
            return Err(format!(
                "{} exists and is not a socket: it is left as it is; move it away or set paths.socket to another path",
                path.display()
            ));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    }
    let listener = UnixListener::bind(path)
        .map_err(|e| format!("cannot listen on {}: {e}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| format!("cannot secure {}: {e}", path.display()))?;
    // The socket file is ours: its owner is the uid every peer must have.
    let uid = std::fs::metadata(path).map_err(|e| e.to_string())?.uid();
    Ok((listener, uid))
}

/// Serves connections until `shutdown`: then no new connection is accepted, idle ones are
/// closed, and a request being handled is answered first.
pub async fn serve(listener: UnixListener, owner: u32, context: Arc<Context>, shutdown: Shutdown) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = shutdown.token().cancelled() => return,
        };
        let (stream, _) = match accepted {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "control socket accept failed");
                continue;
            }
        };
        let context = Arc::clone(&context);
        let stop = shutdown.token().clone();
        shutdown.spawn(async move {
            match stream.peer_cred() {
                Ok(cred) if cred.uid() == owner => {}
                Ok(cred) => {
                    tracing::warn!(
                        uid = cred.uid(),
                        "refused a control connection from another user"
                    );
                    refuse(stream, cred.uid(), owner).await;
                    return;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot identify a control peer");
                    return;
                }
            }
            if let Err(e) = connection(stream, &context, &stop).await {
                tracing::debug!(error = %e, "control connection ended");
            }
        });
    }
}

/// Writes an answer; one too large for any reader (over [`protocol::MAX_ANSWER`]) is
/// replaced by an error answer that says so, so the client hears why rather than losing the
/// connection. (A write the handler committed stays committed: the error says so too.)
async fn answer<W: tokio::io::AsyncWrite + Unpin>(
    write: &mut W,
    response: &Response,
) -> std::io::Result<()> {
    match write_frame(write, response).await {
        Err(e) if e.kind() == std::io::ErrorKind::FileTooLarge => {
            tracing::warn!(error = %e, "an answer was too large to send");
            let message = format!(
                "the answer is too large to send ({e}); anything this request changed is saved. Ask for less (`--limit`, a narrower date range)"
            );
            write_frame(
                write,
                &Response::Error {
                    code: ErrorCode::Internal,
                    message,
                },
            )
            .await
        }
        other => other,
    }
}

/// Tells a peer of another uid why it is not served (after its first frame, so its write
/// does not meet a closed socket), then closes. Nothing of the daemon's state is read.
async fn refuse(stream: UnixStream, uid: u32, owner: u32) {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let _ = tokio::time::timeout(
        Duration::from_secs(2),
        read_frame::<_, serde_json::Value>(&mut reader),
    )
    .await;
    let _ = write_frame(
        &mut write,
        &Response::Error {
            code: ErrorCode::Forbidden,
            message: format!(
                "permission denied: this daemon serves uid {owner} only, not uid {uid}"
            ),
        },
    )
    .await;
}

async fn connection(
    stream: UnixStream,
    context: &Context,
    stop: &tokio_util::sync::CancellationToken,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    loop {
        let next = tokio::select! {
            next = tokio::time::timeout(IDLE_TIMEOUT, read_frame::<_, Request>(&mut reader)) => next,
            () = stop.cancelled() => return Ok(()), // between requests: nothing is lost
        };
        let frame = match next {
            Err(_) => return Ok(()), // idle: close
            Ok(Ok(None)) => return Ok(()),
            Ok(Ok(Some(request))) => request,
            Ok(Err(FrameError::Io(e))) => return Err(e),
            Ok(Err(e)) => {
                let too_long = matches!(e, FrameError::TooLong(_));
                write_frame(
                    &mut write,
                    &Response::Error {
                        code: ErrorCode::BadRequest,
                        message: e.to_string(),
                    },
                )
                .await?;
                if too_long {
                    return Ok(()); // the rest of the line cannot be trusted
                }
                continue;
            }
        };
        match frame {
            Request::Hello => {
                write_frame(
                    &mut write,
                    &Response::Hello {
                        daemon_version: env!("CARGO_PKG_VERSION").into(),
                        protocol_version: PROTOCOL_VERSION,
                    },
                )
                .await?
            }
            Request::Call(call) => {
                let verb = call.name();
                let served = {
                    let mut parts = Parts::new(&mut write);
                    // A panic in a handler (a bug) is logged by the hook and answered as an
                    // internal error; the connection and the daemon go on.
                    AssertUnwindSafe(handlers::serve(context, call, &mut parts))
                        .catch_unwind()
                        .await
                };
                let response = match served {
                    Ok(Ok(response)) => response,
                    Ok(Err(lost)) => return Err(lost),
                    Err(_) => Response::Error {
                        code: ErrorCode::Internal,
                        message: format!(
                            "internal error while serving {verb} (a bug, written to the daemon's log); nothing was left half-done"
                        ),
                    },
                };
                answer(&mut write, &response).await?;
            }
            Request::Pause | Request::Resume => {
                let paused = matches!(frame, Request::Pause);
                context.runner.set_paused(paused);
                tracing::info!(
                    paused,
                    "schedule {}",
                    if paused { "paused" } else { "resumed" }
                );
                write_frame(&mut write, &Response::Paused { paused }).await?;
            }
            // The daemon owns the tokens: `cmd_auth` answers with its client, or refuses.
            Request::AuthStatus => {
                let response = handlers::auth::status(context).await;
                answer(&mut write, &handlers::respond(response)).await?;
            }
            Request::AuthLogin {
                code,
                expected_state,
            } => {
                let response =
                    handlers::auth::login(context, &code, expected_state.as_deref()).await;
                answer(&mut write, &handlers::respond(response)).await?;
            }
            Request::AuthLogout => {
                let response = handlers::auth::logout(context).await;
                answer(&mut write, &handlers::respond(response)).await?;
            }
            Request::ApiCheck => {
                let response = handlers::auth::api_check(context).await;
                answer(&mut write, &handlers::respond(response)).await?;
            }
            Request::ForceSync {
                mode,
                streams,
                wait,
            } => {
                let parsed = parse_sync(mode.as_deref(), &streams);
                let (mode, streams) = match parsed {
                    Ok(p) => p,
                    Err(message) => {
                        write_frame(
                            &mut write,
                            &Response::Error {
                                code: ErrorCode::BadRequest,
                                message,
                            },
                        )
                        .await?;
                        continue;
                    }
                };
                match context.runner.trigger(Trigger::Manual, mode, streams).await {
                    Err(message) => {
                        write_frame(
                            &mut write,
                            &Response::Error {
                                code: ErrorCode::Unavailable,
                                message,
                            },
                        )
                        .await?
                    }
                    Ok((mut events, joined)) => {
                        write_frame(&mut write, &Response::SyncStarted { joined }).await?;
                        if wait {
                            loop {
                                match events.recv().await {
                                    Ok(RunEvent::Progress(event)) => {
                                        write_frame(&mut write, &Response::Progress { event })
                                            .await?;
                                    }
                                    Ok(RunEvent::Finished(Ok(report))) => {
                                        write_frame(&mut write, &Response::SyncFinished { report })
                                            .await?;
                                        break;
                                    }
                                    Ok(RunEvent::Finished(Err(message))) => {
                                        write_frame(
                                            &mut write,
                                            &Response::Error {
                                                code: ErrorCode::Internal,
                                                message,
                                            },
                                        )
                                        .await?;
                                        break;
                                    }
                                    // A slow reader missed some progress: keep going.
                                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                                        continue;
                                    }
                                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

pub(crate) fn parse_sync(
    mode: Option<&str>,
    streams: &[String],
) -> Result<(Mode, Vec<Stream>), String> {
    let mode = match mode.unwrap_or("incremental") {
        "full" => Mode::Full,
        "incremental" => Mode::Incremental,
        "reconcile" => Mode::Reconcile,
        other => {
            return Err(format!(
                "unknown mode `{other}` (full, incremental, reconcile)"
            ));
        }
    };
    let streams = if streams.is_empty() {
        Stream::ALL.to_vec()
    } else {
        streams
            .iter()
            .map(|s| {
                Stream::parse(s).ok_or_else(|| {
                    format!(
                        "unknown stream `{s}` ({})",
                        Stream::ALL
                            .iter()
                            .map(|s| s.name())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })
            })
            .collect::<Result<_, _>>()?
    };
    Ok((mode, streams))
}
