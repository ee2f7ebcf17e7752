//! Gazelle's version of one record, read by id and written over the local row: what happens
//! when Gazelle's edit wins over one made on the Mac (last-write-wins, or `conflicts resolve
//! --keep remote`). Without it the row would keep the losing value until a full pull, since
//! the pull skipped the row while its edit was waiting and incremental pulls re-read only
//! what changed since.

use api_client::lookup::LookupKind;
use api_client::{ApiError, GazelleClient, model};
use store::outbox::{self, Conflict};
use store::{Store, StoreError, WriteTx};

use crate::engine::{Node, SyncSettings, commit};

/// One record as Gazelle has it now.
pub(crate) enum Fresh {
    Client(model::Client),
    Piano(model::Piano),
    Event(model::Event),
    Invoice(model::Invoice),
}

impl Fresh {
    /// Reads the record an outbox entry of `entity` edits (a contact's: its client, which
    /// carries its contacts). `None` when Gazelle no longer has it, or the entity has no
    /// read by id.
    pub(crate) async fn read(
        client: &GazelleClient,
        store: &Store,
        entity: &str,
        local_id: i64,
        external_id: &str,
    ) -> Result<Option<Fresh>, ReadError> {
        let client_of_contact = if entity == "Contacts" {
            let mut conn = store.read_connection().await?;
            store::local::contact_client_external_id(&mut conn, local_id).await?
        } else {
            None
        };
        let id = client_of_contact.unwrap_or_else(|| external_id.to_owned());
        Ok(match entity {
            "Clients" | "Contacts" => one::<model::Client>(client, LookupKind::Clients, id)
                .await?
                .map(Fresh::Client),
            "Pianos" => one::<model::Piano>(client, LookupKind::Pianos, id)
                .await?
                .map(Fresh::Piano),
            "Appointments" => one::<model::Event>(client, LookupKind::Events, id)
                .await?
                .map(Fresh::Event),
            "Invoices" => one::<model::Invoice>(client, LookupKind::Invoices, id)
                .await?
                .map(Fresh::Invoice),
            _ => None,
        })
    }

    /// Writes it over the local row, in the caller's transaction (the one that settles the
    /// edit, so the edit no longer holds the row).
    pub(crate) async fn write(
        &self,
        tx: &mut WriteTx,
        settings: &SyncSettings,
    ) -> Result<(), StoreError> {
        let mut errors = Vec::new();
        let counts = match self {
            Fresh::Client(c) => {
                Node::apply(tx, std::slice::from_ref(c), settings, false, &mut errors).await?
            }
            Fresh::Piano(p) => {
                Node::apply(tx, std::slice::from_ref(p), settings, false, &mut errors).await?
            }
            Fresh::Event(e) => {
                Node::apply(tx, std::slice::from_ref(e), settings, false, &mut errors).await?
            }
            Fresh::Invoice(i) => {
                Node::apply(tx, std::slice::from_ref(i), settings, false, &mut errors).await?
            }
        };
        tracing::info!(?counts, "Gazelle's winning version written into the row");
        for error in errors {
            tracing::warn!(%error, "Gazelle's winning version could not be stored");
        }
        Ok(())
    }
}

async fn one<T: Node + serde::de::DeserializeOwned>(
    client: &GazelleClient,
    kind: LookupKind,
    id: String,
) -> Result<Option<T>, ApiError> {
    let mut found: Vec<T> = client
        .lookup(kind, &[id])
        .await?
        .into_iter()
        .flatten()
        .collect();
    T::complete(client, &mut found).await?;
    Ok(found.pop())
}

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// `gazellectl conflicts resolve ID --keep local|remote`. Keeping the local edit sends it
/// again, now based on the remote version it overrides; keeping Gazelle's discards the edit
/// and writes Gazelle's version into the row in the same transaction (read first, when
/// `client` can; if Gazelle cannot be reached the row is left for the next full pull, and
/// the log says so).
pub async fn resolve_conflict(
    store: &Store,
    client: Option<&GazelleClient>,
    settings: &SyncSettings,
    id: i64,
    keep: &str,
) -> Result<Option<Conflict>, StoreError> {
    let conflict = outbox::conflict(store.reader(), id)
        .await?
        .ok_or_else(|| StoreError::Invalid(format!("there is no conflict #{id}")))?;
    let remote: serde_json::Value =
        serde_json::from_str(&conflict.remote_version).unwrap_or(serde_json::Value::Null);
    let remote_updated = remote["updatedAt"]
        .as_str()
        .or(remote["UpdatedAt"].as_str())
        .map(str::to_owned);
    let fresh = match (keep, client, conflict.external_id.as_deref()) {
        ("remote", Some(client), Some(external)) => {
            match Fresh::read(client, store, &conflict.entity, conflict.local_id, external).await {
                Ok(fresh) => fresh,
                Err(e) => {
                    tracing::warn!(conflict = id, error = %e, "Gazelle's version could not be read: the row waits for the next full pull");
                    None
                }
            }
        }
        _ => None,
    };
    let mut tx = store.begin_write().await?;
    outbox::resolve_conflict(&mut tx, id, keep, remote_updated.as_deref()).await?;
    if let Some(fresh) = &fresh {
        fresh.write(&mut tx, settings).await?;
    }
    commit(tx).await?;
    outbox::conflict(store.reader(), id).await
}
