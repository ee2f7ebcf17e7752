//! The request/answer verbs: one request type per verb, each bound to its answer type by
//! [`Verb`]. The wire enums [`Call`] and [`Answer`] are generated from one list, so a verb
//! cannot exist on one side only, and the daemon's dispatch (a `match` over [`Call`]
//! without a wildcard) does not compile while a verb has no handler.
//!
//! The answer types are the ones their owners define (the store's rows, the managers'
//! outcomes, the detectors' reports), serialized as they are: one definition for the
//! daemon that fills them and the CLI that prints them, as `pueue_lib` shares its `Task`.

use serde::{Deserialize, Serialize};
use store::alerts::{AlertFilter, MaintenanceAlert, SystemAlert};
use store::local::{ClientChange, ContactChange, LocalInvoice, LocalLine, NewClient, PianoChange};
use store::outbox::{Conflict, Entry};

use crate::status::{DaemonStatus, RunView};

/// A request with an answer of its own type.
pub trait Verb: Serialize + Sized {
    type Answer: Serialize + for<'de> Deserialize<'de>;
    /// The request as it travels.
    fn call(self) -> Call;
    /// The answer as it travels.
    fn answer(answer: Self::Answer) -> Answer;
    /// This verb's answer out of a frame; anything else is given back (boxed: it is only
    /// ever named in an error).
    fn take(answer: Answer) -> Result<Self::Answer, Box<Answer>>;
}

