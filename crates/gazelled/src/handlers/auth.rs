//! The control socket's authorization requests: `gazellectl auth status | login | logout` and
//! `doctor`'s API check.
//!
//! The daemon owns the tokens: it is the one process that refreshes them while it runs. With
//! rotating refresh tokens a second refresher (a CLI with its own client) would revoke the
//! daemon's refresh token, and the daemon would then record the authorization as lost. So
//! the CLI hands the authorization code to the daemon, and the daemon's own client exchanges
//! it: the new tokens are in use at once, no restart.

use protocol::{Authorization, Response};

use super::{Handled, Refusal};

use crate::context::Context;

/// The daemon's client, or why there is none (no credentials configured).
fn client(context: &Context) -> Handled<&api_client::GazelleClient> {
    context.runner.engine().map(|e| e.client()).ok_or_else(|| {
        Refusal::unavailable(
            context
                .runner
                .unavailable()
                .unwrap_or("sync is not configured"),
        )
    })
}

async fn answer(client: &api_client::GazelleClient) -> Response {
    Response::Authorization {
        authorization: Authorization::from(client.auth_state().await),
        stored_in: client.authenticator().stored_in(),
    }
}

// Each handler answers `Err` with the refusal when there is no client.

pub async fn status(context: &Context) -> Handled<Response> {
    Ok(answer(client(context)?).await)
}

pub async fn login(
    context: &Context,
    code: &str,
    expected_state: Option<&str>,
) -> Handled<Response> {
    let client = client(context)?;
    Ok(
        match client.authenticator().exchange(code, expected_state).await {
            Ok(_) => {
                tracing::info!(stored_in = %client.authenticator().stored_in(), "authorized by `gazellectl auth login`");
                // An "authorization lost" alert ends now, not at the next health check.
                context.alerting.health().await;
                answer(client).await
            }
            Err(e) => return Err(Refusal::invalid(e.to_string())),
        },
    )
}

pub async fn logout(context: &Context) -> Handled<Response> {
    let client = client(context)?;
    Ok(match client.authenticator().logout().await {
        Ok(()) => {
            tracing::info!("tokens forgotten by `gazellectl auth logout`");
            answer(client).await
        }
        Err(e) => return Err(Refusal::internal(e.to_string())),
    })
}

/// The smallest authorized query (the user list), made with the daemon's client: an expired
/// token is refreshed by the one process that owns it.
pub async fn api_check(context: &Context) -> Handled<Response> {
    let client = client(context)?;
    Ok(
        match client
            .execute::<serde_json::Value>(api_client::documents::USERS, serde_json::json!({}))
            .await
        {
            Ok(data) => Response::ApiCheck {
                ok: true,
                detail: format!(
                    "{} reachable and authorized ({}; {} users)",
                    context.config.api.base_url,
                    match Authorization::from(client.auth_state().await) {
                        Authorization::ApiKey => "API key".to_owned(),
                        Authorization::Authorized { expires_at } =>
                            format!("OAuth, token valid until {expires_at}"),
                        other => format!("{other:?}"),
                    },
                    data["allUsers"].as_array().map_or(0, Vec::len)
                ),
            },
            Err(e) => Response::ApiCheck {
                ok: false,
                detail: e.to_string(),
            },
        },
    )
}
