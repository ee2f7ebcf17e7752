//! Typed errors. Every message names the operation, and where it applies, the field.

use std::time::Duration;

/// What went wrong talking to Gazelle.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// Worth retrying later: network failure, timeout, 5xx, 429, a body cut short.
    #[error("{operation}: temporarily unavailable: {message}")]
    Transient {
        operation: String,
        message: String,
        /// The server's `Retry-After`, when it sent one.
        retry_after: Option<Duration>,
        /// HTTP 429: Gazelle is up and asks for fewer requests (not an outage).
        throttled: bool,
    },

    /// The credentials were refused (and refreshing did not help, or there is nothing to
    /// refresh: an API key).
    #[error("{operation}: not authorized: {message}")]
    Auth { operation: String, message: String },

    /// The refresh token was refused (`invalid_grant`): a person must authorize again with
    /// `gazellectl auth login`. Nothing is retried until then.
    #[error(
        "{operation}: Gazelle authorization was revoked or has expired: run `gazellectl auth login`"
    )]
    NeedsReauthorization { operation: String },

    /// The request was refused by GraphQL (schema errors, field errors): not retried.
    #[error("{operation}: GraphQL error: {}", messages.join("; "))]
    GraphQl {
        operation: String,
        messages: Vec<String>,
    },

    /// A write refused by the service (`mutationErrors`).
    #[error("{operation}: rejected: {}", errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Rejected {
        operation: String,
        errors: Vec<crate::model::FieldError>,
    },

    /// The answer did not have the expected shape.
    #[error("{operation}: unexpected response at `{path}`: {message}")]
    Decode {
        operation: String,
        path: String,
        message: String,
    },

    /// The server's paging cannot be followed: a repeated cursor, `hasNextPage` with no
    /// cursor or with empty pages, or far more pages than `totalCount` allows. The pass stops
    /// rather than loop; nothing after the last good page is stored.
    #[error(
        "{operation}: Gazelle's paging is inconsistent {}: {message}",
        after_cursor(cursor)
    )]
    Paging {
        operation: String,
        cursor: Option<String>,
        message: String,
    },

    /// A local problem: no credentials configured, token store unreadable, bad redirect URL.
    #[error("{0}")]
    Setup(String),
}

fn after_cursor(cursor: &Option<String>) -> String {
    match cursor {
        Some(c) => format!("after cursor `{c}`"),
        None => "at the first page".to_owned(),
    }
}

/// What kind of failure an error is, for the sync-health rule ("the same kind of error N
/// runs in a row"): the texts of one outage differ (502, 503, a timeout), its kind does not.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Gazelle cannot be reached or fails: 5xx, timeouts, refused connections, cut bodies.
    Unavailable,
    /// HTTP 429: too many requests.
    Throttled,
    /// Credentials refused or authorization lost.
    Authorization,
    /// Gazelle refused what was asked (schema or field errors, a refused write, an answer of
    /// an unexpected shape, paging that cannot be followed).
    Refused,
    /// A problem on this Mac: configuration, token store, the database.
    Local,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Throttled => "throttled",
            ErrorKind::Authorization => "authorization",
            ErrorKind::Refused => "refused",
            ErrorKind::Local => "local",
        }
    }

    /// What the owner reads (French, as the alerts are).
    pub fn describe(self) -> &'static str {
        match self {
            ErrorKind::Unavailable => "Gazelle est indisponible",
            ErrorKind::Throttled => "Gazelle limite le nombre de requêtes",
            ErrorKind::Authorization => "l'autorisation Gazelle est refusée",
            ErrorKind::Refused => "Gazelle refuse les requêtes",
            ErrorKind::Local => "erreur locale (configuration, base de données)",
        }
    }
}

impl ApiError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            ApiError::Transient {
                throttled: true, ..
            } => ErrorKind::Throttled,
            ApiError::Transient { .. } => ErrorKind::Unavailable,
            ApiError::Auth { .. } | ApiError::NeedsReauthorization { .. } => {
                ErrorKind::Authorization
            }
            ApiError::GraphQl { .. }
            | ApiError::Rejected { .. }
            | ApiError::Decode { .. }
            | ApiError::Paging { .. } => ErrorKind::Refused,
            ApiError::Setup(_) => ErrorKind::Local,
        }
    }

    pub fn is_transient(&self) -> bool {
        matches!(self, ApiError::Transient { .. })
    }

    pub(crate) fn transient(operation: &str, message: impl Into<String>) -> ApiError {
        ApiError::Transient {
            operation: operation.to_owned(),
            message: message.into(),
            retry_after: None,
            throttled: false,
        }
    }
}
