//! Client and piano fields a technician changes on the Mac, pushed with `updateClient` /
//! `updatePiano`. The edit remembers the upstream `updatedAt` it was based on, so the push
//! can tell a real conflict from a stale read.

use serde_json::json;
use store::local::{self, ClientChange, ContactChange, NewClient, PianoChange};
use store::outbox::{self, NewEntry};
use store::{Connection, Store};

use crate::{Result, commit, invalid};

pub const CLIENT_STATUSES: [&str; 4] = ["ACTIVE", "INACTIVE", "PROSPECT", "NEW"];
pub const PIANO_STATUSES: [&str; 4] = [
    "ACTIVE",
    "INACTIVE",
    "TEMPORARY_STORAGE",
    "UNDER_RESTORATION",
];

fn check_status(status: &Option<String>, allowed: &[&str], what: &str) -> Result<()> {
    match status {
        Some(s) if !allowed.contains(&s.as_str()) => invalid(format!(
            "unknown {what} status `{s}` ({})",
            allowed.join(", ")
        )),
        _ => Ok(()),
    }
}

async fn queue(
    conn: &mut Connection,
    entity: &'static str,
    id: i64,
    base: Option<&str>,
    payload: serde_json::Value,
) -> Result<i64> {
    let depends_on = outbox::open_entry_of(conn, entity, id).await?;
    Ok(outbox::enqueue(
        conn,
        &NewEntry {
            operation: "update",
            entity,
            local_id: id,
            action: None,
            payload,
            base_updated_at: base,
            depends_on,
        },
    )
    .await?)
}

/// Changes a client (local or Gazelle id); the outbox entry's id.
pub async fn edit_client(store: &Store, client: &str, mut change: ClientChange) -> Result<i64> {
    change.status = change.status.map(|s| s.trim().to_ascii_uppercase());
    check_status(&change.status, &CLIENT_STATUSES, "client")?;
    if change == ClientChange::default() {
        return invalid("nothing to change: give --company, --status or --tags");
    }
    if change
        .company_name
        .as_deref()
        .is_some_and(|c| c.trim().is_empty())
    {
        return invalid("--company cannot be empty");
    }
    let mut tx = store.begin_write().await?;
    let Some((id, external, updated)) = local::find_row(&mut tx, "Clients", client).await? else {
        return invalid(format!("there is no client `{client}`"));
    };
    if external.is_none() {
        return invalid(format!(
            "client #{id} is not in Gazelle: nothing to update there"
        ));
    }
    local::change_client(&mut tx, id, &change).await?;
    let entry = queue(&mut tx, "Clients", id, updated.as_deref(), json!(change)).await?;
    commit(tx).await?;
    Ok(entry)
}

/// Changes a piano (local or Gazelle id); the outbox entry's id.
pub async fn edit_piano(store: &Store, piano: &str, mut change: PianoChange) -> Result<i64> {
    change.status = change.status.map(|s| s.trim().to_ascii_uppercase());
    check_status(&change.status, &PIANO_STATUSES, "piano")?;
    if change == PianoChange::default() {
        return invalid("nothing to change: give --location, --notes or --status");
    }
    let mut tx = store.begin_write().await?;
    let Some((id, external, updated)) = local::find_row(&mut tx, "Pianos", piano).await? else {
        return invalid(format!("there is no piano `{piano}`"));
    };
    if external.is_none() {
        return invalid(format!(
            "piano #{id} is not in Gazelle: nothing to update there"
        ));
    }
    local::change_piano(&mut tx, id, &change).await?;
    let entry = queue(&mut tx, "Pianos", id, updated.as_deref(), json!(change)).await?;
    commit(tx).await?;
    Ok(entry)
}

/// Changes a client's contact details (its default contact: names, e-mail, phone); the
/// outbox entry's id.
pub async fn edit_contact(store: &Store, client: &str, change: ContactChange) -> Result<i64> {
    if change == ContactChange::default() {
        return invalid("nothing to change: give --first-name, --last-name, --email or --phone");
    }
    if let Some(email) = change.email.as_deref()
        && email.parse::<lettre::Address>().is_err()
    {
        return invalid(format!("--email `{email}` is not an e-mail address"));
    }
    let mut tx = store.begin_write().await?;
    let Some((client_id, _, _)) = local::find_row(&mut tx, "Clients", client).await? else {
        return invalid(format!("there is no client `{client}`"));
    };
    let Some((contact_id, external, updated)) = local::default_contact(&mut tx, client_id).await?
    else {
        return invalid(format!("client `{client}` has no contact to change"));
    };
    if external.is_none() {
        return invalid(format!(
            "the contact of client `{client}` is not in Gazelle"
        ));
    }
    local::change_contact(&mut tx, contact_id, &change).await?;
    let entry = queue(
        &mut tx,
        "Contacts",
        contact_id,
        updated.as_deref(),
        json!(change),
    )
    .await?;
    commit(tx).await?;
    Ok(entry)
}

/// Creates a client on the Mac (with its contact); its local id. Its Gazelle id is chosen
/// now (`createClient` takes one), so a resent creation is the same client; appointments and
/// invoices made for it wait for it.
pub async fn create_client(store: &Store, mut client: NewClient) -> Result<i64> {
    client.status = client.status.trim().to_ascii_uppercase();
    if client.status.is_empty() {
        client.status = "ACTIVE".into();
    }
    check_status(&Some(client.status.clone()), &CLIENT_STATUSES, "client")?;
    if client.company_name.trim().is_empty() {
        // Gazelle names a person's account after them; so does the local row.
        let name = [client.first_name.as_deref(), client.last_name.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        if name.trim().is_empty() {
            return invalid("a client needs --company or a contact's --first-name / --last-name");
        }
        client.company_name = name;
    }
    if let Some(email) = client.email.as_deref()
        && email.parse::<lettre::Address>().is_err()
    {
        return invalid(format!("--email `{email}` is not an e-mail address"));
    }
    let mut tx = store.begin_write().await?;
    let id = local::insert_client(&mut tx, &client).await?;
    outbox::enqueue(
        &mut tx,
        &NewEntry {
            operation: "create",
            entity: "Clients",
            local_id: id,
            action: None,
            payload: json!({"id": crate::new_external_id("cli"), "client": client}),
            base_updated_at: None,
            depends_on: None,
        },
    )
    .await?;
    commit(tx).await?;
    Ok(id)
}
