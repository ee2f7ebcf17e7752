//! The simulated account and its root query fields.
//!
//! Paging follows Relay as Gazelle serves it: `first / after`, `nodes`, `edges { node cursor }`,
//! `pageInfo`, `totalCount`. Cursors are opaque. What they mean is one of the API's unknowns
//! ([`Behaviour`]): with [`Cursors::Key`] they carry the sort, the last row's sort key and its
//! id, so a page resumes correctly even when rows were inserted or deleted since the previous
//! one; with [`Cursors::Offset`] they are graphql-ruby's default, a base64 position that
//! shifts when rows ahead of it come or go. Filters and sorts the simulator does not
//! implement are refused with a GraphQL error rather than ignored, so a client can never
//! believe a filter applied when it did not.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Map, Value, json};

use crate::dataset::Rng;
use crate::model::*;

/// Largest page the simulator serves; a larger `first` is clamped, as graphql-ruby does.
pub const MAX_PAGE_SIZE: usize = 1000;
/// Page size when `first` is absent.
pub const DEFAULT_PAGE_SIZE: usize = 100;

/// What a saved cursor means: undocumented by Gazelle (API.md, "Connections and pagination").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Cursors {
    /// The last row's sort key and id: stable across inserts and deletions.
    #[default]
    Key,
    /// graphql-ruby's default: the row's position in the listing, base64. A row inserted or
    /// deleted ahead of it shifts every later row.
    Offset,
}

/// Which day a `CoreDate` filter compares: undocumented by Gazelle (API.md, "Identifiers,
/// dates, money").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DateFilters {
    /// The account's day (America/Montreal).
    #[default]
    Local,
    /// The UTC day of the timestamp: an appointment at 20:30 in Montréal is on the next day.
    Utc,
}

/// The simulator's answer to each question the API documentation leaves open. The product
/// must be right under every combination; `make test` runs the important suites under the
/// hostile one too ([`Behaviour::hostile`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Behaviour {
    pub cursors: Cursors,
    pub date_filters: DateFilters,
}

impl Behaviour {
    /// Offset cursors and UTC date filters: the combination least kind to a client.
    pub fn hostile() -> Behaviour {
        Behaviour {
            cursors: Cursors::Offset,
            date_filters: DateFilters::Utc,
        }
    }

    /// From `GAZELLE_SIM_CURSORS` (`key`|`offset`) and `GAZELLE_SIM_DATE_FILTERS`
    /// (`local`|`utc`): how `make test` runs the in-process simulators of the suites in
    /// hostile mode. Unset variables keep the defaults; an unknown value is an error.
    pub fn from_env() -> Result<Behaviour, String> {
        let mut behaviour = Behaviour::default();
        if let Ok(v) = std::env::var("GAZELLE_SIM_CURSORS") {
            behaviour.cursors = v.parse()?;
        }
        if let Ok(v) = std::env::var("GAZELLE_SIM_DATE_FILTERS") {
            behaviour.date_filters = v.parse()?;
        }
        Ok(behaviour)
    }
}

impl std::str::FromStr for Cursors {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "key" => Ok(Cursors::Key),
            "offset" => Ok(Cursors::Offset),
            other => Err(format!("cursors: `{other}` is neither `key` nor `offset`")),
        }
    }
}

impl std::str::FromStr for DateFilters {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "local" => Ok(DateFilters::Local),
            "utc" => Ok(DateFilters::Utc),
            other => Err(format!(
                "date filters: `{other}` is neither `local` nor `utc`"
            )),
        }
    }
}

/// The whole simulated account.
#[derive(Debug, Clone)]
pub struct World {
    /// How the API's undocumented behaviours are answered.
    pub behaviour: Behaviour,
    /// The data set's "now" when generated.
    pub anchor: Timestamp,
    /// Added to the real clock: tests move time forward with the control API.
    pub clock_offset: SignedDuration,
    pub users: Table<User>,
    pub clients: Table<Client>,
    pub contacts: Table<Contact>,
    pub pianos: Table<Piano>,
    pub events: Table<Event>,
    pub timeline: Table<TimelineEntry>,
    pub invoices: Table<Invoice>,
    pub catalogue: Table<CatalogueItem>,
    pub groups: Table<CatalogueGroup>,
    pub next_invoice_number: i64,
    /// Ids of records created through the API, by the id the client supplied (idempotent
    /// `createClient(id:)`/`createInvoice(id:)`).
    pub rng: Rng,
    /// Bumped by every change; keys the totalCount cache.
    pub version: u64,
    count_cache: HashMap<String, (u64, usize)>,
}

