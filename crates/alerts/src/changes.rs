//! Appointment-change notices (RULES.md, "Appointment changes within the week"): who is told
//! what, and when.
//!
//! The changes themselves are journalled by triggers in the transaction that made them
//! (migration 0010), whoever made them: a pull, the sweep that confirms a deletion, an edit on
//! the Mac. The sweep here reads each journal line once and turns it into notices:
//!
//! - new, reassigned (both technicians: the new one gets "new", the old one "taken off your
//!   schedule"), rescheduled, cancelled and deleted appointments whose start (before or after
//!   the change) is between now and seven days from now; never MEMO or PERSONAL events, nor
//!   an unassigned side;
//! - a notice raised between 21:00 and 07:00 (shop time) waits until 07:05; changes to the
//!   same appointment while it waits collapse into one notice stating the final result (a
//!   reschedule then a cancellation is a cancellation; a new appointment cancelled before
//!   anyone heard of it is nothing);
//! - each e-mail is keyed on (appointment, technician, start, change) in the e-mail queue,
//!   forever: sweeping again, or after a restart, sends nothing twice.

use jiff::civil::Time;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan};
use store::appointment_changes::{JournalLine, PendingNotice};

/// What a technician is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    New,
    /// Taken off this technician's schedule (given to another).
    Reassigned,
    Rescheduled,
    Cancelled,
    Deleted,
}

impl Change {
    pub fn as_str(self) -> &'static str {
        match self {
            Change::New => "new",
            Change::Reassigned => "reassigned",
            Change::Rescheduled => "rescheduled",
            Change::Cancelled => "cancelled",
            Change::Deleted => "deleted",
        }
    }

    pub fn parse(text: &str) -> Option<Change> {
        [
            Change::New,
            Change::Reassigned,
            Change::Rescheduled,
            Change::Cancelled,
            Change::Deleted,
        ]
        .into_iter()
        .find(|c| c.as_str() == text)
    }
}

/// One technician's news from one journal line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct News {
    pub technician_id: String,
    pub change: Change,
    /// The start the notice is about (the new one; the old one for a cancellation, a
    /// deletion or a reassignment away).
    pub start_at: String,
    /// The start before a reschedule.
    pub previous_start_at: Option<String>,
}

fn cancelled(status: &str) -> bool {
    matches!(status, "CANCELED" | "CANCELLED")
}

fn assigned(technician: &str) -> bool {
    !technician.is_empty() && technician != "unassigned"
}

/// What a journal line tells each technician concerned (no window, no collapsing).
pub fn news_of(line: &JournalLine) -> Vec<News> {
    if matches!(line.event_type.as_str(), "MEMO" | "PERSONAL") {
        return Vec::new();
    }
    let news = |technician: &str, change, start: &str, previous: Option<&str>| News {
        technician_id: technician.to_owned(),
        change,
        start_at: start.to_owned(),
        previous_start_at: previous.map(str::to_owned),
    };
    let was_live = line.old_technician_id.is_some()
        && !line.old_deleted
        && !line.old_status.as_deref().is_some_and(cancelled);
    let is_live = !line.new_deleted && !cancelled(&line.new_status);
    let old_technician = line.old_technician_id.as_deref().unwrap_or("");
    let old_start = line.old_start_at.as_deref().unwrap_or(&line.new_start_at);
    let new_technician = line.new_technician_id.as_str();
    let mut out = Vec::new();
    match (was_live, is_live) {
        (false, false) => {}
        (false, true) => out.push(news(new_technician, Change::New, &line.new_start_at, None)),
        (true, false) => {
            let change = if line.new_deleted {
                Change::Deleted
            } else {
                Change::Cancelled
            };
            out.push(news(old_technician, change, old_start, None));
        }
        (true, true) if old_technician != new_technician => {
            out.push(news(old_technician, Change::Reassigned, old_start, None));
            out.push(news(new_technician, Change::New, &line.new_start_at, None));
        }
        (true, true) if old_start != line.new_start_at => out.push(news(
            new_technician,
            Change::Rescheduled,
            &line.new_start_at,
            Some(old_start),
        )),
        (true, true) => {}
    }
    out.retain(|n| assigned(&n.technician_id));
    out
}

/// Whether `start` (UTC text), or the start before a reschedule, is within the week ahead.
pub fn within_the_week(news: &News, now: Timestamp) -> bool {
    let end = now
        .checked_add(SignedDuration::from_hours(24 * 7))
        .unwrap_or(now);
    [Some(&news.start_at), news.previous_start_at.as_ref()]
        .into_iter()
        .flatten()
        .filter_map(|s| s.parse::<Timestamp>().ok())
        .any(|t| t >= now && t <= end)
}

