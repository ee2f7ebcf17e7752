//! The outbox (edits on their way to Gazelle: list, retry, discard) and the conflicts
//! between an edit and Gazelle's newer version (list, show, resolve).

use protocol::calls::{
    ConflictResolve, ConflictShow, ConflictsList, OutboxDiscard, OutboxLine, OutboxList,
    OutboxRetry,
};
use store::outbox::{Conflict, Entry};

use super::{Handled, Parts, Refusal, in_parts};
use crate::context::Context;

/// The most entries a listing shows (newest first): the rest are history.
const OUTBOX_LISTED: u32 = 5_000;

pub async fn list(
    context: &Context,
    r: OutboxList,
    parts: &mut Parts<'_>,
) -> Handled<Vec<OutboxLine>> {
    let entries = store::outbox::list(
        context.store.reader(),
        r.state.map(|s| s.as_str()),
        OUTBOX_LISTED,
    )
    .await?;
    // `stuck`: in flight past any push's length; a person decides (see the CLI's note).
    let lines = entries
        .into_iter()
        .map(|entry| OutboxLine {
            stuck: entry.is_stuck(),
            entry,
        })
        .collect();
    in_parts::<OutboxList, _>(parts, lines, |part| part).await
}

/// Retry or discard, with the end of the entry's refusal alert, in one transaction.
async fn settle(context: &Context, id: i64, retry: bool) -> Handled<Entry> {
    let store = &context.store;
    let mut tx = store.begin_write().await?;
    if retry {
        store::outbox::retry(&mut tx, id, None).await?;
    } else {
        store::outbox::discard(&mut tx, id).await?;
    }
    let key = format!("outbox:{id}");
    // The entry's refusal alert is over either way.
    let open: Vec<String> = store::alerts::open_system_alerts(store.reader())
        .await?
        .into_iter()
        .filter(|alert| alert.kind == "push" && alert.key != key)
        .map(|alert| alert.key)
        .collect();
    store::alerts::clear_system_alerts_except(&mut tx, store::alerts::SystemKind::Push, &open)
        .await?;
    tx.commit()
        .await
        .map_err(|e| Refusal::internal(format!("cannot commit: {e}")))?;
    store::outbox::entry(store.reader(), id)
        .await?
        .ok_or_else(|| Refusal::invalid(format!("no such outbox entry #{id}")))
}

pub async fn retry(context: &Context, r: OutboxRetry) -> Handled<Entry> {
    let entry = settle(context, r.id, true).await?;
    context.nudge_push();
    Ok(entry)
}

pub async fn discard(context: &Context, r: OutboxDiscard) -> Handled<Entry> {
    settle(context, r.id, false).await
}

pub async fn conflicts(context: &Context, r: ConflictsList) -> Handled<Vec<Conflict>> {
    Ok(store::outbox::conflicts(context.store.reader(), !r.all).await?)
}

pub async fn conflict(context: &Context, r: ConflictShow) -> Handled<Conflict> {
    store::outbox::conflict(context.store.reader(), r.id)
        .await?
        .ok_or_else(|| Refusal::invalid(format!("there is no conflict #{}", r.id)))
}

pub async fn resolve(context: &Context, r: ConflictResolve) -> Handled<Conflict> {
    // Keeping Gazelle's version writes it into the row at once (read by the daemon's
    // client, when there is one).
    let settled = sync_engine::resolve_conflict(
        &context.store,
        context.runner.engine().map(|e| e.client()),
        &sync_engine::SyncSettings::from_config(&context.config),
        r.id,
        r.keep.as_str(),
    )
    .await?;
    context.nudge_push();
    settled.ok_or_else(|| Refusal::invalid(format!("there is no conflict #{}", r.id)))
}
