//! The push: local edits from the outbox to Gazelle, in order, each at most once upstream.
//!
//! For each ready entry: mark it in flight (committed), check for a conflict (the record's
//! upstream `updatedAt` against the one the edit was based on), send its mutation, then, in
//! one transaction, write back what Gazelle answered (ids, number, timestamps) and end the
//! entry. What makes a creation never happen twice upstream:
//!
//! * invoices (and clients) are created with an id chosen locally (`createInvoice(id:)`):
//!   sending the creation again returns the same record;
//! * `createEvent` takes no id, so an appointment creation that was ever sent (`SentAt`: the
//!   daemon may have died, or the connection dropped, after Gazelle applied it) is first
//!   looked for upstream — same technician, client, start and title — and adopted if found.
//!
//! A refusal (`mutationErrors`) is a dead letter with the service's message and an alert;
//! it blocks only later edits of the same record. Transient failures retry with backoff;
//! after [`MAX_ATTEMPTS`] the entry is dead too. Lost authorization stops the cycle.

use std::sync::Arc;

use api_client::documents;
use api_client::model;
use api_client::{ApiError, GazelleClient};
use config::ConflictPolicy;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use store::alerts::SystemKind;
use store::local;
use store::outbox::{self, Entry};
use store::{Connection, Store, StoreError};

use crate::engine::SyncSettings;
use crate::refresh::Fresh;

/// Tries before an entry that keeps failing transiently is given up (dead).
pub const MAX_ATTEMPTS: i64 = 8;

/// What a push cycle did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct PushReport {
    pub pushed: u32,
    /// Creations found upstream after an interrupted send, adopted rather than resent.
    pub adopted: u32,
    pub retrying: u32,
    pub dead: u32,
    /// Lost to a newer upstream edit (last-write-wins); both versions are in Conflicts.
    pub superseded: u32,
    /// Waiting for `gazellectl conflicts resolve`.
    pub held: u32,
}

pub struct Pusher {
    store: Store,
    client: Arc<GazelleClient>,
    config: Arc<config::Config>,
}

/// Why an entry did not go through.
enum Failure {
    Api(ApiError),
    Store(StoreError),
    /// The local data cannot make a valid mutation (a missing parent id, …).
    Local(String),
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure::Store(e)
    }
}

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Self {
        Failure::Api(e)
    }
}

