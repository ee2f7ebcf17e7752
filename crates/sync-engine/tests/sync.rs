//! The pull sync against the simulator over real HTTP, into a real SQLite file.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use api_client::{ClientOptions, Credentials, FileTokenStore, GazelleClient, TokenStore};
use gazelle_sim::model::datetime;
use gazelle_sim::{Simulator, Size};
use store::Store;
use sync_engine::{Mode, RunReport, Stream, SyncEngine, SyncSettings, Trigger};

struct Setup {
    sim: Simulator,
    engine: SyncEngine,
    _dir: tempfile::TempDir,
}

async fn setup(size: Size, page_size: u32) -> Setup {
    let sim = gazelle_sim::start(size, 3).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("v5.sqlite3")).await.unwrap();
    let key = gazelle_sim::server::lock(&sim.state.auth)
        .credentials
        .api_key
        .clone();
    let options = ClientOptions {
        base_url: sim.base_url().parse().unwrap(),
        page_size,
        requests_per_second: 10_000,
        min_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(50),
        ..ClientOptions::default()
    };
    let tokens: Arc<dyn TokenStore> = Arc::new(FileTokenStore::new("/nonexistent"));
    let client = Arc::new(GazelleClient::new(options, Credentials::ApiKey(key), tokens).unwrap());
    let engine = SyncEngine::new(store, client, SyncSettings::default());
    Setup {
        sim,
        engine,
        _dir: dir,
    }
}

async fn run(engine: &SyncEngine, mode: Mode) -> RunReport {
    let report = engine
        .run(Trigger::Manual, mode, &Stream::ALL, &|_| {})
        .await
        .unwrap();
    assert_eq!(
        report.status,
        store::sync_log::RunStatus::Succeeded,
        "{report:#?}"
    );
    report
}

fn counts_of(report: &RunReport, stream: Stream) -> store::sync_log::StreamCounts {
    report
        .streams
        .iter()
        .find(|s| s.stream == stream)
        .unwrap()
        .counts
}

type Row = Vec<Option<String>>;

/// Every row of a table as text columns, by ExternalId.
async fn rows(store: &Store, sql: &str) -> HashMap<String, Row> {
    use sqlx::Row as _;
    let all = sqlx::query(sql).fetch_all(store.reader()).await.unwrap();
    all.into_iter()
        .map(|row| {
            let id: String = row.get(0);
            let cols = (1..row.len())
                .map(|i| row.get::<Option<String>, _>(i))
                .collect();
            (id, cols)
        })
        .collect()
}

fn s(v: impl ToString) -> Option<String> {
    Some(v.to_string())
}

