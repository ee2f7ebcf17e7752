//! Authentication: an account API key, or OAuth2 (authorization code, then refresh).
//!
//! * The access token is refreshed ahead of its expiry, judged on the wall clock: a Mac that
//!   slept through the expiry wakes up with an expired token, and a monotonic clock would
//!   not know.
//! * One refresher at a time: concurrent requests wait on the same lock and reuse the result.
//! * A rotated refresh token is persisted (atomically) before the new access token is used:
//!   losing it would lock the account out.
//! * `invalid_grant` turns into a persistent "needs re-authorization" state: no further
//!   refresh attempt is made until `gazellectl auth login` succeeds.
//! * One process uses the tokens: the daemon while it runs (`gazellectl auth` and `doctor`
//!   ask it over the socket), else the CLI under the daemon's lock. Two processes refreshing
//!   rotating tokens would revoke each other's.

use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use url::Url;

use crate::error::ApiError;
use crate::token_store::{TokenSet, TokenStore};

/// How the client proves who it is.
#[derive(Clone)]
pub enum Credentials {
    /// `x-gazelle-api-key: <key>`.
    ApiKey(String),
    /// OAuth2 with a registered application.
    OAuth(OAuthApp),
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::ApiKey(_) => f.write_str("ApiKey([redacted])"),
            Credentials::OAuth(app) => f.debug_tuple("OAuth").field(&app.client_id).finish(),
        }
    }
}

/// A registered OAuth application.
#[derive(Clone)]
pub struct OAuthApp {
    pub client_id: String,
    pub client_secret: String,
    /// Must be https: Gazelle refuses `urn:ietf:wg:oauth:2.0:oob`.
    pub redirect_uri: Url,
}

/// The authorization state, as `gazellectl status` reports it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum AuthState {
    ApiKey,
    Authorized { expires_at: String },
    NeedsReauthorization,
    NotAuthorized,
}

/// Refresh this long before the access token expires.
const REFRESH_MARGIN: SignedDuration = SignedDuration::from_secs(300);

#[derive(Debug, Deserialize)]
struct TokenResponse {
    access_token: String,
    refresh_token: Option<String>,
    expires_in: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct TokenError {
    error: String,
    error_description: Option<String>,
}

/// Produces the credentials header of each request.
pub struct Authenticator {
    credentials: Credentials,
    store: Arc<dyn TokenStore>,
    http: reqwest::Client,
    token_url: Url,
    authorize_url: Url,
    /// The current tokens; the lock is also the "one refresher at a time" guarantee.
    tokens: tokio::sync::Mutex<Option<TokenSet>>,
}

impl Authenticator {
    pub fn new(
        credentials: Credentials,
        store: Arc<dyn TokenStore>,
        http: reqwest::Client,
        base: &Url,
    ) -> Result<Self, ApiError> {
        let join = |path: &str| {
            base.join(path).map_err(|e| {
                ApiError::Setup(format!("cannot build the {path} URL from {base}: {e}"))
            })
        };
        let tokens = match &credentials {
            Credentials::OAuth(_) => store.load()?,
            Credentials::ApiKey(_) => None,
        };
        Ok(Authenticator {
            credentials,
            store,
            http,
            token_url: join("developer/oauth/token")?,
            authorize_url: authorize_endpoint(base)?,
            tokens: tokio::sync::Mutex::new(tokens),
        })
    }

    /// The header to send: `x-gazelle-api-key`, or `Authorization: Bearer` with a token
    /// fresh for at least a few minutes. Also returns the access token, so a 401 can tell
    /// whether someone else has already refreshed it.
    pub async fn header(&self, operation: &str) -> Result<(&'static str, String), ApiError> {
        match &self.credentials {
            Credentials::ApiKey(key) => Ok(("x-gazelle-api-key", key.clone())),
            Credentials::OAuth(app) => {
                let mut guard = self.tokens.lock().await;
                let tokens = usable(&guard, operation)?;
                if tokens.expires_at
                    <= Timestamp::now()
                        .saturating_add(REFRESH_MARGIN)
                        .unwrap_or(Timestamp::MAX)
                {
                    self.refresh(app, &mut guard, operation).await?;
                }
                let token = usable(&guard, operation)?.access_token.clone();
                Ok(("authorization", format!("Bearer {token}")))
            }
        }
    }

    /// After a 401: refresh, unless another request already did since `sent_header` was
    /// built. Returns whether a retry makes sense.
    pub async fn recover_from_401(
        &self,
        operation: &str,
        sent_header: &str,
    ) -> Result<bool, ApiError> {
        let Credentials::OAuth(app) = &self.credentials else {
            return Ok(false); // An API key cannot be refreshed.
        };
        let mut guard = self.tokens.lock().await;
        let current = &usable(&guard, operation)?.access_token;
        if sent_header != format!("Bearer {current}") {
            return Ok(true); // Refreshed meanwhile: just retry.
        }
        self.refresh(app, &mut guard, operation).await?;
        Ok(true)
    }