/// A root field's failure, reported in `errors` with the field's path.
pub type FieldResult = Result<Value, String>;

impl World {
    pub fn new(anchor: Timestamp, seed: u64) -> World {
        World {
            behaviour: Behaviour::default(),
            anchor,
            clock_offset: SignedDuration::ZERO,
            users: Table::default(),
            clients: Table::default(),
            contacts: Table::default(),
            pianos: Table::default(),
            events: Table::default(),
            timeline: Table::default(),
            invoices: Table::default(),
            catalogue: Table::default(),
            groups: Table::default(),
            next_invoice_number: 1000,
            rng: Rng::new(seed.wrapping_add(0xC0FFEE)),
            version: 0,
            count_cache: HashMap::new(),
        }
    }

    /// The simulated current instant.
    pub fn now(&self) -> Timestamp {
        Timestamp::now()
            .checked_add(self.clock_offset)
            .unwrap_or_else(|_| Timestamp::now())
    }

    /// The zone whose days `CoreDate` filters compare ([`DateFilters`]).
    fn filter_zone(&self) -> TimeZone {
        match self.behaviour.date_filters {
            DateFilters::Local => montreal(),
            DateFilters::Utc => TimeZone::UTC,
        }
    }

    /// Records a change (invalidates cached counts).
    pub fn touch(&mut self) {
        self.version += 1;
    }

    /// Any record by id, as GraphQL sees it. The prefix says the kind.
    pub fn record(&self, id: &str) -> Option<Map<String, Value>> {
        let kind = id.split('_').next().unwrap_or_default();
        match kind {
            "usr" => self.users.get(id).map(Record::to_json),
            "cli" => self.clients.get(id).map(|c| {
                let mut json = c.to_json();
                json.insert("allContacts".into(), self.contacts_of(id));
                json
            }),
            "con" => self.contacts.get(id).map(Record::to_json),
            "ins" => self.pianos.get(id).map(Record::to_json),
            "evt" => self.events.get(id).map(Record::to_json),
            "tme" => self.timeline.get(id).map(Record::to_json),
            "inv" => self.invoices.get(id).map(Record::to_json),
            "mit" => self.catalogue.get(id).map(Record::to_json),
            "msg" => self.groups.get(id).map(Record::to_json),
            // A contact's e-mail address and phone number live in the contact.
            "cem" | "cph" => {
                let contact = format!("con_{}", id.get(4..).unwrap_or_default());
                let key = if kind == "cem" {
                    "defaultEmail"
                } else {
                    "defaultPhone"
                };
                self.contacts
                    .get(&contact)
                    .map(Record::to_json)
                    .and_then(|j| j.get(key).and_then(Value::as_object).cloned())
            }
            _ => None,
        }
    }

    /// `client.allContacts`: the client's contacts, oldest first; archived ones are listed
    /// only with `includeArchived: true` (the executor reads the `$archived` mark).
    fn contacts_of(&self, client: &str) -> Value {
        let from = (client.to_owned(), String::new());
        let contacts: Vec<Value> = self
            .contacts
            .ordered_after(Some(&from), false)
            .take_while(|c| c.client_id == client)
            .map(|c| json!({"$ref": c.id, "$archived": c.archived}))
            .collect();
        json!({ "$list": contacts })
    }

    /// A stable digest of the whole account, for determinism checks.
    pub fn fingerprint(&self) -> u64 {
        let mut ids: Vec<String> = Vec::new();
        ids.extend(self.users.values().map(|r| r.id.clone()));
        ids.extend(self.clients.values().map(|r| r.id.clone()));
        ids.extend(self.contacts.values().map(|r| r.id.clone()));
        ids.extend(self.pianos.values().map(|r| r.id.clone()));
        ids.extend(self.events.values().map(|r| r.id.clone()));
        ids.extend(self.timeline.values().map(|r| r.id.clone()));
        ids.extend(self.invoices.values().map(|r| r.id.clone()));
        ids.sort();
        // FNV-1a over every record's JSON, in id order.
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for id in ids {
            let text = serde_json::to_string(&self.record(&id)).unwrap_or_default();
            for byte in text.bytes() {
                hash ^= u64::from(byte);
                hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
            }
        }
        hash
    }