/// What the conflict check decided.
enum Gate {
    Send,
    Superseded,
    Held,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Written {
    id: String,
    updated_at: Option<Timestamp>,
    number: Option<i64>,
    all_invoice_items: Option<model::Page<WrittenItem>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WrittenItem {
    id: String,
    sequence_number: Option<i64>,
}

fn utc(t: Option<Timestamp>) -> Option<String> {
    t.map(store::time::utc_text)
}

async fn commit(tx: store::WriteTx) -> Result<(), StoreError> {
    tx.commit().await.map_err(|source| StoreError::Sql {
        context: "committing a push",
        source,
    })
}

impl Pusher {
    pub fn new(store: Store, client: Arc<GazelleClient>, config: Arc<config::Config>) -> Pusher {
        Pusher {
            store,
            client,
            config,
        }
    }

    /// Whether anything is waiting (cheap: the daemon's interval job asks before a cycle).
    pub async fn has_work(&self) -> Result<bool, StoreError> {
        Ok(
            !outbox::ready(self.store.reader(), &store::time::now_text(), 1)
                .await?
                .is_empty(),
        )
    }

    /// Pushes every ready entry, in order.
    ///
    /// `stop` (the daemon's shutdown) ends the cycle between two entries: the one in hand is
    /// sent and its outcome committed first.
    pub async fn push(
        &self,
        stop: &tokio_util::sync::CancellationToken,
    ) -> Result<PushReport, StoreError> {
        let mut report = PushReport::default();
        let mut seen = std::collections::HashSet::new();
        loop {
            let ready = outbox::ready(self.store.reader(), &store::time::now_text(), 50).await?;
            let fresh: Vec<Entry> = ready.into_iter().filter(|e| seen.insert(e.id)).collect();
            if fresh.is_empty() {
                return Ok(report);
            }
            for entry in fresh {
                if stop.is_cancelled() || !self.one(&entry, &mut report).await? {
                    return Ok(report);
                }
            }
        }
    }

    /// One entry; false when the cycle must stop (authorization lost).
    async fn one(&self, entry: &Entry, report: &mut PushReport) -> Result<bool, StoreError> {
        let mut tx = self.store.begin_write().await?;
        outbox::mark_in_flight(&mut tx, entry.id).await?;
        commit(tx).await?;
        let outcome = self.send(entry, report).await;
        let mut tx = self.store.begin_write().await?;
        let keep_going = match outcome {
            Ok(()) => true,
            // One entry's local failure (a constraint, a vanished row) is that entry's: it is
            // retried, then dead with its reason, and the cycle goes on with the others. A
            // database that cannot write at all fails the bookkeeping below and stops the
            // cycle there.
            Err(Failure::Store(e)) => {
                self.retry_or_dead(&mut tx, entry, &format!("local database: {e}"), report)
                    .await?;
                true
            }
            Err(Failure::Local(message)) => {
                self.dead(&mut tx, entry, &message, report).await?;
                true
            }
            Err(Failure::Api(ApiError::Rejected { operation, errors })) => {
                let message = format!(
                    "{operation} refused by Gazelle: {}",
                    errors
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; ")
                );
                self.dead(&mut tx, entry, &message, report).await?;
                true
            }
            Err(Failure::Api(
                e @ (ApiError::NeedsReauthorization { .. }
                | ApiError::Auth { .. }
                | ApiError::Setup(_)),
            )) => {
                // Not the entry's fault: it waits, untouched, for authorization to come back.
                outbox::mark_retry(&mut tx, entry.id, &e.to_string(), &store::time::now_text())
                    .await?;
                tracing::warn!(entry = entry.id, error = %e, "push stopped: not authorized");
                commit(tx).await?;
                return Ok(false);
            }
            Err(Failure::Api(e)) => {
                self.retry_or_dead(&mut tx, entry, &e.to_string(), report)
                    .await?;
                true
            }
        };
        commit(tx).await?;
        Ok(keep_going)
    }

    /// A failed try: again later, or dead after [`MAX_ATTEMPTS`].
    async fn retry_or_dead(
        &self,
        tx: &mut Connection,
        entry: &Entry,
        error: &str,
        report: &mut PushReport,
    ) -> Result<(), StoreError> {
        let attempts = entry.attempts + 1;
        if attempts >= MAX_ATTEMPTS {
            return self
                .dead(
                    tx,
                    entry,
                    &format!("gave up after {attempts} tries: {error}"),
                    report,
                )
                .await;
        }
        let wait =
            SignedDuration::try_from(outbox::retry_delay(attempts)).unwrap_or(SignedDuration::MAX);
        let next = Timestamp::now().checked_add(wait).unwrap_or(Timestamp::MAX);
        outbox::mark_retry(tx, entry.id, error, &store::time::utc_text(next)).await?;
        report.retrying += 1;
        tracing::warn!(entry = entry.id, attempts, error, "push failed; will retry");
        Ok(())
    }

    async fn dead(
        &self,
        tx: &mut Connection,
        entry: &Entry,
        message: &str,
        report: &mut PushReport,
    ) -> Result<(), StoreError> {
        outbox::mark_dead(tx, entry.id, message).await?;
        let summary = format!("{} #{} not pushed: {message}", entry.entity, entry.local_id);
        store::alerts::raise_system_alert(
            tx,
            SystemKind::Push,
            &format!("outbox:{}", entry.id),
            false,
            &summary,
            &json!({"outbox": entry.id, "entity": entry.entity, "local_id": entry.local_id}),
        )
        .await?;
        report.dead += 1;
        tracing::error!(entry = entry.id, entity = %entry.entity, "push refused: {message} (see `gazellectl outbox list`)");
        Ok(())
    }

    /// The conflict check before an update: `remote_updated_at` is the record's upstream
    /// version now, `remote` the record itself (kept in Conflicts when they diverge).
    async fn gate(
        &self,
        entry: &Entry,
        external_id: &str,
        remote_updated_at: Option<Timestamp>,
        remote: &Value,
    ) -> Result<Gate, Failure> {
        let remote_text = utc(remote_updated_at);
        let (Some(base), Some(now)) = (entry.base_updated_at.as_deref(), remote_text.as_deref())
        else {
            return Ok(Gate::Send);
        };
        if base == now {
            return Ok(Gate::Send);
        }
        let local: Value = serde_json::from_str(&entry.payload).unwrap_or(Value::Null);
        let policy = self.config.sync.conflict_policy(&entry.entity);
        // Last-write-wins: the later of the two edits wins; both versions stay on record.
        let local_wins = entry.created_at.as_str() > now;
        // Gazelle's edit wins: its whole record is read now (no request inside the
        // transaction) and written over the row as the edit is settled.
        let fresh = match policy {
            ConflictPolicy::LastWriteWins if !local_wins => {
                match Fresh::read(
                    &self.client,
                    &self.store,
                    &entry.entity,
                    entry.local_id,
                    external_id,
                )
                .await
                {
                    Ok(fresh) => fresh,
                    Err(e) => {
                        tracing::warn!(entry = entry.id, error = %e, "Gazelle's winning version could not be read: the row waits for the next full pull");
                        None
                    }
                }
            }
            _ => None,
        };
        let mut tx = self.store.begin_write().await?;
        let existing = outbox::open_conflict_for(&mut tx, entry.id).await?;
        let gate = match policy {
            ConflictPolicy::Manual => {
                let id = match existing {
                    Some(id) => id,
                    None => {
                        outbox::record_conflict(&mut tx, entry, external_id, &local, remote, None)
                            .await?
                    }
                };
                outbox::hold(&mut tx, entry.id, id).await?;
                tracing::warn!(
                    entry = entry.id,
                    conflict = id,
                    "conflict held for `gazellectl conflicts resolve`"
                );
                Gate::Held
            }
            ConflictPolicy::LastWriteWins => {
                let resolution = if local_wins { "local" } else { "remote" };
                match existing {
                    Some(_) => outbox::settle_conflicts_of(&mut tx, entry.id, resolution).await?,
                    None => {
                        outbox::record_conflict(
                            &mut tx,
                            entry,
                            external_id,
                            &local,
                            remote,
                            Some(resolution),
                        )
                        .await?;
                    }
                }
                if local_wins {
                    Gate::Send
                } else {
                    outbox::mark_done(
                        &mut tx,
                        entry.id,
                        "superseded",
                        None,
                        Some(&format!("Gazelle's edit of {now} is newer")),
                    )
                    .await?;
                    if let Some(fresh) = &fresh {
                        fresh
                            .write(&mut tx, &SyncSettings::from_config(&self.config))
                            .await?;
                    }
                    Gate::Superseded
                }
            }
        };
        commit(tx).await?;
        Ok(gate)
    }

    async fn done(
        &self,
        entry: &Entry,
        upstream_id: &str,
        write_back: impl AsyncFnOnce(&mut Connection) -> Result<(), StoreError>,
    ) -> Result<(), Failure> {
        let mut tx = self.store.begin_write().await?;
        write_back(&mut tx).await?;
        outbox::mark_done(&mut tx, entry.id, "pushed", Some(upstream_id), None).await?;
        // The edit went through: conflicts met on the way (a pull's) are settled for it.
        outbox::settle_conflicts_of(&mut tx, entry.id, "local").await?;
        commit(tx).await?;
        Ok(())
    }

    async fn send(&self, entry: &Entry, report: &mut PushReport) -> Result<(), Failure> {
        match (entry.entity.as_str(), entry.operation.as_str()) {
            ("Invoices", op @ ("create" | "update")) => {
                self.invoice(entry, op == "create", report).await
            }
            ("Appointments", "create") => self.create_event(entry, report).await,
            ("Appointments", "update") => self.update_event(entry, report).await,
            ("Appointments", "action") => self.event_action(entry, report).await,
            ("Clients", "create") => self.create_client(entry, report).await,
            ("Clients", "update") => self.update_client(entry, report).await,
            ("Pianos", "update") => self.update_piano(entry, report).await,
            ("Contacts", "update") => self.update_contact(entry, report).await,
            ("TimelineEntries", "create") => self.client_log(entry, report).await,
            (entity, op) => Err(Failure::Local(format!(
                "the push does not know how to {op} {entity}"
            ))),
        }
    }

    /// Reads the record from Gazelle and runs the conflict check: `Some(remote)` to go on
    /// with the update, `None` when it was superseded or held (counted in `report`).
    async fn checked(
        &self,
        entry: &Entry,
        report: &mut PushReport,
        read: documents::Operation,
        variables: Value,
        root: &str,
        id: &str,
    ) -> Result<Option<Value>, Failure> {
        let data: Value = self.client.execute(read, variables).await?;
        let remote = data[root].clone();
        if remote.is_null() {
            return Err(Failure::Local(format!(
                "{root} {id} no longer exists in Gazelle"
            )));
        }
        let updated = remote["updatedAt"].as_str().and_then(|t| t.parse().ok());
        let gate = self.gate(entry, id, updated, &remote).await?;
        Ok(self.count(&gate, report).then_some(remote))
    }

    fn count(&self, gate: &Gate, report: &mut PushReport) -> bool {
        match gate {
            Gate::Send => true,
            Gate::Superseded => {
                report.superseded += 1;
                false
            }
            Gate::Held => {
                report.held += 1;
                false
            }
        }
    }

    // --- invoices ----------------------------------------------------------------------

    async fn invoice(
        &self,
        entry: &Entry,
        create: bool,
        report: &mut PushReport,
    ) -> Result<(), Failure> {
        let (invoice, lines) = {
            let mut conn = self.store.read_connection().await?;
            let Some(invoice) = local::invoice(&mut conn, entry.local_id).await? else {
                return Err(Failure::Local(format!(
                    "invoice #{} no longer exists",
                    entry.local_id
                )));
            };
            let lines = local::lines(&mut conn, entry.local_id).await?;
            (invoice, lines)
        };
        let Some(client_id) = invoice.client_external_id.clone() else {
            return Err(Failure::Local(format!(
                "invoice {}: its client is not in Gazelle",
                invoice.number
            )));
        };
        let rates = (self.config.business.gst_rate, self.config.business.qst_rate);
        let items: Vec<Value> = lines
            .iter()
            .map(|l| {
                let amount = l.amount_cents.unwrap_or(0);
                // The managers' arithmetic: a line always carries the taxes it was totalled with.
                let (gst, qst) = (
                    managers::taxes::tax(amount, rates.0),
                    managers::taxes::tax(amount, rates.1),
                );
                let taxes = if l.taxable {
                    json!([
                        {"name": "TPS", "rate": rates.0, "total": gst},
                        {"name": "TVQ", "rate": rates.1, "total": qst},
                    ])
                } else {
                    json!([])
                };
                let mut item = json!({
                    "description": l.description,
                    "type": l.item_type.clone().unwrap_or_else(|| "OTHER".into()),
                    "quantity": l.quantity_hundredths,
                    "amount": l.unit_price_cents.unwrap_or(amount),
                    "taxable": l.taxable,
                    "billable": true,
                    "sequenceNumber": l.sequence_number,
                    "taxes": taxes,
                });
                if let Some(piano) = &l.piano_external_id {
                    item["pianoId"] = json!(piano);
                }
                item
            })
            .collect();
        let mut input = json!({
            "status": invoice.status,
            "notes": invoice.notes,
            "dueOn": invoice.due_on,
            "invoiceItems": items,
        });
        if let Some(assigned) = &invoice.assigned_to_id {
            input["assignedToId"] = json!(assigned);
        }
        let written: Written = if create || invoice.external_id.is_none() {
            let Some(id) = invoice
                .pending_external_id
                .clone()
                .or(invoice.external_id.clone())
            else {
                return Err(Failure::Local(format!(
                    "invoice {} has no id for Gazelle",
                    invoice.number
                )));
            };
            input["clientId"] = json!(client_id);
            self.client
                .mutate(
                    documents::CREATE_INVOICE,
                    "createInvoice",
                    "invoice",
                    json!({"id": id, "input": input}),
                )
                .await?
        } else {
            let id = invoice.external_id.clone().unwrap_or_default();
            if self
                .checked(
                    entry,
                    report,
                    documents::INVOICE,
                    json!({"id": id}),
                    "invoice",
                    &id,
                )
                .await?
                .is_none()
            {
                return Ok(());
            }
            self.client
                .mutate(
                    documents::UPDATE_INVOICE,
                    "updateInvoice",
                    "invoice",
                    json!({"id": id, "input": input}),
                )
                .await?
        };
        let number = written.number.map(|n| n.to_string());
        let updated = utc(written.updated_at);
        let pairs: Vec<(i64, String)> = written
            .all_invoice_items
            .map(|p| {
                p.nodes
                    .into_iter()
                    .filter_map(|i| i.sequence_number.map(|s| (s, i.id)))
                    .collect()
            })
            .unwrap_or_default();
        let (local_id, upstream) = (entry.local_id, written.id.clone());
        self.done(entry, &written.id, async move |tx: &mut Connection| {
            local::invoice_pushed(
                tx,
                local_id,
                &upstream,
                number.as_deref(),
                updated.as_deref(),
            )
            .await?;
            local::invoice_lines_pushed(tx, local_id, &pairs).await
        })
        .await?;
        report.pushed += 1;
        Ok(())
    }

    // --- appointments ------------------------------------------------------------------

    async fn appointment(&self, entry: &Entry) -> Result<local::LocalAppointment, Failure> {
        let mut conn = self.store.read_connection().await?;
        local::appointment(&mut conn, entry.local_id)
            .await?
            .ok_or_else(|| {
                Failure::Local(format!("appointment #{} no longer exists", entry.local_id))
            })
    }

    /// `updateEvent` replaces the whole event: every field is sent, every time.
    fn event_input(&self, a: &local::LocalAppointment) -> Result<Value, Failure> {
        let Some(client) = &a.client_external_id else {
            return Err(Failure::Local(format!(
                "appointment #{}: its client is not in Gazelle",
                a.id
            )));
        };
        let mut input = json!({
            "title": a.description.clone().unwrap_or_default(),
            "start": a.start_at,
            "duration": a.duration.unwrap_or(60),
            "type": a.event_type,
            "userId": a.technician_id,
            "clientId": client,
            "notes": a.notes,
            "isAllDay": a.is_all_day,
            "timezone": self.config.business.timezone.as_str(),
        });
        // Every piano, in order: `updateEvent` replaces the list, so sending one would drop
        // the others upstream.
        if !a.pianos.is_empty() {
            input["pianos"] = a
                .pianos
                .iter()
                .map(|p| json!({"pianoId": p.external_id}))
                .collect();
        }
        Ok(input)
    }

    /// An event upstream that is this creation (after an interrupted send).
    ///
    /// Whether `startOn`/`endOn` compare Montréal days or UTC days is undocumented (API.md,
    /// "Identifiers, dates, money"): the search asks for the local day and the next one,
    /// which holds the event under both readings (a Montréal day d is UTC day d or d + 1),
    /// then matches the exact start, client, technician and title.
    async fn find_created(
        &self,
        a: &local::LocalAppointment,
    ) -> Result<Option<model::Event>, Failure> {
        let start: Timestamp = a.start_at.parse().map_err(|e| {
            Failure::Local(format!(
                "appointment #{}: bad start {}: {e}",
                a.id, a.start_at
            ))
        })?;
        let local_day = start
            .to_zoned(self.config.business.timezone.time_zone())
            .date();
        let utc_day = start.to_zoned(jiff::tz::TimeZone::UTC).date();
        let (from, to) = (local_day.min(utc_day), local_day.max(utc_day));
        let filters = json!({
            "startOn": from.to_string(),
            "endOn": to.to_string(),
            "userId": [a.technician_id],
        });
        let mut variables = serde_json::Map::new();
        variables.insert("filters".into(), filters);
        let pages = self.client.pages::<model::Event>(
            documents::EVENTS,
            "allEventsBatched",
            variables,
            None,
        );
        futures_util::pin_mut!(pages);
        while let Some(page) = futures_util::StreamExt::next(&mut pages).await {
            let found = page?.nodes.into_iter().find(|e| {
                e.start == Some(start)
                    && e.title.as_deref().unwrap_or_default()
                        == a.description.as_deref().unwrap_or_default()
                    && e.client.as_ref().map(|c| &c.id) == a.client_external_id.as_ref()
                    && e.user.as_ref().map(|u| u.id.as_str()) == Some(a.technician_id.as_str())
            });
            if found.is_some() {
                return Ok(found);
            }
        }
        Ok(None)
    }

    async fn create_event(&self, entry: &Entry, report: &mut PushReport) -> Result<(), Failure> {
        let a = self.appointment(entry).await?;
        if let Some(existing) = &a.external_id {
            // Already recorded (an earlier cycle wrote it back, then died before ending).
            return self
                .done(entry, existing, async |_: &mut Connection| Ok(()))
                .await;
        }
        let input = self.event_input(&a)?;
        let (event, adopted): (model::Event, bool) = match entry.sent_at {
            Some(_) => match self.find_created(&a).await? {
                Some(found) => (found, true),
                None => (
                    self.client
                        .mutate(
                            documents::CREATE_EVENT,
                            "createEvent",
                            "event",
                            json!({"input": input}),
                        )
                        .await?,
                    false,
                ),
            },
            None => (
                self.client
                    .mutate(
                        documents::CREATE_EVENT,
                        "createEvent",
                        "event",
                        json!({"input": input}),
                    )
                    .await?,
                false,
            ),
        };
        let (local_id, id, updated) = (a.id, event.id.clone(), utc(event.updated_at));
        self.done(entry, &event.id, async move |tx: &mut Connection| {
            local::appointment_pushed(tx, local_id, &id, updated.as_deref()).await
        })
        .await?;
        if adopted {
            report.adopted += 1;
            tracing::info!(entry = entry.id, event = %event.id, "an interrupted creation had reached Gazelle: adopted, not resent");
        } else {
            report.pushed += 1;
        }
        Ok(())
    }

    async fn update_event(&self, entry: &Entry, report: &mut PushReport) -> Result<(), Failure> {
        let a = self.appointment(entry).await?;
        let Some(id) = a.external_id.clone() else {
            return Err(Failure::Local(format!(
                "appointment #{} was never created in Gazelle",
                a.id
            )));
        };
        if self
            .checked(
                entry,
                report,
                documents::EVENT,
                json!({"eventId": id}),
                "event",
                &id,
            )
            .await?
            .is_none()
        {
            return Ok(());
        }
        let input = self.event_input(&a)?;
        let event: model::Event = self
            .client
            .mutate(
                documents::UPDATE_EVENT,
                "updateEvent",
                "event",
                json!({"id": id, "input": input}),
            )
            .await?;
        self.done_touching(entry, &id, "Appointments", event.updated_at)
            .await?;
        report.pushed += 1;
        Ok(())
    }

    async fn event_action(&self, entry: &Entry, report: &mut PushReport) -> Result<(), Failure> {
        let a = self.appointment(entry).await?;
        let Some(id) = a.external_id.clone() else {
            return Err(Failure::Local(format!(
                "appointment #{} was never created in Gazelle",
                a.id
            )));
        };
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Touched {
            updated_at: Option<Timestamp>,
        }
        let touched: Touched = match entry.action.as_deref() {
            Some("cancel") => {
                self.client
                    .mutate(
                        documents::CANCEL_EVENT,
                        "cancelEvent",
                        "event",
                        json!({"eventId": id}),
                    )
                    .await?
            }
            Some("confirm") => {
                self.client
                    .mutate(
                        documents::CONFIRM_EVENT,
                        "confirmEvent",
                        "event",
                        json!({"id": id}),
                    )
                    .await?
            }
            other => {
                return Err(Failure::Local(format!(
                    "unknown appointment action {other:?}"
                )));
            }
        };
        self.done_touching(entry, &id, "Appointments", touched.updated_at)
            .await?;
        report.pushed += 1;
        Ok(())
    }

    // --- timeline comments -------------------------------------------------------------

    /// `createClientLog` (a resolved alert's note on the client's timeline). It takes no id:
    /// a comment that was ever sent is looked for on the timeline before it is sent again.
    async fn client_log(&self, entry: &Entry, report: &mut PushReport) -> Result<(), Failure> {
        let payload: Value = serde_json::from_str(&entry.payload)
            .map_err(|e| Failure::Local(format!("unreadable comment: {e}")))?;
        let (Some(client), Some(comment)) =
            (payload["clientId"].as_str(), payload["comment"].as_str())
        else {
            return Err(Failure::Local(
                "a timeline comment needs a client and a text".into(),
            ));
        };
        if entry.sent_at.is_some() {
            let since = payload["createdAt"].as_str().unwrap_or_default();
            let data: Value = self
                .client
                .execute(
                    documents::TIMELINE,
                    json!({"first": 100, "clientId": client, "occurredAtGet": since}),
                )
                .await?;
            if let Some(found) = data["allTimelineEntries"]["nodes"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|n| n["comment"].as_str() == Some(comment))
            {
                let id = found["id"].as_str().unwrap_or_default().to_owned();
                self.done(entry, &id, async |_: &mut Connection| Ok(()))
                    .await?;
                report.adopted += 1;
                return Ok(());
            }
        }
        #[derive(Deserialize)]
        struct Logged {
            id: String,
        }
        let logged: Logged = self
            .client
            .mutate(
                documents::CREATE_CLIENT_LOG,
                "createClientLog",
                "clientLog",
                json!({"clientId": client, "pianoId": payload["pianoId"], "input": {"comment": comment, "createdAt": payload["createdAt"]}}),
            )
            .await?;
        self.done(entry, &logged.id, async |_: &mut Connection| Ok(()))
            .await?;
        report.pushed += 1;
        Ok(())
    }

    // --- clients and pianos ------------------------------------------------------------

    async fn external_id(&self, entry: &Entry) -> Result<String, Failure> {
        let table = if entry.entity == "Clients" {
            "Clients"
        } else {
            "Pianos"
        };
        let mut conn = self.store.read_connection().await?;
        match local::find_row(&mut conn, table, &entry.local_id.to_string()).await? {
            Some((_, Some(external), _)) => Ok(external),
            _ => Err(Failure::Local(format!(
                "{} #{} is not in Gazelle",
                entry.entity, entry.local_id
            ))),
        }
    }

    /// `createClient` with the id chosen at creation: sending it again returns the same
    /// client, so an interrupted creation is simply resent.
    async fn create_client(&self, entry: &Entry, report: &mut PushReport) -> Result<(), Failure> {
        let payload: Value = serde_json::from_str(&entry.payload)
            .map_err(|e| Failure::Local(format!("unreadable client: {e}")))?;
        let Some(id) = payload["id"].as_str() else {
            return Err(Failure::Local("a client creation without its id".into()));
        };
        let c: local::NewClient = serde_json::from_value(payload["client"].clone())
            .map_err(|e| Failure::Local(format!("unreadable client: {e}")))?;
        let mut input = json!({"companyName": c.company_name, "status": c.status});
        if c.first_name.is_some() || c.last_name.is_some() || c.email.is_some() || c.phone.is_some()
        {
            let mut contact =
                json!({"firstName": c.first_name, "lastName": c.last_name, "isDefault": true});
            if let Some(email) = &c.email {
                contact["emails"] = json!([{"email": email, "isDefault": true}]);
            }
            if let Some(phone) = &c.phone {
                contact["phones"] = json!([{"phoneNumber": phone, "isDefault": true}]);
            }
            input["contacts"] = json!([contact]);
        }
        let client: model::Client = self
            .client
            .mutate(
                documents::CREATE_CLIENT,
                "createClient",
                "client",
                json!({"id": id, "input": input}),
            )
            .await?;
        let (local_id, upstream, updated) =
            (entry.local_id, client.id.clone(), utc(client.updated_at));
        let contact = client.default_contact.as_ref().map(|k| k.id.clone());
        self.done(entry, &client.id, async move |tx: &mut Connection| {
            local::client_pushed(
                tx,
                local_id,
                &upstream,
                contact.as_deref(),
                updated.as_deref(),
            )
            .await
        })
        .await?;
        report.pushed += 1;
        Ok(())
    }

    async fn update_client(&self, entry: &Entry, report: &mut PushReport) -> Result<(), Failure> {
        let change: local::ClientChange = serde_json::from_str(&entry.payload)
            .map_err(|e| Failure::Local(format!("unreadable edit: {e}")))?;
        let mut input = serde_json::Map::new();
        if let Some(c) = change.company_name {
            input.insert("companyName".into(), json!(c));
        }
        if let Some(s) = change.status {
            input.insert("status".into(), json!(s));
        }
        if let Some(t) = change.tags {
            let tags: Vec<&str> = t
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect();
            input.insert("tags".into(), json!(tags));
        }
        let record = Record {
            table: "Clients",
            read: documents::CLIENT,
            root: "client",
            write: documents::UPDATE_CLIENT,
            mutation: "updateClient",
        };
        self.update_record(entry, report, record, input).await
    }

    async fn update_piano(&self, entry: &Entry, report: &mut PushReport) -> Result<(), Failure> {
        let change: local::PianoChange = serde_json::from_str(&entry.payload)
            .map_err(|e| Failure::Local(format!("unreadable edit: {e}")))?;
        let mut input = serde_json::Map::new();
        for (key, value) in [
            ("location", change.location),
            ("notes", change.notes),
            ("status", change.status),
        ] {
            if let Some(v) = value {
                input.insert(key.into(), json!(v));
            }
        }
        let record = Record {
            table: "Pianos",
            read: documents::PIANO,
            root: "piano",
            write: documents::UPDATE_PIANO,
            mutation: "updatePiano",
        };
        self.update_record(entry, report, record, input).await
    }

    /// A client's contact details: names with `updateContact`, the e-mail address and phone
    /// number each updated in place (`updateContactEmail` by the address's id) or, for a
    /// contact that had none, created — after the conflict check on the contact.
    async fn update_contact(&self, entry: &Entry, report: &mut PushReport) -> Result<(), Failure> {
        let change: local::ContactChange = serde_json::from_str(&entry.payload)
            .map_err(|e| Failure::Local(format!("unreadable edit: {e}")))?;
        let id = {
            let mut conn = self.store.read_connection().await?;
            match local::find_row(&mut conn, "Contacts", &entry.local_id.to_string()).await? {
                Some((_, Some(external), _)) => external,
                _ => {
                    return Err(Failure::Local(format!(
                        "contact #{} is not in Gazelle",
                        entry.local_id
                    )));
                }
            }
        };
        let Some(remote) = self
            .checked(
                entry,
                report,
                documents::CONTACT,
                json!({"id": id}),
                "contact",
                &id,
            )
            .await?
        else {
            return Ok(());
        };
        let updated: Option<Timestamp> = remote["updatedAt"].as_str().and_then(|t| t.parse().ok());
        let mut names = serde_json::Map::new();
        if let Some(first) = &change.first_name {
            names.insert("firstName".into(), json!(first));
        }
        if let Some(last) = &change.last_name {
            names.insert("lastName".into(), json!(last));
        }
        let mut updated_at = updated;
        if !names.is_empty() {
            let written: IdAndTime = self
                .client
                .mutate(
                    documents::UPDATE_CONTACT,
                    "updateContact",
                    "contact",
                    json!({"id": id, "input": names}),
                )
                .await?;
            updated_at = written.updated_at.or(updated_at);
        }
        // A detail already as wanted is not written again (a resent entry changes nothing).
        if let Some(email) = change
            .email
            .filter(|e| remote["defaultEmail"]["email"].as_str() != Some(e.as_str()))
        {
            let _: Value = match remote["defaultEmail"]["id"].as_str() {
                Some(email_id) => {
                    self.client
                        .mutate(
                            documents::UPDATE_CONTACT_EMAIL,
                            "updateContactEmail",
                            "email",
                            json!({"id": email_id, "input": {"email": email}}),
                        )
                        .await?
                }
                None => {
                    self.client
                        .mutate(
                            documents::CREATE_CONTACT_EMAIL,
                            "createContactEmail",
                            "email",
                            json!({"contactId": id, "input": {"email": email, "isDefault": true}}),
                        )
                        .await?
                }
            };
        }
        if let Some(phone) = change
            .phone
            .filter(|p| remote["defaultPhone"]["phoneNumber"].as_str() != Some(p.as_str()))
        {
            let _: Value = match remote["defaultPhone"]["id"].as_str() {
                Some(phone_id) => self.client.mutate(documents::UPDATE_CONTACT_PHONE, "updateContactPhone", "phone", json!({"id": phone_id, "input": {"phoneNumber": phone}})).await?,
                None => self.client.mutate(documents::CREATE_CONTACT_PHONE, "createContactPhone", "phone", json!({"contactId": id, "input": {"phoneNumber": phone, "isDefault": true}})).await?,
            };
        }
        // The contact's version after the writes: the next pull compares against it.
        let after: Value = self
            .client
            .execute(documents::CONTACT, json!({"id": id}))
            .await?;
        let after = after["contact"]["updatedAt"]
            .as_str()
            .and_then(|t| t.parse().ok())
            .or(updated_at);
        self.done_touching(entry, &id, "Contacts", after).await?;
        report.pushed += 1;
        Ok(())
    }

    /// `updateClient` / `updatePiano` with the fields the edit changed, after the conflict
    /// check; the row's new `updatedAt` written back.
    async fn update_record(
        &self,
        entry: &Entry,
        report: &mut PushReport,
        record: Record,
        input: serde_json::Map<String, Value>,
    ) -> Result<(), Failure> {
        let id = self.external_id(entry).await?;
        if self
            .checked(
                entry,
                report,
                record.read,
                json!({"id": id}),
                record.root,
                &id,
            )
            .await?
            .is_none()
        {
            return Ok(());
        }
        let written: IdAndTime = self
            .client
            .mutate(
                record.write,
                record.mutation,
                record.root,
                json!({"id": id, "input": input}),
            )
            .await?;
        self.done_touching(entry, &id, record.table, written.updated_at)
            .await?;
        report.pushed += 1;
        Ok(())
    }

    /// Ends an entry that changed an existing record, writing back its new `updatedAt`.
    async fn done_touching(
        &self,
        entry: &Entry,
        upstream_id: &str,
        table: &'static str,
        updated_at: Option<Timestamp>,
    ) -> Result<(), Failure> {
        let (local_id, updated) = (entry.local_id, utc(updated_at));
        self.done(
            entry,
            upstream_id,
            async move |tx: &mut Connection| match updated {
                Some(u) => local::set_updated_at(tx, table, local_id, &u).await,
                None => Ok(()),
            },
        )
        .await
    }
}

/// How a record kind is read and updated in Gazelle.
struct Record {
    table: &'static str,
    read: documents::Operation,
    root: &'static str,
    write: documents::Operation,
    mutation: &'static str,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct IdAndTime {
    updated_at: Option<Timestamp>,
}
