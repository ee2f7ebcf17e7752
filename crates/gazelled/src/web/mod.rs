//! The dashboard: server-rendered pages for the owner, the office and the technicians,
//! served by the daemon itself (no other server, no build step outside cargo).
//!
//! * [`auth`]: accounts, sessions, CSRF, lockout.
//! * [`pages`]: the pages and their actions (the CLI's handlers, called as they are).
//! * [`layout`]: the frame, the two languages, the vendored style sheet.
//! * [`tls`]: the certificate when serving beyond the Mac.
//!
//! Private by default: `127.0.0.1` in plain HTTP. Any other `web.listen` is served only over
//! TLS. Every response forbids framing and sniffing, and sends no referrer (a one-time link
//! carries its token in the URL).

// A refusal is a whole response (status and page), returned once per request: boxing it
// would buy nothing.
#![allow(clippy::result_large_err)]

pub mod auth;
mod layout;
mod pages;
mod tls;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;

use crate::context::Context;
use crate::shutdown::Shutdown;

/// How long a TLS handshake may take before the connection is dropped.
const HANDSHAKE_WITHIN: Duration = Duration::from_secs(10);

/// What the pages share.
pub struct WebState {
    pub context: Arc<Context>,
    /// Served over TLS: cookies are `Secure`.
    pub secure: bool,
}

/// Where the dashboard is served.
#[derive(Debug, Clone)]
pub struct Served {
    pub base_url: String,
    pub fingerprint: Option<String>,
}

fn router(state: Arc<WebState>) -> Router {
    Router::new()
        .route("/", get(|| async { Redirect::to("/today") }))
        .route("/static/app.css", get(css))
        .route("/login", get(auth::login_page).post(auth::login))
        .route("/login/link", get(auth::login_link))
        .route("/logout", post(auth::logout))
        .route(
            "/invite/{token}",
            get(auth::invitation_page).post(auth::accept_invitation),
        )
        .route("/today", get(pages::today_page))
        .route("/tomorrow", get(pages::tomorrow_page))
        .route("/day", get(pages::day_by_date))
        .route("/week", get(pages::week_page))
        .route("/alerts", get(pages::alerts_page))
        .route("/alerts/{id}/resolve", post(pages::resolve_alert))
        .route("/alerts/{id}/archive", post(pages::archive_alert))
        .route("/stock", get(pages::stock_page))
        .route("/stock/movement", post(pages::record_movement))
        .route("/clients", get(pages::clients_page))
        .route("/clients/{id}", get(pages::client_page))
        .route("/health", get(pages::health_page))
        .route("/health/sync", post(pages::sync_now))
        .layer(axum::middleware::map_response(protect))
        .with_state(state)
}

async fn css() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        layout::CSS,
    )
        .into_response()
}

/// Headers on every response: no framing, no sniffing, no referrer, nothing from elsewhere.
async fn protect(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "no-store"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// Listens and serves until shutdown. `Ok(None)` when `web.enabled` is false; an error (the
/// address taken, a certificate that cannot load) is the caller's to log: the daemon goes on
/// without its dashboard.
pub async fn start(context: Arc<Context>, shutdown: &Shutdown) -> Result<Option<Served>, String> {
    let web = &context.config.web;
    if !web.enabled {
        return Ok(None);
    }
    let tls = if web.tls() {
        Some(tls::acceptor(&context.config)?)
    } else {
        None
    };
    let listener = tokio::net::TcpListener::bind(web.listen)
        .await
        .map_err(|e| format!("key `web.listen`: cannot listen on {}: {e}", web.listen))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    let base_url = match &web.public_url {
        Some(url) => url.as_str().trim_end_matches('/').to_owned(),
        None => format!("{}://{local}", if tls.is_some() { "https" } else { "http" }),
    };
    let served = Served {
        base_url,
        fingerprint: tls.as_ref().map(|(_, f)| f.clone()),
    };
    let state = Arc::new(WebState {
        context: Arc::clone(&context),
        secure: tls.is_some(),
    });
    let app = router(state);
    let acceptor = tls.map(|(a, _)| a);
    let stop = shutdown.token().clone();
    let spawner = shutdown.clone();
    shutdown.spawn(async move {
        loop {
            let (stream, _) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(pair) => pair,
                    Err(e) => {
                        // Out of descriptors, most likely: wait a moment rather than spin.
                        tracing::warn!(error = %e, "dashboard: cannot accept a connection");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        continue;
                    }
                },
                () = stop.cancelled() => return,
            };
            let (app, acceptor, stop) = (app.clone(), acceptor.clone(), stop.clone());
            spawner.spawn(async move {
                match acceptor {
                    Some(acceptor) => {
                        match tokio::time::timeout(HANDSHAKE_WITHIN, acceptor.accept(stream)).await
                        {
                            Ok(Ok(tls)) => serve(TokioIo::new(tls), app, stop).await,
                            Ok(Err(e)) => {
                                tracing::debug!(error = %e, "dashboard: TLS handshake failed")
                            }
                            Err(_) => tracing::debug!("dashboard: TLS handshake timed out"),
                        }
                    }
                    None => serve(TokioIo::new(stream), app, stop).await,
                }
            });
        }
    });
    tracing::info!(url = %served.base_url, tls = served.fingerprint.is_some(), "dashboard listening");
    Ok(Some(served))
}

/// One connection, HTTP/1.1 or HTTP/2, ended gracefully at shutdown.
async fn serve<I>(io: TokioIo<I>, app: Router, stop: tokio_util::sync::CancellationToken)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    let connection = builder.serve_connection_with_upgrades(io, TowerToHyperService::new(app));
    tokio::pin!(connection);
    tokio::select! {
        result = connection.as_mut() => {
            if let Err(e) = result {
                tracing::debug!(error = %e, "dashboard connection ended with an error");
            }
        }
        () = stop.cancelled() => {
            connection.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(Duration::from_secs(5), connection).await;
        }
    }
}