    /// Resolves a root query field.
    pub fn query(&mut self, field: &str, args: &Map<String, Value>) -> FieldResult {
        match field {
            "allUsers" => Ok(refs(sorted_ids(self.users.values().map(|u| u.id.as_str())))),
            "allMasterServiceItems" => Ok(refs(
                self.catalogue
                    .ordered_after(None, false)
                    .map(|i| i.id.as_str()),
            )),
            "allMasterServiceGroups" => Ok(refs(
                self.groups
                    .ordered_after(None, false)
                    .map(|g| g.id.as_str()),
            )),
            "allClients" => self.all_clients(args),
            "allPianos" => self.all_pianos(args),
            "allEventsBatched" => self.all_events(args, true),
            "allEvents" => self.all_events(args, false),
            "allTimelineEntries" => self.all_timeline(args),
            "allInvoices" => self.all_invoices(args),
            "client" => Ok(self.one(args, &["id", "clientId"], |w, id| w.clients.contains(id))),
            "piano" => Ok(self.one(args, &["id", "pianoId"], |w, id| w.pianos.contains(id))),
            "contact" => Ok(self.one(args, &["id"], |w, id| w.contacts.contains(id))),
            "event" => Ok(self.one(args, &["eventId"], |w, id| w.events.contains(id))),
            "invoice" => Ok(self.one(args, &["id"], |w, id| w.invoices.contains(id))),
            "user" => Ok(self.one(args, &["id"], |w, id| w.users.contains(id))),
            other => Err(format!(
                "the simulator does not implement the root field `{other}`"
            )),
        }
    }

    fn one(
        &self,
        args: &Map<String, Value>,
        keys: &[&str],
        exists: impl Fn(&World, &str) -> bool,
    ) -> Value {
        keys.iter()
            .find_map(|k| args.get(*k).and_then(Value::as_str))
            .filter(|id| exists(self, id))
            .map_or(Value::Null, |id| json!({ "$ref": id }))
    }

    fn all_clients(&mut self, args: &Map<String, Value>) -> FieldResult {
        let cached = self.cached_count("allClients", args);
        let f = Filters::read(
            args,
            &["status", "clientType", "search", "createdGet", "createdLet"],
        )?;
        let search = f.text("search").map(fold);
        let (created_get, created_let) = (f.date("createdGet")?, f.date("createdLet")?);
        let contacts = &self.contacts;
        let tz = self.filter_zone();
        let keep = |c: &Client| {
            f.one_of("status", &c.status)
                && c.client_type
                    .as_deref()
                    .is_none_or(|t| f.one_of("clientType", t))
                && within(local_date(c.created_at, &tz), created_get, created_let)
                && search.as_ref().is_none_or(|s| {
                    let contact = c
                        .default_contact_id
                        .as_deref()
                        .and_then(|id| contacts.get(id));
                    let name = format!(
                        "{} {} {}",
                        c.company_name.as_deref().unwrap_or_default(),
                        contact
                            .and_then(|k| k.first_name.as_deref())
                            .unwrap_or_default(),
                        contact
                            .and_then(|k| k.last_name.as_deref())
                            .unwrap_or_default()
                    );
                    fold(&name).contains(s.as_str())
                })
        };
        let sort = sort_of(
            args,
            &[
                "CREATED_AT_ASC",
                "CREATED_AT_DESC",
                "CLIENT_NAME_ASC",
                "CLIENT_NAME_DESC",
            ],
        )?;
        let name_key = |c: &Client| {
            let contact = c
                .default_contact_id
                .as_deref()
                .and_then(|id| self.contacts.get(id));
            fold(&c.company_name.clone().unwrap_or_else(|| {
                format!(
                    "{} {}",
                    contact
                        .and_then(|k| k.last_name.as_deref())
                        .unwrap_or_default(),
                    contact
                        .and_then(|k| k.first_name.as_deref())
                        .unwrap_or_default()
                )
            }))
        };
        let page = match sort.as_deref() {
            None | Some("CREATED_AT_ASC") => Paging::indexed(
                self.behaviour.cursors,
                &self.clients,
                args,
                "CREATED_AT_ASC",
                false,
                keep,
                cached,
            )?,
            Some("CREATED_AT_DESC") => Paging::indexed(
                self.behaviour.cursors,
                &self.clients,
                args,
                "CREATED_AT_DESC",
                true,
                keep,
                cached,
            )?,
            Some(s) => Paging::sorted(
                self.behaviour.cursors,
                self.clients.values().filter(|c| keep(c)),
                args,
                s,
                name_key,
                s.ends_with("DESC"),
            )?,
        };
        Ok(self.connection(page, "allClients", args))
    }

