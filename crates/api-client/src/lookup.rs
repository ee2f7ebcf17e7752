//! Records read by id, many in one request: how the sync confirms a deletion.
//!
//! A record that a complete scan (or an incremental window) did not list may be gone, or may
//! only have been skipped: with offset cursors (graphql-ruby's default) a deletion ahead of
//! the cursor during a read shifts the listing, and a record slides past unseen (API.md,
//! "Connections and pagination"). So the sync never tombstones on absence alone: it asks for
//! each candidate by id, one alias per record (`r0: client(id: $r0) { … }`), and a record
//! whose answer is `null` is gone. One that answers is alive, and comes back whole, so the
//! caller stores it rather than leaving it stale.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::client::decode;
use crate::documents::{self, Operation};
use crate::{ApiError, GazelleClient};

/// Records per request at most: a bound on the size of one document and one answer.
pub const MAX_IDS: usize = 50;

/// Which root field a lookup reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookupKind {
    Clients,
    Pianos,
    Events,
    Invoices,
}

impl LookupKind {
    /// The operation: its name, and that it is a query (safe to retry).
    pub fn operation(self) -> Operation {
        let name = match self {
            LookupKind::Clients => "ClientsById",
            LookupKind::Pianos => "PianosById",
            LookupKind::Events => "EventsById",
            LookupKind::Invoices => "InvoicesById",
        };
        Operation {
            name,
            document: "",
            idempotent: true,
        }
    }

    /// The document for `count` ids; each id is a variable (`$r0`…), never pasted text.
    pub fn document(self, count: usize) -> String {
        let (field, argument, fields) = match self {
            LookupKind::Clients => ("client", "id", documents::CLIENT_FIELDS),
            LookupKind::Pianos => ("piano", "id", documents::PIANO_FIELDS),
            LookupKind::Events => ("event", "eventId", documents::EVENT_FIELDS),
            LookupKind::Invoices => ("invoice", "id", documents::INVOICE_FIELDS),
        };
        let mut document = format!("query {}(", self.operation().name);
        for n in 0..count {
            if n > 0 {
                document.push_str(", ");
            }
            document.push_str(&format!("$r{n}: String!"));
        }
        document.push_str(") {");
        for n in 0..count {
            document.push_str(&format!(" r{n}: {field}({argument}: $r{n}) {{ {fields} }}"));
        }
        document.push_str(" }");
        document
    }
}

impl GazelleClient {
    /// Each of `ids` read by id, in order: `None` where Gazelle has no such record. A request
    /// that fails fails the whole lookup: absence is only ever concluded from an answer.
    pub async fn lookup<T: DeserializeOwned>(
        &self,
        kind: LookupKind,
        ids: &[String],
    ) -> Result<Vec<Option<T>>, ApiError> {
        let operation = kind.operation();
        let mut found = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(MAX_IDS) {
            let variables: Map<String, Value> = chunk
                .iter()
                .enumerate()
                .map(|(n, id)| (format!("r{n}"), Value::String(id.clone())))
                .collect();
            let mut data: Map<String, Value> = self
                .execute_document(
                    operation,
                    &kind.document(chunk.len()),
                    Value::Object(variables),
                )
                .await?;
            for n in 0..chunk.len() {
                let alias = format!("r{n}");
                let value = data.remove(&alias).unwrap_or(Value::Null);
                found.push(decode(operation.name, &format!("data.{alias}"), value)?);
            }
        }
        Ok(found)
    }
}
