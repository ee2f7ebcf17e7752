//! What the client decodes from Gazelle's answers.
//!
//! Tolerant by design, as the real service requires: every field the schema allows to be
//! null is an `Option`; enums are kept as strings (a value added upstream tomorrow is stored,
//! not a crash); fields the client did not ask for are ignored. Money is integer cents,
//! quantities hundredths; instants are UTC.

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A reference to another record: `{ id }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct IdRef {
    pub id: String,
}

/// Relay paging information.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct PageInfo {
    pub has_next_page: bool,
    pub end_cursor: Option<String>,
}

/// One page of a connection.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", bound(deserialize = "T: Deserialize<'de>"))]
pub struct Page<T> {
    /// Gazelle's connection lists are `[T]`: a null node is possible and skipped.
    #[serde(default = "Vec::new", deserialize_with = "skip_nulls")]
    pub nodes: Vec<T>,
    #[serde(default)]
    pub page_info: PageInfo,
    #[serde(default)]
    pub total_count: Option<u64>,
}

fn skip_nulls<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    let items: Option<Vec<Option<T>>> = Option::deserialize(d)?;
    Ok(items.unwrap_or_default().into_iter().flatten().collect())
}

/// A `mutationErrors` entry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldError {
    pub field_name: Option<String>,
    #[serde(default)]
    pub messages: Vec<String>,
    pub key: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.field_name {
            Some(field) => write!(f, "{field}: {}", self.messages.join(", ")),
            None => write!(f, "{}", self.messages.join(", ")),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub status: Option<String>,
    pub access_level: Option<String>,
    pub is_schedulable: Option<bool>,
    pub timezone: Option<String>,
    pub created_at: Option<Timestamp>,
    pub updated_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CatalogueGroup {
    pub id: String,
    pub name: Option<Value>,
}

/// A master service item. `name` and `description` are `I18nString`: see [`i18n`].
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CatalogueItem {
    pub id: String,
    pub name: Option<Value>,
    pub description: Option<Value>,
    pub amount: Option<i64>,
    pub duration: Option<i64>,
    #[serde(rename = "type")]
    pub item_type: Option<String>,
    pub is_archived: Option<bool>,
    pub is_taxable: Option<bool>,
    pub order: Option<i64>,
    pub created_at: Option<Timestamp>,
    pub updated_at: Option<Timestamp>,
    pub master_service_group: Option<CatalogueGroup>,
}

/// Reads an `I18nString`: a plain string, or an object of locales; French (Québec) first.
pub fn i18n(value: &Option<Value>) -> Option<String> {
    match value.as_ref()? {
        Value::String(s) => Some(s.clone()),
        Value::Object(map) => ["fr_CA", "fr", "en_US", "en"]
            .iter()
            .find_map(|k| {
                map.get(*k)
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
            })
            .or_else(|| map.values().find_map(Value::as_str))
            .map(str::to_owned),
        _ => None,
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct EmailField {
    pub email: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PhoneField {
    pub phone_number: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    pub street1: Option<String>,
    pub street2: Option<String>,
    pub municipality: Option<String>,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    pub country_code: Option<String>,
}

impl Location {
    /// One line: "1234 rue Saint-Denis, Montréal QC H2X 1Y2".
    pub fn one_line(&self) -> String {
        let street = [&self.street1, &self.street2]
            .into_iter()
            .flatten()
            .filter(|s| !s.is_empty())
            .cloned()
            .collect::<Vec<_>>()
            .join(" ");
        let place = [&self.municipality, &self.region, &self.postal_code]
            .into_iter()
            .flatten()
            .filter(|s| !s.is_empty())
            .cloned()
            .collect::<Vec<_>>()
            .join(" ");
        [street, place]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Contact {
    pub id: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub is_default: Option<bool>,
    pub archived: Option<bool>,
    pub updated_at: Option<Timestamp>,
    pub default_email: Option<EmailField>,
    pub default_phone: Option<PhoneField>,
    pub default_location: Option<Location>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Client {
    pub id: String,
    pub company_name: Option<String>,
    pub status: Option<String>,
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    pub client_type: Option<String>,
    pub created_at: Option<Timestamp>,
    pub updated_at: Option<Timestamp>,
    pub default_contact: Option<Contact>,
    /// Every contact, archived ones included (the first page; see
    /// `GazelleClient::complete_contacts`).
    #[serde(default)]
    pub all_contacts: Option<Page<Contact>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientContacts {
    pub id: String,
    pub all_contacts: Page<Contact>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Piano {
    pub id: String,
    pub make: Option<String>,
    pub model: Option<String>,
    pub serial_number: Option<String>,
    #[serde(rename = "type")]
    pub piano_type: Option<String>,
    pub year: Option<i64>,
    pub location: Option<String>,
    pub notes: Option<String>,
    pub status: Option<String>,
    pub dampp_chaser_installed: Option<bool>,
    pub created_at: Option<Timestamp>,
    pub updated_at: Option<Timestamp>,
    pub client: Option<IdRef>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct EventPiano {
    pub piano: Option<IdRef>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub id: String,
    pub title: Option<String>,
    pub start: Option<Timestamp>,
    pub duration: Option<i64>,
    pub is_all_day: Option<bool>,
    pub notes: Option<String>,
    #[serde(rename = "type")]
    pub event_type: Option<String>,
    pub status: Option<String>,
    pub confirmed_by_client: Option<bool>,
    pub created_at: Option<Timestamp>,
    pub updated_at: Option<Timestamp>,
    pub client: Option<IdRef>,
    pub user: Option<IdRef>,
    pub all_event_pianos: Option<Page<EventPiano>>,
}

impl Event {
    /// The ids of the event's pianos.
    pub fn piano_ids(&self) -> Vec<&str> {
        self.all_event_pianos
            .iter()
            .flat_map(|p| &p.nodes)
            .filter_map(|ep| ep.piano.as_ref().map(|p| p.id.as_str()))
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TimelineEntry {
    pub id: String,
    pub occurred_at: Option<Timestamp>,
    #[serde(rename = "type")]
    pub entry_type: Option<String>,
    pub summary: Option<String>,
    pub comment: Option<String>,
    pub client: Option<IdRef>,
    pub piano: Option<IdRef>,
    pub invoice: Option<IdRef>,
    pub estimate: Option<IdRef>,
    pub user: Option<IdRef>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceItem {
    pub id: String,
    pub description: Option<String>,
    #[serde(rename = "type")]
    pub item_type: Option<String>,
    /// Hundredths: 100 = 1.
    pub quantity: Option<i64>,
    /// Unit price, cents.
    pub amount: Option<i64>,
    pub sub_total: Option<i64>,
    pub tax_total: Option<i64>,
    pub total: Option<i64>,
    pub taxable: Option<bool>,
    pub billable: Option<bool>,
    pub sequence_number: Option<i64>,
    pub piano: Option<IdRef>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Invoice {
    pub id: String,
    pub number: Option<i64>,
    pub status: Option<String>,
    pub sub_total: Option<i64>,
    pub tax_total: Option<i64>,
    pub total: Option<i64>,
    pub notes: Option<String>,
    pub created_at: Option<Timestamp>,
    pub updated_at: Option<Timestamp>,
    pub due_on: Option<Date>,
    pub client: Option<IdRef>,
    pub assigned_to: Option<IdRef>,
    pub all_invoice_items: Option<Page<InvoiceItem>>,
}
