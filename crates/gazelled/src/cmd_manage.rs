//! The control socket's `manage` request: the local managers' verbs. Writes go through the
//! managers (each edit and its outbox entry in one transaction); after an edit the push is
//! nudged, unless the schedule is paused.
//!
//! | verb | arguments |
//! | --- | --- |
//! | `invoices.list` | `limit?` |
//! | `invoices.show` | `id` |
//! | `invoices.create` | `client`, `lines: [{description, quantity, unit_price, taxable, type}]`, `notes?`, `due_on?`, `assigned_to?` |
//! | `invoices.add-line` | `id`, `line` |
//! | `invoices.set-status` | `id`, `status` |
//! | `appointments.create` | `client`, `technician`, `start` (local), `duration`, `title`, `piano?`, `notes?` |
//! | `appointments.move` | `id`, `start` (local), `duration?` |
//! | `appointments.reassign` | `id`, `technician` |
//! | `appointments.cancel`, `appointments.confirm` | `id` |
//! | `calendar`, `calendar.ics` | `technician?`, `from?` (local date), `days` |
//! | `clients.create` | `company?`, `status?`, `first_name?`, `last_name?`, `email?`, `phone?` |
//! | `clients.edit` | `id`, `company?`, `status?`, `tags?`, `first_name?`, `last_name?`, `email?`, `phone?` |
//! | `pianos.edit` | `id`, `location?`, `notes?`, `status?` |
//! | `stock.list` | `technician?` |
//! | `stock.change` | `product`, `technician`, `change` (add, remove, correct), `quantity`, `reason?`, `author` |
//! | `stock.transfer` | `product`, `from`, `to`, `quantity`, `reason?`, `author` |
//! | `outbox.list` | `state?` |
//! | `outbox.retry`, `outbox.discard` | `id` |
//! | `conflicts.list` | `all?` |
//! | `conflicts.show` | `id` |
//! | `conflicts.resolve` | `id`, `keep` (local, remote) |

use std::sync::Arc;

use managers::ManagerError;
use managers::appointments::Appointments;
use managers::inventory::{Change, Inventory};
use managers::invoices::{Invoices, LineInput};
use managers::taxes::{parse_cents, parse_hundredths};
use protocol::{ErrorCode, Response};
use serde_json::{Value, json};

use crate::control::Context;

fn error(code: ErrorCode, message: impl Into<String>) -> Response {
    Response::Error {
        code,
        message: message.into(),
    }
}

fn from_manager(e: ManagerError) -> Response {
    match e {
        ManagerError::Invalid(m) => error(ErrorCode::Invalid, m),
        ManagerError::Store(store::StoreError::Invalid(m)) => error(ErrorCode::Invalid, m),
        ManagerError::Store(e) => error(ErrorCode::Internal, e.to_string()),
    }
}

fn from_store(e: store::StoreError) -> Response {
    from_manager(ManagerError::Store(e))
}

/// The arguments of a verb, each read with a message that names it.
struct Args<'a> {
    verb: &'a str,
    args: &'a Value,
}

impl Args<'_> {
    fn opt(&self, key: &str) -> Option<String> {
        match &self.args[key] {
            Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }
    fn text(&self, key: &str) -> Result<String, Response> {
        self.opt(key).ok_or_else(|| {
            error(
                ErrorCode::BadRequest,
                format!("{}: `{key}` is required", self.verb),
            )
        })
    }
    fn int(&self, key: &str) -> Result<Option<i64>, Response> {
        match &self.args[key] {
            Value::Null => Ok(None),
            Value::Number(n) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| self.bad(key, "a whole number")),
            Value::String(s) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| self.bad(key, "a whole number")),
            _ => Err(self.bad(key, "a whole number")),
        }
    }
    fn flag(&self, key: &str) -> bool {
        self.args[key].as_bool().unwrap_or(false)
    }
    fn bad(&self, key: &str, what: &str) -> Response {
        error(
            ErrorCode::BadRequest,
            format!(
                "{}: `{key}` must be {what} (got {})",
                self.verb, self.args[key]
            ),
        )
    }
}