    /// Refreshes the tokens in `slot` (held under the lock). On `invalid_grant` the slot is
    /// marked as needing re-authorization, in memory and in the store, so that nothing
    /// calls the token endpoint again until a person has authorized.
    async fn refresh(
        &self,
        app: &OAuthApp,
        slot: &mut Option<TokenSet>,
        operation: &str,
    ) -> Result<(), ApiError> {
        let tokens = usable(slot, operation)?.clone();
        let Some(refresh_token) = tokens.refresh_token.clone() else {
            return Err(ApiError::NeedsReauthorization {
                operation: operation.into(),
            });
        };
        tracing::info!(operation, "refreshing the Gazelle access token");
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.as_str()),
            ("client_id", app.client_id.as_str()),
            ("client_secret", app.client_secret.as_str()),
        ];
        match self.token_request(&form, "token refresh").await {
            Ok(answer) => {
                let new = TokenSet {
                    access_token: answer.access_token,
                    // A refresh may omit the refresh token: keep the previous one then.
                    refresh_token: answer.refresh_token.or(Some(refresh_token)),
                    expires_at: expiry(answer.expires_in),
                    needs_reauthorization: false,
                };
                // Persist before use: if this fails, the rotated token is not used either.
                self.store.save(&new)?;
                *slot = Some(new);
                Ok(())
            }
            Err(TokenFailure::InvalidGrant) => {
                tracing::error!(
                    "Gazelle refused the refresh token (invalid_grant): authorization needed"
                );
                let mut dead = tokens;
                dead.needs_reauthorization = true;
                if let Err(e) = self.store.save(&dead) {
                    tracing::error!(error = %e, "could not record the lost authorization");
                }
                *slot = Some(dead);
                Err(ApiError::NeedsReauthorization {
                    operation: operation.into(),
                })
            }
            Err(TokenFailure::Other(e)) => Err(e),
        }
    }

    async fn token_request(
        &self,
        form: &[(&str, &str)],
        what: &str,
    ) -> Result<TokenResponse, TokenFailure> {
        let response = self
            .http
            .post(self.token_url.clone())
            .form(form)
            .send()
            .await
            .map_err(|e| {
                TokenFailure::Other(ApiError::transient(what, e.without_url().to_string()))
            })?;
        let status = response.status();
        let body = response.bytes().await.map_err(|e| {
            TokenFailure::Other(ApiError::transient(what, e.without_url().to_string()))
        })?;
        if status.is_success() {
            return serde_json::from_slice(&body).map_err(|e| {
                TokenFailure::Other(ApiError::Decode {
                    operation: what.into(),
                    path: "token response".into(),
                    message: e.to_string(),
                })
            });
        }
        let error: Option<TokenError> = serde_json::from_slice(&body).ok();
        match error {
            Some(e) if e.error == "invalid_grant" => Err(TokenFailure::InvalidGrant),
            Some(e) if status.is_client_error() => Err(TokenFailure::Other(ApiError::Auth {
                operation: what.into(),
                message: format!("{} ({})", e.error, e.error_description.unwrap_or_default()),
            })),
            _ if status.is_server_error() || status.as_u16() == 429 => Err(TokenFailure::Other(
                ApiError::transient(what, format!("HTTP {status}")),
            )),
            _ => Err(TokenFailure::Other(ApiError::Auth {
                operation: what.into(),
                message: format!("HTTP {status}"),
            })),
        }
    }

    /// The URL the owner opens to authorize the application.
    pub fn authorize_url(&self, state: &str) -> Result<Url, ApiError> {
        authorize_url(&self.credentials, &self.authorize_url, state)
    }

    /// Where the tokens are kept ("macOS Keychain", "token file …").
    pub fn stored_in(&self) -> String {
        self.store.describe()
    }

    /// Forgets the tokens, in the store and in memory: requests need a new login.
    pub async fn logout(&self) -> Result<(), ApiError> {
        let mut tokens = self.tokens.lock().await;
        self.store.clear()?;
        *tokens = None;
        Ok(())
    }

    /// Exchanges a code for tokens and stores them. `code_or_redirect` is the code itself or
    /// the whole URL the browser was redirected to (its `state` must match).
    pub async fn exchange(
        &self,
        code_or_redirect: &str,
        expected_state: Option<&str>,
    ) -> Result<AuthState, ApiError> {
        let Credentials::OAuth(app) = &self.credentials else {
            return Err(ApiError::Setup(
                "API-key mode needs no authorization".into(),
            ));
        };
        let code = code_from(code_or_redirect.trim(), expected_state)?;
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", app.redirect_uri.as_str()),
            ("client_id", app.client_id.as_str()),
            ("client_secret", app.client_secret.as_str()),
        ];
        let answer = self
            .token_request(&form, "authorization")
            .await
            .map_err(|f| match f {
                TokenFailure::InvalidGrant => ApiError::Auth {
                    operation: "authorization".into(),
                    message: "the code was refused (expired or already used): start again".into(),
                },
                TokenFailure::Other(e) => e,
            })?;
        let tokens = TokenSet {
            access_token: answer.access_token,
            refresh_token: answer.refresh_token,
            expires_at: expiry(answer.expires_in),
            needs_reauthorization: false,
        };
        self.store.save(&tokens)?;
        let expires_at = tokens.expires_at.to_string();
        *self.tokens.lock().await = Some(tokens);
        Ok(AuthState::Authorized { expires_at })
    }

    pub async fn state(&self) -> AuthState {
        match &self.credentials {
            Credentials::ApiKey(_) => AuthState::ApiKey,
            Credentials::OAuth(_) => match &*self.tokens.lock().await {
                None => AuthState::NotAuthorized,
                Some(t) if t.needs_reauthorization => AuthState::NeedsReauthorization,
                Some(t) => AuthState::Authorized {
                    expires_at: t.expires_at.to_string(),
                },
            },
        }
    }
}

