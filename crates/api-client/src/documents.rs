//! Every GraphQL document the client can send. Each is validated against Gazelle's schema by
//! this crate's tests (`tests/documents.rs`), so a field Gazelle lacks fails the build's
//! tests, not production.
//!
//! Ids are declared `String`, not `ID`: Gazelle's arguments are `String` and a mismatch is a
//! "Type mismatch on variable" error.

/// A named document and whether sending it twice is harmless.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation {
    pub name: &'static str,
    pub document: &'static str,
    /// Queries, and mutations made idempotent (a client-supplied id): safe to retry after
    /// the request may have reached the server. Anything else is sent once.
    pub idempotent: bool,
}

const PAGE_INFO: &str = "pageInfo { hasNextPage endCursor } totalCount";

macro_rules! query {
    ($name:ident, $op:literal, $doc:expr) => {
        pub const $name: Operation = Operation {
            name: $op,
            document: $doc,
            idempotent: true,
        };
    };
}

macro_rules! mutation {
    ($name:ident, $op:literal, $idempotent:literal, $doc:expr) => {
        pub const $name: Operation = Operation {
            name: $op,
            document: $doc,
            idempotent: $idempotent,
        };
    };
}

query!(
    USERS,
    "Users",
    "query Users { allUsers { id firstName lastName email status accessLevel isSchedulable timezone createdAt updatedAt } }"
);

query!(
    CATALOGUE,
    "Catalogue",
    "query Catalogue { allMasterServiceItems { id name description amount duration type isArchived isTaxable order createdAt updatedAt masterServiceGroup { id name } } }"
);

const CONTACT_FIELDS: &str = "id firstName lastName isDefault archived updatedAt defaultEmail { email } defaultPhone { phoneNumber } \
    defaultLocation { street1 street2 municipality region postalCode countryCode }";

/// Contacts that come with each client; a client with more is completed with
/// [`CLIENT_CONTACTS`].
pub const CONTACTS_PER_CLIENT: u32 = 25;

pub(crate) const CLIENT_FIELDS: &str = const_format::concatcp!(
    "id companyName status tags clientType createdAt updatedAt defaultContact { ",
    CONTACT_FIELDS,
    " } allContacts(first: ",
    CONTACTS_PER_CLIENT,
    ", includeArchived: true) { nodes { ",
    CONTACT_FIELDS,
    " } pageInfo { hasNextPage endCursor } }"
);

query!(
    CLIENTS,
    "Clients",
    const_format::concatcp!(
        "query Clients($first: Int, $after: String, $filters: PrivateAllClientsFilter, $sortBy: [ClientSort!]) { ",
        "allClients(first: $first, after: $after, filters: $filters, sortBy: $sortBy) { nodes { ",
        CLIENT_FIELDS,
        " } ",
        PAGE_INFO,
        " } }"
    )
);

query!(
    CLIENT_CONTACTS,
    "ClientContacts",
    const_format::concatcp!(
        "query ClientContacts($clientId: String!, $first: Int, $after: String) { client(id: $clientId) { ",
        "allContacts(first: $first, after: $after, includeArchived: true) { nodes { ",
        CONTACT_FIELDS,
        " } pageInfo { hasNextPage endCursor } totalCount } } }"
    )
);

pub(crate) const PIANO_FIELDS: &str = "id make model serialNumber type year location notes status damppChaserInstalled createdAt updatedAt client { id }";

pub(crate) const INVOICE_FIELDS: &str = "id number status subTotal taxTotal total notes createdAt updatedAt dueOn client { id } assignedTo { id } \
    allInvoiceItems { nodes { id description type quantity amount subTotal taxTotal total taxable billable sequenceNumber piano { id } } }";

query!(
    PIANOS,
    "Pianos",
    const_format::concatcp!(
        "query Pianos($first: Int, $after: String, $filters: PrivateAllPianosFilter, $sortBy: [PianoSort!]) { ",
        "allPianos(first: $first, after: $after, filters: $filters, sortBy: $sortBy) { nodes { ",
        PIANO_FIELDS,
        " } ",
        PAGE_INFO,
        " } }"
    )
);

/// Pianos that come with each event; an event with more (a conservatory day) is completed
/// with [`EVENT_PIANOS`].
pub const PIANOS_PER_EVENT: u32 = 10;

pub(crate) const EVENT_FIELDS: &str = const_format::concatcp!(
    "id title start duration isAllDay notes type status confirmedByClient createdAt updatedAt \
    client { id } user { id } allEventPianos(first: ",
    PIANOS_PER_EVENT,
    ") { nodes { piano { id } } pageInfo { hasNextPage endCursor } }"
);