fn line(verb: &str, value: &Value) -> Result<LineInput, Response> {
    let a = Args { verb, args: value };
    let quantity = parse_hundredths(&a.opt("quantity").unwrap_or_else(|| "1".into()))
        .map_err(|m| error(ErrorCode::BadRequest, format!("{verb}: quantity: {m}")))?;
    let unit_price = parse_cents(&a.text("unit_price")?)
        .map_err(|m| error(ErrorCode::BadRequest, format!("{verb}: unit_price: {m}")))?;
    Ok(LineInput {
        description: a.text("description")?,
        quantity_hundredths: quantity,
        unit_price_cents: unit_price,
        taxable: value["taxable"].as_bool().unwrap_or(true),
        item_type: a
            .opt("type")
            .unwrap_or_else(|| "LABOR_FIXED_RATE".into())
            .to_ascii_uppercase(),
    })
}

fn date(
    verb: &str,
    text: Option<String>,
    tz: &jiff::tz::TimeZone,
) -> Result<jiff::civil::Date, Response> {
    match text {
        None => Ok(jiff::Timestamp::now().to_zoned(tz.clone()).date()),
        Some(t) => t.trim().parse().map_err(|e| {
            error(
                ErrorCode::BadRequest,
                format!("{verb}: `{t}` is not a date like 2026-03-09 ({e})"),
            )
        }),
    }
}

pub async fn serve(context: &Context, verb: &str, args: &Value) -> Response {
    let result = handle(context, verb, args).await;
    let wrote = result.as_ref().is_ok_and(|(_, wrote)| *wrote);
    if wrote && !context.runner.is_paused() {
        // Edits flow to Gazelle without waiting for the next interval.
        let runner = Arc::clone(&context.runner);
        tokio::spawn(async move {
            runner.push_now().await;
        });
    }
    match result {
        Ok((data, _)) => Response::Data { data },
        Err(r) => r,
    }
}

