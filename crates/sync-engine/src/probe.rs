//! Incremental passes over a window (events, timeline, invoices): probe, then read in full
//! only what differs from the store.
//!
//! Without an "updated since" filter, seeing the edits inside a window means looking at every
//! record of it. [`windows_to_read`] cuts the window into pieces sized from what the store
//! holds (about half a page each, so a few new records still fit), asks Gazelle for all of
//! them in one request with only ids and versions ([`api_client::probe`]), and compares:
//!
//! * events and invoices: a piece is read again if Gazelle lists an id the store lacks, an
//!   `updatedAt` that differs, or more records than fit in one page;
//! * timeline entries (no `updatedAt`): a piece is read again if its set of (id, occurredAt)
//!   differs or the probe did not reach its end; the read then runs newest first down to the
//!   oldest piece that differs. What a probe cannot see is an edit to the text of an entry
//!   that keeps its id and time: the nightly reconcile, a complete scan, brings those.
//!
//! With no upstream change the pass is that one request. An event the store holds well
//! inside the window (on a day that both readings of a `CoreDate` filter put in it) that no
//! piece lists is returned as *vanished*: the engine confirms it by id and tombstones it if it
//! is gone, so a deleted appointment leaves the mirror within one hourly run. The probe's
//! comparison never depends on which day Gazelle files an event under: a piece is dirty only
//! when Gazelle lists something the store lacks or holds differently.
//! If Gazelle refuses the probe document itself, the pass falls back to reading the whole
//! window, as it did before probes.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use api_client::ApiError;
use api_client::probe::{ProbeKind, ProbeWindow};
use jiff::civil::Date;
use jiff::{SignedDuration, Span, Timestamp};
use serde_json::{Map, Value, json};
use store::reads::{self, Version};
use store::time::{date_text, utc_text};

use crate::engine::{PassError, Stream, SyncEngine};

/// The variables of one full read (the stream's normal paged query).
pub(crate) type Read = Map<String, Value>;

/// What a probe found.
#[derive(Default)]
pub(crate) struct Window {
    /// The reads the pass must make: none when nothing changed.
    pub(crate) reads: Vec<Read>,
    /// Ids the store holds inside the window that Gazelle no longer lists there.
    pub(crate) vanished: Vec<String>,
}

impl Window {
    fn reads(reads: Vec<Read>) -> Window {
        Window {
            reads,
            vanished: Vec::new(),
        }
    }
}

impl SyncEngine {
    /// What an incremental pass of `stream` must read, and what vanished from its window.
    pub(crate) async fn windows_to_read(
        &self,
        stream: Stream,
        whole_window: &Read,
    ) -> Result<Window, PassError> {
        let page = self.client().options().page_size.max(2);
        // Records expected per piece: half a page leaves room for what was added upstream.
        let piece = (page / 2) as usize;
        let answer = match stream {
            Stream::Events => self.probe_events(page, piece).await,
            Stream::Invoices => self.probe_invoices(page, piece).await.map(Window::reads),
            Stream::Timeline => self.probe_timeline(page, piece).await.map(Window::reads),
            _ => return Ok(Window::reads(vec![whole_window.clone()])),
        };
        match answer {
            Ok(window) => {
                tracing::debug!(
                    stream = stream.name(),
                    reads = window.reads.len(),
                    vanished = window.vanished.len(),
                    "incremental probe"
                );
                Ok(window)
            }
            Err(PassError::Api(ApiError::GraphQl { messages, .. })) => {
                tracing::warn!(
                    stream = stream.name(),
                    errors = %messages.join("; "),
                    "Gazelle refused the probe: reading the whole window instead"
                );
                Ok(Window::reads(vec![whole_window.clone()]))
            }
            Err(e) => Err(e),
        }
    }

