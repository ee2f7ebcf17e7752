//! Gazelle's records → the store's records.
//!
//! Every decision about a missing or odd value is made here, once:
//!
//! * A client without a company name is named after its default contact ("Élise Bérubé"),
//!   as V4 did; with neither, "(sans nom)". E-mail, phone and address come from the default
//!   contact, which is also mirrored in `Contacts` (only default contacts are mirrored:
//!   `allContacts` has no top-level list and would cost one request per client).
//! * A piano without a make gets "(inconnue)": `Pianos.Make` is NOT NULL and the piano
//!   matters more than the blank.
//! * An appointment without a technician gets [`UNASSIGNED`]; an event without a client
//!   (personal block, memo) goes to `OtherEvents`.
//! * An invoice's date is its creation day in Montréal (Gazelle has no invoice date field).
//! * Missing status values fall back to Gazelle's defaults (ACTIVE, DRAFT); unknown ones are
//!   kept as they come.

use api_client::model::{self, i18n};
use jiff::tz::TimeZone;
use store::records::*;
use store::{Cents, Hundredths};

/// `Appointments.TechnicianId` of an appointment nobody is assigned to.
pub const UNASSIGNED: &str = "unassigned";
/// `Pianos.Make` of a piano whose make is unknown.
pub const UNKNOWN_MAKE: &str = "(inconnue)";
/// `Clients.CompanyName` of a client with neither a company name nor a contact.
pub const NO_NAME: &str = "(sans nom)";

