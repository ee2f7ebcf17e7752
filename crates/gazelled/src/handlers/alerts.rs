//! Maintenance alerts: list, show, resolve, archive, scan; the test e-mail.

use protocol::calls::{
    AlertArchive, AlertList, AlertResolve, AlertShow, AlertsList, AlertsScan, EmailVerdict,
    TestEmail,
};
use serde_json::json;
use store::alerts::{self, AlertFilter, MaintenanceAlert};

use super::{Handled, Parts, Refusal};
use crate::context::Context;

/// The local day today, as stored.
fn today(context: &Context) -> String {
    let tz = context.config.business.timezone.time_zone();
    store::time::date_text(jiff::Timestamp::now().to_zoned(tz).date())
}

async fn alert(context: &Context, id: i64) -> Handled<MaintenanceAlert> {
    alerts::alert(context.store.reader(), id)
        .await?
        .ok_or_else(|| Refusal::invalid(format!("there is no alert #{id}")))
}

/// Read page by page from the store (newest first), each page sent as it is read: memory
/// stays one page on each side, whatever the number of alerts.
pub async fn list(
    context: &Context,
    request: AlertsList,
    parts: &mut Parts<'_>,
) -> Handled<AlertList> {
    use protocol::Listing;
    let reader = context.store.reader();
    let filter = request.filter;
    let mut system = if matches!(filter, AlertFilter::Unresolved | AlertFilter::All) {
        alerts::open_system_alerts(reader).await?
    } else {
        Vec::new()
    };
    let mut left = request.limit.map_or(u64::MAX, u64::from);
    let mut after = None;
    loop {
        let want = left.min(AlertsList::PART as u64) as u32;
        let page = if want == 0 {
            Vec::new()
        } else {
            alerts::list_alerts_after(reader, filter, after.as_ref(), want).await?
        };
        left -= page.len() as u64;
        let last = page.len() < want as usize || left == 0;
        after = page.last().map(|a| (a.date_observation.clone(), a.id));
        let part = AlertList {
            filter,
            maintenance: page,
            // The other open alerts travel once, with the first part.
            system: std::mem::take(&mut system),
        };
        if last {
            return Ok(part);
        }
        parts.send::<AlertsList>(part).await?;
    }
}

pub async fn show(context: &Context, request: AlertShow) -> Handled<MaintenanceAlert> {
    alert(context, request.id).await
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

pub async fn resolve(context: &Context, request: AlertResolve) -> Handled<MaintenanceAlert> {
    let note = request.note.trim();
    if note.is_empty() {
        return Err(Refusal::bad("a resolution needs a note (--note TEXT)"));
    }
    let id = request.id;
    let mut tx = context.store.begin_write().await?;
    alerts::resolve_alert(
        &mut tx,
        id,
        note,
        &today(context),
        request.author.as_deref(),
    )
    .await?;
    let logged = context.config.alerts.client_log_on_resolve
        && client_log(&mut tx, context.store.reader(), id, note).await?;
    tx.commit()
        .await
        .map_err(|e| Refusal::internal(format!("cannot commit: {e}")))?;
    if logged {
        context.nudge_push();
    }
    tracing::info!(alert = id, "maintenance alert resolved by hand");
    alert(context, id).await
}

pub async fn archive(context: &Context, request: AlertArchive) -> Handled<MaintenanceAlert> {
    let mut tx = context.store.begin_write().await?;
    alerts::archive_alert(
        &mut tx,
        request.id,
        request
            .note
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty()),
    )
    .await?;
    tx.commit()
        .await
        .map_err(|e| Refusal::internal(format!("cannot commit: {e}")))?;
    tracing::info!(alert = request.id, "maintenance alert archived");
    alert(context, request.id).await
}

pub async fn scan(
    context: &Context,
    request: AlertsScan,
) -> Handled<::alerts::detect::DetectReport> {
    let since = match request.since.as_deref() {
        None => None,
        Some(text) => {
            let date = super::local_date(context, "--since", Some(text))?;
            let start = date
                .to_zoned(context.config.business.timezone.time_zone())
                .map_err(|e| Refusal::bad(e.to_string()))?;
            Some(start.timestamp())
        }
    };
    context
        .alerting
        .scan(since)
        .await
        .map_err(Refusal::internal)
}

pub async fn test_email(context: &Context, request: TestEmail) -> Handled<EmailVerdict> {
    let result = context
        .alerting
        .test_email(&context.store, request.to.as_deref())
        .await
        .map_err(Refusal::unavailable)?;
    Ok(EmailVerdict { result })
}