/// When a notice raised at `now` may go: at once, or at 07:05 if raised between 21:00 and
/// 07:00 in the shop's zone.
pub fn due_at(now: Timestamp, tz: &TimeZone) -> Timestamp {
    let local = now.to_zoned(tz.clone());
    let hour = local.hour();
    if (7..21).contains(&hour) {
        return now;
    }
    let day = if hour >= 21 {
        local.date().tomorrow().unwrap_or(local.date())
    } else {
        local.date()
    };
    day.to_datetime(Time::constant(7, 5, 0, 0))
        .to_zoned(tz.clone())
        .map(|z| z.timestamp())
        .unwrap_or_else(|_| now.checked_add(1.hour()).unwrap_or(now))
}

/// The notice waiting for an appointment and technician after `news` arrives; `None` when
/// nothing is left to say.
pub fn collapse(
    waiting: Option<&PendingNotice>,
    news: &News,
    appointment_id: i64,
    due: Timestamp,
) -> Option<PendingNotice> {
    let notice = |change: Change, previous: Option<String>, due_at: String| PendingNotice {
        appointment_id,
        technician_id: news.technician_id.clone(),
        change: change.as_str().to_owned(),
        start_at: news.start_at.clone(),
        previous_start_at: previous,
        due_at,
    };
    let Some(waiting) = waiting else {
        return Some(notice(
            news.change,
            news.previous_start_at.clone(),
            store::time::utc_text(due),
        ));
    };
    // What the technician knew before the notice that waits: the start they had.
    let known_start = match Change::parse(&waiting.change) {
        Some(Change::New) => None,
        _ => Some(
            waiting
                .previous_start_at
                .clone()
                .unwrap_or_else(|| waiting.start_at.clone()),
        ),
    };
    let due_at = waiting.due_at.clone();
    let result =
        match (Change::parse(&waiting.change), news.change) {
            // Never heard of it, and now gone: nothing to say.
            (Some(Change::New), Change::Cancelled | Change::Deleted | Change::Reassigned) => None,
            (Some(Change::New), _) => Some(Change::New),
            // Taken away or cancelled, then given back: a move, if the start is not the one known.
            (
                Some(Change::Reassigned | Change::Cancelled | Change::Deleted),
                Change::New | Change::Rescheduled,
            ) => (known_start.as_deref() != Some(news.start_at.as_str()))
                .then_some(Change::Rescheduled),
            (_, Change::Rescheduled) => (known_start.as_deref() != Some(news.start_at.as_str()))
                .then_some(Change::Rescheduled),
            (_, change) => Some(change),
        };
    result.map(|change| {
        let previous = (change == Change::Rescheduled)
            .then(|| known_start.clone())
            .flatten();
        notice(change, previous, due_at)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn montreal() -> TimeZone {
        TimeZone::get("America/Montreal").unwrap()
    }

    fn line(old: Option<(&str, &str, &str, bool)>, new: (&str, &str, &str, bool)) -> JournalLine {
        JournalLine {
            id: 1,
            appointment_id: 7,
            event_type: "APPOINTMENT".into(),
            old_technician_id: old.map(|o| o.0.into()),
            new_technician_id: new.0.into(),
            old_start_at: old.map(|o| o.1.into()),
            new_start_at: new.1.into(),
            old_status: old.map(|o| o.2.into()),
            new_status: new.2.into(),
            old_deleted: old.is_some_and(|o| o.3),
            new_deleted: new.3,
        }
    }

    const T1: &str = "2026-12-08T14:00:00Z";
    const T2: &str = "2026-12-09T15:00:00Z";

    #[test]
    fn each_kind_of_change_tells_the_right_technicians() {
        let kinds = |l: &JournalLine| -> Vec<(String, &'static str)> {
            news_of(l)
                .into_iter()
                .map(|n| (n.technician_id, n.change.as_str()))
                .collect()
        };
        let a = ("usr_A", T1, "ACTIVE", false);
        assert_eq!(kinds(&line(None, a)), [("usr_A".into(), "new")]);
        assert_eq!(
            kinds(&line(Some(a), ("usr_B", T1, "ACTIVE", false))),
            [("usr_A".into(), "reassigned"), ("usr_B".into(), "new")]
        );
        assert_eq!(
            kinds(&line(Some(a), ("usr_A", T2, "ACTIVE", false))),
            [("usr_A".into(), "rescheduled")]
        );
        assert_eq!(
            kinds(&line(Some(a), ("usr_A", T1, "CANCELED", false))),
            [("usr_A".into(), "cancelled")]
        );
        assert_eq!(
            kinds(&line(Some(a), ("usr_A", T1, "ACTIVE", true))),
            [("usr_A".into(), "deleted")]
        );
        // Completed, or already cancelled and moved: nothing to tell.
        assert!(kinds(&line(Some(a), ("usr_A", T1, "COMPLETE", false))).is_empty());
        let gone = ("usr_A", T1, "CANCELED", false);
        assert!(kinds(&line(Some(gone), ("usr_A", T2, "CANCELED", false))).is_empty());
        // An unassigned side is nobody to tell; MEMO and PERSONAL are never news.
        assert_eq!(
            kinds(&line(Some(a), ("unassigned", T1, "ACTIVE", false))),
            [("usr_A".into(), "reassigned")]
        );
        let mut memo = line(None, a);
        memo.event_type = "MEMO".into();
        assert!(kinds(&memo).is_empty());
    }

    #[test]
    fn the_night_waits_for_five_past_seven() {
        let tz = montreal();
        let at = |s: &str| s.parse::<Timestamp>().unwrap();
        // 22:00 EST is 03:00Z; 07:05 EST the next morning is 12:05Z.
        assert_eq!(
            due_at(at("2026-12-08T03:00:00Z"), &tz),
            at("2026-12-08T12:05:00Z")
        );
        // 06:59 the same morning: 07:05 that morning.
        assert_eq!(
            due_at(at("2026-12-08T11:59:00Z"), &tz),
            at("2026-12-08T12:05:00Z")
        );
        // 07:00 and 20:59: at once.
        assert_eq!(
            due_at(at("2026-12-08T12:00:00Z"), &tz),
            at("2026-12-08T12:00:00Z")
        );
        assert_eq!(
            due_at(at("2026-12-09T01:59:00Z"), &tz),
            at("2026-12-09T01:59:00Z")
        );
    }

    #[test]
    fn changes_while_a_notice_waits_collapse_into_the_final_result() {
        let due = "2026-12-08T12:05:00Z".parse().unwrap();
        let news = |change, start: &str, previous: Option<&str>| News {
            technician_id: "usr_A".into(),
            change,
            start_at: start.into(),
            previous_start_at: previous.map(str::to_owned),
        };
        let moved = collapse(None, &news(Change::Rescheduled, T2, Some(T1)), 7, due).unwrap();
        assert_eq!(moved.previous_start_at.as_deref(), Some(T1));
        // A reschedule then a cancellation is a cancellation.
        let then = collapse(Some(&moved), &news(Change::Cancelled, T2, None), 7, due).unwrap();
        assert_eq!(then.change, "cancelled");
        // Moved back where it was: nothing to say.
        assert!(
            collapse(
                Some(&moved),
                &news(Change::Rescheduled, T1, Some(T2)),
                7,
                due
            )
            .is_none()
        );
        // New, then moved: still new, at the final time; new then cancelled: nothing.
        let new = collapse(None, &news(Change::New, T1, None), 7, due).unwrap();
        let new_moved =
            collapse(Some(&new), &news(Change::Rescheduled, T2, Some(T1)), 7, due).unwrap();
        assert_eq!(
            (new_moved.change.as_str(), new_moved.start_at.as_str()),
            ("new", T2)
        );
        assert!(collapse(Some(&new), &news(Change::Cancelled, T1, None), 7, due).is_none());
    }

    #[test]
    fn only_the_week_ahead_is_news() {
        let now: Timestamp = "2026-12-07T12:00:00Z".parse().unwrap();
        let news = |start: &str, previous: Option<&str>| News {
            technician_id: "usr_A".into(),
            change: Change::Rescheduled,
            start_at: start.into(),
            previous_start_at: previous.map(str::to_owned),
        };
        assert!(within_the_week(&news(T1, None), now));
        assert!(!within_the_week(&news("2026-12-20T12:00:00Z", None), now));
        assert!(!within_the_week(&news("2026-12-01T12:00:00Z", None), now));
        // Moved out of the week: the technician still needs to know.
        assert!(within_the_week(
            &news("2026-12-20T12:00:00Z", Some(T1)),
            now
        ));
    }
}
