//! The control socket's protocol, shared by `gazelled` and `gazellectl`.
//!
//! Newline-delimited JSON: one request per line from the client, one or more response lines
//! from the daemon (a `force-sync --wait` streams progress, then the report). Each direction
//! has its cap ([`Frame::MAX`]), enforced by the writer as well as the reader: a request is
//! at most [`MAX_REQUEST`] bytes, an answer at most [`MAX_ANSWER`] (a listing of every alert
//! of a large shop is a few MiB; no answer of the daemon's may fail on size in daily use). `hello` answers with the daemon's and the protocol's versions and
//! never changes shape, so any `gazellectl` can tell any `gazelled` what is wrong.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWrite, AsyncWriteExt, BufReader};

pub mod calls;
pub mod status;

pub use calls::{Answer, Call, Listing, Verb};
/// What a run streams to `force-sync --wait`, and its report.
pub use sync_engine::{Progress, RunReport};

/// Bumped on any incompatible change to a request or response other than `hello`.
/// 3: the managers' verbs, alerts, status and runs are typed [`Call`]s with typed
/// [`Answer`]s; list answers come in parts.
/// 4: each stream of a run carries its cost (time, requests, bytes).
pub const PROTOCOL_VERSION: u32 = 4;

/// The largest request: a verb and its arguments, free text included (an invoice line's
/// description, a note). Large enough for any text a person types, small enough that a
/// runaway client cannot make the daemon hold much.
pub const MAX_REQUEST: usize = 1024 * 1024;

/// The largest answer frame. Lists travel in parts of [`Listing::PART`] items, so no answer
/// of a shop comes near it; this cap only stops a runaway.
pub const MAX_ANSWER: usize = 64 * 1024 * 1024;

/// A frame type and its cap in bytes (the newline excluded).
pub trait Frame {
    const MAX: usize;
}

impl Frame for Request {
    const MAX: usize = MAX_REQUEST;
}

impl Frame for Response {
    const MAX: usize = MAX_ANSWER;
}

/// Any JSON read where a request is expected (the first frame of a refused peer).
impl Frame for Value {
    const MAX: usize = MAX_REQUEST;
}

/// What `gazellectl` asks.
///
/// Unknown fields are ignored: a newer `gazellectl` may add one that an older daemon does not
/// know, and the request should still be served.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "kebab-case")]
pub enum Request {
    Hello,
    /// A verb with an answer of its own type (see [`calls`]).
    Call(Call),
    /// Stop scheduled runs until `resume` (manual runs still work).
    Pause,
    Resume,
    /// The daemon's authorization with Gazelle (`gazellectl auth status`).
    AuthStatus,
    /// `gazellectl auth login`: the daemon exchanges the code with its own client, stores
    /// the tokens and uses them at once. `code` is the code or the whole redirect URL, whose
    /// `state` must then be `expected_state`.
    AuthLogin {
        code: String,
        #[serde(default)]
        expected_state: Option<String>,
    },
    /// `gazellectl auth logout`: forget the tokens, in the store and in the daemon.
    AuthLogout,
    /// `gazellectl doctor`'s API check, made with the daemon's client (and its tokens).
    ApiCheck,
    ForceSync {
        /// full, incremental (default) or reconcile.
        #[serde(default)]
        mode: Option<String>,
        /// Stream names; empty means all.
        #[serde(default)]
        streams: Vec<String>,
        /// Stream progress and the report, instead of answering at once.
        #[serde(default)]
        wait: bool,
    },
}

impl<V: Verb> From<V> for Request {
    fn from(verb: V) -> Request {
        Request::Call(verb.call())
    }
}

/// What `gazelled` answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "response", rename_all = "kebab-case")]
// Answers are built once and written at once: boxing the large ones buys nothing.
#[allow(clippy::large_enum_variant)]
pub enum Response {
    Hello {
        daemon_version: String,
        protocol_version: u32,
    },
    /// A verb's answer (the last part of a [`Listing`]'s).
    Answer(Answer),
    /// A part of a [`Listing`]'s answer; more follow.
    Part(Answer),
    /// The schedule's state after `pause` or `resume`.
    Paused {
        paused: bool,
    },
    /// A run was started, or was already running and this request joined it.
    SyncStarted {
        joined: bool,
    },
    Progress {
        event: Progress,
    },
    SyncFinished {
        report: RunReport,
    },
    /// The authorization after `auth-status`, `auth-login` or `auth-logout`, and where the
    /// tokens are kept.
    Authorization {
        authorization: Authorization,
        stored_in: String,
    },
    /// The API check: reachable and authorized, or why not.
    ApiCheck {
        ok: bool,
        detail: String,
    },
    Error {
        code: ErrorCode,
        message: String,
    },
}

