//! Every piano of an appointment (`AppointmentPianos`), in Gazelle's order.
//!
//! The pull writes an event's whole list in the transaction that stores the event;
//! `Appointments.PianoId` stays the first piano, for the readers of V4's schema. Links name
//! pianos by their Gazelle id and readers join `Pianos` on it, so a piano that arrives after
//! its event is shown as soon as it is mirrored.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use sqlx::SqliteConnection;

use crate::error::{Result, SqlContext};

/// A piano of an appointment, as readers show it (make, model and room are `None` while the
/// piano itself is not mirrored).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppointmentPiano {
    pub external_id: String,
    pub make: Option<String>,
    pub model: Option<String>,
    pub location: Option<String>,
}

impl AppointmentPiano {
    /// "Steinway & Sons B-211 (Salle)", or the Gazelle id of a piano not mirrored yet.
    pub fn label(&self) -> String {
        let name = [self.make.as_deref(), self.model.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        let name = if name.is_empty() {
            self.external_id.clone()
        } else {
            name
        };
        match self.location.as_deref().filter(|l| !l.is_empty()) {
            Some(room) => format!("{name} ({room})"),
            None => name,
        }
    }
}

/// A SQL expression (for a query over `Appointments a`): the appointment's pianos as a JSON
/// array of [`AppointmentPiano`], in order. Read into a `#[sqlx(json)] Vec<AppointmentPiano>`.
pub const PIANOS_JSON: &str = "(SELECT json_group_array(json_object(
        'external_id', ap.PianoExternalId, 'make', p.Make, 'model', p.Model, 'location', p.Location))
     FROM (SELECT * FROM AppointmentPianos WHERE AppointmentId = a.Id ORDER BY Position) ap
     LEFT JOIN Pianos p ON p.ExternalId = ap.PianoExternalId)";

/// Sets the pianos of appointments by Gazelle id, in the caller's transaction, rewriting only
/// the lists that changed. Appointments not in the database (a rejected row) are skipped.
/// Returns how many appointments' lists changed.
pub async fn replace(
    conn: &mut SqliteConnection,
    appointments: &[(&str, Vec<&str>)],
) -> Result<u64> {
    if appointments.is_empty() {
        return Ok(0);
    }
    let ids: Vec<&str> = appointments.iter().map(|(id, _)| *id).collect();
    let ids = serde_json::to_string(&ids)
        .map_err(|e| crate::StoreError::Invalid(format!("appointment ids as JSON: {e}")))?;
    let rows: Vec<(String, i64, Option<String>)> = sqlx::query_as(
        "SELECT a.ExternalId, a.Id, ap.PianoExternalId
         FROM json_each(?1) AS j
         CROSS JOIN Appointments AS a ON a.ExternalId = j.value
         LEFT JOIN AppointmentPianos AS ap ON ap.AppointmentId = a.Id
         ORDER BY a.Id, ap.Position",
    )
    .bind(ids)
    .fetch_all(&mut *conn)
    .await
    .context("reading the pianos of appointments")?;
    let mut stored: HashMap<String, (i64, Vec<String>)> = HashMap::new();
    for (external_id, id, piano) in rows {
        let entry = stored.entry(external_id).or_insert((id, Vec::new()));
        entry.1.extend(piano);
    }
    let mut changed = 0;
    for (external_id, pianos) in appointments {
        let Some((id, current)) = stored.get(*external_id) else {
            continue;
        };
        if current
            .iter()
            .map(String::as_str)
            .eq(pianos.iter().copied())
        {
            continue;
        }
        sqlx::query("DELETE FROM AppointmentPianos WHERE AppointmentId = ?1")
            .bind(id)
            .execute(&mut *conn)
            .await
            .context("replacing the pianos of an appointment")?;
        for (position, piano) in pianos.iter().enumerate() {
            sqlx::query(
                "INSERT OR IGNORE INTO AppointmentPianos (AppointmentId, Position, PianoExternalId)
                 VALUES (?1, ?2, ?3)",
            )
            .bind(id)
            .bind(position as i64)
            .bind(piano)
            .execute(&mut *conn)
            .await
            .context("replacing the pianos of an appointment")?;
        }
        changed += 1;
    }
    Ok(changed)
}