/// The authorization URL of `credentials` (OAuth only) at Gazelle's `endpoint`: built from
/// the configuration alone, without reading any token (the CLI prints it while the daemon
/// owns the tokens).
pub fn authorize_url(
    credentials: &Credentials,
    endpoint: &Url,
    state: &str,
) -> Result<Url, ApiError> {
    let Credentials::OAuth(app) = credentials else {
        return Err(ApiError::Setup(
            "API-key mode needs no authorization".into(),
        ));
    };
    let mut url = endpoint.clone();
    url.query_pairs_mut()
        .append_pair("client_id", &app.client_id)
        .append_pair("response_type", "code")
        .append_pair("redirect_uri", app.redirect_uri.as_str())
        .append_pair("state", state);
    Ok(url)
}

/// Gazelle's authorization endpoint under `base`.
pub fn authorize_endpoint(base: &Url) -> Result<Url, ApiError> {
    base.join("developer/oauth/authorize").map_err(|e| {
        ApiError::Setup(format!(
            "cannot build the authorization URL from {base}: {e}"
        ))
    })
}

enum TokenFailure {
    InvalidGrant,
    Other(ApiError),
}

fn usable<'a>(tokens: &'a Option<TokenSet>, operation: &str) -> Result<&'a TokenSet, ApiError> {
    match tokens {
        Some(t) if !t.needs_reauthorization => Ok(t),
        _ => Err(ApiError::NeedsReauthorization {
            operation: operation.into(),
        }),
    }
}

fn expiry(expires_in: Option<i64>) -> Timestamp {
    // No lifetime given: assume the shortest seen (7200 s) rather than forever.
    let secs = expires_in.unwrap_or(7200).max(0);
    Timestamp::now()
        .saturating_add(SignedDuration::from_secs(secs))
        .unwrap_or(Timestamp::MAX)
}

fn code_from(input: &str, expected_state: Option<&str>) -> Result<String, ApiError> {
    if !input.contains("://") {
        if input.is_empty() {
            return Err(ApiError::Setup("no authorization code given".into()));
        }
        return Ok(input.to_owned());
    }
    let url =
        Url::parse(input).map_err(|e| ApiError::Setup(format!("`{input}` is not a URL: {e}")))?;
    let param = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    if let Some(error) = param("error") {
        return Err(ApiError::Auth {
            operation: "authorization".into(),
            message: format!("Gazelle answered `{error}`"),
        });
    }
    if let Some(expected) = expected_state
        && param("state").as_deref() != Some(expected)
    {
        return Err(ApiError::Setup(
            "the redirect URL's state does not match this login attempt: start again".into(),
        ));
    }
    param("code").ok_or_else(|| {
        ApiError::Setup(format!("the redirect URL has no `code` parameter: {input}"))
    })
}

/// How long to wait before retrying after a `Retry-After` header (seconds or HTTP date).
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    if let Ok(secs) = value.trim().parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = jiff::fmt::rfc2822::parse(value.trim()).ok()?.timestamp();
    let wait = when.duration_since(Timestamp::now());
    Some(Duration::from_secs(wait.as_secs().max(0) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_read_from_a_redirect_url_with_its_state() {
        assert_eq!(code_from("abc", None).unwrap(), "abc");
        assert_eq!(
            code_from("https://cb.example/x?code=abc&state=s1", Some("s1")).unwrap(),
            "abc"
        );
        assert!(code_from("https://cb.example/x?code=abc&state=s2", Some("s1")).is_err());
        assert!(code_from("https://cb.example/x?error=access_denied", None).is_err());
        assert!(code_from("https://cb.example/x", None).is_err());
        assert!(code_from("", None).is_err());
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }
}