#[tokio::test]
async fn a_full_sync_of_the_small_data_set_mirrors_every_record_and_field() {
    let setup = setup(Size::Small, 500).await;
    // A conservatory day: more pianos than one nested page carries (read completely).
    let many: Vec<String> = {
        let mut w = gazelle_sim::server::lock(&setup.sim.state.world);
        let many: Vec<String> = w.pianos.values().take(23).map(|p| p.id.clone()).collect();
        let event = w
            .events
            .values()
            .find(|e| e.client_id.is_some())
            .map(|e| e.id.clone())
            .unwrap();
        let ids = many.clone();
        w.events.edit(&event, |e| e.piano_ids = ids);
        many
    };
    assert!(many.len() > api_client::documents::PIANOS_PER_EVENT as usize * 2);
    let report = run(&setup.engine, Mode::Full).await;
    let store = setup.engine.store();
    let world = gazelle_sim::server::lock(&setup.sim.state.world).clone();
    let tz = gazelle_sim::world::montreal();
    assert_eq!(report.totals().rows.rejected, 0, "{:?}", report.errors);

    // Clients (and their default contacts).
    let got = rows(
        store,
        "SELECT ExternalId, CompanyName, FirstName, LastName, Status, Tags, ClientType, Email, Phone, Address,
                CreatedAt, UpdatedAt, CAST(DefaultContactId IS NOT NULL AS TEXT), DeletedAt FROM Clients",
    )
    .await;
    assert_eq!(got.len(), world.clients.len());
    for c in world.clients.values() {
        let contact = c
            .default_contact_id
            .as_deref()
            .and_then(|id| world.contacts.get(id));
        let person = contact.map(|k| {
            format!(
                "{} {}",
                k.first_name.clone().unwrap(),
                k.last_name.clone().unwrap()
            )
        });
        let address = contact.and_then(|k| k.address.as_ref()).map(|a| {
            format!(
                "{}, {} {} {}",
                a.street1, a.municipality, a.region, a.postal_code
            )
        });
        let expected: Row = vec![
            c.company_name
                .clone()
                .or(person)
                .or(s(sync_engine::map::NO_NAME)),
            contact.and_then(|k| k.first_name.clone()),
            contact.and_then(|k| k.last_name.clone()),
            s(&c.status),
            (!c.tags.is_empty()).then(|| c.tags.join(", ")),
            c.client_type.clone(),
            contact.and_then(|k| k.email.clone()),
            contact.and_then(|k| k.phone.clone()),
            address,
            s(datetime(c.created_at)),
            s(datetime(c.updated_at)),
            s(if contact.is_some() { 1 } else { 0 }),
            None,
        ];
        assert_eq!(got[&c.id], expected, "client {}", c.id);
    }
    let got = rows(store, "SELECT c.ExternalId, k.ExternalId, c.FirstName, c.LastName, c.Email FROM Contacts c JOIN Clients k ON k.Id = c.ClientId").await;
    assert_eq!(got.len(), world.contacts.len());
    for k in world.contacts.values() {
        assert_eq!(
            got[&k.id],
            vec![
                s(&k.client_id),
                k.first_name.clone(),
                k.last_name.clone(),
                k.email.clone()
            ],
            "contact {}",
            k.id
        );
    }

    // Pianos.
    let got = rows(
        store,
        "SELECT p.ExternalId, c.ExternalId, p.Make, p.Model, p.SerialNumber, p.Type, CAST(p.Year AS TEXT), p.Location,
                p.Notes, p.Status, CAST(p.HasHumidityControl AS TEXT), p.CreatedAt, p.UpdatedAt
         FROM Pianos p JOIN Clients c ON c.Id = p.ClientId",
    )
    .await;
    assert_eq!(got.len(), world.pianos.len());
    for p in world.pianos.values() {
        let expected: Row = vec![
            s(&p.client_id),
            p.make.clone().or(s(sync_engine::map::UNKNOWN_MAKE)),
            p.model.clone(),
            p.serial_number.clone(),
            s(&p.piano_type),
            p.year.map(|y| y.to_string()),
            p.location.clone(),
            p.notes.clone(),
            s(&p.status),
            s(u8::from(p.dampp_chaser_installed)),
            s(datetime(p.created_at)),
            s(datetime(p.updated_at)),
        ];
        assert_eq!(got[&p.id], expected, "piano {}", p.id);
    }

    // Events: appointments (with a client) and other events, times in UTC.
    let appointments = rows(
        store,
        "SELECT a.ExternalId, c.ExternalId, a.TechnicianId, p.ExternalId,
                (SELECT group_concat(PianoExternalId, ' ') FROM (SELECT PianoExternalId FROM AppointmentPianos
                  WHERE AppointmentId = a.Id ORDER BY Position)),
                a.Description, a.AppointmentStatus, a.EventType,
                a.StartAt, CAST(a.Duration AS TEXT), CAST(a.IsAllDay AS TEXT), a.Notes, CAST(a.ConfirmedByClient AS TEXT),
                a.CreatedAt, a.UpdatedAt
         FROM Appointments a JOIN Clients c ON c.Id = a.ClientId LEFT JOIN Pianos p ON p.Id = a.PianoId",
    )
    .await;
    let others = rows(store, "SELECT ExternalId, TechnicianId, EventType, Title, StartAt, CAST(Duration AS TEXT), Status FROM OtherEvents").await;
    let links: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM AppointmentPianos")
        .fetch_one(store.reader())
        .await
        .unwrap();
    let upstream_links: usize = world
        .events
        .values()
        .filter(|e| e.client_id.is_some())
        .map(|e| e.piano_ids.len())
        .sum();
    assert_eq!(links as usize, upstream_links, "every event–piano link");
    eprintln!("event–piano links: {links} mirrored, {upstream_links} upstream");
    assert_eq!(appointments.len() + others.len(), world.events.len());
    for e in world.events.values() {
        match &e.client_id {
            Some(client) => assert_eq!(
                appointments[&e.id],
                vec![
                    s(client),
                    e.user_id.clone(),
                    e.piano_ids.first().cloned(),
                    // Every piano, in order.
                    (!e.piano_ids.is_empty()).then(|| e.piano_ids.join(" ")),
                    s(&e.title),
                    s(&e.status),
                    s(&e.event_type),
                    s(datetime(e.start)),
                    s(e.duration),
                    s(u8::from(e.is_all_day)),
                    e.notes.clone(),
                    s(u8::from(e.confirmed_by_client)),
                    s(datetime(e.created_at)),
                    s(datetime(e.updated_at)),
                ],
                "appointment {}",
                e.id
            ),
            None => assert_eq!(
                others[&e.id],
                vec![
                    e.user_id.clone(),
                    s(&e.event_type),
                    s(&e.title),
                    s(datetime(e.start)),
                    s(e.duration),
                    s(&e.status)
                ],
                "event {}",
                e.id
            ),
        }
    }
    // An evening appointment keeps its instant: 20:30 in Montréal is 01:30Z the next day.
    let evening = world
        .events
        .values()
        .find(|e| e.client_id.is_some() && e.start.to_zoned(tz.clone()).hour() >= 19)
        .expect("an evening appointment");
    assert_eq!(appointments[&evening.id][7], s(datetime(evening.start)));

    // Timeline entries: all 150,000.
    let got = rows(
        store,
        "SELECT t.ExternalId, c.ExternalId, p.ExternalId, t.OccurredAt, t.EntryType, t.Title, t.Details, t.UserId, t.EstimateId
         FROM TimelineEntries t JOIN Clients c ON c.Id = t.ClientId LEFT JOIN Pianos p ON p.Id = t.PianoId",
    )
    .await;
    assert_eq!(got.len(), world.timeline.len());
    assert_eq!(got.len(), 150_000);
    for t in world.timeline.values() {
        let expected: Row = vec![
            s(&t.client_id),
            t.piano_id.clone(),
            s(datetime(t.occurred_at)),
            s(&t.entry_type),
            t.summary.clone(),
            t.comment.clone(),
            t.user_id.clone(),
            t.estimate_id.clone(),
        ];
        assert_eq!(got[&t.id], expected, "timeline entry {}", t.id);
    }

    // Invoices and their items: money in exact cents, quantities in hundredths, the invoice
    // date the Montréal day of creation.
    let got = rows(
        store,
        "SELECT i.ExternalId, c.ExternalId, i.Number, i.InvoiceDate, i.Status, CAST(i.SubTotalCents AS TEXT),
                CAST(i.TaxTotalCents AS TEXT), CAST(i.TotalCents AS TEXT), i.DueOn, i.AssignedToId, i.CreatedAt
         FROM Invoices i JOIN Clients c ON c.Id = i.ClientId",
    )
    .await;
    assert_eq!(got.len(), world.invoices.len());
    let items = rows(
        store,
        "SELECT ii.ExternalId, i.ExternalId, ii.Description, CAST(ii.QuantityHundredths AS TEXT), CAST(ii.UnitPriceCents AS TEXT),
                CAST(ii.AmountCents AS TEXT), CAST(ii.TaxTotalCents AS TEXT), CAST(ii.TotalCents AS TEXT), ii.Type,
                CAST(ii.Taxable AS TEXT), CAST(ii.SequenceNumber AS TEXT), p.ExternalId
         FROM InvoiceItems ii JOIN Invoices i ON i.Id = ii.InvoiceId LEFT JOIN Pianos p ON p.Id = ii.PianoId",
    )
    .await;
    let mut item_count = 0;
    for inv in world.invoices.values() {
        let expected: Row = vec![
            s(&inv.client_id),
            s(inv.number),
            s(inv.created_at.to_zoned(tz.clone()).date()),
            s(&inv.status),
            s(inv.sub_total()),
            s(inv.tax_total()),
            s(inv.total()),
            inv.due_on.clone(),
            inv.assigned_to.clone(),
            s(datetime(inv.created_at)),
        ];
        assert_eq!(got[&inv.id], expected, "invoice {}", inv.id);
        for it in &inv.items {
            item_count += 1;
            let expected: Row = vec![
                s(&inv.id),
                s(&it.description),
                s(it.quantity),
                s(it.amount),
                s(it.sub_total),
                s(it.tax_total),
                s(it.total),
                s(&it.item_type),
                s(u8::from(it.taxable)),
                s(it.sequence_number),
                it.piano_id.clone(),
            ];
            assert_eq!(items[&it.id], expected, "invoice item {}", it.id);
        }
    }
    assert_eq!(items.len(), item_count);
    // Totals summed in SQL over the whole data set are exact.
    let sum: i64 = sqlx::query_scalar("SELECT SUM(TotalCents) FROM Invoices")
        .fetch_one(store.reader())
        .await
        .unwrap();
    assert_eq!(sum, world.invoices.values().map(|i| i.total()).sum::<i64>());

    // Users and catalogue.
    let users = rows(store, "SELECT ExternalId, FirstName, LastName, Email, AccessLevel, CAST(IsSchedulable AS TEXT) FROM Users").await;
    assert_eq!(users.len(), world.users.len());
    for u in world.users.values() {
        assert_eq!(
            users[&u.id],
            vec![
                s(&u.first_name),
                s(&u.last_name),
                s(&u.email),
                s(&u.access_level),
                s(u8::from(u.is_schedulable))
            ]
        );
    }
    let products = rows(store, "SELECT ExternalId, Name, CAST(RetailPriceCents AS TEXT), CAST(Active AS TEXT), GroupName FROM Products").await;
    assert_eq!(products.len(), world.catalogue.len());
    for i in world.catalogue.values() {
        let group = world.groups.get(&i.group_id).unwrap();
        assert_eq!(
            products[&i.id],
            vec![
                s(&i.name_fr),
                s(i.amount),
                s(u8::from(!i.is_archived)),
                s(&group.name_fr)
            ]
        );
    }
    assert_eq!(store.check_integrity().await.unwrap(), Vec::<String>::new());

    // The run log.
    let runs = store::sync_log::recent_runs(store.reader(), 5)
        .await
        .unwrap();
    assert_eq!(
        (
            runs[0].status.as_str(),
            runs[0].mode.as_str(),
            runs[0].trigger.as_str()
        ),
        ("succeeded", "full", "manual")
    );
    let per_stream = store::sync_log::run_streams(store.reader(), report.run_id)
        .await
        .unwrap();
    let timeline = per_stream
        .iter()
        .find(|s| s.stream == "timeline")
        .unwrap()
        .counts;
    assert_eq!(
        (timeline.fetched, timeline.rows.inserted),
        (150_000, 150_000)
    );

    // The same sync again changes nothing: every row is "unchanged".
    let again = run(&setup.engine, Mode::Full).await;
    let totals = again.totals();
    assert_eq!(
        (totals.rows.inserted, totals.rows.updated, totals.deleted),
        (0, 0, 0),
        "{totals:?}"
    );
    assert_eq!(totals.rows.unchanged, report.totals().rows.inserted);
    setup.sim.stop().await;
}

