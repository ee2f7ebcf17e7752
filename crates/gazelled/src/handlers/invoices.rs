//! Invoices: list, show, create, add a line, change the status (Québec taxes computed by
//! `managers::invoices`, in integer cents).

use managers::invoices::{Invoices, LineInput};
use protocol::calls::{
    InvoiceAddLine, InvoiceCreate, InvoiceSetStatus, InvoiceShow, InvoiceView, InvoicesList, Line,
    LineAdded,
};
use store::local::LocalInvoice;

use super::{Handled, Parts, in_parts, local_date};
use crate::context::Context;

fn input(line: Line) -> LineInput {
    LineInput {
        description: line.description,
        quantity_hundredths: line.quantity_hundredths,
        unit_price_cents: line.unit_price_cents,
        taxable: line.taxable,
        item_type: line.item_type.trim().to_ascii_uppercase(),
    }
}

async fn view(invoices: &Invoices<'_>, id: &str) -> Handled<InvoiceView> {
    let (invoice, lines) = invoices.show(id).await?;
    Ok(InvoiceView { invoice, lines })
}

pub async fn list(
    context: &Context,
    request: InvoicesList,
    parts: &mut Parts<'_>,
) -> Handled<Vec<LocalInvoice>> {
    let rows =
        store::local::invoices(context.store.reader(), request.limit.clamp(1, 10_000)).await?;
    in_parts::<InvoicesList, _>(parts, rows, |part| part).await
}

pub async fn show(context: &Context, request: InvoiceShow) -> Handled<InvoiceView> {
    view(&Invoices::new(&context.store, &context.config), &request.id).await
}

pub async fn create(context: &Context, request: InvoiceCreate) -> Handled<InvoiceView> {
    let invoices = Invoices::new(&context.store, &context.config);
    let due_on = match request.due_on.as_deref() {
        Some(d) => Some(local_date(context, "due date", Some(d))?),
        None => None,
    };
    let lines: Vec<LineInput> = request.lines.into_iter().map(input).collect();
    let id = invoices
        .create(
            &request.client,
            &lines,
            request.notes,
            due_on,
            request.assigned_to,
        )
        .await?;
    context.nudge_push();
    view(&invoices, &id.to_string()).await
}

pub async fn add_line(context: &Context, request: InvoiceAddLine) -> Handled<LineAdded> {
    let invoices = Invoices::new(&context.store, &context.config);
    let totals = invoices.add_line(&request.id, &input(request.line)).await?;
    context.nudge_push();
    Ok(LineAdded {
        totals,
        invoice: view(&invoices, &request.id).await?,
    })
}

pub async fn set_status(context: &Context, request: InvoiceSetStatus) -> Handled<InvoiceView> {
    let invoices = Invoices::new(&context.store, &context.config);
    invoices.set_status(&request.id, &request.status).await?;
    context.nudge_push();
    view(&invoices, &request.id).await
}