/// The verb's answer, and whether it queued an edit for Gazelle.
async fn handle(context: &Context, verb: &str, args: &Value) -> Result<(Value, bool), Response> {
    let a = Args { verb, args };
    let store = &context.store;
    let config = &context.config;
    let tz = config.business.timezone.time_zone();
    let invoices = Invoices::new(store, config);
    let appointments = Appointments::new(store, config);
    let read = |v: Value| Ok((v, false));
    let wrote = |v: Value| Ok((v, true));
    match verb {
        "invoices.list" => {
            let limit = a.int("limit")?.unwrap_or(50).clamp(1, 10_000) as u32;
            read(json!(
                store::local::invoices(store.reader(), limit)
                    .await
                    .map_err(from_store)?
            ))
        }
        "invoices.show" => read(invoices.show(&a.text("id")?).await.map_err(from_manager)?),
        "invoices.create" => {
            let lines = args["lines"]
                .as_array()
                .map(|l| {
                    l.iter()
                        .map(|v| line(verb, v))
                        .collect::<Result<Vec<_>, _>>()
                })
                .transpose()?
                .unwrap_or_default();
            let due_on = match a.opt("due_on") {
                Some(d) => Some(date(verb, Some(d), &tz)?),
                None => None,
            };
            let id = invoices
                .create(
                    &a.text("client")?,
                    &lines,
                    a.opt("notes"),
                    due_on,
                    a.opt("assigned_to"),
                )
                .await
                .map_err(from_manager)?;
            wrote(invoices.show(&id.to_string()).await.map_err(from_manager)?)
        }
        "invoices.add-line" => {
            let id = a.text("id")?;
            let totals = invoices
                .add_line(&id, &line(verb, &args["line"])?)
                .await
                .map_err(from_manager)?;
            wrote(
                json!({"totals": totals, "invoice": invoices.show(&id).await.map_err(from_manager)?}),
            )
        }
        "invoices.set-status" => {
            let id = a.text("id")?;
            invoices
                .set_status(&id, &a.text("status")?)
                .await
                .map_err(from_manager)?;
            wrote(invoices.show(&id).await.map_err(from_manager)?)
        }
        "appointments.create" => {
            let duration = a.int("duration")?.unwrap_or(120);
            let outcome = appointments
                .create(
                    &a.text("client")?,
                    &a.text("technician")?,
                    a.opt("piano").as_deref(),
                    &a.text("start")?,
                    duration,
                    &a.opt("title").unwrap_or_else(|| "Accord".into()),
                    a.opt("notes"),
                )
                .await
                .map_err(from_manager)?;
            wrote(json!(outcome))
        }
        "appointments.move" => wrote(json!(
            appointments
                .reschedule(&a.text("id")?, &a.text("start")?, a.int("duration")?)
                .await
                .map_err(from_manager)?
        )),
        "appointments.reassign" => wrote(json!(
            appointments
                .reassign(&a.text("id")?, &a.text("technician")?)
                .await
                .map_err(from_manager)?
        )),
        "appointments.cancel" => wrote(json!(
            appointments
                .cancel(&a.text("id")?)
                .await
                .map_err(from_manager)?
        )),
        "appointments.confirm" => wrote(json!(
            appointments
                .confirm(&a.text("id")?)
                .await
                .map_err(from_manager)?
        )),
        "calendar" | "calendar.ics" => {
            let from = date(verb, a.opt("from"), &tz)?;
            let days = a.int("days")?.unwrap_or(7).clamp(1, 366);
            let technician = a.opt("technician");
            if verb == "calendar.ics" {
                let text = appointments
                    .ics(technician.as_deref(), from, days)
                    .await
                    .map_err(from_manager)?;
                return read(json!({"ics": text}));
            }
            let rows = appointments
                .calendar(technician.as_deref(), from, days)
                .await
                .map_err(from_manager)?;
            read(json!(
                rows.into_iter()
                    .map(|(local, a)| json!({"local": local, "appointment": a}))
                    .collect::<Vec<_>>()
            ))
        }
        "clients.create" => {
            let client = store::local::NewClient {
                company_name: a.opt("company").unwrap_or_default(),
                status: a.opt("status").unwrap_or_default(),
                first_name: a.opt("first_name"),
                last_name: a.opt("last_name"),
                email: a.opt("email"),
                phone: a.opt("phone"),
            };
            let id = managers::edits::create_client(store, client)
                .await
                .map_err(from_manager)?;
            wrote(json!({"id": id}))
        }
        "clients.edit" => {
            // Client fields and contact details are separate records in Gazelle: up to two
            // outbox entries.
            let id = a.text("id")?;
            let change = store::local::ClientChange {
                company_name: a.opt("company"),
                status: a.opt("status"),
                tags: a.opt("tags"),
            };
            let contact = store::local::ContactChange {
                first_name: a.opt("first_name"),
                last_name: a.opt("last_name"),
                email: a.opt("email"),
                phone: a.opt("phone"),
            };
            let (no_change, no_contact) = (
                change == store::local::ClientChange::default(),
                contact == store::local::ContactChange::default(),
            );
            if no_change && no_contact {
                return Err(error(
                    ErrorCode::BadRequest,
                    "nothing to change: give --company, --status, --tags, --first-name, --last-name, --email or --phone",
                ));
            }
            let mut entries = Vec::new();
            if !no_change {
                entries.push(
                    managers::edits::edit_client(store, &id, change)
                        .await
                        .map_err(from_manager)?,
                );
            }
            if !no_contact {
                entries.push(
                    managers::edits::edit_contact(store, &id, contact)
                        .await
                        .map_err(from_manager)?,
                );
            }
            wrote(json!({"outbox": entries}))
        }
        "pianos.edit" => {
            let change = store::local::PianoChange {
                location: a.opt("location"),
                notes: a.opt("notes"),
                status: a.opt("status"),
            };
            let entry = managers::edits::edit_piano(store, &a.text("id")?, change)
                .await
                .map_err(from_manager)?;
            wrote(json!({"outbox": entry}))
        }
        "stock.list" => read(json!(
            store::local::stock(store.reader(), a.opt("technician").as_deref())
                .await
                .map_err(from_store)?
        )),
        "stock.change" => {
            let quantity = a
                .int("quantity")?
                .ok_or_else(|| a.bad("quantity", "a whole number"))?;
            let change = match a.text("change")?.as_str() {
                "add" => Change::Add(quantity),
                "remove" => Change::Remove(quantity),
                "correct" => Change::Correct(quantity),
                other => {
                    return Err(error(
                        ErrorCode::BadRequest,
                        format!("{verb}: unknown change `{other}` (add, remove, correct)"),
                    ));
                }
            };
            let moved = Inventory::new(store, config)
                .apply(
                    &a.text("product")?,
                    &a.text("technician")?,
                    change,
                    a.opt("reason").as_deref(),
                    &a.text("author")?,
                )
                .await
                .map_err(from_manager)?;
            context.alerting.low_stock().await;
            read(json!(moved))
        }
        "stock.transfer" => {
            let quantity = a
                .int("quantity")?
                .ok_or_else(|| a.bad("quantity", "a whole number"))?;
            let moved = Inventory::new(store, config)
                .transfer(
                    &a.text("product")?,
                    &a.text("from")?,
                    &a.text("to")?,
                    quantity,
                    a.opt("reason").as_deref(),
                    &a.text("author")?,
                )
                .await
                .map_err(from_manager)?;
            context.alerting.low_stock().await;
            read(json!(moved))
        }
        "outbox.list" => {
            let entries = store::outbox::list(store.reader(), a.opt("state").as_deref(), 500)
                .await
                .map_err(from_store)?;
            // `stuck`: in flight past any push's length; a person decides (see the CLI's note).
            let listed: Vec<Value> = entries
                .iter()
                .map(|e| {
                    let mut v = json!(e);
                    v["stuck"] = json!(e.is_stuck());
                    v
                })
                .collect();
            read(json!(listed))
        }
        "outbox.retry" | "outbox.discard" => {
            let id = a
                .int("id")?
                .ok_or_else(|| a.bad("id", "an outbox entry number"))?;
            let mut tx = store.begin_write().await.map_err(from_store)?;
            if verb == "outbox.retry" {
                store::outbox::retry(&mut tx, id, None)
                    .await
                    .map_err(from_store)?;
            } else {
                store::outbox::discard(&mut tx, id)
                    .await
                    .map_err(from_store)?;
            }
            let keys = [format!("outbox:{id}")];
            // The entry's refusal alert is over either way.
            let open: Vec<String> = store::alerts::open_system_alerts(store.reader())
                .await
                .map_err(from_store)?
                .into_iter()
                .filter(|al| al.kind == "push" && !keys.contains(&al.key))
                .map(|al| al.key)
                .collect();
            store::alerts::clear_system_alerts_except(
                &mut tx,
                store::alerts::SystemKind::Push,
                &open,
            )
            .await
            .map_err(from_store)?;
            tx.commit()
                .await
                .map_err(|e| error(ErrorCode::Internal, e.to_string()))?;
            let entry = store::outbox::entry(store.reader(), id)
                .await
                .map_err(from_store)?;
            if verb == "outbox.retry" {
                wrote(json!(entry))
            } else {
                read(json!(entry))
            }
        }
        "conflicts.list" => read(json!(
            store::outbox::conflicts(store.reader(), !a.flag("all"))
                .await
                .map_err(from_store)?
        )),
        "conflicts.show" => {
            let id = a
                .int("id")?
                .ok_or_else(|| a.bad("id", "a conflict number"))?;
            match store::outbox::conflict(store.reader(), id)
                .await
                .map_err(from_store)?
            {
                Some(c) => read(json!(c)),
                None => Err(error(
                    ErrorCode::Invalid,
                    format!("there is no conflict #{id}"),
                )),
            }
        }
        "conflicts.resolve" => {
            let id = a
                .int("id")?
                .ok_or_else(|| a.bad("id", "a conflict number"))?;
            let keep = a.text("keep")?;
            // Keeping Gazelle's version writes it into the row at once (read by the
            // daemon's client, when there is one).
            let settled = sync_engine::resolve_conflict(
                store,
                context.runner.engine().map(|e| e.client()),
                &sync_engine::SyncSettings::from_config(&context.config),
                id,
                &keep,
            )
            .await
            .map_err(from_store)?;
            wrote(json!(settled))
        }
        other => Err(error(
            ErrorCode::BadRequest,
            format!("unknown verb `{other}`"),
        )),
    }
}