#[tokio::test]
async fn incremental_runs_pick_up_new_and_recent_records_only() {
    let setup = setup(Size::Tiny, 20).await;
    run(&setup.engine, Mode::Full).await;

    // Nothing changed upstream: an incremental run stores nothing, and stops early on
    // clients and pianos (one page each).
    let before = setup.sim.state.graphql_requests();
    let quiet = run(&setup.engine, Mode::Incremental).await;
    assert_eq!(
        quiet.totals().rows.inserted + quiet.totals().rows.updated,
        0,
        "{:?}",
        quiet.totals()
    );
    assert_eq!(
        counts_of(&quiet, Stream::Clients).fetched,
        20,
        "one page of clients"
    );
    assert_eq!(
        counts_of(&quiet, Stream::Pianos).fetched,
        20,
        "one page of pianos"
    );
    let requests = setup.sim.state.graphql_requests() - before;
    assert_eq!(
        requests as usize,
        Stream::ALL.len(),
        "one request per stream when nothing changed (the windows are probed)"
    );

    // Upstream: a new client, a late service note, an edited appointment.
    let (client_id, edited_event) = {
        let mut w = gazelle_sim::server::lock(&setup.sim.state.world);
        let now = w.now();
        let mut fresh = w.clients.values().next().unwrap().clone();
        fresh.id = "cli_NEWCLIENT0000001".into();
        fresh.company_name = Some("Nouvelle École de Musique".into());
        fresh.default_contact_id = None;
        fresh.created_at = now;
        fresh.updated_at = now;
        w.clients.put(fresh);
        let mut note = w.timeline.values().next().unwrap().clone();
        note.id = "tme_aaaaaaaaaaaaaaaaaaaa".into();
        note.client_id = "cli_NEWCLIENT0000001".into();
        note.piano_id = None;
        note.occurred_at = now
            .checked_sub(jiff::SignedDuration::from_hours(24 * 10))
            .unwrap();
        note.comment = Some("PLS débranché".into());
        w.timeline.put(note);
        // And an appointment inside the event window, confirmed upstream.
        let soon = now
            .checked_add(jiff::SignedDuration::from_hours(24 * 3))
            .unwrap();
        let event_id = w
            .events
            .values()
            .filter(|e| e.client_id.is_some() && e.start > soon)
            .min_by_key(|e| e.start)
            .map(|e| e.id.clone())
            .unwrap();
        w.events.edit(&event_id, |e| {
            e.title = "Accord confirmé par téléphone".into();
            e.updated_at = now;
        });
        w.touch();
        ("cli_NEWCLIENT0000001", event_id)
    };
    let report = run(&setup.engine, Mode::Incremental).await;
    assert_eq!(counts_of(&report, Stream::Clients).rows.inserted, 1);
    assert_eq!(
        counts_of(&report, Stream::Timeline).rows.inserted,
        1,
        "a note entered late, inside the look-back"
    );
    let stored = store::reads::client_by_external_id(setup.engine.store().reader(), client_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.company_name, "Nouvelle École de Musique");
    assert_eq!(
        counts_of(&report, Stream::Events).rows.updated,
        1,
        "the edited appointment"
    );
    let title: String =
        sqlx::query_scalar("SELECT Description FROM Appointments WHERE ExternalId = ?1")
            .bind(&edited_event)
            .fetch_one(setup.engine.store().reader())
            .await
            .unwrap();
    assert_eq!(title, "Accord confirmé par téléphone");
    // Only the pieces that changed were read again: the probe, then one page each.
    let events = counts_of(&report, Stream::Events);
    assert!(events.fetched <= 20, "{events:?}");
    setup.sim.stop().await;
}

