//! The mutations the project sends (API.md, "Writing"), with Gazelle's rules.
//!
//! Every payload carries the object and `mutationErrors`; a rejected write answers HTTP 200
//! with a non-empty `mutationErrors` and a null object, as Gazelle does. Rules enforced:
//! the scheduled technician must be schedulable (refused in French, as Gazelle does), ids
//! must exist, `updateEvent` replaces the whole event (fields left out are cleared), invoices
//! carry their taxes explicitly (none are added by the service), and a client-supplied id on
//! `createClient` / `createInvoice` makes the creation idempotent.

use jiff::Timestamp;
use serde_json::{Map, Value, json};

use crate::model::*;
use crate::world::{FieldResult, World};

/// Resolves a root mutation field.
pub fn mutate(world: &mut World, field: &str, args: &Map<String, Value>) -> FieldResult {
    let input = args
        .get("input")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let id_arg = |name: &str| args.get(name).and_then(Value::as_str).map(str::to_owned);
    let result = match field {
        "createClient" => create_client(world, &input, id_arg("id")),
        "updateClient" => update_client(world, &id_arg("id").unwrap_or_default(), &input),
        "createPiano" => create_piano(world, &input),
        "updatePiano" => update_piano(world, &id_arg("id").unwrap_or_default(), &input),
        "createEvent" => write_event(world, None, &input),
        "updateEvent" => write_event(world, id_arg("id"), &input),
        "cancelEvent" => set_event_status(
            world,
            &id_arg("eventId").unwrap_or_default(),
            "CANCELED",
            None,
        ),
        "confirmEvent" => set_event_status(
            world,
            &id_arg("id").unwrap_or_default(),
            "ACTIVE",
            Some(true),
        ),
        "completeEvent" => set_event_status(
            world,
            &id_arg("eventId").unwrap_or_default(),
            "COMPLETE",
            None,
        ),
        "createInvoice" => create_invoice(world, &input, id_arg("id")),
        "updateInvoice" => update_invoice(world, &id_arg("id").unwrap_or_default(), &input),
        "createClientLog" => create_client_log(world, args, &input),
        "updateContact" => update_contact(world, &id_arg("id").unwrap_or_default(), &input),
        "updateContactEmail" | "updateContactPhone" => contact_detail(
            world,
            field,
            &id_arg("id").unwrap_or_default(),
            &input,
            false,
        ),
        "createContactEmail" | "createContactPhone" => contact_detail(
            world,
            field,
            &id_arg("contactId").unwrap_or_default(),
            &input,
            true,
        ),
        other => {
            return Err(format!(
                "the simulator does not implement the mutation `{other}`"
            ));
        }
    };
    Ok(match result {
        Ok((key, id)) => {
            world.touch();
            json!({ key: {"$ref": id}, "mutationErrors": [] })
        }
        Err(Rejected { key, errors }) => json!({ key: null, "mutationErrors": errors }),
    })
}

/// A refused write: the payload's object key and its `mutationErrors`.
struct Rejected {
    key: &'static str,
    errors: Vec<Value>,
}

fn field_error(field: &str, message: &str, kind: &str) -> Value {
    json!({"fieldName": field, "messages": [message], "key": field, "type": kind, "errorReferenceId": null})
}

fn reject(key: &'static str, field: &str, message: &str) -> Rejected {
    Rejected {
        key,
        errors: vec![field_error(field, message, "VALIDATION")],
    }
}

fn not_found(key: &'static str, field: &str, id: &str) -> Rejected {
    Rejected {
        key,
        errors: vec![field_error(
            field,
            &format!("Record not found: {id}"),
            "NOT_FOUND",
        )],
    }
}

