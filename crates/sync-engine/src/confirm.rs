//! Deletions confirmed by id: absence from a listing is never enough.
//!
//! With offset cursors a record can slide past a read unseen when records ahead of the
//! cursor are deleted meanwhile, and under either reading of a `CoreDate` filter a record at
//! a window's edge may be listed on the neighbouring day. So a record the pull did not list
//! is asked for by id ([`api_client::lookup`]) before anything is decided:
//!
//! * Gazelle answers `null`: it is gone, and the caller tombstones it;
//! * Gazelle answers with the record: it is alive; it is stored as read (so it is fresh, not
//!   only kept) and, in a complete scan, recorded as seen.
//!
//! Children follow their parent: a client's contacts and an invoice's lines come with the
//! parent's read, so once every unseen parent is settled, an unseen child is gone. Timeline
//! entries have no root field by id: each is looked for among the oldest entries since its
//! own `occurredAt` (one probe window per distinct time); it is gone only when that window
//! reached past its time without listing it, and is otherwise kept.

use std::collections::HashSet;

use api_client::lookup::LookupKind;
use api_client::model;
use api_client::probe::ProbeKind;
use jiff::Timestamp;
use serde::de::DeserializeOwned;
use serde_json::Value;
use store::StoreError;
use store::reconcile;
use store::records::{APPOINTMENTS, OTHER_EVENTS};
use store::sync_log::StreamCounts;

use crate::engine::Tally;

use crate::engine::{Node, PassError, Plan, Stream, SyncEngine, commit};

impl SyncEngine {
    /// Settles every parent record a complete scan did not list: those Gazelle still has are
    /// stored and recorded as seen, so that the sweep that follows tombstones only what is
    /// confirmed gone.
    pub(crate) async fn confirm_unseen(
        &self,
        plan: &Plan,
        counts: &mut StreamCounts,
        errors: &mut Vec<String>,
    ) -> Result<(), PassError> {
        let parents = match plan.stream {
            Stream::Users | Stream::Catalogue => return Ok(()),
            // Appointments and other events are one Gazelle kind.
            Stream::Events => plan.stream.swept(),
            _ => &plan.stream.swept()[..1],
        };
        let mut ids = Vec::new();
        {
            let mut conn =
                self.store()
                    .reader()
                    .acquire()
                    .await
                    .map_err(|source| StoreError::Sql {
                        context: "finding the records a scan did not list",
                        source,
                    })?;
            for (table, seen_as) in parents {
                ids.extend(reconcile::unseen(&mut conn, seen_as, table).await?.ids);
            }
        }
        if ids.is_empty() {
            return Ok(());
        }
        let alive = match plan.stream {
            Stream::Clients => {
                self.store_alive::<model::Client>(LookupKind::Clients, &ids, plan, counts, errors)
                    .await?
            }
            Stream::Pianos => {
                self.store_alive::<model::Piano>(LookupKind::Pianos, &ids, plan, counts, errors)
                    .await?
            }
            Stream::Events => {
                self.store_alive::<model::Event>(LookupKind::Events, &ids, plan, counts, errors)
                    .await?
            }
            Stream::Invoices => {
                self.store_alive::<model::Invoice>(LookupKind::Invoices, &ids, plan, counts, errors)
                    .await?
            }
            Stream::Timeline => {
                let alive = self.timeline_alive(&ids).await?;
                let mut tx = self.store().begin_write().await?;
                reconcile::record_seen(&mut tx, "timeline", alive.iter().map(String::as_str))
                    .await?;
                commit(tx).await?;
                alive.len()
            }
            Stream::Users | Stream::Catalogue => 0,
        };
        if alive > 0 {
            tracing::info!(
                stream = plan.stream.name(),
                alive,
                gone = ids.len() - alive,
                "records the scan did not list are still in Gazelle: stored, not deleted"
            );
        }
        Ok(())
    }

