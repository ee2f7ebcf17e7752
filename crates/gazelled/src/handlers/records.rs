//! Clients (create, edit) and pianos (edit): each edit is queued for Gazelle with the row.

use protocol::calls::{ClientCreate, ClientEdit, Created, PianoEdit, Queued};
use store::local::{ClientChange, ContactChange};

use super::{Handled, Refusal};
use crate::context::Context;

pub async fn create_client(context: &Context, r: ClientCreate) -> Handled<Created> {
    let id = managers::edits::create_client(&context.store, r.client).await?;
    context.nudge_push();
    Ok(Created { id })
}

/// Client fields and contact details are separate records in Gazelle: up to two entries.
pub async fn edit_client(context: &Context, r: ClientEdit) -> Handled<Queued> {
    let (no_change, no_contact) = (
        r.change == ClientChange::default(),
        r.contact == ContactChange::default(),
    );
    if no_change && no_contact {
        return Err(Refusal::bad(
            "nothing to change: give --company, --status, --tags, --first-name, --last-name, --email or --phone",
        ));
    }
    let mut outbox = Vec::new();
    if !no_change {
        outbox.push(managers::edits::edit_client(&context.store, &r.id, r.change).await?);
    }
    if !no_contact {
        outbox.push(managers::edits::edit_contact(&context.store, &r.id, r.contact).await?);
    }
    context.nudge_push();
    Ok(Queued { outbox })
}

pub async fn edit_piano(context: &Context, r: PianoEdit) -> Handled<Queued> {
    let entry = managers::edits::edit_piano(&context.store, &r.id, r.change).await?;
    context.nudge_push();
    Ok(Queued {
        outbox: vec![entry],
    })
}
