//! The records that arrive from upstream, one type per mirrored table, and their specs.
//!
//! These are storage shapes, not API shapes: the sync engine maps Gazelle's JSON into them and
//! the V4 migration maps CSV rows into them. Ids are opaque strings; times are
//! [`jiff::Timestamp`] (stored as UTC text); business dates are [`jiff::civil::Date`]; money is
//! [`Cents`] and quantities [`Hundredths`].

use std::borrow::Cow;

use jiff::Timestamp;
use jiff::civil::Date;

use crate::money::{Cents, Hundredths};
use crate::time::{date_text, utc_text};
use crate::upsert::{Column, Parent, TableSpec, Upstream, Value};

fn text(value: &Option<String>) -> Value<'_> {
    match value {
        Some(s) => Value::Text(Cow::Borrowed(s)),
        None => Value::Null,
    }
}

fn required_text(value: &str) -> Value<'_> {
    if value.is_empty() {
        Value::Null
    } else {
        Value::Text(Cow::Borrowed(value))
    }
}

fn int(value: Option<i64>) -> Value<'static> {
    value.map_or(Value::Null, Value::Int)
}

fn flag(value: bool) -> Value<'static> {
    Value::Int(i64::from(value))
}

fn instant(value: Option<Timestamp>) -> Value<'static> {
    value.map_or(Value::Null, |t| Value::Text(Cow::Owned(utc_text(t))))
}

fn date(value: Option<Date>) -> Value<'static> {
    value.map_or(Value::Null, |d| Value::Text(Cow::Owned(date_text(d))))
}

fn cents(value: Option<Cents>) -> Value<'static> {
    value.map_or(Value::Null, |c| Value::Int(c.0))
}

const CLIENT: Parent = Parent {
    column: "ClientId",
    table: "Clients",
    noun: "client",
    required: true,
    warn_when_unknown: true,
};
const PIANO: Parent = Parent {
    column: "PianoId",
    table: "Pianos",
    noun: "piano",
    required: false,
    warn_when_unknown: true,
};

/// A technician or staff member (Gazelle `allUsers`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserRecord {
    pub external_id: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub status: Option<String>,
    pub access_level: Option<String>,
    pub is_schedulable: bool,
    pub timezone: Option<String>,
    pub created_at: Option<Timestamp>,
    pub updated_at: Option<Timestamp>,
}

pub static USERS: TableSpec = TableSpec::new(
    "Users",
    &[
        Column::plain("FirstName"),
        Column::plain("LastName"),
        Column::plain("Email"),
        Column::plain("Status"),
        Column::plain("AccessLevel"),
        Column::plain("IsSchedulable"),
        Column::plain("Timezone"),
        Column::plain("CreatedAt"),
        Column::plain("UpdatedAt"),
    ],
    &[],
    true,
);

impl Upstream for UserRecord {
    const SPEC: &'static TableSpec = &USERS;
    fn external_id(&self) -> &str {
        &self.external_id
    }
    fn values(&self) -> Vec<Value<'_>> {
        vec![
            text(&self.first_name),
            text(&self.last_name),
            text(&self.email),
            text(&self.status),
            text(&self.access_level),
            flag(self.is_schedulable),
            text(&self.timezone),
            instant(self.created_at),
            instant(self.updated_at),
        ]
    }
    fn parent_ids(&self) -> Vec<Option<&str>> {
        vec![]
    }
}

/// A client, with the default contact's e-mail, phone and address flattened in.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClientRecord {
    pub external_id: String,
    pub company_name: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub status: String,
    pub tags: Option<String>,
    pub client_type: Option<String>,
    pub default_contact_external_id: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub created_at: Option<Timestamp>,
    pub updated_at: Option<Timestamp>,
}

pub static CLIENTS: TableSpec = TableSpec::new(
    "Clients",
    &[
        Column::required("CompanyName"),
        Column::plain("FirstName"),
        Column::plain("LastName"),
        Column::required("Status"),
        Column::plain("Tags"),
        Column::plain("ClientType"),
        Column::plain("DefaultContactExternalId"),
        Column::plain("Email"),
        Column::plain("Phone"),
        Column::plain("Address"),
        Column::plain("CreatedAt"),
        Column::plain("UpdatedAt"),
    ],
    &[Parent {
        column: "DefaultContactId",
        table: "Contacts",
        noun: "default contact",
        required: false,
        warn_when_unknown: false,
    }],
    true,
);