/// Whether the daemon may call Gazelle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Authorization {
    /// An account API key: nothing to authorize.
    ApiKey,
    /// OAuth tokens, renewed automatically.
    Authorized { expires_at: String },
    /// Gazelle refused the refresh token: `gazellectl auth login`.
    NeedsReauthorization,
    /// No tokens yet: `gazellectl auth login`.
    NotAuthorized,
    /// The daemon cannot call Gazelle at all (no account configured), and why.
    NotConfigured { reason: String },
}

impl From<api_client::AuthState> for Authorization {
    fn from(state: api_client::AuthState) -> Authorization {
        match state {
            api_client::AuthState::ApiKey => Authorization::ApiKey,
            api_client::AuthState::Authorized { expires_at } => {
                Authorization::Authorized { expires_at }
            }
            api_client::AuthState::NeedsReauthorization => Authorization::NeedsReauthorization,
            api_client::AuthState::NotAuthorized => Authorization::NotAuthorized,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorCode {
    /// The frame was not a request (bad JSON, unknown request, too long).
    BadRequest,
    /// The request cannot be served now (sync not configured, authorization lost).
    Unavailable,
    /// The daemon failed while serving it.
    Internal,
    /// The request names something that does not exist, or cannot be done to it.
    Invalid,
    /// The peer is not the user the daemon runs as.
    Forbidden,
}

/// Why a frame could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("frame longer than {0} bytes")]
    TooLong(usize),
    #[error("frame is not UTF-8")]
    NotUtf8,
    #[error("malformed frame: {0}")]
    Malformed(String),
    #[error("connection error: {0}")]
    Io(#[from] std::io::Error),
}

/// Reads one line-delimited JSON frame, or `None` at end of stream. Never reads more than
/// `T::MAX` bytes into memory.
pub async fn read_frame<R, T>(reader: &mut BufReader<R>) -> Result<Option<T>, FrameError>
where
    R: tokio::io::AsyncRead + Unpin,
    T: Frame + for<'de> Deserialize<'de>,
{
    let mut line = Vec::new();
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            if line.is_empty() {
                return Ok(None);
            }
            break;
        }
        let (chunk, done) = match available.iter().position(|b| *b == b'\n') {
            Some(i) => (&available[..=i], true),
            None => (available, false),
        };
        if line.len() + chunk.len() > T::MAX + 1 {
            return Err(FrameError::TooLong(T::MAX));
        }
        line.extend_from_slice(chunk);
        let used = chunk.len();
        reader.consume(used);
        if done {
            break;
        }
    }
    decode(&line).map(Some)
}

/// Decodes one frame's bytes (with or without its newline).
pub fn decode<T: Frame + for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, FrameError> {
    if bytes.len() > T::MAX + 1 {
        return Err(FrameError::TooLong(T::MAX));
    }
    let text = std::str::from_utf8(bytes).map_err(|_| FrameError::NotUtf8)?;
    serde_json::from_str(text.trim_end()).map_err(|e| FrameError::Malformed(e.to_string()))
}

/// Writes one frame and its newline. A frame over `T::MAX` is not written at all (the peer
/// could not read it): the error is [`std::io::ErrorKind::FileTooLarge`], and the
/// connection is still usable for another frame (an error answer saying so).
pub async fn write_frame<W: AsyncWrite + Unpin, T: Frame + Serialize>(
    writer: &mut W,
    frame: &T,
) -> std::io::Result<()> {
    let mut bytes = serde_json::to_vec(frame).map_err(std::io::Error::other)?;
    if bytes.len() > T::MAX {
        return Err(std::io::Error::new(
            std::io::ErrorKind::FileTooLarge,
            format!(
                "a frame of {} bytes is over the {} bytes its reader accepts",
                bytes.len(),
                T::MAX
            ),
        ));
    }
    bytes.push(b'\n');
    writer.write_all(&bytes).await?;
    writer.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn requests_round_trip_and_hello_keeps_its_shape() {
        let r = Request::ForceSync {
            mode: Some("full".into()),
            streams: vec!["clients".into()],
            wait: true,
        };
        let text = serde_json::to_string(&r).unwrap();
        assert_eq!(
            text,
            r#"{"request":"force-sync","mode":"full","streams":["clients"],"wait":true}"#
        );
        assert_eq!(decode::<Request>(text.as_bytes()).unwrap(), r);
        assert_eq!(
            decode::<Request>(b"{\"request\":\"force-sync\"}\n").unwrap(),
            Request::ForceSync {
                mode: None,
                streams: vec![],
                wait: false
            }
        );
        let hello = serde_json::to_string(&Response::Hello {
            daemon_version: "0.1.0".into(),
            protocol_version: 1,
        })
        .unwrap();
        assert_eq!(
            hello,
            r#"{"response":"hello","daemon_version":"0.1.0","protocol_version":1}"#
        );
    }

    #[test]
    fn malformed_frames_are_errors() {
        for bad in [
            &b"{"[..],
            b"null",
            b"[]",
            b"{\"request\":\"reboot\"}",
            b"\xff\xfe",
            b"",
        ] {
            assert!(decode::<Request>(bad).is_err(), "{bad:?}");
        }
        assert!(matches!(
            decode::<Request>(&vec![b' '; MAX_REQUEST + 10]),
            Err(FrameError::TooLong(MAX_REQUEST))
        ));
        assert_eq!(
            decode::<Request>(br#"{"request":"call","verb":"status","added_later":1}"#).unwrap(),
            Request::from(calls::Status {})
        );
    }

    #[tokio::test]
    async fn an_endless_line_is_cut_at_the_cap() {
        let endless = vec![b'a'; MAX_REQUEST * 3];
        let mut reader = BufReader::new(&endless[..]);
        assert!(matches!(
            read_frame::<_, Request>(&mut reader).await,
            Err(FrameError::TooLong(MAX_REQUEST))
        ));
        let two = b"{\"request\":\"hello\"}\n{\"request\":\"call\",\"verb\":\"status\"}\n".to_vec();
        let mut reader = BufReader::new(&two[..]);
        assert_eq!(
            read_frame::<_, Request>(&mut reader).await.unwrap(),
            Some(Request::Hello)
        );
        assert_eq!(
            read_frame::<_, Request>(&mut reader).await.unwrap(),
            Some(Request::from(calls::Status {}))
        );
        assert_eq!(read_frame::<_, Request>(&mut reader).await.unwrap(), None);
    }

    /// An answer far over a request's cap travels whole; one over its own cap is refused
    /// by the writer, which writes nothing, so the reader is not left with half a line.
    #[tokio::test]
    async fn answers_have_their_own_cap_enforced_when_writing() {
        let big = Response::Answer(Answer::CalendarIcs(calls::IcsText {
            text: "é".repeat(MAX_REQUEST * 4),
        }));
        let mut wire = Vec::new();
        write_frame(&mut wire, &big).await.unwrap();
        let mut reader = BufReader::new(&wire[..]);
        assert_eq!(
            read_frame::<_, Response>(&mut reader).await.unwrap(),
            Some(big)
        );

        let huge = Response::Answer(Answer::CalendarIcs(calls::IcsText {
            text: "a".repeat(MAX_ANSWER),
        }));
        let mut wire = Vec::new();
        let refused = write_frame(&mut wire, &huge).await.unwrap_err();
        assert_eq!(refused.kind(), std::io::ErrorKind::FileTooLarge);
        assert!(wire.is_empty());
        let request = Request::from(calls::AlertResolve {
            id: 1,
            note: "a".repeat(MAX_REQUEST),
            author: None,
        });
        assert!(write_frame(&mut wire, &request).await.is_err());
    }

    proptest! {
        /// The decoder never panics, whatever the bytes.
        #[test]
        fn the_decoder_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode::<Request>(&bytes);
        }

        #[test]
        fn near_valid_json_never_panics(s in "\\{\"request\":\"[a-z-]{0,12}\"(,\"[a-z]{1,6}\":[^}]{0,20})?\\}") {
            let _ = decode::<Request>(s.as_bytes());
        }
    }
}
