//! Building a client from the daemon's configuration, the same way in every binary.

use std::sync::Arc;

use config::{AuthMode, Config};

use crate::auth::{Credentials, OAuthApp};
use crate::client::{ClientOptions, GazelleClient};
use crate::error::ApiError;
use crate::token_store::{TokenStore, platform_store};

/// Transport options from `[api]`.
pub fn options(config: &Config) -> ClientOptions {
    let api = &config.api;
    ClientOptions {
        base_url: api.base_url.clone(),
        page_size: u32::from(api.page_size),
        requests_per_second: u32::from(api.requests_per_second),
        connect_timeout: api.connect_timeout.duration(),
        request_timeout: api.request_timeout.duration(),
        ..ClientOptions::default()
    }
}

/// Credentials from `[api]`; a missing key is named.
pub fn credentials(config: &Config) -> Result<Credentials, ApiError> {
    let api = &config.api;
    match api.auth {
        AuthMode::ApiKey => api
            .api_key
            .as_ref()
            .map(|k| Credentials::ApiKey(k.expose().to_owned()))
            .ok_or_else(|| {
                ApiError::Setup("`api.api_key` is required when `api.auth` is \"api-key\"".into())
            }),
        AuthMode::Oauth => {
            let missing: Vec<&str> = [
                ("api.client_id", api.client_id.is_none()),
                ("api.client_secret", api.client_secret.is_none()),
                ("api.redirect_uri", api.redirect_uri.is_none()),
            ]
            .into_iter()
            .filter_map(|(k, absent)| absent.then_some(k))
            .collect();
            match (&api.client_id, &api.client_secret, &api.redirect_uri) {
                (Some(id), Some(secret), Some(uri)) => Ok(Credentials::OAuth(OAuthApp {
                    client_id: id.clone(),
                    client_secret: secret.expose().to_owned(),
                    redirect_uri: uri.clone(),
                })),
                _ => Err(ApiError::Setup(format!(
                    "OAuth needs {} in the configuration (or set `api.auth = \"api-key\"`)",
                    missing.join(", ")
                ))),
            }
        }
    }
}

/// The token store of this machine: the Keychain on macOS, else `paths.token_file`.
pub fn token_store(config: &Config) -> Arc<dyn TokenStore> {
    Arc::from(platform_store(config.paths.token_file()))
}

/// A client configured from `config`.
pub fn client(config: &Config) -> Result<GazelleClient, ApiError> {
    GazelleClient::new(options(config), credentials(config)?, token_store(config))
}

/// The URL the owner opens to authorize this Mac, from `[api]` alone (no token is read).
pub fn authorize_url(config: &Config, state: &str) -> Result<url::Url, ApiError> {
    let credentials = credentials(config)?;
    let endpoint = crate::auth::authorize_endpoint(&config.api.base_url)?;
    crate::auth::authorize_url(&credentials, &endpoint, state)
}