    async fn probe_events(&self, page: u32, piece: usize) -> Result<Window, PassError> {
        let settings = self.settings();
        let tz = &settings.timezone;
        let today = Timestamp::now().to_zoned(tz.clone()).date();
        let from = shift(today, -settings.event_window_days_back);
        let to = shift(today, settings.event_window_days_ahead);
        let start_of = |d: Date| {
            d.to_zoned(tz.clone())
                .map(|z| utc_text(z.timestamp()))
                .unwrap_or_default()
        };
        let local = reads::event_versions(
            self.store().reader(),
            &start_of(from),
            &start_of(shift(to, 1)),
        )
        .await?;
        let day_of = |v: &Version| {
            v.placed_at
                .parse::<Timestamp>()
                .ok()
                .map(|t| t.to_zoned(tz.clone()).date())
        };
        let pieces = pieces_of_days(from, Some(to), &per_day(&local, day_of), piece);
        let windows: Vec<Value> = pieces
            .iter()
            .map(|(a, b)| json!({"startOn": date_text(*a), "endOn": date_text(b.unwrap_or(to))}))
            .collect();
        let answers = self
            .client()
            .probe(ProbeKind::Events, page, &windows)
            .await?;
        let reads = dirty_by_version(&local, &answers)
            .map(|i| read_with("filters", windows[i].clone()))
            .collect();
        // A Montréal day d is UTC day d or d + 1: days `from` through `to - 1` are in the
        // window whichever day Gazelle's filter compares.
        let inside = (start_of(from), start_of(to));
        let vanished = vanished(&local, &answers, |placed| {
            placed >= inside.0.as_str() && placed < inside.1.as_str()
        });
        Ok(Window { reads, vanished })
    }

    async fn probe_invoices(&self, page: u32, piece: usize) -> Result<Vec<Read>, PassError> {
        let settings = self.settings();
        let today = Timestamp::now().to_zoned(settings.timezone.clone()).date();
        let from = shift(today, -settings.timeline_lookback_days);
        let local = reads::invoice_versions(self.store().reader(), &date_text(from)).await?;
        let day_of = |v: &Version| v.placed_at.parse::<Date>().ok();
        // The last piece is open-ended: invoices may be dated ahead.
        let pieces = pieces_of_days(from, None, &per_day(&local, day_of), piece);
        let windows: Vec<Value> = pieces
            .iter()
            .map(|(a, b)| match b {
                Some(b) => {
                    json!({"invoiceDateGet": date_text(*a), "invoiceDateLet": date_text(*b)})
                }
                None => json!({"invoiceDateGet": date_text(*a)}),
            })
            .collect();
        self.reads_by_version(ProbeKind::Invoices, page, &local, windows)
            .await
    }

    /// Probes `windows` (filter objects) and turns the ones that differ from `local` into
    /// reads with that filter.
    async fn reads_by_version(
        &self,
        kind: ProbeKind,
        page: u32,
        local: &[Version],
        windows: Vec<Value>,
    ) -> Result<Vec<Read>, PassError> {
        let answers = self.client().probe(kind, page, &windows).await?;
        Ok(dirty_by_version(local, &answers)
            .map(|i| read_with("filters", windows[i].clone()))
            .collect())
    }

    async fn probe_timeline(&self, page: u32, piece: usize) -> Result<Vec<Read>, PassError> {
        let settings = self.settings();
        let since = Timestamp::now()
            .saturating_sub(SignedDuration::from_hours(
                24 * settings.timeline_lookback_days,
            ))
            .unwrap_or(Timestamp::UNIX_EPOCH);
        // Whole seconds, as stored: the bounds and the stored times compare exactly.
        let since: Timestamp = utc_text(since).parse().unwrap_or(since);
        let local: Vec<(Timestamp, String)> =
            reads::timeline_versions(self.store().reader(), &utc_text(since))
                .await?
                .into_iter()
                .filter_map(|v| Some((v.placed_at.parse().ok()?, v.external_id)))
                .collect();
        let bounds = timeline_bounds(since, &local, piece);
        let windows: Vec<Value> = bounds.iter().map(|b| json!(utc_text(*b))).collect();
        let answers = self
            .client()
            .probe(ProbeKind::Timeline, page, &windows)
            .await?;
        Ok(oldest_dirty_bound(&bounds, &local, &answers)
            .map(|bound| read_with("occurredAtGet", json!(utc_text(bound))))
            .into_iter()
            .collect())
    }
}

/// Stored ids placed `inside` the window that no answer lists; none when an answer did not
/// list its whole piece (`more`), since absence then proves nothing.
fn vanished(
    local: &[Version],
    answers: &[ProbeWindow],
    inside: impl Fn(&str) -> bool,
) -> Vec<String> {
    if answers.iter().any(|a| a.more) {
        return Vec::new();
    }
    let listed: HashSet<&str> = answers
        .iter()
        .flat_map(|a| a.nodes.iter().map(|n| n.id.as_str()))
        .collect();
    local
        .iter()
        .filter(|v| inside(&v.placed_at) && !listed.contains(v.external_id.as_str()))
        .map(|v| v.external_id.clone())
        .collect()
}

fn shift(date: Date, days: i64) -> Date {
    date.checked_add(Span::new().days(days)).unwrap_or(date)
}