    fn all_pianos(&mut self, args: &Map<String, Value>) -> FieldResult {
        let cached = self.cached_count("allPianos", args);
        let f = Filters::read(args, &["clientId", "status", "type", "make"])?;
        let keep = |p: &Piano| {
            f.text("clientId").is_none_or(|c| c == p.client_id)
                && f.one_of("status", &p.status)
                && f.one_of("type", &p.piano_type)
                && f.one_of("make", p.make.as_deref().unwrap_or_default())
        };
        let sort = sort_of(
            args,
            &["CREATED_AT_ASC", "CREATED_AT_DESC", "MAKE_ASC", "MAKE_DESC"],
        )?;
        let page = match sort.as_deref() {
            None | Some("CREATED_AT_ASC") => Paging::indexed(
                self.behaviour.cursors,
                &self.pianos,
                args,
                "CREATED_AT_ASC",
                false,
                keep,
                cached,
            )?,
            Some("CREATED_AT_DESC") => Paging::indexed(
                self.behaviour.cursors,
                &self.pianos,
                args,
                "CREATED_AT_DESC",
                true,
                keep,
                cached,
            )?,
            Some(s) => Paging::sorted(
                self.behaviour.cursors,
                self.pianos.values().filter(|p| keep(p)),
                args,
                s,
                |p: &Piano| fold(p.make.as_deref().unwrap_or_default()),
                s.ends_with("DESC"),
            )?,
        };
        Ok(self.connection(page, "allPianos", args))
    }

    fn all_events(&mut self, args: &Map<String, Value>, paged: bool) -> FieldResult {
        let cached = self.cached_count("allEventsBatched", args);
        let f = Filters::read(
            args,
            &[
                "startOn", "endOn", "dateGet", "dateLet", "clientId", "userId", "pianoId", "type",
                "status",
            ],
        )?;
        let from = f.date("startOn")?.max(f.date("dateGet")?);
        let to = match (f.date("endOn")?, f.date("dateLet")?) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let tz = self.filter_zone();
        let keep = |e: &Event| {
            within(local_date(e.start, &tz), from, to)
                && f.one_of("type", &e.event_type)
                && f.one_of("status", &e.status)
                && f.one_of("clientId", e.client_id.as_deref().unwrap_or_default())
                && f.one_of("userId", e.user_id.as_deref().unwrap_or_default())
                && (f.list("pianoId").is_none()
                    || e.piano_ids.iter().any(|p| f.one_of("pianoId", p)))
        };
        let descending = matches!(
            sort_of(args, &["START_ASC", "START_DESC"])?.as_deref(),
            Some("START_DESC")
        );
        if !paged {
            return Ok(refs(
                self.events
                    .ordered_after(None, descending)
                    .filter(|e| keep(e))
                    .map(|e| e.id.as_str()),
            ));
        }
        let sort = if descending {
            "START_DESC"
        } else {
            "START_ASC"
        };
        let page = Paging::indexed(
            self.behaviour.cursors,
            &self.events,
            args,
            sort,
            descending,
            keep,
            cached,
        )?;
        Ok(self.connection(page, "allEventsBatched", args))
    }

    fn all_timeline(&mut self, args: &Map<String, Value>) -> FieldResult {
        let cached = self.cached_count("allTimelineEntries", args);
        let types = list_arg(args, "types");
        let search = args.get("search").and_then(Value::as_str).map(fold);
        let since = match args.get("occurredAtGet").and_then(Value::as_str) {
            Some(text) => Some(
                text.parse::<Timestamp>()
                    .map_err(|e| format!("occurredAtGet: `{text}` is not a CoreDateTime ({e})"))?,
            ),
            None => None,
        };
        let arg = |name: &str| args.get(name).and_then(Value::as_str).map(str::to_owned);
        let (client, piano, invoice, estimate) = (
            arg("clientId"),
            arg("pianoId"),
            arg("invoiceId"),
            arg("estimateId"),
        );
        let keep = |t: &TimelineEntry| {
            since.is_none_or(|s| t.occurred_at >= s)
                && types
                    .as_ref()
                    .is_none_or(|ts| ts.iter().any(|x| x == &t.entry_type))
                && client.as_ref().is_none_or(|c| c == &t.client_id)
                && piano
                    .as_ref()
                    .is_none_or(|p| Some(p) == t.piano_id.as_ref())
                && invoice
                    .as_ref()
                    .is_none_or(|i| Some(i) == t.invoice_id.as_ref())
                && estimate
                    .as_ref()
                    .is_none_or(|e| Some(e) == t.estimate_id.as_ref())
                && search.as_ref().is_none_or(|s| {
                    fold(&format!(
                        "{} {}",
                        t.summary.as_deref().unwrap_or_default(),
                        t.comment.as_deref().unwrap_or_default()
                    ))
                    .contains(s.as_str())
                })
        };
        // Newest first, as Gazelle's timeline reads. With a lower bound, stop at it: the
        // index is ordered by occurredAt, so nothing older can match.
        let page = Paging::indexed_until(
            self.behaviour.cursors,
            &self.timeline,
            args,
            "OCCURRED_AT_DESC",
            true,
            keep,
            |t| since.is_some_and(|s| t.occurred_at < s),
            cached,
        )?;
        Ok(self.connection(page, "allTimelineEntries", args))
    }

