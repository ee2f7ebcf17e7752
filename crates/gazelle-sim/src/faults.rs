//! Faults a test can inject, each for `count` matching requests (after `after` of them).
//!
//! Faults apply in the order they were queued; one request consumes one occurrence of the
//! first fault that applies to its endpoint.

use serde::{Deserialize, Serialize};

/// Which endpoint a fault applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Endpoint {
    #[default]
    Graphql,
    Token,
    Any,
}

/// What goes wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultKind {
    /// An HTTP status with an empty-ish body: 500, 502, 503, 401, or 429 with `Retry-After`.
    Status {
        status: u16,
        #[serde(default)]
        retry_after: Option<u64>,
    },
    /// The real answer, after a delay.
    Slow { millis: u64 },
    /// The request is processed (a mutation is applied), then the answer waits: a client
    /// killed meanwhile never learns that its write happened.
    Stall { millis: u64 },
    /// The connection is closed after the headers, before the body completes.
    Drop,
    /// HTTP 200 with the first half of the real JSON body.
    Truncate,
    /// HTTP 200 with a body that is not JSON (a proxy's HTML error page).
    Malformed,
    /// HTTP 200 with a GraphQL `errors` array and no data.
    GraphqlError { message: String },
    /// Exactly this answer: for shapes a newer Gazelle may send that our copy of the schema
    /// cannot produce (a new enum value, an extra field).
    Respond { status: u16, body: String },
}

/// A queued fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    #[serde(flatten)]
    pub kind: FaultKind,
    #[serde(default = "one")]
    pub count: u32,
    #[serde(default)]
    pub endpoint: Endpoint,
    /// Only requests of this GraphQL operation (`operationName`: `CreateEvent`, …) take it;
    /// others pass untouched. Lets a test hit the one mutation it means to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// Matching requests let through untouched before the fault starts: "the fifth page
    /// fails", whatever else the client sends meanwhile.
    #[serde(default)]
    pub after: u32,
}

fn one() -> u32 {
    1
}

/// The queue of pending faults.
#[derive(Debug, Default)]
pub struct Faults {
    queue: Vec<Fault>,
    /// How many faults were served, for tests' assertions.
    pub served: u64,
}

impl Faults {
    pub fn push(&mut self, fault: Fault) {
        if fault.count > 0 {
            self.queue.push(fault);
        }
    }

    pub fn clear(&mut self) {
        self.queue.clear();
    }

    pub fn pending(&self) -> &[Fault] {
        &self.queue
    }

    /// Takes one occurrence of the first fault for `endpoint` (and `operation`, for a fault
    /// limited to one).
    pub fn take(&mut self, endpoint: Endpoint, operation: Option<&str>) -> Option<FaultKind> {
        let index = self.queue.iter().position(|f| {
            (f.endpoint == endpoint || f.endpoint == Endpoint::Any)
                && f.operation.as_deref().is_none_or(|o| Some(o) == operation)
        })?;
        let fault = &mut self.queue[index];
        if fault.after > 0 {
            fault.after -= 1;
            return None;
        }
        let kind = fault.kind.clone();
        fault.count -= 1;
        if fault.count == 0 {
            self.queue.remove(index);
        }
        self.served += 1;
        Some(kind)
    }
}