fn read_with(key: &str, value: Value) -> Read {
    let mut read = Map::new();
    read.insert(key.to_owned(), value);
    read
}

fn per_day(local: &[Version], day_of: impl Fn(&Version) -> Option<Date>) -> BTreeMap<Date, usize> {
    let mut days = BTreeMap::new();
    for version in local {
        if let Some(day) = day_of(version) {
            *days.entry(day).or_default() += 1;
        }
    }
    days
}

/// Consecutive runs of days from `from` through `to` (or through the last day the store
/// knows of, the final run then open-ended: `None`), each holding at most `piece` stored
/// records unless one day alone holds more.
fn pieces_of_days(
    from: Date,
    to: Option<Date>,
    per_day: &BTreeMap<Date, usize>,
    piece: usize,
) -> Vec<(Date, Option<Date>)> {
    let mut pieces = Vec::new();
    let mut start = from;
    let mut held = 0;
    for (&day, &count) in per_day.range(from..) {
        if to.is_some_and(|to| day > to) {
            break;
        }
        if held > 0 && held + count > piece {
            pieces.push((start, Some(shift(day, -1))));
            start = day;
            held = 0;
        }
        held += count;
    }
    pieces.push((start, to));
    pieces
}

/// Windows (by index) whose answer lists an id the store lacks or a different `updatedAt`,
/// or did not fit in one page.
fn dirty_by_version<'a>(
    local: &[Version],
    answers: &'a [ProbeWindow],
) -> impl Iterator<Item = usize> + 'a {
    let stored: HashMap<String, Option<Timestamp>> = local
        .iter()
        .map(|v| {
            let updated = v.updated_at.as_deref().and_then(|u| u.parse().ok());
            (v.external_id.clone(), updated)
        })
        .collect();
    answers.iter().enumerate().filter_map(move |(i, answer)| {
        let differs = answer.more
            || answer.nodes.iter().any(|n| {
                stored
                    .get(&n.id)
                    .is_none_or(|u| *u != n.updated_at.map(whole_seconds))
            });
        differs.then_some(i)
    })
}

/// As stored: whole seconds.
fn whole_seconds(t: Timestamp) -> Timestamp {
    Timestamp::from_second(t.as_second()).unwrap_or(t)
}

/// The lower bounds of the timeline's pieces: `since`, then the time of every `piece`-th
/// stored entry (strictly increasing).
fn timeline_bounds(
    since: Timestamp,
    local: &[(Timestamp, String)],
    piece: usize,
) -> Vec<Timestamp> {
    let mut bounds = vec![since];
    for chunk in local.chunks(piece.max(1)).skip(1) {
        let at = chunk[0].0;
        if bounds.last().is_some_and(|last| at > *last) {
            bounds.push(at);
        }
    }
    bounds
}