impl Upstream for ClientRecord {
    const SPEC: &'static TableSpec = &CLIENTS;
    fn external_id(&self) -> &str {
        &self.external_id
    }
    fn values(&self) -> Vec<Value<'_>> {
        vec![
            required_text(&self.company_name),
            text(&self.first_name),
            text(&self.last_name),
            required_text(&self.status),
            text(&self.tags),
            text(&self.client_type),
            text(&self.default_contact_external_id),
            text(&self.email),
            text(&self.phone),
            text(&self.address),
            instant(self.created_at),
            instant(self.updated_at),
        ]
    }
    fn parent_ids(&self) -> Vec<Option<&str>> {
        // The default contact is stored after its client: when it is not known yet, the
        // contact's insert trigger links it (see migrations/0001_initial.sql).
        vec![self.default_contact_external_id.as_deref()]
    }
}

/// A contact of a client.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContactRecord {
    pub external_id: String,
    pub client_external_id: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// The contact's own default address, one line.
    pub address: Option<String>,
    /// Archived in Gazelle (a former contact, kept for history).
    pub archived: bool,
    pub updated_at: Option<Timestamp>,
}

pub static CONTACTS: TableSpec = TableSpec::new(
    "Contacts",
    &[
        Column::plain("FirstName"),
        Column::plain("LastName"),
        Column::plain("Email"),
        Column::plain("Phone"),
        Column::plain("Address"),
        Column::plain("Archived"),
        Column::plain("UpdatedAt"),
    ],
    &[CLIENT],
    true,
);

impl Upstream for ContactRecord {
    const SPEC: &'static TableSpec = &CONTACTS;
    fn external_id(&self) -> &str {
        &self.external_id
    }
    fn values(&self) -> Vec<Value<'_>> {
        vec![
            text(&self.first_name),
            text(&self.last_name),
            text(&self.email),
            text(&self.phone),
            text(&self.address),
            flag(self.archived),
            instant(self.updated_at),
        ]
    }
    fn parent_ids(&self) -> Vec<Option<&str>> {
        vec![Some(&self.client_external_id)]
    }
}

/// A piano (Gazelle `ins_…`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PianoRecord {
    pub external_id: String,
    pub client_external_id: String,
    pub make: String,
    pub model: Option<String>,
    pub serial_number: Option<String>,
    pub piano_type: Option<String>,
    pub year: Option<i64>,
    pub location: Option<String>,
    pub notes: Option<String>,
    pub status: Option<String>,
    pub has_humidity_control: bool,
    pub created_at: Option<Timestamp>,
    pub updated_at: Option<Timestamp>,
}

pub static PIANOS: TableSpec = TableSpec::new(
    "Pianos",
    &[
        Column::required("Make"),
        Column::plain("Model"),
        Column::plain("SerialNumber"),
        Column::plain("Type"),
        Column::plain("Year"),
        Column::plain("Location"),
        Column::plain("Notes"),
        Column::plain("Status"),
        Column::plain("HasHumidityControl"),
        Column::plain("CreatedAt"),
        Column::plain("UpdatedAt"),
    ],
    &[CLIENT],
    true,
);

impl Upstream for PianoRecord {
    const SPEC: &'static TableSpec = &PIANOS;
    fn external_id(&self) -> &str {
        &self.external_id
    }
    fn values(&self) -> Vec<Value<'_>> {
        vec![
            required_text(&self.make),
            text(&self.model),
            text(&self.serial_number),
            text(&self.piano_type),
            int(self.year),
            text(&self.location),
            text(&self.notes),
            text(&self.status),
            flag(self.has_humidity_control),
            instant(self.created_at),
            instant(self.updated_at),
        ]
    }
    fn parent_ids(&self) -> Vec<Option<&str>> {
        vec![Some(&self.client_external_id)]
    }
}