#[tokio::test]
async fn a_reconcile_catches_old_edits_and_deletions_and_holds_mass_deletions() {
    let setup = setup(Size::Tiny, 25).await;
    run(&setup.engine, Mode::Full).await;
    let (edited, deleted) = {
        let mut w = gazelle_sim::server::lock(&setup.sim.state.world);
        // The oldest pianos: an incremental pass (newest first, one page) never reaches them.
        let mut by_age: Vec<(jiff::Timestamp, String)> = w
            .pianos
            .values()
            .map(|p| (p.created_at, p.id.clone()))
            .collect();
        by_age.sort();
        let pianos: Vec<String> = by_age.into_iter().map(|(_, id)| id).collect();
        let now = w.now();
        w.pianos.edit(&pianos[0], |p| {
            p.location = Some("Salle Claude-Champagne".into());
            p.updated_at = now;
        });
        assert!(w.delete(&pianos[1]));
        (pianos[0].clone(), pianos[1].clone())
    };
    // Incremental cannot see an edit to an old piano, nor a deletion.
    let inc = run(&setup.engine, Mode::Incremental).await;
    assert_eq!(counts_of(&inc, Stream::Pianos).rows.updated, 0);
    let report = run(&setup.engine, Mode::Reconcile).await;
    assert_eq!(counts_of(&report, Stream::Pianos).rows.updated, 1);
    assert_eq!(counts_of(&report, Stream::Pianos).deleted, 1);
    let (location, deleted_at): (String, Option<String>) =
        sqlx::query_as("SELECT Location, (SELECT DeletedAt FROM Pianos WHERE ExternalId = ?2) FROM Pianos WHERE ExternalId = ?1")
            .bind(&edited)
            .bind(&deleted)
            .fetch_one(setup.engine.store().reader())
            .await
            .unwrap();
    assert_eq!(location, "Salle Claude-Champagne");
    assert!(deleted_at.is_some(), "tombstoned, not deleted");

    // Upstream loses 40 timeline entries at once: more than the threshold (10).
    {
        let mut w = gazelle_sim::server::lock(&setup.sim.state.world);
        let mut ids: Vec<String> = w.timeline.values().map(|t| t.id.clone()).collect();
        ids.sort();
        for id in ids.iter().take(40) {
            w.delete(id);
        }
    }
    let held = run(&setup.engine, Mode::Reconcile).await;
    let timeline = held
        .streams
        .iter()
        .find(|s| s.stream == Stream::Timeline)
        .unwrap();
    assert_eq!(
        (timeline.held_deletions, timeline.counts.deleted),
        (Some(40), 0),
        "held, not applied"
    );
    let confirmed = run(&setup.engine, Mode::Reconcile).await;
    assert_eq!(
        counts_of(&confirmed, Stream::Timeline).deleted,
        40,
        "confirmed by the next scan"
    );
    setup.sim.stop().await;
}