    fn all_invoices(&mut self, args: &Map<String, Value>) -> FieldResult {
        let cached = self.cached_count("allInvoices", args);
        let f = Filters::read(
            args,
            &[
                "clientId",
                "status",
                "invoiceDateGet",
                "invoiceDateLet",
                "invoiceIds",
            ],
        )?;
        let (from, to) = (f.date("invoiceDateGet")?, f.date("invoiceDateLet")?);
        let tz = self.filter_zone();
        let keep = |i: &Invoice| {
            f.text("clientId").is_none_or(|c| c == i.client_id)
                && f.one_of("status", &i.status)
                && f.one_of("invoiceIds", &i.id)
                && within(local_date(i.created_at, &tz), from, to)
        };
        let sort = sort_of(
            args,
            &[
                "CREATED_AT_ASC",
                "CREATED_AT_DESC",
                "INVOICE_DATE_ASC",
                "INVOICE_DATE_DESC",
                "NUMBER_ASC",
                "NUMBER_DESC",
            ],
        )?;
        let page = match sort.as_deref() {
            None | Some("CREATED_AT_ASC") | Some("INVOICE_DATE_ASC") => Paging::indexed(
                self.behaviour.cursors,
                &self.invoices,
                args,
                "CREATED_AT_ASC",
                false,
                keep,
                cached,
            )?,
            Some("CREATED_AT_DESC") | Some("INVOICE_DATE_DESC") => Paging::indexed(
                self.behaviour.cursors,
                &self.invoices,
                args,
                "CREATED_AT_DESC",
                true,
                keep,
                cached,
            )?,
            Some(s) => Paging::sorted(
                self.behaviour.cursors,
                self.invoices.values().filter(|i| keep(i)),
                args,
                s,
                |i: &Invoice| format!("{:012}", i.number),
                s.ends_with("DESC"),
            )?,
        };
        Ok(self.connection(page, "allInvoices", args))
    }

    /// The cached `totalCount` of a query at this world version: counting a million rows
    /// for every page would dominate the run.
    fn cached_count(&self, field: &str, args: &Map<String, Value>) -> Option<usize> {
        match self.count_cache.get(&count_key(field, args)) {
            Some((version, count)) if *version == self.version => Some(*count),
            _ => None,
        }
    }

    /// Builds the connection object of a page and remembers its count.
    fn connection(&mut self, page: Paging, field: &str, args: &Map<String, Value>) -> Value {
        self.count_cache
            .insert(count_key(field, args), (self.version, page.total));
        page.into_connection()
    }
}

fn count_key(field: &str, args: &Map<String, Value>) -> String {
    let mut key_args = args.clone();
    key_args.remove("first");
    key_args.remove("after");
    format!("{field}{}", Value::Object(key_args))
}

/// One page of a listing, with a way to count every match when `totalCount` is needed.
pub struct Paging {
    /// (cursor, id) of each row of the page.
    rows: Vec<(String, String)>,
    has_next: bool,
    has_previous: bool,
    total: usize,
}

/// Where a page starts, as its `after` cursor says.
enum After {
    /// After this (sort key, id).
    Key((String, String)),
    /// After this many rows of the listing.
    Offset(usize),
}

/// The cursor of a row: its sort key and id, or its 1-based position in the listing.
fn row_cursor(cursors: Cursors, sort: &str, key: &str, id: &str, position: usize) -> String {
    match cursors {
        Cursors::Key => encode_cursor(sort, key, id),
        Cursors::Offset => URL_SAFE_NO_PAD.encode(position.to_string()),
    }
}

