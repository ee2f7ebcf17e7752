//! OAuth against the simulator: code exchange, refresh on expiry and after 401, rotation
//! persisted, invalid_grant reported once and never retried, API keys.

mod support;

use std::sync::Arc;

use api_client::documents;
use api_client::model::User;
use api_client::{ApiError, AuthState, FileTokenStore, GazelleClient, TokenStore};
use gazelle_sim::Size;

async fn users(client: &GazelleClient) -> Result<Vec<User>, ApiError> {
    client.list(documents::USERS, "allUsers").await
}

fn token_requests(sim: &gazelle_sim::Simulator) -> u64 {
    sim.state
        .stats
        .token_requests
        .load(std::sync::atomic::Ordering::Relaxed)
}

/// Logs in the way `gazellectl auth login` does: the owner follows the authorize URL, the
/// browser lands on the redirect URL, which is pasted back.
async fn login(sim: &gazelle_sim::Simulator, client: &GazelleClient) {
    let url = client.authenticator().authorize_url("state-123").unwrap();
    let redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(
            url.as_str()
                .replace("https://gazelleapp.io/", &sim.base_url()),
        )
        .send()
        .await
        .unwrap();
    let location = redirect.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with("https://localhost.example/callback?code="),
        "{location}"
    );
    let state = client
        .authenticator()
        .exchange(&location, Some("state-123"))
        .await
        .unwrap();
    assert!(matches!(state, AuthState::Authorized { .. }));
}

#[tokio::test]
async fn login_refresh_rotation_and_persistence() {
    let sim = support::simulator(Size::Tiny).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secrets/tokens.json");
    let store: Arc<dyn TokenStore> = Arc::new(FileTokenStore::new(&path));
    let client = support::oauth_client(&sim, store.clone());
    assert_eq!(client.auth_state().await, AuthState::NotAuthorized);
    assert!(matches!(
        users(&client).await,
        Err(ApiError::NeedsReauthorization { .. })
    ));

    login(&sim, &client).await;
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            std::fs::metadata(path.parent().unwrap())
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o700
        );
    }
    assert_eq!(users(&client).await.unwrap().len(), 6);
    let first = store.load().unwrap().unwrap();

    // The access token is revoked server-side: 401, one refresh, the request succeeds, and
    // the rotated refresh token is on disk.
    gazelle_sim::server::lock(&sim.state.auth).expire_access_tokens();
    assert_eq!(users(&client).await.unwrap().len(), 6);
    let second = store.load().unwrap().unwrap();
    assert_ne!(first.refresh_token, second.refresh_token, "rotated");
    assert_ne!(first.access_token, second.access_token);

    // A new process (a restarted daemon) picks the tokens up from the store.
    let restarted = support::oauth_client(&sim, Arc::new(FileTokenStore::new(&path)));
    assert_eq!(users(&restarted).await.unwrap().len(), 6);

    // Tokens close to expiry are refreshed before use, not after a 401.
    gazelle_sim::server::lock(&sim.state.auth).access_lifetime =
        jiff::SignedDuration::from_secs(60);
    gazelle_sim::server::lock(&sim.state.auth).expire_access_tokens();
    users(&restarted).await.unwrap(); // 401 → refresh: the new token lives 60 s (< the 5 min margin)
    let unauthorized = sim
        .state
        .stats
        .unauthorized
        .load(std::sync::atomic::Ordering::Relaxed);
    let before = token_requests(&sim);
    users(&restarted).await.unwrap();
    assert_eq!(
        token_requests(&sim) - before,
        1,
        "refreshed ahead of expiry"
    );
    assert_eq!(
        sim.state
            .stats
            .unauthorized
            .load(std::sync::atomic::Ordering::Relaxed),
        unauthorized,
        "no 401 needed"
    );
    // Secrets never show in Debug.
    assert!(!format!("{second:?}").contains(&second.access_token));
    sim.stop().await;
}

