//! Appointments (create, move, reassign, cancel, confirm) and the calendar, as a table or
//! as an iCalendar document.

use managers::appointments::{Appointments, Outcome};
use protocol::Listing;
use protocol::calls::{
    AppointmentCancel, AppointmentConfirm, AppointmentCreate, AppointmentMove, AppointmentReassign,
    Calendar, CalendarEntry, CalendarIcs, IcsText,
};

use super::{Handled, Parts, Refusal, in_parts, local_date};
use crate::context::Context;

fn days(days: u32) -> Handled<i64> {
    if (1..=366).contains(&days) {
        Ok(i64::from(days))
    } else {
        Err(Refusal::bad(format!(
            "a calendar covers 1 to 366 days, not {days}"
        )))
    }
}

/// An edit's outcome, pushed at once; the technicians concerned are told (the change was
/// journalled in the edit's transaction).
async fn queued(context: &Context, outcome: Outcome) -> Handled<Outcome> {
    context.nudge_push();
    context.alerting.change_notices().await;
    Ok(outcome)
}

pub async fn create(context: &Context, r: AppointmentCreate) -> Handled<Outcome> {
    let outcome = Appointments::new(&context.store, &context.config)
        .create(
            &r.client,
            &r.technician,
            r.piano.as_deref(),
            &r.start,
            r.duration_minutes,
            &r.title,
            r.notes,
        )
        .await?;
    queued(context, outcome).await
}

pub async fn reschedule(context: &Context, r: AppointmentMove) -> Handled<Outcome> {
    let outcome = Appointments::new(&context.store, &context.config)
        .reschedule(&r.id, &r.start, r.duration_minutes)
        .await?;
    queued(context, outcome).await
}

pub async fn reassign(context: &Context, r: AppointmentReassign) -> Handled<Outcome> {
    let outcome = Appointments::new(&context.store, &context.config)
        .reassign(&r.id, &r.technician)
        .await?;
    queued(context, outcome).await
}

pub async fn cancel(context: &Context, r: AppointmentCancel) -> Handled<Outcome> {
    let outcome = Appointments::new(&context.store, &context.config)
        .cancel(&r.id)
        .await?;
    queued(context, outcome).await
}

pub async fn confirm(context: &Context, r: AppointmentConfirm) -> Handled<Outcome> {
    let outcome = Appointments::new(&context.store, &context.config)
        .confirm(&r.id)
        .await?;
    queued(context, outcome).await
}

pub async fn calendar(
    context: &Context,
    r: Calendar,
    parts: &mut Parts<'_>,
) -> Handled<Vec<CalendarEntry>> {
    let from = local_date(context, "--from", r.from.as_deref())?;
    let rows = Appointments::new(&context.store, &context.config)
        .calendar(r.technician.as_deref(), from, days(r.days)?)
        .await?;
    let entries = rows
        .into_iter()
        .map(|(local, appointment)| CalendarEntry { local, appointment })
        .collect();
    in_parts::<Calendar, _>(parts, entries, |part| part).await
}

/// The document in pieces: the header, the events a part at a time, the footer.
pub async fn ics(context: &Context, r: CalendarIcs, parts: &mut Parts<'_>) -> Handled<IcsText> {
    let from = local_date(context, "--from", r.from.as_deref())?;
    let rows = Appointments::new(&context.store, &context.config)
        .calendar(r.technician.as_deref(), from, days(r.days)?)
        .await?;
    let technician = r.technician.as_deref();
    parts
        .send::<CalendarIcs>(IcsText {
            text: managers::appointments::ics_header(technician),
        })
        .await?;
    let mut rows = rows.into_iter().map(|(_, a)| a);
    loop {
        let part: Vec<_> = rows.by_ref().take(CalendarIcs::PART).collect();
        if part.is_empty() {
            break;
        }
        parts
            .send::<CalendarIcs>(IcsText {
                text: managers::appointments::ics_events(&part),
            })
            .await?;
    }
    Ok(IcsText {
        text: managers::appointments::ics_footer(),
    })
}
