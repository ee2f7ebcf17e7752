//! Probes: many windows of one connection read in a single request, asking only what tells
//! whether a window changed.
//!
//! Gazelle has no "updated since" filter (API.md, "Incremental reads"), so an incremental
//! pass that wants to see edits inside its window has to look at every record of the window.
//! A probe does that cheaply: one GraphQL request with one alias per window (`w0`, `w1`, …),
//! each alias a page of at most `first` nodes carrying only `id` and `updatedAt` (events,
//! invoices) or `id` and `occurredAt` (timeline entries, which have no `updatedAt`). The sync
//! engine sizes the windows from what the store already holds, compares, and reads in full
//! only the windows that differ; when nothing changed upstream, that one request is all.
//!
//! Windows:
//! * events: `allEventsBatched(first, filters: { startOn, endOn })`, a range of days;
//! * invoices: `allInvoices(first, filters: { invoiceDateGet, invoiceDateLet })`;
//! * timeline: `allTimelineEntries(last, occurredAtGet)`: the timeline lists newest first and
//!   has only a lower bound, so a window is "the `last` (oldest) entries since a bound", which
//!   covers the stretch up to the next bound when it reaches past it.

use jiff::Timestamp;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::client::decode;
use crate::documents::Operation;
use crate::{ApiError, GazelleClient};

/// Windows per request at most: a bound on the size of one document and one answer.
pub const MAX_WINDOWS: usize = 100;

/// Which connection a probe reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeKind {
    Events,
    Invoices,
    Timeline,
}

impl ProbeKind {
    /// The operation: its name, and that it is a query (safe to retry).
    pub fn operation(self) -> Operation {
        let name = match self {
            ProbeKind::Events => "EventsProbe",
            ProbeKind::Invoices => "InvoicesProbe",
            ProbeKind::Timeline => "TimelineProbe",
        };
        Operation {
            name,
            document: "",
            idempotent: true,
        }
    }

    /// The document for `windows` aliases. Every window's argument is a variable (`$w0`…),
    /// never text pasted into the query.
    pub fn document(self, windows: usize) -> String {
        let (window_type, alias) = match self {
            ProbeKind::Events => (
                "PrivateAllEventsFilter",
                "allEventsBatched(first: $first, filters: $wN) { pageInfo { hasNextPage } nodes { id updatedAt } }",
            ),
            ProbeKind::Invoices => (
                "PrivateAllInvoicesFilter",
                "allInvoices(first: $first, filters: $wN) { pageInfo { hasNextPage } nodes { id updatedAt } }",
            ),
            ProbeKind::Timeline => (
                "CoreDateTime",
                "allTimelineEntries(last: $first, occurredAtGet: $wN) { pageInfo { hasPreviousPage } nodes { id occurredAt } }",
            ),
        };
        let mut document = format!("query {}($first: Int", self.operation().name);
        for n in 0..windows {
            document.push_str(&format!(", $w{n}: {window_type}"));
        }
        document.push_str(") {");
        for n in 0..windows {
            document.push_str(&format!(
                " w{n}: {}",
                alias.replace("$wN", &format!("$w{n}"))
            ));
        }
        document.push_str(" }");
        document
    }
}

/// A node as a probe sees it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProbeNode {
    pub id: String,
    #[serde(default)]
    pub updated_at: Option<Timestamp>,
    #[serde(default)]
    pub occurred_at: Option<Timestamp>,
}

/// One window's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeWindow {
    pub nodes: Vec<ProbeNode>,
    /// The window held more than `first` nodes (events, invoices: `hasNextPage`; timeline:
    /// `hasPreviousPage`, newer entries than those returned).
    pub more: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawWindow {
    #[serde(default)]
    nodes: Vec<Option<ProbeNode>>,
    #[serde(default)]
    page_info: RawPageInfo,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawPageInfo {
    #[serde(default)]
    has_next_page: bool,
    #[serde(default)]
    has_previous_page: bool,
}

impl GazelleClient {
    /// Reads every window (its argument: a filter object, or a CoreDateTime for the
    /// timeline), `first` nodes at most each, in one request per [`MAX_WINDOWS`] windows.
    /// The answers come back in the order of `windows`.
    pub async fn probe(
        &self,
        kind: ProbeKind,
        first: u32,
        windows: &[Value],
    ) -> Result<Vec<ProbeWindow>, ApiError> {
        let operation = kind.operation();
        let mut answers = Vec::with_capacity(windows.len());
        for chunk in windows.chunks(MAX_WINDOWS) {
            let mut variables = Map::new();
            variables.insert("first".into(), Value::from(first));
            for (n, window) in chunk.iter().enumerate() {
                variables.insert(format!("w{n}"), window.clone());
            }
            let mut data: Map<String, Value> = self
                .execute_document(
                    operation,
                    &kind.document(chunk.len()),
                    Value::Object(variables),
                )
                .await?;
            for n in 0..chunk.len() {
                let alias = format!("w{n}");
                let value = data.remove(&alias).unwrap_or(Value::Null);
                let raw: RawWindow = decode(operation.name, &format!("data.{alias}"), value)?;
                answers.push(ProbeWindow {
                    nodes: raw.nodes.into_iter().flatten().collect(),
                    more: match kind {
                        ProbeKind::Timeline => raw.page_info.has_previous_page,
                        _ => raw.page_info.has_next_page,
                    },
                });
            }
        }
        Ok(answers)
    }
}