query!(
    EVENT_PIANOS,
    "EventPianos",
    "query EventPianos($eventId: String!, $first: Int, $after: String) { event(eventId: $eventId) { \
     allEventPianos(first: $first, after: $after) { nodes { piano { id } } pageInfo { hasNextPage endCursor } totalCount } } }"
);

query!(
    EVENTS,
    "Events",
    const_format::concatcp!(
        "query Events($first: Int, $after: String, $filters: PrivateAllEventsFilter, $sortBy: [EventSort!]) { ",
        "allEventsBatched(first: $first, after: $after, filters: $filters, sortBy: $sortBy) { nodes { ",
        EVENT_FIELDS,
        " } ",
        PAGE_INFO,
        " } }"
    )
);

query!(
    EVENT,
    "Event",
    const_format::concatcp!(
        "query Event($eventId: String!) { event(eventId: $eventId) { ",
        EVENT_FIELDS,
        " } }"
    )
);

query!(
    TIMELINE,
    "Timeline",
    const_format::concatcp!(
        "query Timeline($first: Int, $after: String, $occurredAtGet: CoreDateTime, $types: [TimelineEntryType!], $clientId: String) { ",
        "allTimelineEntries(first: $first, after: $after, occurredAtGet: $occurredAtGet, types: $types, clientId: $clientId) { nodes { ",
        "id occurredAt type summary comment client { id } piano { id } invoice { id } estimate { id } user { id } } ",
        PAGE_INFO,
        " } }"
    )
);

query!(
    INVOICES,
    "Invoices",
    const_format::concatcp!(
        "query Invoices($first: Int, $after: String, $filters: PrivateAllInvoicesFilter, $sortBy: [InvoiceSort!]) { ",
        "allInvoices(first: $first, after: $after, filters: $filters, sortBy: $sortBy) { nodes { ",
        INVOICE_FIELDS,
        " } ",
        PAGE_INFO,
        " } }"
    )
);

query!(
    CLIENT,
    "Client",
    const_format::concatcp!(
        "query Client($id: String!) { client(id: $id) { ",
        CLIENT_FIELDS,
        " } }"
    )
);

query!(
    PIANO,
    "Piano",
    const_format::concatcp!(
        "query Piano($id: String!) { piano(id: $id) { ",
        PIANO_FIELDS,
        " } }"
    )
);

query!(
    INVOICE,
    "Invoice",
    const_format::concatcp!(
        "query Invoice($id: String!) { invoice(id: $id) { ",
        INVOICE_FIELDS,
        " } }"
    )
);

query!(
    CONTACT,
    "Contact",
    "query Contact($id: String!) { contact(id: $id) { id firstName lastName updatedAt defaultEmail { id email } defaultPhone { id phoneNumber } } }"
);

const ERRORS: &str = "mutationErrors { fieldName messages key type errorReferenceId }";