#[tokio::test]
async fn a_failed_stream_starts_over_and_ends_without_gaps_or_duplicates() {
    let setup = setup(Size::Tiny, 50).await;
    let world = gazelle_sim::server::lock(&setup.sim.state.world).clone();
    // Four timeline pages go through, then a long outage: every timeline request fails,
    // retries included (the pages are fetched ahead of storing, so the break is counted in
    // requests, not in stored pages).
    setup.sim.state.inject(gazelle_sim::Fault {
        kind: gazelle_sim::FaultKind::Status {
            status: 503,
            retry_after: None,
        },
        count: 1000,
        endpoint: gazelle_sim::Endpoint::Graphql,
        operation: Some(api_client::documents::TIMELINE.name.to_owned()),
        after: 4,
    });
    let broken = setup
        .engine
        .run(Trigger::Manual, Mode::Full, &Stream::ALL, &|_| {})
        .await
        .unwrap();
    assert_eq!(
        broken.status,
        store::sync_log::RunStatus::Partial,
        "{broken:#?}"
    );
    let timeline = broken
        .streams
        .iter()
        .find(|s| s.stream == Stream::Timeline)
        .unwrap();
    assert!(timeline.error.is_some());
    assert_eq!(timeline.counts.fetched, 200, "four pages were committed");
    let state = store::sync_log::stream_state(setup.engine.store().reader(), "timeline")
        .await
        .unwrap()
        .unwrap();
    assert!(state.cursor.is_some() && state.last_error.is_some());

    gazelle_sim::server::lock(&setup.sim.state.faults).clear();
    // The saved cursor is not trusted (offset cursors shift): the pass reads from the first
    // page again; what was stored is found unchanged, the rest inserted.
    let restarted = run(&setup.engine, Mode::Full).await;
    let timeline = counts_of(&restarted, Stream::Timeline);
    assert_eq!(
        timeline.fetched as usize,
        world.timeline.len(),
        "started over from the first page"
    );
    assert_eq!(timeline.rows.inserted as usize, world.timeline.len() - 200);
    assert_eq!(timeline.rows.unchanged, 200);
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM TimelineEntries")
        .fetch_one(setup.engine.store().reader())
        .await
        .unwrap();
    assert_eq!(stored as usize, world.timeline.len());
    setup.sim.stop().await;
}