impl Paging {
    /// A page in a table's indexed order.
    fn indexed<T: Record + 'static>(
        cursors: Cursors,
        table: &Table<T>,
        args: &Map<String, Value>,
        sort: &str,
        descending: bool,
        keep: impl Fn(&T) -> bool,
        known_total: Option<usize>,
    ) -> Result<Paging, String> {
        Self::indexed_until(
            cursors,
            table,
            args,
            sort,
            descending,
            keep,
            |_| false,
            known_total,
        )
    }

    /// A page in indexed order that stops at the first row for which `past_end` holds.
    #[allow(clippy::too_many_arguments)]
    fn indexed_until<T: Record + 'static>(
        cursors: Cursors,
        table: &Table<T>,
        args: &Map<String, Value>,
        sort: &str,
        descending: bool,
        keep: impl Fn(&T) -> bool,
        past_end: impl Fn(&T) -> bool,
        known_total: Option<usize>,
    ) -> Result<Paging, String> {
        let after = cursor_arg(args, sort, cursors)?;
        let cursor_of =
            |r: &T, position: usize| row_cursor(cursors, sort, &r.order_key(), r.id(), position);
        if let Some(last) = last_arg(args)? {
            // The final `last` rows of the listing (graphql-ruby's `last` without `before`).
            let matching: Vec<&T> = table
                .ordered_after(None, descending)
                .take_while(|r| !past_end(r))
                .filter(|r| keep(r))
                .collect();
            let start = matching.len().saturating_sub(last);
            return Ok(Paging {
                rows: matching[start..]
                    .iter()
                    .enumerate()
                    .map(|(i, r)| (cursor_of(r, start + i + 1), r.id().to_owned()))
                    .collect(),
                has_next: false,
                has_previous: start > 0,
                total: known_total.unwrap_or(matching.len()),
            });
        }
        let first = page_size(args)?;
        let (from_key, skip) = match &after {
            None => (None, 0),
            Some(After::Key(key)) => (Some(key), 0),
            Some(After::Offset(n)) => (None, *n),
        };
        let mut rows = Vec::with_capacity(first);
        let mut has_next = false;
        // An offset cursor walks the listing from its start, as a SQL OFFSET does.
        let matching = table
            .ordered_after(from_key, descending)
            .take_while(|r| !past_end(r))
            .filter(|r| keep(r))
            .skip(skip);
        for (i, row) in matching.enumerate() {
            if rows.len() == first {
                has_next = true;
                break;
            }
            rows.push((cursor_of(row, skip + i + 1), row.id().to_owned()));
        }
        // Counting walks the filter over the whole table: done only when the cache has no
        // count for this query at this world version.
        let total = known_total.unwrap_or_else(|| {
            table
                .ordered_after(None, descending)
                .take_while(|r| !past_end(r))
                .filter(|r| keep(r))
                .count()
        });
        Ok(Paging {
            rows,
            has_next,
            has_previous: after.is_some(),
            total,
        })
    }

    /// A page in an order that is not indexed: sorted here (tables small enough for it).
    fn sorted<'a, T: Record + 'a>(
        cursors: Cursors,
        rows: impl Iterator<Item = &'a T>,
        args: &Map<String, Value>,
        sort: &str,
        key: impl Fn(&T) -> String,
        descending: bool,
    ) -> Result<Paging, String> {
        let first = page_size(args)?;
        let after = cursor_arg(args, sort, cursors)?;
        let mut all: Vec<(String, String)> = rows.map(|r| (key(r), r.id().to_owned())).collect();
        all.sort();
        if descending {
            all.reverse();
        }
        let last = last_arg(args)?;
        let start = match &after {
            None if last.is_some() => all.len().saturating_sub(last.unwrap_or_default()),
            None => 0,
            Some(After::Offset(n)) => (*n).min(all.len()),
            Some(After::Key(a)) => all
                .iter()
                .position(|row| if descending { row < a } else { row > a })
                .unwrap_or(all.len()),
        };
        let total = all.len();
        let end = if last.is_some() {
            total
        } else {
            (start + first).min(total)
        };
        Ok(Paging {
            rows: all[start..end]
                .iter()
                .enumerate()
                .map(|(i, (k, id))| (row_cursor(cursors, sort, k, id, start + i + 1), id.clone()))
                .collect(),
            has_next: end < total,
            has_previous: start > 0,
            total,
        })
    }

    fn into_connection(self) -> Value {
        let total = self.total;
        let edges: Vec<Value> = self
            .rows
            .iter()
            .map(|(cursor, id)| json!({"node": {"$ref": id}, "cursor": cursor}))
            .collect();
        let nodes: Vec<Value> = self.rows.iter().map(|row| json!({"$ref": row.1})).collect();
        json!({
            "nodes": nodes,
            "edges": edges,
            "pageInfo": {
                "hasNextPage": self.has_next,
                "hasPreviousPage": self.has_previous,
                "startCursor": self.rows.first().map(|r| &r.0),
                "endCursor": self.rows.last().map(|r| &r.0),
            },
            "totalCount": total,
        })
    }
}