/// A catalogue item (Gazelle master service item `mit_…`). Cost and SKU are local only.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProductRecord {
    pub external_id: String,
    pub name: String,
    pub description: Option<String>,
    pub retail_price: Cents,
    pub active: bool,
    pub product_type: Option<String>,
    pub group_name: Option<String>,
    pub created_at: Option<Timestamp>,
    pub updated_at: Option<Timestamp>,
}

pub static PRODUCTS: TableSpec = TableSpec::new(
    "Products",
    &[
        Column::required("Name"),
        Column::plain("Description"),
        Column::money("RetailPrice"),
        Column::plain("Active"),
        Column::plain("Type"),
        Column::plain("GroupName"),
        Column::plain("CreatedAt"),
        Column::plain("UpdatedAt"),
    ],
    &[],
    true,
);

impl Upstream for ProductRecord {
    const SPEC: &'static TableSpec = &PRODUCTS;
    fn external_id(&self) -> &str {
        &self.external_id
    }
    fn values(&self) -> Vec<Value<'_>> {
        vec![
            required_text(&self.name),
            text(&self.description),
            cents(Some(self.retail_price)),
            flag(self.active),
            text(&self.product_type),
            text(&self.group_name),
            instant(self.created_at),
            instant(self.updated_at),
        ]
    }
    fn parent_ids(&self) -> Vec<Option<&str>> {
        vec![]
    }
}

/// An invoice. Amounts are cents as Gazelle sends them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InvoiceRecord {
    pub external_id: String,
    pub client_external_id: String,
    pub number: String,
    pub invoice_date: Option<Date>,
    pub status: String,
    pub sub_total: Cents,
    pub tax_total: Cents,
    pub total: Cents,
    pub notes: Option<String>,
    pub assigned_to_id: Option<String>,
    pub created_at: Option<Timestamp>,
    pub due_on: Option<Date>,
    pub updated_at: Option<Timestamp>,
}

pub static INVOICES: TableSpec = TableSpec::new(
    "Invoices",
    &[
        Column::required("Number"),
        Column::required("InvoiceDate"),
        Column::required("Status"),
        Column::money("SubTotal"),
        Column::plain("TaxTotalCents"),
        Column::money("Total"),
        Column::plain("Notes"),
        Column::plain("AssignedToId"),
        Column::plain("CreatedAt"),
        Column::plain("DueOn"),
        Column::plain("UpdatedAt"),
    ],
    &[CLIENT],
    true,
);

impl Upstream for InvoiceRecord {
    const SPEC: &'static TableSpec = &INVOICES;
    fn external_id(&self) -> &str {
        &self.external_id
    }
    fn values(&self) -> Vec<Value<'_>> {
        vec![
            required_text(&self.number),
            date(self.invoice_date),
            required_text(&self.status),
            cents(Some(self.sub_total)),
            cents(Some(self.tax_total)),
            cents(Some(self.total)),
            text(&self.notes),
            text(&self.assigned_to_id),
            instant(self.created_at),
            date(self.due_on),
            instant(self.updated_at),
        ]
    }
    fn parent_ids(&self) -> Vec<Option<&str>> {
        vec![Some(&self.client_external_id)]
    }
}

/// A line of an invoice.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InvoiceItemRecord {
    pub external_id: String,
    pub invoice_external_id: String,
    pub piano_external_id: Option<String>,
    pub description: String,
    pub quantity: Hundredths,
    /// Price of one unit (Gazelle `amount`).
    pub unit_price: Option<Cents>,
    /// Line amount before tax (Gazelle `subTotal`).
    pub amount: Option<Cents>,
    pub tax_total: Cents,
    pub total: Cents,
    pub item_type: Option<String>,
    pub taxable: bool,
    pub billable: bool,
    pub sequence_number: Option<i64>,
}

pub static INVOICE_ITEMS: TableSpec = TableSpec::new(
    "InvoiceItems",
    &[
        Column::required("Description"),
        Column::hundredths("Quantity"),
        Column::money("UnitPrice"),
        Column::money("Amount"),
        Column::plain("TaxTotalCents"),
        Column::money("Total"),
        Column::plain("Type"),
        Column::plain("Taxable"),
        Column::plain("Billable"),
        Column::plain("SequenceNumber"),
    ],
    &[
        Parent {
            column: "InvoiceId",
            table: "Invoices",
            noun: "invoice",
            required: true,
            warn_when_unknown: true,
        },
        PIANO,
    ],
    true,
);