mutation!(
    CREATE_CLIENT,
    "CreateClient",
    true,
    const_format::concatcp!(
        "mutation CreateClient($id: String, $input: PrivateClientInput!) { createClient(id: $id, input: $input) { client { ",
        CLIENT_FIELDS,
        " } ",
        ERRORS,
        " } }"
    )
);
mutation!(
    UPDATE_CLIENT,
    "UpdateClient",
    true,
    const_format::concatcp!(
        "mutation UpdateClient($id: String!, $input: PrivateClientInput!) { updateClient(id: $id, input: $input) { client { ",
        CLIENT_FIELDS,
        " } ",
        ERRORS,
        " } }"
    )
);
mutation!(
    CREATE_PIANO,
    "CreatePiano",
    false,
    const_format::concatcp!(
        "mutation CreatePiano($input: PrivatePianoInput!) { createPiano(input: $input) { piano { id updatedAt } ",
        ERRORS,
        " } }"
    )
);
mutation!(
    UPDATE_PIANO,
    "UpdatePiano",
    true,
    const_format::concatcp!(
        "mutation UpdatePiano($id: String!, $input: PrivatePianoInput!) { updatePiano(id: $id, input: $input) { piano { id updatedAt } ",
        ERRORS,
        " } }"
    )
);
mutation!(
    CREATE_EVENT,
    "CreateEvent",
    false,
    const_format::concatcp!(
        "mutation CreateEvent($input: PrivateEventInput!) { createEvent(input: $input) { event { ",
        EVENT_FIELDS,
        " } ",
        ERRORS,
        " } }"
    )
);
mutation!(
    UPDATE_EVENT,
    "UpdateEvent",
    true,
    const_format::concatcp!(
        "mutation UpdateEvent($id: String!, $input: PrivateEventInput!) { updateEvent(id: $id, input: $input) { event { ",
        EVENT_FIELDS,
        " } ",
        ERRORS,
        " } }"
    )
);
mutation!(
    CANCEL_EVENT,
    "CancelEvent",
    true,
    const_format::concatcp!(
        "mutation CancelEvent($eventId: String!) { cancelEvent(eventId: $eventId) { event { id status updatedAt } ",
        ERRORS,
        " } }"
    )
);
mutation!(
    CONFIRM_EVENT,
    "ConfirmEvent",
    true,
    const_format::concatcp!(
        "mutation ConfirmEvent($id: String!) { confirmEvent(id: $id, input: { isSilent: true }) { event { id confirmedByClient updatedAt } ",
        ERRORS,
        " } }"
    )
);
mutation!(
    CREATE_INVOICE,
    "CreateInvoice",
    true,
    const_format::concatcp!(
        "mutation CreateInvoice($id: String, $input: PrivateCreateInvoiceInput!) { createInvoice(id: $id, input: $input) { invoice { id number status subTotal taxTotal total updatedAt allInvoiceItems { nodes { id sequenceNumber } } } ",
        ERRORS,
        " } }"
    )
);
mutation!(
    UPDATE_INVOICE,
    "UpdateInvoice",
    true,
    const_format::concatcp!(
        "mutation UpdateInvoice($id: String!, $input: PrivateUpdateInvoiceInput!) { updateInvoice(id: $id, input: $input) { invoice { id number status subTotal taxTotal total updatedAt allInvoiceItems { nodes { id sequenceNumber } } } ",
        ERRORS,
        " } }"
    )
);
mutation!(
    CREATE_CLIENT_LOG,
    "CreateClientLog",
    false,
    const_format::concatcp!(
        "mutation CreateClientLog($clientId: String!, $pianoId: String, $input: PrivateClientLogInput!) { createClientLog(clientId: $clientId, pianoId: $pianoId, input: $input) { clientLog { id } ",
        ERRORS,
        " } }"
    )
);

mutation!(
    UPDATE_CONTACT,
    "UpdateContact",
    true,
    const_format::concatcp!(
        "mutation UpdateContact($id: String!, $input: PrivateContactInputWithoutNestedCollections!) { updateContact(id: $id, input: $input) { contact { id updatedAt } ",
        ERRORS,
        " } }"
    )
);
mutation!(
    UPDATE_CONTACT_EMAIL,
    "UpdateContactEmail",
    true,
    const_format::concatcp!(
        "mutation UpdateContactEmail($id: String!, $input: PrivateContactEmailInput!) { updateContactEmail(id: $id, input: $input) { email { id email } ",
        ERRORS,
        " } }"
    )
);
mutation!(
    CREATE_CONTACT_EMAIL,
    "CreateContactEmail",
    false,
    const_format::concatcp!(
        "mutation CreateContactEmail($contactId: String!, $input: PrivateContactEmailInput!) { createContactEmail(contactId: $contactId, input: $input) { email { id email } ",
        ERRORS,
        " } }"
    )
);
mutation!(
    UPDATE_CONTACT_PHONE,
    "UpdateContactPhone",
    true,
    const_format::concatcp!(
        "mutation UpdateContactPhone($id: String!, $input: PrivateContactPhoneInput!) { updateContactPhone(id: $id, input: $input) { phone { id phoneNumber } ",
        ERRORS,
        " } }"
    )
);
mutation!(
    CREATE_CONTACT_PHONE,
    "CreateContactPhone",
    false,
    const_format::concatcp!(
        "mutation CreateContactPhone($contactId: String!, $input: PrivateContactPhoneInput!) { createContactPhone(contactId: $contactId, input: $input) { phone { id phoneNumber } ",
        ERRORS,
        " } }"
    )
);

/// Every document the client can send.
pub const ALL: &[Operation] = &[
    USERS,
    CATALOGUE,
    CLIENTS,
    CLIENT_CONTACTS,
    PIANOS,
    EVENTS,
    EVENT_PIANOS,
    EVENT,
    CLIENT,
    PIANO,
    INVOICE,
    TIMELINE,
    INVOICES,
    CREATE_CLIENT,
    UPDATE_CLIENT,
    CREATE_PIANO,
    UPDATE_PIANO,
    CREATE_EVENT,
    UPDATE_EVENT,
    CANCEL_EVENT,
    CONFIRM_EVENT,
    CREATE_INVOICE,
    UPDATE_INVOICE,
    CREATE_CLIENT_LOG,
    CONTACT,
    UPDATE_CONTACT,
    UPDATE_CONTACT_EMAIL,
    CREATE_CONTACT_EMAIL,
    UPDATE_CONTACT_PHONE,
    CREATE_CONTACT_PHONE,
];