#[tokio::test]
async fn a_refresh_without_a_new_refresh_token_keeps_the_old_one() {
    let sim = support::simulator(Size::Tiny).await;
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn TokenStore> = Arc::new(FileTokenStore::new(dir.path().join("t.json")));
    let client = support::oauth_client(&sim, store.clone());
    login(&sim, &client).await;
    {
        let mut auth = gazelle_sim::server::lock(&sim.state.auth);
        auth.rotate_refresh_tokens = false;
        auth.omit_refresh_token = true;
        auth.expire_access_tokens();
    }
    let before = store.load().unwrap().unwrap();
    users(&client).await.unwrap();
    let after = store.load().unwrap().unwrap();
    assert_eq!(before.refresh_token, after.refresh_token);
    assert_ne!(before.access_token, after.access_token);
    sim.stop().await;
}

#[tokio::test]
async fn invalid_grant_is_reported_once_and_never_retried() {
    let sim = support::simulator(Size::Tiny).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.json");
    let client = support::oauth_client(&sim, Arc::new(FileTokenStore::new(&path)));
    login(&sim, &client).await;
    {
        let mut auth = gazelle_sim::server::lock(&sim.state.auth);
        auth.revoke_refresh_tokens();
        auth.expire_access_tokens();
    }
    let before = token_requests(&sim);
    let err = users(&client).await.unwrap_err();
    assert!(
        matches!(err, ApiError::NeedsReauthorization { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("gazellectl auth login"), "{err}");
    assert_eq!(token_requests(&sim) - before, 1, "one refresh attempt");
    assert_eq!(client.auth_state().await, AuthState::NeedsReauthorization);

    // Further requests, and a restarted process, do not touch the token endpoint again.
    for _ in 0..3 {
        assert!(matches!(
            users(&client).await,
            Err(ApiError::NeedsReauthorization { .. })
        ));
    }
    let restarted = support::oauth_client(&sim, Arc::new(FileTokenStore::new(&path)));
    assert!(matches!(
        users(&restarted).await,
        Err(ApiError::NeedsReauthorization { .. })
    ));
    assert_eq!(token_requests(&sim) - before, 1, "never hammered");

    // A new login clears the state.
    login(&sim, &restarted).await;
    assert_eq!(users(&restarted).await.unwrap().len(), 6);
    sim.stop().await;
}

#[tokio::test]
async fn concurrent_requests_share_one_refresh() {
    let sim = support::simulator(Size::Tiny).await;
    let dir = tempfile::tempdir().unwrap();
    let client = Arc::new(support::oauth_client(
        &sim,
        Arc::new(FileTokenStore::new(dir.path().join("t.json"))),
    ));
    login(&sim, &client).await;
    gazelle_sim::server::lock(&sim.state.auth).expire_access_tokens();
    let before = token_requests(&sim);
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move { users(&c).await.map(|u| u.len()) })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap(), 6);
    }
    assert_eq!(token_requests(&sim) - before, 1, "one refresher at a time");
    sim.stop().await;
}

#[tokio::test]
async fn api_keys_authenticate_and_a_wrong_one_is_an_auth_error() {
    let sim = support::simulator(Size::Tiny).await;
    assert_eq!(
        users(&support::api_key_client(&sim, 50))
            .await
            .unwrap()
            .len(),
        6
    );
    let store: Arc<dyn TokenStore> = Arc::new(FileTokenStore::new("/nonexistent"));
    let wrong = GazelleClient::new(
        support::options(&sim, 50),
        api_client::Credentials::ApiKey("generated-wrong-key".into()),
        store,
    )
    .unwrap();
    let err = users(&wrong).await.unwrap_err();
    assert!(matches!(err, ApiError::Auth { .. }), "{err}");
    sim.stop().await;
}

#[tokio::test]
async fn a_token_file_readable_by_others_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.json");
    std::fs::write(&path, "{}").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = FileTokenStore::new(&path).load().unwrap_err();
    assert!(
        err.to_string().contains("is readable by others (mode 644)"),
        "{err}"
    );
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let err = FileTokenStore::new(&path).load().unwrap_err();
    assert!(err.to_string().contains("is not a token file"), "{err}");
}