impl Upstream for InvoiceItemRecord {
    const SPEC: &'static TableSpec = &INVOICE_ITEMS;
    fn external_id(&self) -> &str {
        &self.external_id
    }
    fn values(&self) -> Vec<Value<'_>> {
        vec![
            required_text(&self.description),
            Value::Int(self.quantity.0),
            cents(self.unit_price),
            cents(self.amount),
            cents(Some(self.tax_total)),
            cents(Some(self.total)),
            text(&self.item_type),
            flag(self.taxable),
            flag(self.billable),
            int(self.sequence_number),
        ]
    }
    fn parent_ids(&self) -> Vec<Option<&str>> {
        vec![
            Some(&self.invoice_external_id),
            self.piano_external_id.as_deref(),
        ]
    }
}

/// An event of the calendar (appointment, personal block, memo).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AppointmentRecord {
    pub external_id: String,
    pub client_external_id: String,
    pub technician_id: String,
    pub piano_external_id: Option<String>,
    pub description: Option<String>,
    pub status: String,
    pub event_type: String,
    pub start_at: Option<Timestamp>,
    pub duration_minutes: Option<i64>,
    pub is_all_day: bool,
    pub notes: Option<String>,
    pub confirmed_by_client: bool,
    pub created_at: Option<Timestamp>,
    pub updated_at: Option<Timestamp>,
}

pub static APPOINTMENTS: TableSpec = TableSpec::new(
    "Appointments",
    &[
        Column::required("TechnicianId"),
        Column::plain("Description"),
        Column::required("AppointmentStatus"),
        Column::required("EventType"),
        Column::required("StartAt"),
        Column::plain("Duration"),
        Column::plain("IsAllDay"),
        Column::plain("Notes"),
        Column::plain("ConfirmedByClient"),
        Column::plain("CreatedAt"),
        Column::plain("UpdatedAt"),
    ],
    &[CLIENT, PIANO],
    true,
);

impl Upstream for AppointmentRecord {
    const SPEC: &'static TableSpec = &APPOINTMENTS;
    fn external_id(&self) -> &str {
        &self.external_id
    }
    fn values(&self) -> Vec<Value<'_>> {
        vec![
            required_text(&self.technician_id),
            text(&self.description),
            required_text(&self.status),
            required_text(&self.event_type),
            instant(self.start_at),
            int(self.duration_minutes),
            flag(self.is_all_day),
            text(&self.notes),
            flag(self.confirmed_by_client),
            instant(self.created_at),
            instant(self.updated_at),
        ]
    }
    fn parent_ids(&self) -> Vec<Option<&str>> {
        vec![
            Some(&self.client_external_id),
            self.piano_external_id.as_deref(),
        ]
    }
}

/// A timeline entry (`tme_…`): service notes, e-mails, payments…
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TimelineEntryRecord {
    pub external_id: String,
    pub client_external_id: String,
    pub piano_external_id: Option<String>,
    pub invoice_id: Option<String>,
    pub estimate_id: Option<String>,
    pub occurred_at: Option<Timestamp>,
    pub entry_type: String,
    pub title: Option<String>,
    pub details: Option<String>,
    pub user_id: Option<String>,
}

pub static TIMELINE_ENTRIES: TableSpec = TableSpec::new(
    "TimelineEntries",
    &[
        Column::plain("InvoiceId"),
        Column::plain("EstimateId"),
        Column::required("OccurredAt"),
        Column::required("EntryType"),
        Column::plain("Title"),
        Column::plain("Details"),
        Column::plain("UserId"),
    ],
    &[CLIENT, PIANO],
    true,
);