/// The lower bound of the oldest timeline piece that differs from the store, if any.
///
/// Window `i` is "the oldest entries since `bounds[i]`"; it covers its piece when it reaches
/// an entry at or after `bounds[i + 1]` or holds every entry since its bound.
fn oldest_dirty_bound(
    bounds: &[Timestamp],
    local: &[(Timestamp, String)],
    answers: &[ProbeWindow],
) -> Option<Timestamp> {
    for (i, answer) in answers.iter().enumerate() {
        let (low, high) = (bounds[i], bounds.get(i + 1).copied());
        let inside = |t: Timestamp| t >= low && high.is_none_or(|h| t < h);
        let reached_end = !answer.more
            || high.is_some_and(|h| {
                answer
                    .nodes
                    .iter()
                    .any(|n| n.occurred_at.is_some_and(|t| t >= h))
            });
        let remote: Option<BTreeSet<(Timestamp, &str)>> = answer
            .nodes
            .iter()
            .filter(|n| n.occurred_at.is_none_or(|t| inside(whole_seconds(t))))
            .map(|n| n.occurred_at.map(|t| (whole_seconds(t), n.id.as_str())))
            .collect();
        let stored: BTreeSet<(Timestamp, &str)> = local
            .iter()
            .filter(|(t, _)| inside(*t))
            .map(|(t, id)| (*t, id.as_str()))
            .collect();
        if !reached_end || remote.as_ref() != Some(&stored) {
            return Some(low);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use api_client::probe::ProbeNode;
    use jiff::civil::date;

    fn node(id: &str, occurred: &str) -> ProbeNode {
        ProbeNode {
            id: id.into(),
            updated_at: None,
            occurred_at: Some(occurred.parse().unwrap()),
        }
    }

    #[test]
    fn days_are_cut_into_pieces_of_about_half_a_page() {
        let days: BTreeMap<Date, usize> = [
            (date(2026, 1, 1), 3),
            (date(2026, 1, 2), 3),
            (date(2026, 1, 3), 9),
            (date(2026, 1, 5), 1),
        ]
        .into();
        let pieces = pieces_of_days(date(2026, 1, 1), Some(date(2026, 1, 10)), &days, 5);
        assert_eq!(
            pieces,
            vec![
                (date(2026, 1, 1), Some(date(2026, 1, 1))),
                (date(2026, 1, 2), Some(date(2026, 1, 2))),
                (date(2026, 1, 3), Some(date(2026, 1, 4))),
                (date(2026, 1, 5), Some(date(2026, 1, 10))),
            ]
        );
        // Nothing stored: one piece, open-ended when asked.
        assert_eq!(
            pieces_of_days(date(2026, 1, 1), None, &BTreeMap::new(), 5),
            vec![(date(2026, 1, 1), None)]
        );
    }

    #[test]
    fn a_version_change_an_unknown_id_or_an_overfull_window_is_dirty() {
        let local = vec![Version {
            external_id: "evt_a".into(),
            placed_at: "2026-01-01T15:00:00Z".into(),
            updated_at: Some("2026-01-01T10:00:00Z".into()),
        }];
        let same = ProbeNode {
            id: "evt_a".into(),
            updated_at: Some("2026-01-01T10:00:00.400Z".parse().unwrap()),
            occurred_at: None,
        };
        let edited = ProbeNode {
            updated_at: Some("2026-01-02T10:00:00Z".parse().unwrap()),
            ..same.clone()
        };
        let new = ProbeNode {
            id: "evt_b".into(),
            ..same.clone()
        };
        let answers = vec![
            ProbeWindow {
                nodes: vec![same.clone()],
                more: false,
            },
            ProbeWindow {
                nodes: vec![edited],
                more: false,
            },
            ProbeWindow {
                nodes: vec![new],
                more: false,
            },
            ProbeWindow {
                nodes: vec![same],
                more: true,
            },
            ProbeWindow {
                nodes: vec![],
                more: false,
            },
        ];
        assert_eq!(
            dirty_by_version(&local, &answers).collect::<Vec<_>>(),
            vec![1, 2, 3]
        );
    }

    #[test]
    fn the_timeline_reads_from_the_oldest_piece_that_differs() {
        let t = |s: &str| s.parse::<Timestamp>().unwrap();
        let since = t("2026-01-01T00:00:00Z");
        let local: Vec<(Timestamp, String)> = ["01", "02", "03", "04", "05", "06"]
            .iter()
            .map(|d| (t(&format!("2026-01-{d}T12:00:00Z")), format!("tme_{d}")))
            .collect();
        let bounds = timeline_bounds(since, &local, 2);
        assert_eq!(
            bounds,
            vec![since, t("2026-01-03T12:00:00Z"), t("2026-01-05T12:00:00Z")]
        );
        let window = |days: &[&str], more: bool| ProbeWindow {
            nodes: days
                .iter()
                .map(|d| node(&format!("tme_{d}"), &format!("2026-01-{d}T12:00:00Z")))
                .collect(),
            more,
        };
        // Unchanged: each window reaches into the next piece.
        let same = vec![
            window(&["01", "02", "03"], true),
            window(&["03", "04", "05"], true),
            window(&["05", "06"], false),
        ];
        assert_eq!(oldest_dirty_bound(&bounds, &local, &same), None);
        // A late note on the 4th: read from the second piece on.
        let mut late = same.clone();
        late[1] = ProbeWindow {
            nodes: vec![
                node("tme_03", "2026-01-03T12:00:00Z"),
                node("tme_late", "2026-01-04T08:00:00Z"),
                node("tme_04", "2026-01-04T12:00:00Z"),
            ],
            more: true,
        };
        assert_eq!(oldest_dirty_bound(&bounds, &local, &late), Some(bounds[1]));
        // A deleted note on the 1st and one added the same day: the ids differ.
        let mut swapped = same.clone();
        swapped[0].nodes[0] = node("tme_other", "2026-01-01T12:00:00Z");
        assert_eq!(oldest_dirty_bound(&bounds, &local, &swapped), Some(since));
        // A window that stops short of the next piece did not see all of its own.
        let mut short = same;
        short[0] = window(&["01", "02"], true);
        assert_eq!(oldest_dirty_bound(&bounds, &local, &short), Some(since));
    }
}