macro_rules! verbs {
    ($( $(#[$doc:meta])* $verb:ident => $answer:ty, )*) => {
        /// Every request/answer verb, as it travels: `{"request":"call","verb":"invoice-show",…}`.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "verb", rename_all = "kebab-case")]
        pub enum Call {
            $( $(#[$doc])* $verb($verb), )*
        }

        /// Every verb's answer, as it travels: `{"answer":"invoice-show","data":…}`.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "answer", content = "data", rename_all = "kebab-case")]
        // Answers are built once and written at once: boxing the large ones buys nothing.
        #[allow(clippy::large_enum_variant)]
        pub enum Answer {
            $( $verb($answer), )*
        }

        impl Call {
            /// One request of every verb, each with its default arguments: what a test
            /// starts from to reach every handler (a verb cannot be left out).
            pub fn samples() -> Vec<Call> {
                vec![ $( Call::$verb($verb::default()), )* ]
            }

            /// The verb's name on the wire (for logs).
            pub fn name(&self) -> &'static str {
                match self {
                    $( Call::$verb(_) => stringify!($verb), )*
                }
            }
        }

        $(
            impl Verb for $verb {
                type Answer = $answer;
                fn call(self) -> Call {
                    Call::$verb(self)
                }
                fn answer(answer: $answer) -> Answer {
                    Answer::$verb(answer)
                }
                fn take(answer: Answer) -> Result<$answer, Box<Answer>> {
                    match answer {
                        Answer::$verb(a) => Ok(a),
                        #[allow(unreachable_patterns)]
                        other => Err(Box::new(other)),
                    }
                }
            }
        )*
    };
}

verbs! {
    /// Everything `gazellectl status` shows.
    Status => DaemonStatus,
    /// The most recent sync runs, newest first.
    Runs => Vec<RunView>,
    /// Maintenance alerts of one state, and the other open alerts. Streamed.
    AlertsList => AlertList,
    AlertShow => MaintenanceAlert,
    AlertResolve => MaintenanceAlert,
    AlertArchive => MaintenanceAlert,
    /// Scans the service notes not yet scanned.
    AlertsScan => alerts::detect::DetectReport,
    /// Sends a test e-mail and waits for the server's verdict.
    TestEmail => EmailVerdict,
    /// Invoices, drafts first. Streamed.
    InvoicesList => Vec<LocalInvoice>,
    InvoiceShow => InvoiceView,
    InvoiceCreate => InvoiceView,
    InvoiceAddLine => LineAdded,
    InvoiceSetStatus => InvoiceView,
    AppointmentCreate => managers::appointments::Outcome,
    AppointmentMove => managers::appointments::Outcome,
    AppointmentReassign => managers::appointments::Outcome,
    AppointmentCancel => managers::appointments::Outcome,
    AppointmentConfirm => managers::appointments::Outcome,
    /// Appointments day by day. Streamed.
    Calendar => Vec<CalendarEntry>,
    /// The same as an iCalendar document. Streamed: the parts are pieces of the text.
    CalendarIcs => IcsText,
    ClientCreate => Created,
    ClientEdit => Queued,
    PianoEdit => Queued,
    StockList => Vec<store::local::StockLine>,
    StockChange => Vec<managers::inventory::Moved>,
    StockTransfer => Vec<managers::inventory::Moved>,
    /// Local edits not yet in Gazelle, or of one state. Streamed.
    OutboxList => Vec<OutboxLine>,
    OutboxRetry => Entry,
    OutboxDiscard => Entry,
    ConflictsList => Vec<Conflict>,
    ConflictShow => Conflict,
    ConflictResolve => Conflict,
    /// A one-time link that logs the owner into the dashboard.
    WebOpen => WebLink,
    /// Invites a technician or the office to the dashboard (the link is e-mailed too).
    WebInvite => WebLink,
}

/// `gazellectl open`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebOpen {}

/// `gazellectl web invite`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebInvite {
    /// The person's e-mail address: their login, and where the invitation goes.
    pub email: String,
    /// A technician's Gazelle user id (`usr_…`); none: an office account.
    pub technician: Option<String>,
    /// `fr` or `en`; none: `alerts.language`.
    pub language: Option<String>,
    /// Who invites (the person at the Mac).
    pub author: String,
}

/// A link to the dashboard, with what to check on first visit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebLink {
    pub url: String,
    /// The SHA-256 fingerprint of the certificate, when served over TLS.
    pub fingerprint: Option<String>,
    /// How long the link works, in minutes.
    pub valid_minutes: u32,
    /// Whether the link was also e-mailed.
    pub emailed: bool,
}

/// The verbs whose answers come in parts: every part but the last is a
/// [`crate::Response::Part`], the last a [`crate::Response::Answer`]; together they are
/// the answer. Memory stays bounded on both sides whatever the length of the list.
pub trait Listing: Verb {
    /// At most this many items per part.
    const PART: usize = 500;
}

impl Listing for AlertsList {}
impl Listing for InvoicesList {}
impl Listing for Calendar {}
impl Listing for CalendarIcs {}
impl Listing for OutboxList {}

// ---- requests -----------------------------------------------------------------------

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Runs {
    /// At most 500.
    pub limit: u32,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertsList {
    pub filter: AlertFilter,
    /// None: all of them.
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertShow {
    pub id: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertResolve {
    pub id: i64,
    /// What was done; required.
    pub note: String,
    /// Who did it (the person at the Mac, or the dashboard's account).
    #[serde(default)]
    pub author: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertArchive {
    pub id: i64,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertsScan {
    /// A local date (`YYYY-MM-DD`); None: the configured window.
    pub since: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestEmail {
    /// Default: the owner.
    pub to: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoicesList {
    /// 1–10,000.
    pub limit: u32,
}

/// An invoice by local id or Gazelle id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceShow {
    pub id: String,
}

/// A line as typed: amounts already read from the person's spelling (`120,00 $`) by the
/// CLI; the daemon checks their bounds (`managers::invoices`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    pub description: String,
    pub quantity_hundredths: i64,
    pub unit_price_cents: i64,
    pub taxable: bool,
    /// LABOR_FIXED_RATE, LABOR_HOURLY, EXPENSE, MILEAGE, OTHER.
    pub item_type: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceCreate {
    /// Local id or `cli_…`.
    pub client: String,
    pub lines: Vec<Line>,
    pub notes: Option<String>,
    /// A local date.
    pub due_on: Option<String>,
    pub assigned_to: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceAddLine {
    pub id: String,
    pub line: Line,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceSetStatus {
    pub id: String,
    pub status: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppointmentCreate {
    pub client: String,
    /// `usr_…`, checked against the mirrored users.
    pub technician: String,
    pub piano: Option<String>,
    /// Local date and time in the shop's zone.
    pub start: String,
    /// 1–1440.
    pub duration_minutes: i64,
    pub title: String,
    pub notes: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppointmentMove {
    pub id: String,
    pub start: String,
    /// 1–1440; None keeps the duration.
    pub duration_minutes: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppointmentReassign {
    pub id: String,
    pub technician: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppointmentCancel {
    pub id: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppointmentConfirm {
    pub id: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Calendar {
    pub technician: Option<String>,
    /// First local day; None: today.
    pub from: Option<String>,
    /// 1–366.
    pub days: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarIcs {
    pub technician: Option<String>,
    pub from: Option<String>,
    /// 1–366.
    pub days: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientCreate {
    pub client: NewClient,
}

/// Client fields and contact details are separate records in Gazelle: up to two edits.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientEdit {
    pub id: String,
    pub change: ClientChange,
    pub contact: ContactChange,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PianoEdit {
    pub id: String,
    pub change: PianoChange,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockList {
    pub technician: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StockMove {
    #[default]
    Add,
    Remove,
    /// Sets the count (after a physical count).
    Correct,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockChange {
    pub product: String,
    pub technician: String,
    pub change: StockMove,
    pub quantity: i64,
    pub reason: Option<String>,
    /// Who did it (the person at the Mac).
    pub author: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockTransfer {
    pub product: String,
    pub from: String,
    pub to: String,
    pub quantity: i64,
    pub reason: Option<String>,
    pub author: String,
}

/// An outbox entry's state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxState {
    #[default]
    Pending,
    InFlight,
    Done,
    Dead,
}

impl OutboxState {
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxState::Pending => "pending",
            OutboxState::InFlight => "in_flight",
            OutboxState::Done => "done",
            OutboxState::Dead => "dead",
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxList {
    /// None: pending, in flight and dead.
    pub state: Option<OutboxState>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxRetry {
    pub id: i64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxDiscard {
    pub id: i64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConflictsList {
    /// Settled ones too.
    pub all: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConflictShow {
    pub id: i64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Keep {
    /// The edit made here is sent.
    #[default]
    Local,
    /// Gazelle's version is written here.
    Remote,
}

impl Keep {
    pub fn as_str(self) -> &'static str {
        match self {
            Keep::Local => "local",
            Keep::Remote => "remote",
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConflictResolve {
    pub id: i64,
    pub keep: Keep,
}

// ---- answers ------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertList {
    pub filter: AlertFilter,
    pub maintenance: Vec<MaintenanceAlert>,
    /// The open system alerts (in the first part only).
    pub system: Vec<SystemAlert>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailVerdict {
    pub result: String,
}

/// An invoice with its lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceView {
    pub invoice: LocalInvoice,
    pub lines: Vec<LocalLine>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineAdded {
    pub totals: managers::taxes::Totals,
    pub invoice: InvoiceView,
}

/// An appointment with its start in the shop's zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarEntry {
    pub local: String,
    pub appointment: store::local::LocalAppointment,
}

/// A piece of an iCalendar document; the pieces in order are the document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IcsText {
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Created {
    pub id: i64,
}

/// The outbox entries an edit queued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Queued {
    pub outbox: Vec<i64>,
}

/// An outbox entry, and whether it is stuck in flight (a person decides).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxLine {
    #[serde(flatten)]
    pub entry: Entry,
    pub stuck: bool,
}
