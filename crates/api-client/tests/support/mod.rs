//! Shared set-up: a simulator on loopback and a client of it.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use api_client::{ClientOptions, Credentials, FileTokenStore, GazelleClient, OAuthApp, TokenStore};
use gazelle_sim::{Simulator, Size};

pub async fn simulator(size: Size) -> Simulator {
    gazelle_sim::start(size, 7)
        .await
        .expect("start the simulator")
}

/// Fast retries so fault tests take milliseconds, not minutes.
pub fn options(sim: &Simulator, page_size: u32) -> ClientOptions {
    ClientOptions {
        base_url: sim.base_url().parse().unwrap(),
        page_size,
        requests_per_second: 1000,
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(5),
        max_retries: 4,
        min_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(200),
    }
}

pub fn api_key_client(sim: &Simulator, page_size: u32) -> GazelleClient {
    let key = gazelle_sim::server::lock(&sim.state.auth)
        .credentials
        .api_key
        .clone();
    let store: Arc<dyn TokenStore> = Arc::new(FileTokenStore::new("/nonexistent/unused"));
    GazelleClient::new(options(sim, page_size), Credentials::ApiKey(key), store).unwrap()
}

pub fn oauth_app(sim: &Simulator) -> OAuthApp {
    let creds = gazelle_sim::server::lock(&sim.state.auth)
        .credentials
        .clone();
    OAuthApp {
        client_id: creds.client_id,
        client_secret: creds.client_secret,
        redirect_uri: "https://localhost.example/callback".parse().unwrap(),
    }
}

pub fn oauth_client(sim: &Simulator, store: Arc<dyn TokenStore>) -> GazelleClient {
    GazelleClient::new(options(sim, 50), Credentials::OAuth(oauth_app(sim)), store).unwrap()
}
