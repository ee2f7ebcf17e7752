//! The control socket's alert requests: list, show, resolve, archive, scan, test e-mail.

use protocol::{ErrorCode, Request, Response};
use serde_json::json;
use store::alerts::{self, AlertFilter};

use crate::control::Context;

fn error(code: ErrorCode, message: impl Into<String>) -> Response {
    Response::Error {
        code,
        message: message.into(),
    }
}

fn internal(e: store::StoreError) -> Response {
    error(ErrorCode::Internal, e.to_string())
}

/// A request the store refused (no such alert, already resolved), or a store failure.
fn refused(e: store::StoreError) -> Response {
    match e {
        store::StoreError::Invalid(m) => error(ErrorCode::Invalid, m),
        other => internal(other),
    }
}

async fn commit(tx: store::WriteTx) -> Result<(), Response> {
    tx.commit()
        .await
        .map_err(|e| error(ErrorCode::Internal, format!("cannot commit: {e}")))
}

/// The local day today, as stored.
fn today(context: &Context) -> String {
    let tz = context.config.business.timezone.time_zone();
    store::time::date_text(jiff::Timestamp::now().to_zoned(tz).date())
}

/// Queues the timeline comment of a hand-made resolution (`createClientLog`), in the
/// resolution's transaction; whether one was queued (not for a client unknown to Gazelle).
async fn client_log(
    tx: &mut store::Connection,
    reader: &sqlx::SqlitePool,
    id: i64,
    note: &str,
) -> Result<bool, store::StoreError> {
    let Some(alert) = alerts::alert(reader, id).await? else {
        return Ok(false);
    };
    let Some(client) = alert.client_external_id.clone() else {
        return Ok(false);
    };
    let family = alert.alert_type.clone();
    let comment = format!(
        "Alerte d'entretien ({family}) du {} résolue : {note}",
        alert.date_observation
    );
    store::outbox::enqueue(
        tx,
        &store::outbox::NewEntry {
            operation: "create",
            entity: "TimelineEntries",
            local_id: id,
            action: Some("client_log"),
            payload: json!({"clientId": client, "pianoId": alert.piano_external_id, "comment": comment,
                            "createdAt": store::time::now_text()}),
            base_updated_at: None,
            depends_on: None,
        },
    )
    .await?;
    Ok(true)
}

pub async fn serve(context: &Context, request: Request) -> Response {
    match handle(context, request).await {
        Ok(r) | Err(r) => r,
    }
}

async fn handle(context: &Context, request: Request) -> Result<Response, Response> {
    let reader = context.store.reader();
    match request {
        Request::Alerts { filter, limit } => {
            let filter = match filter.as_deref().unwrap_or("unresolved") {
                "unresolved" => AlertFilter::Unresolved,
                "resolved" => AlertFilter::Resolved,
                "archived" => AlertFilter::Archived,
                "all" => AlertFilter::All,
                other => {
                    return Err(error(
                        ErrorCode::BadRequest,
                        format!("unknown filter `{other}` (unresolved, resolved, archived, all)"),
                    ));
                }
            };
            let maintenance = alerts::list_alerts(reader, filter, limit.clamp(1, 10_000))
                .await
                .map_err(internal)?;
            let system = if matches!(filter, AlertFilter::Unresolved | AlertFilter::All) {
                alerts::open_system_alerts(reader).await.map_err(internal)?
            } else {
                Vec::new()
            };
            Ok(Response::Data {
                data: json!({"filter": filter, "maintenance": maintenance, "system": system}),
            })
        }
        Request::AlertShow { id } => match alerts::alert(reader, id).await.map_err(internal)? {
            Some(alert) => Ok(Response::Data { data: json!(alert) }),
            None => Err(error(
                ErrorCode::Invalid,
                format!("there is no alert #{id}"),
            )),
        },
        Request::AlertResolve { id, note } => {
            if note.trim().is_empty() {
                return Err(error(
                    ErrorCode::BadRequest,
                    "a resolution needs a note (--note TEXT)",
                ));
            }
            let mut tx = context.store.begin_write().await.map_err(internal)?;
            alerts::resolve_alert(&mut tx, id, note.trim(), &today(context))
                .await
                .map_err(refused)?;
            let logged = context.config.alerts.client_log_on_resolve
                && client_log(&mut tx, reader, id, note.trim())
                    .await
                    .map_err(internal)?;
            commit(tx).await?;
            if logged && !context.runner.is_paused() {
                let runner = std::sync::Arc::clone(&context.runner);
                tokio::spawn(async move {
                    runner.push_now().await;
                });
            }
            tracing::info!(alert = id, "maintenance alert resolved by hand");
            let alert = alerts::alert(reader, id).await.map_err(internal)?;
            Ok(Response::Data { data: json!(alert) })
        }
        Request::AlertArchive { id, note } => {
            let mut tx = context.store.begin_write().await.map_err(internal)?;
            alerts::archive_alert(
                &mut tx,
                id,
                note.as_deref().map(str::trim).filter(|n| !n.is_empty()),
            )
            .await
            .map_err(refused)?;
            commit(tx).await?;
            tracing::info!(alert = id, "maintenance alert archived");
            let alert = alerts::alert(reader, id).await.map_err(internal)?;
            Ok(Response::Data { data: json!(alert) })
        }
        Request::AlertsScan { since } => {
            let since = match since.as_deref() {
                None => None,
                Some(text) => {
                    let date: jiff::civil::Date = text.trim().parse().map_err(|e| {
                        error(
                            ErrorCode::BadRequest,
                            format!("--since `{text}` is not a date like 2026-01-31 ({e})"),
                        )
                    })?;
                    let tz = context.config.business.timezone.time_zone();
                    let start = date
                        .to_zoned(tz)
                        .map_err(|e| error(ErrorCode::BadRequest, e.to_string()))?;
                    Some(start.timestamp())
                }
            };
            let report = context
                .alerting
                .scan(since)
                .await
                .map_err(|m| error(ErrorCode::Internal, m))?;
            Ok(Response::Data {
                data: json!(report),
            })
        }
        Request::TestEmail { to } => {
            let verdict = context
                .alerting
                .test_email(&context.store, to.as_deref())
                .await
                .map_err(|m| error(ErrorCode::Unavailable, m))?;
            Ok(Response::Data {
                data: json!({"result": verdict}),
            })
        }
        other => Err(error(
            ErrorCode::Internal,
            format!("not an alert request: {other:?}"),
        )),
    }
}
