//! The handlers of the typed verbs ([`protocol::Call`]), one module per family. The
//! dispatch below is a `match` without a wildcard: a verb added to `protocol` does not
//! compile until it is handled here.
//!
//! Every handler returns its verb's own answer type or a [`Refusal`]; writes go through the
//! managers or the store (each in one transaction) and nudge the push when they queued an
//! edit. List verbs ([`protocol::Listing`]) send their answer in [`Parts`], so neither side
//! holds a whole long list.

pub(crate) mod alerts;
mod appointments;
pub mod auth;
mod invoices;
mod outbox;
mod records;
pub(crate) mod status;
pub(crate) mod stock;
mod web;

use protocol::calls::Call;
use protocol::{ErrorCode, Response, Verb, write_frame};
use tokio::io::AsyncWrite;

use crate::context::Context;

/// Why a request was not served: an error answer, or the connection lost while streaming.
#[derive(Debug)]
pub enum Refusal {
    Answer { code: ErrorCode, message: String },
    Lost(std::io::Error),
}

impl Refusal {
    pub fn bad(message: impl Into<String>) -> Refusal {
        Refusal::Answer {
            code: ErrorCode::BadRequest,
            message: message.into(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Refusal {
        Refusal::Answer {
            code: ErrorCode::Invalid,
            message: message.into(),
        }
    }

    pub fn internal(message: impl Into<String>) -> Refusal {
        Refusal::Answer {
            code: ErrorCode::Internal,
            message: message.into(),
        }
    }

    pub fn unavailable(message: impl Into<String>) -> Refusal {
        Refusal::Answer {
            code: ErrorCode::Unavailable,
            message: message.into(),
        }
    }
}

impl From<store::StoreError> for Refusal {
    fn from(e: store::StoreError) -> Refusal {
        match e {
            store::StoreError::Invalid(m) => Refusal::invalid(m),
            other => Refusal::internal(other.to_string()),
        }
    }
}

impl From<managers::ManagerError> for Refusal {
    fn from(e: managers::ManagerError) -> Refusal {
        match e {
            managers::ManagerError::Invalid(m) => Refusal::invalid(m),
            managers::ManagerError::Store(e) => e.into(),
        }
    }
}

pub type Handled<T> = Result<T, Refusal>;

/// Where a list verb writes the parts of its answer before returning the last one.
pub struct Parts<'a> {
    writer: &'a mut (dyn AsyncWrite + Unpin + Send),
}

impl<'a> Parts<'a> {
    pub fn new(writer: &'a mut (dyn AsyncWrite + Unpin + Send)) -> Parts<'a> {
        Parts { writer }
    }

    pub async fn send<V: Verb>(&mut self, part: V::Answer) -> Handled<()> {
        write_frame(&mut self.writer, &Response::Part(V::answer(part)))
            .await
            .map_err(Refusal::Lost)
    }
}

/// A local date as typed (`2026-03-09`), or today in the shop's zone.
pub fn local_date(context: &Context, what: &str, text: Option<&str>) -> Handled<jiff::civil::Date> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(jiff::Timestamp::now()
            .to_zoned(context.config.business.timezone.time_zone())
            .date()),
        Some(t) => t.parse().map_err(|e| {
            Refusal::bad(format!("{what}: `{t}` is not a date like 2026-03-09 ({e})"))
        }),
    }
}

/// Serves one verb; `Err` only when the connection was lost while streaming.
pub async fn serve(
    context: &Context,
    call: Call,
    parts: &mut Parts<'_>,
) -> Result<Response, std::io::Error> {
    let answer = dispatch(context, call, parts).await;
    match answer {
        Ok(response) => Ok(response),
        Err(Refusal::Answer { code, message }) => Ok(Response::Error { code, message }),
        Err(Refusal::Lost(e)) => Err(e),
    }
}

/// The response of a request that does not stream: its answer or its refusal.
pub fn respond(result: Handled<Response>) -> Response {
    match result {
        Ok(response) => response,
        Err(Refusal::Answer { code, message }) => Response::Error { code, message },
        Err(Refusal::Lost(e)) => Response::Error {
            code: ErrorCode::Internal,
            message: e.to_string(),
        },
    }
}

fn answer<V: Verb>(result: Handled<V::Answer>) -> Handled<Response> {
    result.map(|a| Response::Answer(V::answer(a)))
}

async fn dispatch(context: &Context, call: Call, parts: &mut Parts<'_>) -> Handled<Response> {
    use protocol::calls::*;
    match call {
        Call::Status(r) => answer::<Status>(status::status(context, r).await),
        Call::Runs(r) => answer::<Runs>(status::runs(context, r).await),
        Call::AlertsList(r) => answer::<AlertsList>(alerts::list(context, r, parts).await),
        Call::AlertShow(r) => answer::<AlertShow>(alerts::show(context, r).await),
        Call::AlertResolve(r) => answer::<AlertResolve>(alerts::resolve(context, r).await),
        Call::AlertArchive(r) => answer::<AlertArchive>(alerts::archive(context, r).await),
        Call::AlertsScan(r) => answer::<AlertsScan>(alerts::scan(context, r).await),
        Call::TestEmail(r) => answer::<TestEmail>(alerts::test_email(context, r).await),
        Call::InvoicesList(r) => answer::<InvoicesList>(invoices::list(context, r, parts).await),
        Call::InvoiceShow(r) => answer::<InvoiceShow>(invoices::show(context, r).await),
        Call::InvoiceCreate(r) => answer::<InvoiceCreate>(invoices::create(context, r).await),
        Call::InvoiceAddLine(r) => answer::<InvoiceAddLine>(invoices::add_line(context, r).await),
        Call::InvoiceSetStatus(r) => {
            answer::<InvoiceSetStatus>(invoices::set_status(context, r).await)
        }
        Call::AppointmentCreate(r) => {
            answer::<AppointmentCreate>(appointments::create(context, r).await)
        }
        Call::AppointmentMove(r) => {
            answer::<AppointmentMove>(appointments::reschedule(context, r).await)
        }
        Call::AppointmentReassign(r) => {
            answer::<AppointmentReassign>(appointments::reassign(context, r).await)
        }
        Call::AppointmentCancel(r) => {
            answer::<AppointmentCancel>(appointments::cancel(context, r).await)
        }
        Call::AppointmentConfirm(r) => {
            answer::<AppointmentConfirm>(appointments::confirm(context, r).await)
        }
        Call::Calendar(r) => answer::<Calendar>(appointments::calendar(context, r, parts).await),
        Call::CalendarIcs(r) => answer::<CalendarIcs>(appointments::ics(context, r, parts).await),
        Call::ClientCreate(r) => answer::<ClientCreate>(records::create_client(context, r).await),
        Call::ClientEdit(r) => answer::<ClientEdit>(records::edit_client(context, r).await),
        Call::PianoEdit(r) => answer::<PianoEdit>(records::edit_piano(context, r).await),
        Call::StockList(r) => answer::<StockList>(stock::list(context, r).await),
        Call::StockChange(r) => answer::<StockChange>(stock::change(context, r).await),
        Call::StockTransfer(r) => answer::<StockTransfer>(stock::transfer(context, r).await),
        Call::OutboxList(r) => answer::<OutboxList>(outbox::list(context, r, parts).await),
        Call::OutboxRetry(r) => answer::<OutboxRetry>(outbox::retry(context, r).await),
        Call::OutboxDiscard(r) => answer::<OutboxDiscard>(outbox::discard(context, r).await),
        Call::ConflictsList(r) => answer::<ConflictsList>(outbox::conflicts(context, r).await),
        Call::ConflictShow(r) => answer::<ConflictShow>(outbox::conflict(context, r).await),
        Call::ConflictResolve(r) => answer::<ConflictResolve>(outbox::resolve(context, r).await),
        Call::WebOpen(r) => answer::<WebOpen>(web::open(context, r).await),
        Call::WebInvite(r) => answer::<WebInvite>(web::invite(context, r).await),
    }
}

/// Sends `items` in parts of `V::PART` through `parts` and returns the last part: the
/// peer never reads a frame of more than one part, whatever the length of the list.
pub async fn in_parts<V, T>(
    parts: &mut Parts<'_>,
    items: Vec<T>,
    wrap: impl Fn(Vec<T>) -> V::Answer,
) -> Handled<Vec<T>>
where
    V: protocol::Listing,
{
    let mut items = items.into_iter();
    loop {
        let part: Vec<T> = items.by_ref().take(V::PART).collect();
        if items.len() == 0 {
            return Ok(part);
        }
        parts.send::<V>(wrap(part)).await?;
    }
}
