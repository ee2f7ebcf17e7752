//! The simulated account's records, typed, and how each appears in GraphQL.
//!
//! Each record renders itself as a JSON object keyed by schema field names. A reference to
//! another record is `{"$ref": "<id>"}` and a nested list is `{"$list": [...]}`; the executor
//! resolves both, so any selection the schema allows works, to any depth. Fields the
//! simulator does not model resolve to `null` (the schema allows it for all of them).

use std::collections::{BTreeSet, HashMap};

use jiff::Timestamp;
use serde_json::{Map, Value, json};

/// Renders an instant as Gazelle does: UTC, whole seconds, `Z`.
pub fn datetime(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn reference(id: &Option<String>) -> Value {
    id.as_ref().map_or(Value::Null, |id| json!({ "$ref": id }))
}

/// A record of the simulated account.
pub trait Record {
    fn id(&self) -> &str;
    /// The record as GraphQL sees it.
    fn to_json(&self) -> Map<String, Value>;
    /// The key of the table's default order (ties broken by id).
    fn order_key(&self) -> String;
}

#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub status: String,
    pub access_level: String,
    pub is_schedulable: bool,
    pub timezone: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Record for User {
    fn id(&self) -> &str {
        &self.id
    }
    fn to_json(&self) -> Map<String, Value> {
        let v = json!({
            "id": self.id, "firstName": self.first_name, "lastName": self.last_name,
            "fullName": format!("{} {}", self.first_name, self.last_name),
            "email": self.email, "status": self.status, "accessLevel": self.access_level,
            "isSchedulable": self.is_schedulable, "timezone": self.timezone,
            "createdAt": datetime(self.created_at), "updatedAt": datetime(self.updated_at),
        });
        into_map(v)
    }
    fn order_key(&self) -> String {
        self.id.clone()
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Address {
    pub street1: String,
    pub municipality: String,
    pub region: String,
    pub postal_code: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Contact {
    pub id: String,
    pub client_id: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub address: Option<Address>,
    pub is_default: bool,
    pub archived: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Record for Contact {
    fn id(&self) -> &str {
        &self.id
    }
    fn to_json(&self) -> Map<String, Value> {
        let email = self.email.as_ref().map_or(
            Value::Null,
            |e| json!({"id": format!("cem_{}", &self.id[4..]), "email": e, "isDefault": true}),
        );
        let phone = self.phone.as_ref().map_or(Value::Null, |p| {
            json!({"id": format!("cph_{}", &self.id[4..]), "phoneNumber": p, "isDefault": true, "type": "MOBILE"})
        });
        let location = self.address.as_ref().map_or(Value::Null, |a| {
            json!({"id": format!("clo_{}", &self.id[4..]), "street1": a.street1, "street2": null,
                   "municipality": a.municipality, "region": a.region, "postalCode": a.postal_code,
                   "countryCode": "CA", "usageType": "STREET", "locationType": "ADDRESS"})
        });
        into_map(json!({
            "id": self.id, "client": {"$ref": self.client_id},
            "firstName": self.first_name, "lastName": self.last_name,
            "isDefault": self.is_default, "archived": self.archived,
            "defaultEmail": email, "defaultPhone": phone, "defaultLocation": location,
            "createdAt": datetime(self.created_at), "updatedAt": datetime(self.updated_at),
        }))
    }
    /// A client's contacts are consecutive in this order: `client.allContacts` is a seek.
    fn order_key(&self) -> String {
        format!("{}\n{}", self.client_id, datetime(self.created_at))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Client {
    pub id: String,
    pub company_name: Option<String>,
    pub status: String,
    pub client_type: Option<String>,
    pub tags: Vec<String>,
    pub default_contact_id: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Record for Client {
    fn id(&self) -> &str {
        &self.id
    }
    fn to_json(&self) -> Map<String, Value> {
        into_map(json!({
            "id": self.id, "companyName": self.company_name, "status": self.status,
            "clientType": self.client_type, "tags": self.tags,
            "defaultContact": reference(&self.default_contact_id),
            "createdAt": datetime(self.created_at), "updatedAt": datetime(self.updated_at),
        }))
    }
    fn order_key(&self) -> String {
        datetime(self.created_at)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Piano {
    pub id: String,
    pub client_id: String,
    pub make: Option<String>,
    pub model: Option<String>,
    pub serial_number: Option<String>,
    pub piano_type: String,
    pub year: Option<i64>,
    pub location: Option<String>,
    pub notes: Option<String>,
    pub status: String,
    pub dampp_chaser_installed: bool,
    pub manual_last_service: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Record for Piano {
    fn id(&self) -> &str {
        &self.id
    }
    fn to_json(&self) -> Map<String, Value> {
        into_map(json!({
            "id": self.id, "client": {"$ref": self.client_id}, "make": self.make, "model": self.model,
            "serialNumber": self.serial_number, "type": self.piano_type, "year": self.year,
            "location": self.location, "notes": self.notes, "status": self.status,
            "damppChaserInstalled": self.dampp_chaser_installed,
            "manualLastService": self.manual_last_service, "tags": [],
            "allPianoMeasurements": [],
            "createdAt": datetime(self.created_at), "updatedAt": datetime(self.updated_at),
        }))
    }
    fn order_key(&self) -> String {
        datetime(self.created_at)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: String,
    pub title: String,
    pub start: Timestamp,
    pub duration: i64,
    pub is_all_day: bool,
    pub notes: Option<String>,
    pub event_type: String,
    pub status: String,
    pub confirmed_by_client: bool,
    pub client_id: Option<String>,
    pub user_id: Option<String>,
    pub piano_ids: Vec<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Record for Event {
    fn id(&self) -> &str {
        &self.id
    }
    fn to_json(&self) -> Map<String, Value> {
        let pianos: Vec<Value> = self
            .piano_ids
            .iter()
            .map(|p| json!({"event": {"$ref": self.id}, "piano": {"$ref": p}, "isTuning": true}))
            .collect();
        into_map(json!({
            "id": self.id, "title": self.title, "start": datetime(self.start), "duration": self.duration,
            "isAllDay": self.is_all_day, "notes": self.notes, "type": self.event_type,
            "status": self.status, "confirmedByClient": self.confirmed_by_client,
            "client": reference(&self.client_id), "user": reference(&self.user_id),
            "timezone": "America/Montreal", "allEventPianos": {"$list": pianos},
            "createdAt": datetime(self.created_at), "updatedAt": datetime(self.updated_at),
        }))
    }
    fn order_key(&self) -> String {
        datetime(self.start)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct TimelineEntry {
    pub id: String,
    pub client_id: String,
    pub piano_id: Option<String>,
    pub invoice_id: Option<String>,
    pub estimate_id: Option<String>,
    pub user_id: Option<String>,
    pub occurred_at: Timestamp,
    pub entry_type: String,
    pub summary: Option<String>,
    pub comment: Option<String>,
}

impl Record for TimelineEntry {
    fn id(&self) -> &str {
        &self.id
    }
    fn to_json(&self) -> Map<String, Value> {
        into_map(json!({
            "id": self.id, "client": {"$ref": self.client_id}, "piano": reference(&self.piano_id),
            "invoice": reference(&self.invoice_id),
            "estimate": self.estimate_id.as_ref().map_or(Value::Null, |e| json!({"id": e})),
            "user": reference(&self.user_id), "occurredAt": datetime(self.occurred_at),
            "type": self.entry_type, "summary": self.summary, "comment": self.comment,
        }))
    }
    fn order_key(&self) -> String {
        datetime(self.occurred_at)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct InvoiceItem {
    pub id: String,
    pub description: String,
    pub item_type: String,
    /// Hundredths: 100 = 1.
    pub quantity: i64,
    /// Unit price in cents.
    pub amount: i64,
    pub sub_total: i64,
    pub tax_total: i64,
    pub total: i64,
    pub taxable: bool,
    pub billable: bool,
    pub sequence_number: i64,
    pub piano_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Invoice {
    pub id: String,
    pub number: i64,
    pub client_id: String,
    pub assigned_to: Option<String>,
    pub status: String,
    pub notes: Option<String>,
    pub items: Vec<InvoiceItem>,
    pub due_on: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Invoice {
    pub fn sub_total(&self) -> i64 {
        self.items.iter().map(|i| i.sub_total).sum()
    }
    pub fn tax_total(&self) -> i64 {
        self.items.iter().map(|i| i.tax_total).sum()
    }
    pub fn total(&self) -> i64 {
        self.items.iter().map(|i| i.total).sum()
    }
}

impl Record for Invoice {
    fn id(&self) -> &str {
        &self.id
    }
    fn to_json(&self) -> Map<String, Value> {
        let items: Vec<Value> = self
            .items
            .iter()
            .map(|i| {
                json!({"id": i.id, "description": i.description, "type": i.item_type,
                       "quantity": i.quantity, "amount": i.amount, "subTotal": i.sub_total,
                       "taxTotal": i.tax_total, "total": i.total, "taxable": i.taxable,
                       "billable": i.billable, "sequenceNumber": i.sequence_number,
                       "piano": reference(&i.piano_id), "taxes": []})
            })
            .collect();
        into_map(json!({
            "id": self.id, "number": self.number, "client": {"$ref": self.client_id},
            "assignedTo": reference(&self.assigned_to), "status": self.status, "notes": self.notes,
            "subTotal": self.sub_total(), "taxTotal": self.tax_total(), "total": self.total(),
            "dueOn": self.due_on, "currency": "CAD", "tags": [], "hasPaymentPending": false,
            "hasPaymentsPending": false, "quickbooksSyncNotices": [],
            "allInvoiceItems": {"$list": items},
            "createdAt": datetime(self.created_at), "updatedAt": datetime(self.updated_at),
        }))
    }
    fn order_key(&self) -> String {
        datetime(self.created_at)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct CatalogueItem {
    pub id: String,
    pub group_id: String,
    pub name_fr: String,
    pub name_en: String,
    pub amount: i64,
    pub duration: i64,
    pub item_type: String,
    pub is_archived: bool,
    pub is_taxable: bool,
    pub order: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Record for CatalogueItem {
    fn id(&self) -> &str {
        &self.id
    }
    fn to_json(&self) -> Map<String, Value> {
        into_map(json!({
            "id": self.id, "masterServiceGroup": {"$ref": self.group_id},
            "name": {"fr_CA": self.name_fr, "en_US": self.name_en},
            "description": {"fr_CA": "", "en_US": ""}, "educationDescription": {"fr_CA": "", "en_US": ""},
            "amount": self.amount, "duration": self.duration, "type": self.item_type,
            "isArchived": self.is_archived, "isTaxable": self.is_taxable, "order": self.order,
            "isAnyUser": true, "isDefault": false, "isSelfSchedulable": false,
            "isTuning": self.name_en.contains("Tuning"),
            "createdAt": datetime(self.created_at), "updatedAt": datetime(self.updated_at),
        }))
    }
    fn order_key(&self) -> String {
        format!("{:06}", self.order)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct CatalogueGroup {
    pub id: String,
    pub name_fr: String,
    pub name_en: String,
    pub order: i64,
    pub item_ids: Vec<String>,
    pub created_at: Timestamp,
}

impl Record for CatalogueGroup {
    fn id(&self) -> &str {
        &self.id
    }
    fn to_json(&self) -> Map<String, Value> {
        let items: Vec<Value> = self.item_ids.iter().map(|i| json!({"$ref": i})).collect();
        into_map(json!({
            "id": self.id, "name": {"fr_CA": self.name_fr, "en_US": self.name_en},
            "order": self.order, "isArchived": false, "isMultiChoice": false,
            "estimateChecklistCount": 0, "allMasterServiceItems": items,
            "createdAt": datetime(self.created_at), "updatedAt": datetime(self.created_at),
        }))
    }
    fn order_key(&self) -> String {
        format!("{:06}", self.order)
    }
}

fn into_map(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// One kind of record, by id, with its default order kept as an index so that paging is a
/// seek, not a scan: the `large` data set has over a million timeline entries.
#[derive(Debug, Clone)]
pub struct Table<T: Record> {
    rows: HashMap<String, T>,
    order: BTreeSet<(String, String)>,
}

impl<T: Record> Default for Table<T> {
    fn default() -> Self {
        Table {
            rows: HashMap::new(),
            order: BTreeSet::new(),
        }
    }
}

impl<T: Record> Table<T> {
    pub fn len(&self) -> usize {
        self.rows.len()
    }
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
    pub fn get(&self, id: &str) -> Option<&T> {
        self.rows.get(id)
    }
    pub fn contains(&self, id: &str) -> bool {
        self.rows.contains_key(id)
    }
    /// Inserts or replaces a record.
    pub fn put(&mut self, record: T) {
        if let Some(old) = self.rows.get(record.id()) {
            self.order.remove(&(old.order_key(), old.id().to_owned()));
        }
        self.order
            .insert((record.order_key(), record.id().to_owned()));
        self.rows.insert(record.id().to_owned(), record);
    }
    pub fn remove(&mut self, id: &str) -> Option<T> {
        let old = self.rows.remove(id)?;
        self.order.remove(&(old.order_key(), old.id().to_owned()));
        Some(old)
    }
    /// Edits a record in place, keeping the index right.
    pub fn edit(&mut self, id: &str, f: impl FnOnce(&mut T)) -> bool {
        let Some(mut record) = self.remove(id) else {
            return false;
        };
        f(&mut record);
        self.put(record);
        true
    }
    /// Records in default order (ascending or descending), strictly after `after`.
    pub fn ordered_after<'a>(
        &'a self,
        after: Option<&(String, String)>,
        descending: bool,
    ) -> Box<dyn Iterator<Item = &'a T> + 'a> {
        use std::ops::Bound::{Excluded, Unbounded};
        let range = match (after, descending) {
            (Some(a), false) => self.order.range((Excluded(a.clone()), Unbounded)),
            (Some(a), true) => self.order.range((Unbounded, Excluded(a.clone()))),
            (None, _) => self.order.range::<(String, String), _>(..),
        };
        let rows = &self.rows;
        if descending {
            Box::new(range.rev().filter_map(move |(_, id)| rows.get(id)))
        } else {
            Box::new(range.filter_map(move |(_, id)| rows.get(id)))
        }
    }
    pub fn values(&self) -> impl Iterator<Item = &T> {
        self.rows.values()
    }
}