    /// Looks `ids` up and stores those Gazelle still has (recorded as seen when the pass
    /// sweeps). Returns how many it had.
    async fn store_alive<T: DeserializeOwned + Node>(
        &self,
        kind: LookupKind,
        ids: &[String],
        plan: &Plan,
        counts: &mut StreamCounts,
        errors: &mut Vec<String>,
    ) -> Result<usize, PassError> {
        let mut alive: Vec<T> = self
            .client()
            .lookup::<T>(kind, ids)
            .await?
            .into_iter()
            .flatten()
            .collect();
        T::complete(self.client(), &mut alive).await?;
        if alive.is_empty() {
            return Ok(0);
        }
        let mut tx = self.store().begin_write().await?;
        let tally = T::apply(&mut tx, &alive, self.settings(), plan.sweep, errors).await?;
        counts.fetched += alive.len() as u64;
        let stored = tally
            .record(&mut tx, plan.run_id, plan.stream, alive.len() as u64, 0)
            .await?;
        counts.rows.add(stored);
        commit(tx).await?;
        Ok(alive.len())
    }

    /// The timeline entries among `ids` that Gazelle still lists, or that cannot be shown
    /// gone: only a window that reached past an entry's time without it proves it deleted.
    async fn timeline_alive(&self, ids: &[String]) -> Result<Vec<String>, PassError> {
        let times = store::reads::timeline_times(self.store().reader(), ids).await?;
        let mut bounds: Vec<Timestamp> = times
            .iter()
            .filter_map(|(_, at)| at.parse().ok())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        bounds.sort();
        let windows: Vec<Value> = bounds
            .iter()
            .map(|b| Value::String(store::time::utc_text(*b)))
            .collect();
        let page = self.client().options().page_size.max(2);
        let answers = self
            .client()
            .probe(ProbeKind::Timeline, page, &windows)
            .await?;
        let mut alive = Vec::new();
        for (id, at) in &times {
            let Ok(at) = at.parse::<Timestamp>() else {
                alive.push(id.clone());
                continue;
            };
            let Ok(i) = bounds.binary_search(&at) else {
                alive.push(id.clone());
                continue;
            };
            let answer = &answers[i];
            let listed = answer.nodes.iter().any(|n| &n.id == id);
            let reached_past = !answer.more
                || answer.nodes.iter().any(|n| {
                    n.occurred_at
                        .is_some_and(|t| t.as_second() > at.as_second())
                });
            if listed || !reached_past {
                alive.push(id.clone());
            }
        }
        Ok(alive)
    }

    /// An incremental pass's window lost these event ids: each confirmed by id, the gone
    /// ones tombstoned, the ones still there stored.
    pub(crate) async fn confirm_vanished(
        &self,
        plan: &Plan,
        ids: &[String],
        counts: &mut StreamCounts,
        errors: &mut Vec<String>,
    ) -> Result<(), PassError> {
        let found: Vec<Option<model::Event>> =
            self.client().lookup(LookupKind::Events, ids).await?;
        let mut gone = Vec::new();
        let mut alive = Vec::new();
        for (id, event) in ids.iter().zip(found) {
            match event {
                Some(event) => alive.push(event),
                None => gone.push(id.clone()),
            }
        }
        let mut tx = self.store().begin_write().await?;
        let mut deleted = 0;
        for table in [&APPOINTMENTS, &OTHER_EVENTS] {
            deleted += reconcile::tombstone_ids(&mut tx, table, &gone).await?;
        }
        let tally = if alive.is_empty() {
            Tally::default()
        } else {
            model::Event::apply(&mut tx, &alive, self.settings(), false, errors).await?
        };
        let stored = tally
            .record(
                &mut tx,
                plan.run_id,
                plan.stream,
                alive.len() as u64,
                deleted,
            )
            .await?;
        counts.deleted += deleted;
        counts.fetched += alive.len() as u64;
        counts.rows.add(stored);
        commit(tx).await?;
        if deleted > 0 {
            tracing::info!(
                stream = plan.stream.name(),
                deleted,
                "events deleted in Gazelle, confirmed by id: tombstoned"
            );
        }
        Ok(())
    }
}