pub fn encode_cursor(sort: &str, key: &str, id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{sort}\n{key}\n{id}"))
}

fn cursor_arg(
    args: &Map<String, Value>,
    sort: &str,
    cursors: Cursors,
) -> Result<Option<After>, String> {
    let given = |name: &str| args.get(name).is_some_and(|v| !v.is_null());
    if given("before") {
        return Err(
            "the simulator pages backward only from the end: `last` without `before`".into(),
        );
    }
    if given("last") && (given("first") || given("after")) {
        return Err("`last` cannot be combined with `first` or `after`".into());
    }
    let Some(text) = args.get("after").and_then(Value::as_str) else {
        return Ok(None);
    };
    let invalid = || format!("Invalid cursor: `{text}`");
    let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| invalid())?;
    let decoded = String::from_utf8(bytes).map_err(|_| invalid())?;
    if cursors == Cursors::Offset {
        return decoded
            .parse::<usize>()
            .map(|n| Some(After::Offset(n)))
            .map_err(|_| invalid());
    }
    let mut parts = decoded.splitn(3, '\n');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(s), Some(key), Some(id)) if s == sort => {
            Ok(Some(After::Key((key.to_owned(), id.to_owned()))))
        }
        _ => Err(invalid()),
    }
}

/// `last`, clamped like `first`; None when absent.
fn last_arg(args: &Map<String, Value>) -> Result<Option<usize>, String> {
    match args.get("last") {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_i64() {
            Some(n) if n >= 0 => Ok(Some((n as usize).min(MAX_PAGE_SIZE))),
            _ => Err(format!("`last` must be a non-negative integer, got {v}")),
        },
    }
}

fn page_size(args: &Map<String, Value>) -> Result<usize, String> {
    match args.get("first") {
        None | Some(Value::Null) => Ok(DEFAULT_PAGE_SIZE),
        Some(v) => match v.as_i64() {
            Some(n) if n >= 0 => Ok((n as usize).min(MAX_PAGE_SIZE)),
            _ => Err(format!("`first` must be a non-negative integer, got {v}")),
        },
    }
}

fn sort_of(args: &Map<String, Value>, supported: &[&str]) -> Result<Option<String>, String> {
    let Some(list) = list_arg(args, "sortBy") else {
        return Ok(None);
    };
    match list.as_slice() {
        [] => Ok(None),
        [one] if supported.contains(&one.as_str()) => Ok(Some(one.clone())),
        [one] => Err(format!(
            "the simulator does not implement sortBy {one} (it does: {})",
            supported.join(", ")
        )),
        _ => Err("the simulator sorts by one key at a time".into()),
    }
}

fn list_arg(args: &Map<String, Value>, name: &str) -> Option<Vec<String>> {
    match args.get(name)? {
        Value::Array(items) => Some(
            items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
        ),
        Value::String(one) => Some(vec![one.clone()]),
        _ => None,
    }
}

/// The `filters` argument, refusing keys the simulator does not implement.
struct Filters<'a>(Option<&'a Map<String, Value>>);

impl<'a> Filters<'a> {
    fn read(args: &'a Map<String, Value>, supported: &[&str]) -> Result<Filters<'a>, String> {
        let filters = args.get("filters").and_then(Value::as_object);
        if let Some(map) = filters
            && let Some(key) = map
                .keys()
                .find(|k| !supported.contains(&k.as_str()) && !map[*k].is_null())
        {
            return Err(format!(
                "the simulator does not implement filters.{key} (it does: {})",
                supported.join(", ")
            ));
        }
        Ok(Filters(filters))
    }
    fn get(&self, key: &str) -> Option<&'a Value> {
        self.0.and_then(|m| m.get(key)).filter(|v| !v.is_null())
    }
    fn text(&self, key: &str) -> Option<&'a str> {
        self.get(key).and_then(Value::as_str)
    }
    fn list(&self, key: &str) -> Option<Vec<&'a str>> {
        match self.get(key)? {
            Value::Array(items) => Some(items.iter().filter_map(Value::as_str).collect()),
            Value::String(s) => Some(vec![s.as_str()]),
            _ => None,
        }
    }
    /// True when the filter is absent or lists `value`.
    fn one_of(&self, key: &str, value: &str) -> bool {
        self.list(key).is_none_or(|l| l.contains(&value))
    }
    fn date(&self, key: &str) -> Result<Option<Date>, String> {
        self.text(key)
            .map(|t| {
                t.parse::<Date>()
                    .map_err(|e| format!("filters.{key}: `{t}` is not a CoreDate ({e})"))
            })
            .transpose()
    }
}