type Written = Result<(&'static str, String), Rejected>;

fn text(input: &Map<String, Value>, key: &str) -> Option<String> {
    input.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn has(input: &Map<String, Value>, key: &str) -> bool {
    input.contains_key(key)
}

fn create_client(world: &mut World, input: &Map<String, Value>, id: Option<String>) -> Written {
    if let Some(id) = &id
        && world.clients.contains(id)
    {
        // The same creation sent again: Gazelle answers with the existing record.
        return Ok(("client", id.clone()));
    }
    let id = id.unwrap_or_else(|| world.rng.id("cli"));
    let now = world.now();
    let contact = input
        .get("contacts")
        .and_then(Value::as_array)
        .and_then(|c| c.first())
        .and_then(Value::as_object)
        .cloned();
    if text(input, "companyName").is_none() && contact.is_none() {
        return Err(reject(
            "client",
            "companyName",
            "A client needs a company name or a contact",
        ));
    }
    let contact_id = contact.map(|c| {
        let contact_id = world.rng.id("con");
        let first_email = |key: &str, field: &str| {
            c.get(key)
                .and_then(Value::as_array)
                .and_then(|a| a.first())
                .and_then(|e| e.get(field))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        world.contacts.put(Contact {
            id: contact_id.clone(),
            client_id: id.clone(),
            first_name: text(&c, "firstName"),
            last_name: text(&c, "lastName"),
            email: first_email("emails", "email"),
            phone: first_email("phones", "phoneNumber"),
            address: None,
            is_default: true,
            archived: false,
            created_at: now,
            updated_at: now,
        });
        contact_id
    });
    world.clients.put(Client {
        id: id.clone(),
        company_name: text(input, "companyName"),
        status: text(input, "status").unwrap_or_else(|| "NEW".into()),
        client_type: text(input, "clientType"),
        tags: string_list(input.get("tags")),
        default_contact_id: contact_id,
        created_at: now,
        updated_at: now,
    });
    Ok(("client", id))
}

fn update_client(world: &mut World, id: &str, input: &Map<String, Value>) -> Written {
    let now = world.now();
    let found = world.clients.edit(id, |c| {
        if has(input, "companyName") {
            c.company_name = text(input, "companyName");
        }
        if let Some(status) = text(input, "status") {
            c.status = status;
        }
        if has(input, "clientType") {
            c.client_type = text(input, "clientType");
        }
        if has(input, "tags") {
            c.tags = string_list(input.get("tags"));
        }
        c.updated_at = now;
    });
    if found {
        Ok(("client", id.to_owned()))
    } else {
        Err(not_found("client", "id", id))
    }
}

fn apply_piano(p: &mut Piano, input: &Map<String, Value>) {
    let set = |field: &mut Option<String>, key: &str| {
        if has(input, key) {
            *field = text(input, key);
        }
    };
    set(&mut p.make, "make");
    set(&mut p.model, "model");
    set(&mut p.serial_number, "serialNumber");
    set(&mut p.location, "location");
    set(&mut p.notes, "notes");
    set(&mut p.manual_last_service, "manualLastService");
    if let Some(t) = text(input, "type") {
        p.piano_type = t;
    }
    if let Some(s) = text(input, "status") {
        p.status = s;
    }
    if has(input, "year") {
        p.year = input.get("year").and_then(Value::as_i64);
    }
    if let Some(d) = input.get("damppChaserInstalled").and_then(Value::as_bool) {
        p.dampp_chaser_installed = d;
    }
}

fn create_piano(world: &mut World, input: &Map<String, Value>) -> Written {
    let client_id = text(input, "clientId").unwrap_or_default();
    if !world.clients.contains(&client_id) {
        return Err(not_found("piano", "clientId", &client_id));
    }
    let now = world.now();
    let mut piano = Piano {
        id: world.rng.id("ins"),
        client_id,
        make: None,
        model: None,
        serial_number: None,
        piano_type: "UNKNOWN".into(),
        year: None,
        location: None,
        notes: None,
        status: "ACTIVE".into(),
        dampp_chaser_installed: false,
        manual_last_service: None,
        created_at: now,
        updated_at: now,
    };
    apply_piano(&mut piano, input);
    let id = piano.id.clone();
    world.pianos.put(piano);
    Ok(("piano", id))
}

fn update_piano(world: &mut World, id: &str, input: &Map<String, Value>) -> Written {
    let now = world.now();
    let found = world.pianos.edit(id, |p| {
        apply_piano(p, input);
        p.updated_at = now;
    });
    if found {
        Ok(("piano", id.to_owned()))
    } else {
        Err(not_found("piano", "id", id))
    }
}

/// `createEvent` and `updateEvent`. The input replaces the whole event: a field left out of
/// an update is cleared, which is exactly the trap API.md warns about.
fn write_event(world: &mut World, id: Option<String>, input: &Map<String, Value>) -> Written {
    if let Some(id) = &id
        && !world.events.contains(id)
    {
        return Err(not_found("event", "id", id));
    }
    let user_id = text(input, "userId");
    if let Some(user) = &user_id {
        match world.users.get(user) {
            None => return Err(not_found("event", "userId", user)),
            Some(u) if !u.is_schedulable => {
                return Err(reject(
                    "event",
                    "userId",
                    "Le technicien sélectionné ne peut pas être planifié",
                ));
            }
            Some(_) => {}
        }
    }
    let Some(start) = text(input, "start") else {
        return Err(reject("event", "start", "Start is required"));
    };
    let Ok(start) = start.parse::<Timestamp>() else {
        return Err(reject(
            "event",
            "start",
            &format!("Start `{start}` is not a valid date and time"),
        ));
    };
    if has(input, "location")
        && input
            .get("location")
            .and_then(|l| l.get("locationType"))
            .is_none()
    {
        return Err(reject(
            "event",
            "location",
            "A location needs a locationType",
        ));
    }
    let client_id = text(input, "clientId");
    if let Some(c) = &client_id
        && !world.clients.contains(c)
    {
        return Err(not_found("event", "clientId", c));
    }
    let piano_ids: Vec<String> = input
        .get("pianos")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|p| p.get("pianoId").and_then(Value::as_str).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    if let Some(missing) = piano_ids.iter().find(|p| !world.pianos.contains(p)) {
        return Err(not_found("event", "pianos", missing));
    }
    let now = world.now();
    let (id, created_at, confirmed) = match id {
        Some(id) => {
            let old = world.events.get(&id);
            (
                id.clone(),
                old.map_or(now, |e| e.created_at),
                old.is_some_and(|e| e.confirmed_by_client),
            )
        }
        None => (world.rng.id("evt"), now, false),
    };
    world.events.put(Event {
        id: id.clone(),
        title: text(input, "title").unwrap_or_default(),
        start,
        duration: input.get("duration").and_then(Value::as_i64).unwrap_or(60),
        is_all_day: input
            .get("isAllDay")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        notes: text(input, "notes"),
        event_type: text(input, "type").unwrap_or_else(|| "APPOINTMENT".into()),
        status: text(input, "status").unwrap_or_else(|| "ACTIVE".into()),
        confirmed_by_client: confirmed,
        client_id,
        user_id,
        piano_ids,
        created_at,
        updated_at: now,
    });
    Ok(("event", id))
}

fn set_event_status(world: &mut World, id: &str, status: &str, confirmed: Option<bool>) -> Written {
    let now = world.now();
    let found = world.events.edit(id, |e| {
        e.status = status.to_owned();
        if let Some(c) = confirmed {
            e.confirmed_by_client = c;
        }
        e.updated_at = now;
    });
    if found {
        Ok(("event", id.to_owned()))
    } else {
        Err(not_found("event", "eventId", id))
    }
}

fn items_from(
    world: &mut World,
    input: &Map<String, Value>,
) -> Result<Option<Vec<InvoiceItem>>, Rejected> {
    let Some(list) = input.get("invoiceItems").and_then(Value::as_array) else {
        return Ok(None);
    };
    let mut items = Vec::with_capacity(list.len());
    for (n, item) in list.iter().enumerate() {
        let get_i = |k: &str| item.get(k).and_then(Value::as_i64);
        let quantity = get_i("quantity").unwrap_or(100);
        let amount = get_i("amount").unwrap_or(0);
        if quantity <= 0 {
            return Err(reject(
                "invoice",
                "invoiceItems.quantity",
                "Quantity must be positive",
            ));
        }
        let sub_total = crate::dataset::round_half_up(amount * quantity, 100);
        // Taxes are exactly those the client sends: the service adds none.
        let tax_total: i64 = item
            .get("taxes")
            .and_then(Value::as_array)
            .map(|taxes| {
                taxes
                    .iter()
                    .filter_map(|t| t.get("total").and_then(Value::as_i64))
                    .sum()
            })
            .unwrap_or(0);
        items.push(InvoiceItem {
            id: world.rng.id("iit"),
            description: item
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            item_type: item
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or("OTHER")
                .to_owned(),
            quantity,
            amount,
            sub_total,
            tax_total,
            total: sub_total + tax_total,
            taxable: item
                .get("taxable")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            billable: item
                .get("billable")
                .and_then(Value::as_bool)
                .unwrap_or(true),
            sequence_number: get_i("sequenceNumber").unwrap_or(n as i64),
            piano_id: item
                .get("pianoId")
                .and_then(Value::as_str)
                .map(str::to_owned),
        });
    }
    Ok(Some(items))
}

fn create_invoice(world: &mut World, input: &Map<String, Value>, id: Option<String>) -> Written {
    if let Some(id) = &id
        && world.invoices.contains(id)
    {
        return Ok(("invoice", id.clone()));
    }
    let client_id = text(input, "clientId").unwrap_or_default();
    if !world.clients.contains(&client_id) {
        return Err(not_found("invoice", "clientId", &client_id));
    }
    let items = items_from(world, input)?.unwrap_or_default();
    let now = world.now();
    let id = id.unwrap_or_else(|| world.rng.id("inv"));
    world.next_invoice_number += 1;
    world.invoices.put(Invoice {
        id: id.clone(),
        number: world.next_invoice_number,
        client_id,
        assigned_to: text(input, "assignedToId"),
        status: text(input, "status").unwrap_or_else(|| "DRAFT".into()),
        notes: text(input, "notes"),
        items,
        due_on: text(input, "dueOn"),
        created_at: now,
        updated_at: now,
    });
    Ok(("invoice", id))
}

fn update_invoice(world: &mut World, id: &str, input: &Map<String, Value>) -> Written {
    if !world.invoices.contains(id) {
        return Err(not_found("invoice", "id", id));
    }
    let items = items_from(world, input)?;
    let now = world.now();
    world.invoices.edit(id, |inv| {
        if let Some(status) = text(input, "status") {
            inv.status = status;
        }
        if has(input, "notes") {
            inv.notes = text(input, "notes");
        }
        if has(input, "dueOn") {
            inv.due_on = text(input, "dueOn");
        }
        if let Some(items) = items {
            inv.items = items;
        }
        inv.updated_at = now;
    });
    Ok(("invoice", id.to_owned()))
}

/// `createClientLog`: a comment on the client's timeline (the way to add a note: there is no
/// `createTimelineEntry`).
fn create_client_log(
    world: &mut World,
    args: &Map<String, Value>,
    input: &Map<String, Value>,
) -> Written {
    let client_id = args
        .get("clientId")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if !world.clients.contains(&client_id) {
        return Err(not_found("clientLog", "clientId", &client_id));
    }
    let piano_id = args
        .get("pianoId")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let occurred_at = text(input, "createdAt")
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| world.now());
    let id = world.rng.timeline_id();
    world.timeline.put(TimelineEntry {
        id: id.clone(),
        client_id,
        piano_id,
        invoice_id: None,
        estimate_id: None,
        user_id: None,
        occurred_at,
        entry_type: "USER_COMMENT".into(),
        summary: Some("Comment".into()),
        comment: text(input, "comment"),
    });
    Ok(("clientLog", id))
}

fn update_contact(world: &mut World, id: &str, input: &Map<String, Value>) -> Written {
    let now = world.now();
    let found = world.contacts.edit(id, |c| {
        if has(input, "firstName") {
            c.first_name = text(input, "firstName");
        }
        if has(input, "lastName") {
            c.last_name = text(input, "lastName");
        }
        c.updated_at = now;
    });
    if found {
        Ok(("contact", id.to_owned()))
    } else {
        Err(not_found("contact", "id", id))
    }
}

/// A contact's e-mail address or phone number. The simulator keeps one of each per contact,
/// with an id derived from the contact's (`cem_…`, `cph_…`), as its JSON shows them.
fn contact_detail(
    world: &mut World,
    field: &str,
    id: &str,
    input: &Map<String, Value>,
    create: bool,
) -> Written {
    let email = field.ends_with("Email");
    let (key, prefix, value_key) = if email {
        ("email", "cem_", "email")
    } else {
        ("phone", "cph_", "phoneNumber")
    };
    // An update names the detail (`cem_<contact tail>`); a creation names the contact.
    let contact_id = if create {
        id.to_owned()
    } else {
        match id.strip_prefix(prefix) {
            Some(tail) => format!("con_{tail}"),
            None => return Err(not_found(key, "id", id)),
        }
    };
    let Some(value) = text(input, value_key) else {
        return Err(reject(key, value_key, &format!("{value_key} is required")));
    };
    if email && !value.contains('@') {
        return Err(reject(key, "email", "Courriel invalide"));
    }
    let now = world.now();
    let mut existed = false;
    let found = world.contacts.edit(&contact_id, |c| {
        let slot = if email { &mut c.email } else { &mut c.phone };
        existed = slot.is_some();
        *slot = Some(value.clone());
        c.updated_at = now;
    });
    if !found || (!create && !existed) {
        return Err(not_found(key, "id", id));
    }
    let tail = contact_id.get(4..).unwrap_or_default();
    // The payload's object is the detail, which the executor renders from the contact.
    Ok((key, format!("{prefix}{tail}")))
}

fn string_list(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}
