//! OAuth2 as Gazelle serves it: authorization code, refresh (with optional rotation, and
//! responses that may omit the refresh token), `invalid_grant`, `unsupported_grant_type` for
//! `client_credentials`, and account API keys (`x-gazelle-api-key`).
//!
//! Access tokens expire on the simulator's clock (which tests can advance) or after a number
//! of requests, so both kinds of expiry can be provoked.

use std::collections::{HashMap, HashSet};

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use crate::dataset::Rng;

/// The registered OAuth application and the account's API keys.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub client_id: String,
    pub client_secret: String,
    pub api_key: String,
}

impl Credentials {
    /// Fresh, random-looking credentials (never real ones).
    pub fn generate(rng: &mut Rng) -> Credentials {
        Credentials {
            client_id: rng.id("sim_client"),
            client_secret: rng.id("sim_secret"),
            api_key: rng.id("sim_key"),
        }
    }
}

#[derive(Debug, Clone)]
struct AccessToken {
    expires_at: Timestamp,
    uses_left: Option<u32>,
}

/// Token state.
#[derive(Debug)]
pub struct Auth {
    pub credentials: Credentials,
    /// Lifetime of new access tokens (Gazelle has shown 7200 s and 30 days).
    pub access_lifetime: SignedDuration,
    /// Whether a refresh issues a new refresh token (and revokes the old one).
    pub rotate_refresh_tokens: bool,
    /// Whether refresh responses leave `refresh_token` out (the client must keep the old one).
    pub omit_refresh_token: bool,
    /// Access tokens issued from now on stop working after this many requests.
    pub access_uses: Option<u32>,
    codes: HashSet<String>,
    access: HashMap<String, AccessToken>,
    refresh: HashSet<String>,
    rng: Rng,
    pub token_requests: u64,
}

/// How a request authenticated, or why not.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    Denied(&'static str),
}

impl Auth {
    pub fn new(credentials: Credentials, seed: u64) -> Auth {
        Auth {
            credentials,
            access_lifetime: SignedDuration::from_secs(7200),
            rotate_refresh_tokens: true,
            omit_refresh_token: false,
            access_uses: None,
            codes: HashSet::new(),
            access: HashMap::new(),
            refresh: HashSet::new(),
            rng: Rng::new(seed ^ 0xA17),
            token_requests: 0,
        }
    }

    /// A code as if the account owner had just approved the application in a browser.
    pub fn issue_code(&mut self) -> String {
        let code = self.rng.id("code");
        self.codes.insert(code.clone());
        code
    }

    /// Expires every access token now (the next request gets 401).
    pub fn expire_access_tokens(&mut self) {
        self.access.clear();
    }

    /// Revokes every refresh token (the next refresh gets `invalid_grant`).
    pub fn revoke_refresh_tokens(&mut self) {
        self.refresh.clear();
    }

    /// Checks a GraphQL request's credentials.
    pub fn check(
        &mut self,
        bearer: Option<&str>,
        api_key: Option<&str>,
        now: Timestamp,
    ) -> Verdict {
        if let Some(key) = api_key {
            return if key == self.credentials.api_key {
                Verdict::Allowed
            } else {
                Verdict::Denied("invalid API key")
            };
        }
        let Some(token) = bearer else {
            return Verdict::Denied("missing credentials");
        };
        match self.access.get_mut(token) {
            None => Verdict::Denied("invalid or revoked access token"),
            Some(t) if t.expires_at <= now => Verdict::Denied("access token expired"),
            Some(t) => match &mut t.uses_left {
                Some(0) => Verdict::Denied("access token expired"),
                Some(n) => {
                    *n -= 1;
                    Verdict::Allowed
                }
                None => Verdict::Allowed,
            },
        }
    }

    /// The token endpoint: `(status, body)`.
    pub fn token(&mut self, form: &HashMap<String, String>, now: Timestamp) -> (u16, Value) {
        self.token_requests += 1;
        let get = |k: &str| form.get(k).map(String::as_str);
        let error = |status: u16, code: &str, description: &str| {
            (
                status,
                json!({"error": code, "error_description": description}),
            )
        };
        if get("client_id") != Some(self.credentials.client_id.as_str())
            || get("client_secret") != Some(self.credentials.client_secret.as_str())
        {
            return error(401, "invalid_client", "Client authentication failed");
        }
        match get("grant_type") {
            Some("authorization_code") => {
                let Some(code) = get("code") else {
                    return error(400, "invalid_request", "Missing code");
                };
                if !self.codes.remove(code) {
                    return error(
                        400,
                        "invalid_grant",
                        "The provided authorization grant is invalid, expired or revoked",
                    );
                }
                match get("redirect_uri") {
                    Some(uri) if uri.starts_with("https://") => {}
                    _ => {
                        return error(
                            400,
                            "invalid_grant",
                            "The redirect URI must be an https URI",
                        );
                    }
                }
                let refresh = self.rng.id("rt");
                self.refresh.insert(refresh.clone());
                (200, self.issue(now, Some(refresh)))
            }
            Some("refresh_token") => {
                let Some(old) = get("refresh_token") else {
                    return error(400, "invalid_request", "Missing refresh_token");
                };
                if !self.refresh.contains(old) {
                    return error(
                        400,
                        "invalid_grant",
                        "The provided authorization grant is invalid, expired or revoked",
                    );
                }
                let new_refresh = if self.rotate_refresh_tokens {
                    self.refresh.remove(old);
                    let new = self.rng.id("rt");
                    self.refresh.insert(new.clone());
                    Some(new)
                } else {
                    Some(old.to_owned())
                };
                let refresh_in_body = if self.omit_refresh_token && !self.rotate_refresh_tokens {
                    None
                } else {
                    new_refresh
                };
                (200, self.issue(now, refresh_in_body))
            }
            Some("client_credentials") => error(
                400,
                "unsupported_grant_type",
                "The authorization grant type is not supported",
            ),
            _ => error(
                400,
                "unsupported_grant_type",
                "The authorization grant type is not supported",
            ),
        }
    }

    fn issue(&mut self, now: Timestamp, refresh: Option<String>) -> Value {
        let access = self.rng.id("at");
        self.access.insert(
            access.clone(),
            AccessToken {
                expires_at: now.checked_add(self.access_lifetime).unwrap_or(now),
                uses_left: self.access_uses,
            },
        );
        let mut body = json!({
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": self.access_lifetime.as_secs(),
            "scope": "private",
            "created_at": now.as_second(),
        });
        if let Some(r) = refresh {
            body["refresh_token"] = Value::String(r);
        }
        body
    }
}