fn refs<'a>(ids: impl Iterator<Item = &'a str>) -> Value {
    Value::Array(ids.map(|id| json!({ "$ref": id })).collect())
}

fn sorted_ids<'a>(ids: impl Iterator<Item = &'a str>) -> std::vec::IntoIter<&'a str> {
    let mut all: Vec<&str> = ids.collect();
    all.sort_unstable();
    all.into_iter()
}

pub fn montreal() -> TimeZone {
    TimeZone::get("America/Montreal").unwrap_or(TimeZone::UTC)
}

pub fn local_date(t: Timestamp, tz: &TimeZone) -> Date {
    t.to_zoned(tz.clone()).date()
}

fn within(date: Date, from: Option<Date>, to: Option<Date>) -> bool {
    from.is_none_or(|f| date >= f) && to.is_none_or(|t| date <= t)
}

/// Case- and accent-insensitive form for searches and name sorts.
pub fn fold(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            'à' | 'â' | 'ä' | 'À' | 'Â' => 'a',
            'é' | 'è' | 'ê' | 'ë' | 'É' | 'È' | 'Ê' => 'e',
            'î' | 'ï' | 'Î' => 'i',
            'ô' | 'ö' | 'Ô' => 'o',
            'ù' | 'û' | 'ü' => 'u',
            'ç' | 'Ç' => 'c',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

impl World {
    /// Deletes any record by id, as Gazelle does: it simply vanishes. Deleting a client
    /// takes its contacts, pianos and timeline with it.
    pub fn delete(&mut self, id: &str) -> bool {
        let kind = id.split('_').next().unwrap_or_default();
        let removed = match kind {
            "cli" => {
                let removed = self.clients.remove(id).is_some();
                if removed {
                    let pianos: Vec<String> = self
                        .pianos
                        .values()
                        .filter(|p| p.client_id == id)
                        .map(|p| p.id.clone())
                        .collect();
                    for piano in pianos {
                        self.delete(&piano);
                    }
                    remove_where(&mut self.contacts, |c| c.client_id == id);
                    remove_where(&mut self.timeline, |t| t.client_id == id);
                    remove_where(&mut self.events, |e| e.client_id.as_deref() == Some(id));
                    remove_where(&mut self.invoices, |i| i.client_id == id);
                }
                removed
            }
            "con" => self.contacts.remove(id).is_some(),
            "ins" => {
                // Gazelle keeps its references whole: the piano leaves the events, invoice
                // lines and timeline entries that mentioned it.
                let removed = self.pianos.remove(id).is_some();
                if removed {
                    unlink(
                        &mut self.events,
                        |e| e.piano_ids.iter().any(|p| p == id),
                        |e| e.piano_ids.retain(|p| p != id),
                    );
                    unlink(
                        &mut self.invoices,
                        |i| i.items.iter().any(|it| it.piano_id.as_deref() == Some(id)),
                        |i| {
                            for it in &mut i.items {
                                if it.piano_id.as_deref() == Some(id) {
                                    it.piano_id = None;
                                }
                            }
                        },
                    );
                    unlink(
                        &mut self.timeline,
                        |t| t.piano_id.as_deref() == Some(id),
                        |t| t.piano_id = None,
                    );
                }
                removed
            }
            "evt" => self.events.remove(id).is_some(),
            "tme" => self.timeline.remove(id).is_some(),
            "inv" => self.invoices.remove(id).is_some(),
            "usr" => self.users.remove(id).is_some(),
            "mit" => self.catalogue.remove(id).is_some(),
            _ => false,
        };
        if removed {
            self.touch();
        }
        removed
    }
}

/// Removes every record of `table` for which `owned` holds.
fn remove_where<T: Record>(table: &mut Table<T>, owned: impl Fn(&T) -> bool) {
    let ids: Vec<String> = table
        .values()
        .filter(|r| owned(r))
        .map(|r| r.id().to_owned())
        .collect();
    for id in ids {
        table.remove(&id);
    }
}

/// Edits every record of `table` for which `refers` holds.
fn unlink<T: Record>(table: &mut Table<T>, refers: impl Fn(&T) -> bool, edit: impl Fn(&mut T)) {
    let ids: Vec<String> = table
        .values()
        .filter(|r| refers(r))
        .map(|r| r.id().to_owned())
        .collect();
    for id in ids {
        table.edit(&id, &edit);
    }
}