impl Upstream for TimelineEntryRecord {
    const SPEC: &'static TableSpec = &TIMELINE_ENTRIES;
    fn external_id(&self) -> &str {
        &self.external_id
    }
    fn values(&self) -> Vec<Value<'_>> {
        vec![
            text(&self.invoice_id),
            text(&self.estimate_id),
            instant(self.occurred_at),
            required_text(&self.entry_type),
            text(&self.title),
            text(&self.details),
            text(&self.user_id),
        ]
    }
    fn parent_ids(&self) -> Vec<Option<&str>> {
        vec![
            Some(&self.client_external_id),
            self.piano_external_id.as_deref(),
        ]
    }
}

/// A maintenance alert as a V4 export carries it. Alerts raised by V5 itself are written by
/// the alerts crate; this shape lets the migration import history by `ExternalId`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MaintenanceAlertRecord {
    pub external_id: String,
    pub client_external_id: String,
    pub piano_external_id: Option<String>,
    pub date_observation: Option<Date>,
    pub location: Option<String>,
    pub alert_type: String,
    pub description: Option<String>,
    pub is_resolved: bool,
    pub resolved_date: Option<Date>,
    pub archived: bool,
    pub notes: Option<String>,
    pub recipient_email: Option<String>,
    pub created_by: Option<String>,
    pub created_at: Option<Timestamp>,
    pub updated_at: Option<Timestamp>,
}

pub static MAINTENANCE_ALERTS: TableSpec = TableSpec::new(
    "MaintenanceAlerts",
    &[
        Column::required("DateObservation"),
        Column::plain("Location"),
        Column::required("AlertType"),
        Column::plain("Description"),
        Column::plain("IsResolved"),
        Column::plain("ResolvedDate"),
        Column::plain("Archived"),
        Column::plain("Notes"),
        Column::plain("RecipientEmail"),
        Column::plain("CreatedBy"),
        Column::plain("CreatedAt"),
        Column::plain("UpdatedAt"),
    ],
    &[CLIENT, PIANO],
    false,
);

impl Upstream for MaintenanceAlertRecord {
    const SPEC: &'static TableSpec = &MAINTENANCE_ALERTS;
    fn external_id(&self) -> &str {
        &self.external_id
    }
    fn values(&self) -> Vec<Value<'_>> {
        vec![
            date(self.date_observation),
            text(&self.location),
            required_text(&self.alert_type),
            text(&self.description),
            flag(self.is_resolved),
            date(self.resolved_date),
            flag(self.archived),
            text(&self.notes),
            text(&self.recipient_email),
            text(&self.created_by),
            instant(self.created_at),
            instant(self.updated_at),
        ]
    }
    fn parent_ids(&self) -> Vec<Option<&str>> {
        vec![
            Some(&self.client_external_id),
            self.piano_external_id.as_deref(),
        ]
    }
}

/// A calendar event without a client: a personal block, a memo, a synced calendar entry.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OtherEventRecord {
    pub external_id: String,
    pub technician_id: Option<String>,
    pub event_type: String,
    pub title: Option<String>,
    pub start_at: Option<Timestamp>,
    pub duration_minutes: Option<i64>,
    pub is_all_day: bool,
    pub status: String,
    pub notes: Option<String>,
    pub created_at: Option<Timestamp>,
    pub updated_at: Option<Timestamp>,
}

pub static OTHER_EVENTS: TableSpec = TableSpec::new(
    "OtherEvents",
    &[
        Column::plain("TechnicianId"),
        Column::required("EventType"),
        Column::plain("Title"),
        Column::required("StartAt"),
        Column::plain("Duration"),
        Column::plain("IsAllDay"),
        Column::required("Status"),
        Column::plain("Notes"),
        Column::plain("CreatedAt"),
        Column::plain("UpdatedAt"),
    ],
    &[],
    true,
);

impl Upstream for OtherEventRecord {
    const SPEC: &'static TableSpec = &OTHER_EVENTS;
    fn external_id(&self) -> &str {
        &self.external_id
    }
    fn values(&self) -> Vec<Value<'_>> {
        vec![
            text(&self.technician_id),
            required_text(&self.event_type),
            text(&self.title),
            instant(self.start_at),
            int(self.duration_minutes),
            flag(self.is_all_day),
            required_text(&self.status),
            text(&self.notes),
            instant(self.created_at),
            instant(self.updated_at),
        ]
    }
    fn parent_ids(&self) -> Vec<Option<&str>> {
        vec![]
    }
}