#[tokio::test]
async fn a_pending_local_edit_survives_a_pull_as_a_conflict() {
    let setup = setup(Size::Tiny, 100).await;
    run(&setup.engine, Mode::Full).await;
    let store = setup.engine.store();
    let (piano_id, external): (i64, String) =
        sqlx::query_as("SELECT Id, ExternalId FROM Pianos ORDER BY Id LIMIT 1")
            .fetch_one(store.reader())
            .await
            .unwrap();
    let mut tx = store.begin_write().await.unwrap();
    sqlx::query("UPDATE Pianos SET Location = 'Studio local' WHERE Id = ?1")
        .bind(piano_id)
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO Outbox (Operation, Entity, LocalId, Payload, IdempotencyKey, CreatedAt, UpdatedAt)
         VALUES ('update', 'Pianos', ?1, '{\"location\":\"Studio local\"}', 'edit-1', '2026-11-24T00:00:00Z', '2026-11-24T00:00:00Z')",
    )
    .bind(piano_id)
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    {
        let mut w = gazelle_sim::server::lock(&setup.sim.state.world);
        let now = w.now();
        w.pianos.edit(&external, |p| {
            p.location = Some("Salle upstream".into());
            p.updated_at = now;
        });
    }
    let report = run(&setup.engine, Mode::Reconcile).await;
    assert_eq!(counts_of(&report, Stream::Pianos).rows.conflicts, 1);
    let location: String = sqlx::query_scalar("SELECT Location FROM Pianos WHERE Id = ?1")
        .bind(piano_id)
        .fetch_one(store.reader())
        .await
        .unwrap();
    assert_eq!(
        location, "Studio local",
        "the local edit is never overwritten by a pull"
    );
    let open: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM Conflicts WHERE ResolvedAt IS NULL")
        .fetch_one(store.reader())
        .await
        .unwrap();
    assert_eq!(open, 1);
    setup.sim.stop().await;
}

#[tokio::test]
async fn lost_authorization_stops_the_run_and_is_reported() {
    let setup = setup(Size::Tiny, 100).await;
    setup.sim.state.inject(gazelle_sim::Fault {
        kind: gazelle_sim::FaultKind::Status {
            status: 401,
            retry_after: None,
        },
        count: 100,
        endpoint: gazelle_sim::Endpoint::Graphql,
        operation: None,
        after: 0,
    });
    let report = setup
        .engine
        .run(Trigger::Schedule, Mode::Full, &Stream::ALL, &|_| {})
        .await
        .unwrap();
    assert_eq!(report.status, store::sync_log::RunStatus::Failed);
    assert_eq!(
        report.streams.len(),
        1,
        "stopped after the first stream: the others would fail the same way"
    );
    assert!(
        report.errors[0].contains("not authorized"),
        "{:?}",
        report.errors
    );
    setup.sim.stop().await;
}
