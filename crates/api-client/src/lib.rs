//! A client of Gazelle's private GraphQL API that would work against the real service
//! unchanged.
//!
//! * [`documents`]: every query and mutation, validated against the schema by tests.
//! * [`auth`] and [`token_store`]: API key or OAuth2 (code exchange, refresh ahead of expiry on
//!   the wall clock, rotation persisted atomically before use, `invalid_grant` → a
//!   "needs re-authorization" state); tokens in the Keychain (macOS) or a 0600 file.
//! * [`client`]: reqwest with rustls, gzip, timeouts, a rate limit; retries with backon
//!   (exponential, jitter, cap, `Retry-After`); typed errors naming the operation and field.
//! * [`paging`]: connections as a stream of pages.
//! * [`meter`]: requests and bytes of a piece of work (a stream of a run).
//! * [`lookup`]: many records by id in one request (how a deletion is confirmed).
//! * [`probe`]: many windows of a connection in one request, ids and versions only.
//! * [`reference`]: users and catalogue cached with a TTL.
//! * [`model`]: tolerant decoding (nulls, unknown enum values kept as strings, extra fields).

pub mod auth;
pub mod client;
pub mod documents;
pub mod error;
pub mod from_config;
pub mod lookup;
pub mod meter;
pub mod model;
pub mod paging;
pub mod probe;
pub mod reference;
pub mod token_store;

pub use auth::{AuthState, Credentials, OAuthApp};
pub use client::{ClientOptions, GazelleClient};
pub use error::{ApiError, ErrorKind};
pub use token_store::{FileTokenStore, TokenSet, TokenStore, platform_store};