fn non_empty(value: &Option<String>) -> Option<String> {
    value
        .as_ref()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

pub fn user(u: &model::User) -> UserRecord {
    UserRecord {
        external_id: u.id.clone(),
        first_name: u.first_name.clone(),
        last_name: u.last_name.clone(),
        email: u.email.clone(),
        status: u.status.clone(),
        access_level: u.access_level.clone(),
        is_schedulable: u.is_schedulable.unwrap_or(false),
        timezone: u.timezone.clone(),
        created_at: u.created_at,
        updated_at: u.updated_at,
    }
}

pub fn product(item: &model::CatalogueItem) -> ProductRecord {
    ProductRecord {
        external_id: item.id.clone(),
        name: i18n(&item.name).unwrap_or_default(),
        description: i18n(&item.description).filter(|d| !d.is_empty()),
        retail_price: Cents(item.amount.unwrap_or(0)),
        active: !item.is_archived.unwrap_or(false),
        product_type: item.item_type.clone(),
        group_name: item
            .master_service_group
            .as_ref()
            .and_then(|g| i18n(&g.name)),
        created_at: item.created_at,
        updated_at: item.updated_at,
    }
}

/// A client and, when it has one, its default contact.
/// A client and every contact of it: all of `allContacts` (archived ones flagged) when the
/// read carried it, else the default contact alone.
pub fn client(c: &model::Client) -> (ClientRecord, Vec<ContactRecord>) {
    let contact = c.default_contact.as_ref();
    let first = contact.and_then(|k| non_empty(&k.first_name));
    let last = contact.and_then(|k| non_empty(&k.last_name));
    let person = [first.clone(), last.clone()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let company_name = non_empty(&c.company_name)
        .or_else(|| (!person.is_empty()).then_some(person))
        .unwrap_or_else(|| NO_NAME.to_owned());
    let email = contact
        .and_then(|k| k.default_email.as_ref())
        .and_then(|e| non_empty(&e.email));
    let phone = contact
        .and_then(|k| k.default_phone.as_ref())
        .and_then(|p| non_empty(&p.phone_number));
    let address = contact
        .and_then(|k| k.default_location.as_ref())
        .map(model::Location::one_line)
        .filter(|a| !a.is_empty());
    let tags = c
        .tags
        .as_ref()
        .filter(|t| !t.is_empty())
        .map(|t| t.join(", "));
    let record = ClientRecord {
        external_id: c.id.clone(),
        company_name,
        first_name: first,
        last_name: last,
        status: c.status.clone().unwrap_or_else(|| "ACTIVE".into()),
        tags,
        client_type: c.client_type.clone(),
        default_contact_external_id: contact.map(|k| k.id.clone()),
        email,
        phone,
        address,
        created_at: c.created_at,
        updated_at: c.updated_at,
    };
    let all = c.all_contacts.as_ref().map(|page| page.nodes.as_slice());
    let contacts = all
        .unwrap_or(contact.map(std::slice::from_ref).unwrap_or_default())
        .iter()
        .map(|k| contact_record(&c.id, k))
        .collect();
    (record, contacts)
}

fn contact_record(client: &str, k: &model::Contact) -> ContactRecord {
    ContactRecord {
        external_id: k.id.clone(),
        client_external_id: client.to_owned(),
        first_name: k.first_name.clone(),
        last_name: k.last_name.clone(),
        email: k.default_email.as_ref().and_then(|e| non_empty(&e.email)),
        phone: k
            .default_phone
            .as_ref()
            .and_then(|p| non_empty(&p.phone_number)),
        address: k
            .default_location
            .as_ref()
            .map(model::Location::one_line)
            .filter(|a| !a.is_empty()),
        archived: k.archived.unwrap_or(false),
        updated_at: k.updated_at,
    }
}

pub fn piano(p: &model::Piano) -> PianoRecord {
    PianoRecord {
        external_id: p.id.clone(),
        client_external_id: p.client.as_ref().map(|c| c.id.clone()).unwrap_or_default(),
        make: non_empty(&p.make).unwrap_or_else(|| UNKNOWN_MAKE.to_owned()),
        model: p.model.clone(),
        serial_number: p.serial_number.clone(),
        piano_type: p.piano_type.clone(),
        year: p.year,
        location: p.location.clone(),
        notes: p.notes.clone(),
        status: p.status.clone(),
        has_humidity_control: p.dampp_chaser_installed.unwrap_or(false),
        created_at: p.created_at,
        updated_at: p.updated_at,
    }
}

/// An event: an appointment when it has a client, otherwise an "other" event.
pub enum EventRecord {
    Appointment(AppointmentRecord),
    Other(OtherEventRecord),
}

pub fn event(e: &model::Event) -> EventRecord {
    let status = e.status.clone().unwrap_or_else(|| "ACTIVE".into());
    let event_type = e.event_type.clone().unwrap_or_else(|| "APPOINTMENT".into());
    match &e.client {
        Some(client) => EventRecord::Appointment(AppointmentRecord {
            external_id: e.id.clone(),
            client_external_id: client.id.clone(),
            technician_id: e
                .user
                .as_ref()
                .map_or_else(|| UNASSIGNED.to_owned(), |u| u.id.clone()),
            // The first piano, for the V4 queries; every piano is in AppointmentPianos.
            piano_external_id: e.piano_ids().first().map(|p| (*p).to_owned()),
            description: e.title.clone(),
            status,
            event_type,
            start_at: e.start,
            duration_minutes: e.duration,
            is_all_day: e.is_all_day.unwrap_or(false),
            notes: e.notes.clone(),
            confirmed_by_client: e.confirmed_by_client.unwrap_or(false),
            created_at: e.created_at,
            updated_at: e.updated_at,
        }),
        None => EventRecord::Other(OtherEventRecord {
            external_id: e.id.clone(),
            technician_id: e.user.as_ref().map(|u| u.id.clone()),
            event_type,
            title: e.title.clone(),
            start_at: e.start,
            duration_minutes: e.duration,
            is_all_day: e.is_all_day.unwrap_or(false),
            status,
            notes: e.notes.clone(),
            created_at: e.created_at,
            updated_at: e.updated_at,
        }),
    }
}

pub fn timeline_entry(t: &model::TimelineEntry) -> TimelineEntryRecord {
    TimelineEntryRecord {
        external_id: t.id.clone(),
        client_external_id: t.client.as_ref().map(|c| c.id.clone()).unwrap_or_default(),
        piano_external_id: t.piano.as_ref().map(|p| p.id.clone()),
        invoice_id: t.invoice.as_ref().map(|i| i.id.clone()),
        estimate_id: t.estimate.as_ref().map(|e| e.id.clone()),
        occurred_at: t.occurred_at,
        entry_type: t.entry_type.clone().unwrap_or_default(),
        title: t.summary.clone(),
        details: t.comment.clone(),
        user_id: t.user.as_ref().map(|u| u.id.clone()),
    }
}

/// An invoice and its lines.
pub fn invoice(i: &model::Invoice, tz: &TimeZone) -> (InvoiceRecord, Vec<InvoiceItemRecord>) {
    let record = InvoiceRecord {
        external_id: i.id.clone(),
        client_external_id: i.client.as_ref().map(|c| c.id.clone()).unwrap_or_default(),
        number: i.number.map(|n| n.to_string()).unwrap_or_default(),
        invoice_date: i.created_at.map(|t| t.to_zoned(tz.clone()).date()),
        status: i.status.clone().unwrap_or_else(|| "DRAFT".into()),
        sub_total: Cents(i.sub_total.unwrap_or(0)),
        tax_total: Cents(i.tax_total.unwrap_or(0)),
        total: Cents(i.total.unwrap_or(0)),
        notes: i.notes.clone(),
        assigned_to_id: i.assigned_to.as_ref().map(|u| u.id.clone()),
        created_at: i.created_at,
        due_on: i.due_on,
        updated_at: i.updated_at,
    };
    let items = i
        .all_invoice_items
        .iter()
        .flat_map(|page| &page.nodes)
        .map(|item| InvoiceItemRecord {
            external_id: item.id.clone(),
            invoice_external_id: i.id.clone(),
            piano_external_id: item.piano.as_ref().map(|p| p.id.clone()),
            description: non_empty(&item.description)
                .unwrap_or_else(|| "(sans description)".into()),
            quantity: Hundredths(item.quantity.unwrap_or(100)),
            unit_price: item.amount.map(Cents),
            amount: item.sub_total.map(Cents),
            tax_total: Cents(item.tax_total.unwrap_or(0)),
            total: Cents(item.total.unwrap_or(0)),
            item_type: item.item_type.clone(),
            taxable: item.taxable.unwrap_or(false),
            billable: item.billable.unwrap_or(true),
            sequence_number: item.sequence_number,
        })
        .collect();
    (record, items)
}
