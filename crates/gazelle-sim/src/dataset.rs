//! A deterministic, realistic data set generated from a seed.
//!
//! The same seed and size always give the same account, byte for byte, on every machine: the
//! generator uses its own SplitMix64 rather than a crate whose stream could change between
//! versions. Content is what a Montréal shop's account looks like: French and English names
//! with accents, institutions among residential clients, appointments in Montréal business
//! hours since 2017, service notes with routine readings ("21C, 39%") and, now and then, the
//! humidity-problem and resolution phrases of RULES.md, invoices with Québec taxes, cents and
//! hundredths.

use std::str::FromStr;

use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

use crate::model::*;
use crate::world::World;

/// How big an account to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    /// A few hundred records: fast unit and end-to-end tests.
    Tiny,
    /// One real shop (API.md's volumes): the demo and the fidelity tests.
    Small,
    /// Ten times one shop: benchmarks.
    Large,
}

impl FromStr for Size {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "tiny" => Ok(Size::Tiny),
            "small" => Ok(Size::Small),
            "large" => Ok(Size::Large),
            other => Err(format!("unknown data set `{other}`: tiny, small or large")),
        }
    }
}

/// Record counts of a size.
#[derive(Debug, Clone, Copy)]
pub struct Volumes {
    pub clients: usize,
    pub contacts: usize,
    pub pianos: usize,
    pub humidity_controlled: usize,
    pub events: usize,
    pub timeline: usize,
    pub invoices: usize,
}

impl Size {
    pub fn volumes(self) -> Volumes {
        let one_shop = Volumes {
            clients: 4_000,
            contacts: 2_000,
            pianos: 1_100,
            humidity_controlled: 340,
            events: 11_500,
            timeline: 150_000,
            invoices: 5_000,
        };
        match self {
            Size::Tiny => Volumes {
                clients: 60,
                contacts: 40,
                pianos: 30,
                humidity_controlled: 10,
                events: 150,
                timeline: 1_200,
                invoices: 80,
            },
            Size::Small => one_shop,
            Size::Large => Volumes {
                clients: one_shop.clients * 10,
                contacts: one_shop.contacts * 10,
                pianos: one_shop.pianos * 10,
                humidity_controlled: one_shop.humidity_controlled * 10,
                events: one_shop.events * 10,
                timeline: one_shop.timeline * 10,
                invoices: one_shop.invoices * 10,
            },
        }
    }
}

/// The instant the generated account considers "now": fixed, so data sets are reproducible.
pub const ANCHOR: &str = "2026-11-20T17:00:00Z";

/// SplitMix64: tiny, fast, and its output never changes.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    /// A Gazelle id: a prefix and 16 base-62 characters.
    pub fn id(&mut self, prefix: &str) -> String {
        const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        let mut id = String::with_capacity(prefix.len() + 17);
        id.push_str(prefix);
        id.push('_');
        for _ in 0..16 {
            id.push(ALPHABET[self.below(62)] as char);
        }
        id
    }
    /// A timeline entry id: `tme_` and 20 lower-case hex characters.
    pub fn timeline_id(&mut self) -> String {
        let a = self.next_u64();
        let b = self.next_u64() & 0xFFFF;
        format!("tme_{a:016x}{b:04x}")
    }
}

const FIRST_NAMES: &[&str] = &[
    "Élise",
    "Benoît",
    "François",
    "Hélène",
    "Geneviève",
    "Jérôme",
    "Anaïs",
    "Stéphane",
    "Chloé",
    "Noël",
    "Amélie",
    "Frédéric",
    "Josée",
    "Maxime",
    "Zoë",
    "Émile",
    "Mélanie",
    "André",
    "Sarah",
    "Michael",
    "Emily",
    "David",
    "Olivia",
    "James",
    "Léa",
    "Gaëlle",
    "Rémi",
    "Cécile",
    "Loïc",
    "Ève",
];
const LAST_NAMES: &[&str] = &[
    "Tremblay",
    "Gagnon",
    "Bérubé",
    "Côté",
    "Lévesque",
    "Bélanger",
    "Pelletier",
    "Gauthier",
    "Morin",
    "Lefèbvre",
    "Dubé",
    "Thériault",
    "Bouchard",
    "Ouellet",
    "Gélinas",
    "Smith",
    "Wilson",
    "Brown",
    "O'Connor",
    "Nguyen",
    "Fortin",
    "Ménard",
    "Béliveau",
    "Paquette",
    "Lapointe",
    "Hébert",
];
const INSTITUTIONS: &[&str] = &[
    "Conservatoire de musique de Montréal",
    "Salle Bourgie",
    "École de musique Vincent-d'Indy",
    "Théâtre Outremont",
    "Université McGill — École Schulich",
    "Église Saint-Jean-Baptiste",
    "Maison symphonique",
    "Collège Jean-de-Brébeuf",
    "Salle Pierre-Mercure",
    "Université de Montréal — Faculté de musique",
];
const BUSINESSES: &[&str] = &[
    "Café Théâtre L'Escale",
    "Studio Sonore Inc.",
    "Restaurant Chez Gérard",
    "Hôtel Le Crémazie",
    "Les Productions Aurore",
    "Boîte à chansons du Plateau",
    "Résidence Les Érables",
];
const MUNICIPALITIES: &[&str] = &[
    "Montréal",
    "Laval",
    "Longueuil",
    "Outremont",
    "Westmount",
    "Saint-Lambert",
    "Boucherville",
    "Mont-Royal",
    "Brossard",
    "Terrebonne",
];
const STREETS: &[&str] = &[
    "rue Saint-Denis",
    "boulevard Saint-Laurent",
    "avenue du Parc",
    "rue Sherbrooke Ouest",
    "chemin de la Côte-Sainte-Catherine",
    "rue Fleury Est",
    "avenue Laurier",
    "rue Bélanger",
];
const MAKES: &[(&str, &[&str])] = &[
    ("Yamaha", &["U1", "U3", "C3", "G2", "b121", "CFX"]),
    ("Steinway & Sons", &["B-211", "D-274", "M-170", "K-52"]),
    ("Kawai", &["K-300", "GX-2", "RX-2"]),
    ("Heintzman", &["Upright", "Baby Grand"]),
    ("Bösendorfer", &["200", "Imperial"]),
    ("Petrof", &["P 118", "III"]),
    ("Baldwin", &["Acrosonic", "L"]),
    ("Mason & Risch", &["Console"]),
];
const ROOMS: &[&str] = &[
    "Salon",
    "Salle de concert",
    "Studio B",
    "Sous-sol",
    "Chapelle",
    "Salle 204",
    "Living room",
    "Foyer",
    "Salle de répétition",
    "Auditorium",
];
const ROUTINE_NOTES: &[&str] = &[
    "Accord standard à 440 Hz. {reading}",
    "Tuning at A440, minor voicing. {reading}",
    "Accord, réglage des étouffoirs. {reading}",
    "Pitch raise then fine tuning. {reading}",
    "Entretien régulier, tout est beau. {reading}",
    "Accord et ajustement de la pédale douce. Lecture : {reading}",
    "Routine tuning, client happy. {reading}",
];
/// Problem notes, with the family of RULES.md they belong to.
pub const PROBLEM_NOTES: &[(&str, &str)] = &[
    (
        "cover",
        "Housse enlevée par le client, à surveiller. {reading}",
    ),
    ("cover", "Piano sans housse depuis l'été. {reading}"),
    (
        "cover",
        "Cover removed during the concert season. {reading}",
    ),
    ("power", "PLS débranché derrière le piano! {reading}"),
    (
        "power",
        "Dampp-Chaser unplugged, told the custodian. {reading}",
    ),
    (
        "power",
        "Le système était déconnecté, prise débranchée. {reading}",
    ),
    ("reservoir", "Réservoir vide, voyant clignote. {reading}"),
    ("reservoir", "Tank empty on the humidity system. {reading}"),
    (
        "environment",
        "Fenêtre ouverte juste à côté du piano. {reading}",
    ),
    (
        "environment",
        "Humidité très basse dans la salle. {reading}",
    ),
    (
        "environment",
        "Chauffage au plancher sous le piano. {reading}",
    ),
];
/// Problem notes that are resolved in the same note.
pub const RESOLVED_NOTES: &[(&str, &str)] = &[
    (
        "power",
        "PLS débranché à l'arrivée — rebranché avant de partir. {reading}",
    ),
    (
        "cover",
        "Housse enlevée pour l'accord, housse replacée. {reading}",
    ),
    (
        "reservoir",
        "Réservoir vide, réservoir rempli sur place. {reading}",
    ),
    (
        "power",
        "Dampp chaser was unplugged, plugged back in. {reading}",
    ),
];
const OTHER_SUMMARIES: &[(&str, &str)] = &[
    ("CONTACT_EMAIL_AUTOMATED", "Rappel d'accord envoyé"),
    ("CONTACT_EMAIL_MANUAL", "Courriel au client"),
    (
        "CONTACT_PHONE_MANUAL_TALKED",
        "Appel: confirme le rendez-vous",
    ),
    ("APPOINTMENT", "Rendez-vous planifié"),
    ("APPOINTMENT_LOG", "Rendez-vous déplacé"),
    ("INVOICE", "Facture créée"),
    ("INVOICE_PAYMENT", "Paiement reçu"),
    ("USER_COMMENT", "Client préfère les matins"),
    ("SCHEDULED_MESSAGE_EMAIL", "Reminder email"),
    ("SYSTEM_MESSAGE", "Client merged"),
];
const CATALOGUE: &[(&str, &str, &str, i64, i64)] = &[
    // (group, French name, English name, cents, minutes)
    ("Accords", "Accord standard", "Standard tuning", 14500, 90),
    ("Accords", "Accord de concert", "Concert tuning", 19500, 80),
    ("Accords", "Relèvement de diapason", "Pitch raise", 8000, 45),
    (
        "Réparations",
        "Remplacement de corde",
        "String replacement",
        3500,
        20,
    ),
    (
        "Réparations",
        "Réglage complet",
        "Full regulation",
        68000,
        420,
    ),
    ("Réparations", "Harmonisation", "Voicing", 12050, 60),
    (
        "Humidité",
        "Installation Dampp-Chaser",
        "Dampp-Chaser installation",
        79999,
        120,
    ),
    (
        "Humidité",
        "Coussinets de remplacement",
        "Replacement pads",
        2499,
        10,
    ),
    (
        "Humidité",
        "Traitement de réservoir",
        "Tank treatment",
        1299,
        5,
    ),
    (
        "Déplacements",
        "Frais de déplacement",
        "Travel fee",
        2500,
        0,
    ),
    ("Déplacements", "Kilométrage", "Mileage", 61, 0),
    (
        "Fournitures",
        "Housse de piano droit",
        "Upright piano cover",
        18999,
        0,
    ),
];

/// Generates the account of `size` from `seed`.
pub fn generate(size: Size, seed: u64) -> World {
    let v = size.volumes();
    let mut rng = Rng::new(seed);
    let anchor: Timestamp = ANCHOR.parse().unwrap_or(Timestamp::UNIX_EPOCH);
    let montreal = TimeZone::get("America/Montreal").unwrap_or(TimeZone::UTC);
    let since: Timestamp = "2017-01-09T14:00:00Z"
        .parse()
        .unwrap_or(Timestamp::UNIX_EPOCH);
    let history_secs = anchor.as_second() - since.as_second();
    let mut world = World::new(anchor, seed);
    let at = |secs: i64| Timestamp::from_second(secs).unwrap_or(anchor);

    // Staff: the owner, technicians, an assistant (and one technician who is not schedulable).
    let staff = [
        ("Marc", "Lévesque", "ADMIN", true),
        ("Benoît", "Côté", "TECHNICIAN", true),
        ("Émilie", "Gagnon", "TECHNICIAN", true),
        ("Jean-François", "Bérubé", "TECHNICIAN", true),
        ("Sophie", "Tremblay", "TECHNICIAN", true),
        ("Nadia", "Ouellet", "ASSISTANT", false),
    ];
    let mut technicians = Vec::new();
    for (first, last, level, schedulable) in staff {
        let id = rng.id("usr");
        if level == "TECHNICIAN" {
            technicians.push(id.clone());
        }
        world.users.put(User {
            id,
            first_name: first.into(),
            last_name: last.into(),
            email: format!("{}@example.test", ascii_lower(first)),
            status: "ACTIVE".into(),
            access_level: level.into(),
            is_schedulable: schedulable,
            timezone: "America/Montreal".into(),
            created_at: since,
            updated_at: since,
        });
    }

    // Catalogue.
    let mut groups: Vec<CatalogueGroup> = Vec::new();
    for (order, (group, fr, en, cents, minutes)) in CATALOGUE.iter().enumerate() {
        let group_index = match groups.iter().position(|g| g.name_fr == *group) {
            Some(i) => i,
            None => {
                groups.push(CatalogueGroup {
                    id: rng.id("msg"),
                    name_fr: (*group).into(),
                    name_en: (*group).into(),
                    order: groups.len() as i64,
                    item_ids: Vec::new(),
                    created_at: since,
                });
                groups.len() - 1
            }
        };
        let item = CatalogueItem {
            id: rng.id("mit"),
            group_id: groups[group_index].id.clone(),
            name_fr: (*fr).into(),
            name_en: (*en).into(),
            amount: *cents,
            duration: *minutes,
            item_type: if *minutes > 0 {
                "LABOR_FIXED_RATE"
            } else {
                "EXPENSE"
            }
            .into(),
            is_archived: order == 2,
            is_taxable: true,
            order: order as i64,
            created_at: since,
            updated_at: since,
        };
        groups[group_index].item_ids.push(item.id.clone());
        world.catalogue.put(item);
    }
    for g in groups {
        world.groups.put(g);
    }

    // Clients, their default contacts.
    let institutional = (v.clients / 40).max(2);
    let mut client_ids = Vec::with_capacity(v.clients);
    for n in 0..v.clients {
        let id = rng.id("cli");
        let created = at(since.as_second() + (history_secs * n as i64) / v.clients as i64);
        let (company, client_type, tags) = if n < institutional {
            let name = INSTITUTIONS[n % INSTITUTIONS.len()];
            let name = if n < INSTITUTIONS.len() {
                name.to_owned()
            } else {
                format!("{name} ({})", n / INSTITUTIONS.len() + 1)
            };
            (
                Some(name),
                Some("INSTITUTION".to_owned()),
                vec!["institutional".to_owned()],
            )
        } else if n % 9 == 0 {
            (
                Some(rng.pick(BUSINESSES).to_string()),
                Some("BUSINESS".to_owned()),
                vec![],
            )
        } else {
            (None, Some("RESIDENTIAL".to_owned()), vec![])
        };
        // Every client without a company name has a default contact, so it has a name.
        let wants_contact = company.is_none() || (n < v.contacts && rng.chance(30));
        let contact_id = wants_contact.then(|| rng.id("con"));
        if let Some(cid) = &contact_id {
            let first = rng.pick(FIRST_NAMES).to_string();
            let last = rng.pick(LAST_NAMES).to_string();
            world.contacts.put(Contact {
                id: cid.clone(),
                client_id: id.clone(),
                email: rng.chance(80).then(|| {
                    format!(
                        "{}.{}{}@example.test",
                        ascii_lower(&first),
                        ascii_lower(&last),
                        n
                    )
                }),
                phone: rng
                    .chance(90)
                    .then(|| format!("514-555-{:04}", rng.below(10_000))),
                address: Some(Address {
                    street1: format!("{} {}", 100 + rng.below(9000), rng.pick(STREETS)),
                    municipality: rng.pick(MUNICIPALITIES).to_string(),
                    region: "QC".into(),
                    postal_code: format!("H{}X {}Y{}", rng.below(10), rng.below(10), rng.below(10)),
                }),
                first_name: Some(first),
                last_name: Some(last),
                is_default: true,
                archived: false,
                created_at: created,
                updated_at: created,
            });
        }
        let status = match rng.below(20) {
            0..=15 => "ACTIVE",
            16 | 17 => "INACTIVE",
            18 => "PROSPECT",
            _ => "NEW",
        };
        let edited = created + (rng.below(400) as i64 * 24).hours();
        world.clients.put(Client {
            id: id.clone(),
            company_name: company,
            status: status.into(),
            client_type,
            tags,
            default_contact_id: contact_id,
            created_at: created,
            updated_at: edited.min(anchor),
        });
        client_ids.push(id);
    }

    // Pianos: institutions own many; humidity systems on the first few hundred.
    let mut pianos_of: Vec<Vec<String>> = vec![Vec::new(); v.clients];
    for n in 0..v.pianos {
        let owner = if n % 3 == 0 {
            n % institutional
        } else {
            rng.below(v.clients)
        };
        let (make, models) = rng.pick(MAKES);
        let id = rng.id("ins");
        let created = at(since.as_second() + (history_secs * n as i64) / v.pianos as i64);
        world.pianos.put(Piano {
            id: id.clone(),
            client_id: client_ids[owner].clone(),
            make: if n % 97 == 5 {
                None
            } else {
                Some((*make).into())
            },
            model: Some(rng.pick(models).to_string()),
            serial_number: rng
                .chance(85)
                .then(|| format!("{}", 100_000 + rng.below(6_000_000))),
            piano_type: if make.contains("Steinway") || models.iter().any(|m| m.starts_with('C')) {
                "GRAND"
            } else {
                "UPRIGHT"
            }
            .into(),
            year: rng.chance(80).then(|| 1920 + rng.below(105) as i64),
            location: Some(rng.pick(ROOMS).to_string()),
            notes: rng.chance(20).then(|| "Clé chez le concierge".to_string()),
            status: if rng.chance(95) { "ACTIVE" } else { "INACTIVE" }.into(),
            dampp_chaser_installed: n < v.humidity_controlled,
            manual_last_service: None,
            created_at: created,
            updated_at: created,
        });
        pianos_of[owner].push(id);
    }

    // Events: appointments on working days in Montréal business hours, personal blocks, memos.
    let day_secs = 86_400;
    let horizon = anchor.as_second() + 90 * day_secs;
    for n in 0..v.events {
        let id = rng.id("evt");
        let secs = since.as_second() + ((horizon - since.as_second()) * n as i64) / v.events as i64;
        let day = at(secs).to_zoned(montreal.clone()).date();
        let hour = 8 + rng.below(12) as i8; // 08:00 to 19:00 local, some late evenings
        let minute = [0, 15, 30, 45][rng.below(4)];
        let start = day
            .at(hour, minute, 0, 0)
            .to_zoned(montreal.clone())
            .map(|z| z.timestamp())
            .unwrap_or(anchor);
        let kind = match rng.below(20) {
            0 => "PERSONAL",
            1 => "MEMO",
            _ => "APPOINTMENT",
        };
        let owner = rng.below(v.clients);
        let (client_id, piano_ids) = if kind == "APPOINTMENT" {
            (
                Some(client_ids[owner].clone()),
                pianos_of[owner].iter().take(2).cloned().collect(),
            )
        } else {
            (None, Vec::new())
        };
        let future = start > anchor;
        let status = if future {
            "ACTIVE"
        } else {
            match rng.below(30) {
                0 => "CANCELED",
                1 => "NO_SHOW",
                _ => "COMPLETE",
            }
        };
        let duration = match kind {
            "PERSONAL" => *rng.pick(&[240, 420, 1440]),
            _ => *rng.pick(&[120, 120, 80, 180, 90]),
        };
        world.events.put(Event {
            id,
            title: match kind {
                "PERSONAL" => "Bloc personnel".into(),
                "MEMO" => "MEMO: commander des cordes".into(),
                _ => rng
                    .pick(&["Accord", "Tuning", "Accord + réglage", "Réparation"])
                    .to_string(),
            },
            start,
            duration,
            is_all_day: kind == "PERSONAL" && duration == 1440,
            notes: rng
                .chance(30)
                .then(|| "Sonner à la porte arrière".to_string()),
            event_type: kind.into(),
            status: status.into(),
            confirmed_by_client: !future || rng.chance(60),
            client_id,
            user_id: Some(rng.pick(&technicians).clone()),
            piano_ids,
            created_at: at(secs - 14 * day_secs).min(anchor),
            updated_at: at(secs - 7 * day_secs).min(anchor),
        });
    }

    // Timeline entries: service notes (with readings, sometimes problems), and the rest.
    for n in 0..v.timeline {
        let secs = since.as_second()
            + (history_secs * n as i64) / v.timeline as i64
            + rng.below(3600) as i64;
        let owner = rng.below(v.clients);
        let piano = pianos_of[owner].first().cloned();
        let roll = rng.below(100);
        let (entry_type, summary, comment) = if roll < 35 {
            let reading = reading(&mut rng);
            let template = if roll < 2 {
                rng.pick(PROBLEM_NOTES).1
            } else if roll < 3 {
                rng.pick(RESOLVED_NOTES).1
            } else {
                rng.pick(ROUTINE_NOTES)
            };
            let kind = if roll.is_multiple_of(4) {
                "SERVICE_ENTRY_AUTOMATED"
            } else {
                "SERVICE_ENTRY_MANUAL"
            };
            (
                kind,
                Some("Service".to_string()),
                Some(template.replace("{reading}", &reading)),
            )
        } else {
            let (kind, summary) = rng.pick(OTHER_SUMMARIES);
            (
                *kind,
                Some((*summary).to_string()),
                rng.chance(30).then(|| "Note du bureau".to_string()),
            )
        };
        world.timeline.put(TimelineEntry {
            id: rng.timeline_id(),
            client_id: client_ids[owner].clone(),
            piano_id: piano,
            invoice_id: None,
            estimate_id: (entry_type == "ESTIMATE").then(|| rng.id("est")),
            user_id: Some(rng.pick(&technicians).clone()),
            occurred_at: at(secs).min(anchor),
            entry_type: entry_type.into(),
            summary,
            comment,
        });
    }

    // Invoices with Québec taxes per line.
    let items: Vec<&CatalogueItem> = {
        let mut all: Vec<&CatalogueItem> = world.catalogue.values().collect();
        all.sort_by_key(|i| i.order);
        all
    };
    let mut invoices = Vec::with_capacity(v.invoices);
    for n in 0..v.invoices {
        let owner = rng.below(v.clients);
        let created = at(since.as_second() + (history_secs * n as i64) / v.invoices as i64);
        let mut lines = Vec::new();
        for seq in 0..1 + rng.below(4) {
            let item = items[rng.below(items.len())];
            let quantity = *rng.pick(&[100, 100, 100, 150, 200, 25, 1250]);
            let taxable = !item.name_en.contains("Mileage") || rng.chance(50);
            lines.push(line(
                &mut rng,
                item,
                quantity,
                taxable,
                seq as i64,
                pianos_of[owner].first().cloned(),
            ));
        }
        let status = if created < anchor - (60 * 24).hours() {
            *rng.pick(&["PAID", "PAID", "PAID", "CANCELED"])
        } else {
            *rng.pick(&["OPEN", "PAID", "DRAFT", "OVERDUE"])
        };
        invoices.push(Invoice {
            id: rng.id("inv"),
            number: 1000 + n as i64,
            client_id: client_ids[owner].clone(),
            assigned_to: Some(rng.pick(&technicians).clone()),
            status: status.into(),
            notes: rng
                .chance(10)
                .then(|| "Merci de votre confiance!".to_string()),
            items: lines,
            due_on: Some(
                (created + (30 * 24).hours())
                    .to_zoned(montreal.clone())
                    .date()
                    .to_string(),
            ),
            created_at: created,
            updated_at: created,
        });
    }
    world.next_invoice_number = 1000 + v.invoices as i64;
    more_contacts(&mut world, seed);
    for invoice in invoices {
        world.invoices.put(invoice);
    }
    world
}

/// A line with taxes computed as RULES.md says: TPS 5 % and TVQ 9.975 %, each per line,
/// rounded half-up to the cent.
pub fn line(
    rng: &mut Rng,
    item: &CatalogueItem,
    quantity: i64,
    taxable: bool,
    seq: i64,
    piano: Option<String>,
) -> InvoiceItem {
    let sub_total = round_half_up(item.amount * quantity, 100);
    let tax_total = if taxable { quebec_taxes(sub_total) } else { 0 };
    InvoiceItem {
        id: rng.id("iit"),
        description: item.name_fr.clone(),
        item_type: item.item_type.clone(),
        quantity,
        amount: item.amount,
        sub_total,
        tax_total,
        total: sub_total + tax_total,
        taxable,
        billable: true,
        sequence_number: seq,
        piano_id: piano,
    }
}

/// TPS (5 %) plus TVQ (9.975 %) on an amount in cents, each rounded half-up.
pub fn quebec_taxes(sub_total: i64) -> i64 {
    // Rates in thousandths of a percent, as Gazelle stores them: 5000 = 5 %.
    round_half_up(sub_total * 5_000, 100_000) + round_half_up(sub_total * 9_975, 100_000)
}

/// `value / divisor` rounded half away from zero.
pub fn round_half_up(value: i64, divisor: i64) -> i64 {
    let half = divisor / 2;
    if value >= 0 {
        (value + half) / divisor
    } else {
        -((-value + half) / divisor)
    }
}

/// A temperature and humidity reading as technicians write it; mostly within the comfort
/// band, sometimes outside it.
fn reading(rng: &mut Rng) -> String {
    let out_of_band = rng.chance(4);
    let (t, h) = if out_of_band {
        (
            *rng.pick(&[15, 17, 27, 29]),
            *rng.pick(&[22, 25, 28, 63, 70]),
        )
    } else {
        (19 + rng.below(6) as i64, 35 + rng.below(16) as i64)
    };
    match rng.below(5) {
        0 => format!("{t}C, {h}%"),
        1 => format!("{t}°C {h}%"),
        2 => format!("{}F, {h}%", t * 9 / 5 + 32),
        3 => format!("Temp {t} °C / humidité {h} %"),
        _ => format!("{t}C {h}%"),
    }
}

fn ascii_lower(name: &str) -> String {
    name.chars()
        .filter_map(|c| match c {
            'é' | 'è' | 'ê' | 'ë' | 'É' => Some('e'),
            'à' | 'â' => Some('a'),
            'î' | 'ï' => Some('i'),
            'ô' | 'ö' => Some('o'),
            'ç' => Some('c'),
            'ü' | 'û' => Some('u'),
            c if c.is_ascii_alphanumeric() => Some(c.to_ascii_lowercase()),
            _ => None,
        })
        .collect()
}

/// Clients with more than one contact (a billing contact and an on-site one, a former contact
/// archived). Drawn from an RNG of its own, after everything else, so every other record of
/// a data set is what it was before clients had several contacts.
fn more_contacts(world: &mut World, seed: u64) {
    let mut rng = Rng::new(seed ^ 0xC0_47AC7);
    let clients: Vec<(String, Timestamp)> = world
        .clients
        .values()
        .filter(|c| c.default_contact_id.is_some())
        .map(|c| (c.id.clone(), c.created_at))
        .collect();
    let mut clients = clients;
    clients.sort();
    for (n, (client, created)) in clients.into_iter().enumerate() {
        if !rng.chance(12) {
            continue;
        }
        let extra = 1 + rng.below(2);
        for k in 0..extra {
            let first = rng.pick(FIRST_NAMES).to_string();
            let last = rng.pick(LAST_NAMES).to_string();
            let at = created + ((k as i64 + 1) * 24).hours();
            world.contacts.put(Contact {
                id: rng.id("con"),
                client_id: client.clone(),
                email: rng.chance(70).then(|| {
                    format!(
                        "{}.{}{}x{k}@example.test",
                        ascii_lower(&first),
                        ascii_lower(&last),
                        n
                    )
                }),
                phone: rng
                    .chance(80)
                    .then(|| format!("438-555-{:04}", rng.below(10_000))),
                address: rng.chance(50).then(|| Address {
                    street1: format!("{} {}", 100 + rng.below(9000), rng.pick(STREETS)),
                    municipality: rng.pick(MUNICIPALITIES).to_string(),
                    region: "QC".into(),
                    postal_code: format!("H{}X {}Y{}", rng.below(10), rng.below(10), rng.below(10)),
                }),
                first_name: Some(first),
                last_name: Some(last),
                is_default: false,
                archived: rng.chance(20),
                created_at: at,
                updated_at: at,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_account() {
        let a = generate(Size::Tiny, 7);
        let b = generate(Size::Tiny, 7);
        let c = generate(Size::Tiny, 8);
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert_ne!(a.fingerprint(), c.fingerprint());
    }

    #[test]
    fn volumes_and_content_are_realistic() {
        let w = generate(Size::Tiny, 1);
        let v = Size::Tiny.volumes();
        assert_eq!(w.clients.len(), v.clients);
        assert_eq!(w.pianos.len(), v.pianos);
        assert_eq!(w.events.len(), v.events);
        assert_eq!(w.timeline.len(), v.timeline);
        assert_eq!(w.invoices.len(), v.invoices);
        let notes: Vec<&str> = w
            .timeline
            .values()
            .filter_map(|t| t.comment.as_deref())
            .collect();
        assert!(notes.iter().any(|n| n.contains('%')), "routine readings");
        assert!(
            w.pianos
                .values()
                .filter(|p| p.dampp_chaser_installed)
                .count()
                == v.humidity_controlled
        );
        // Every invoice's total is the sum of its lines, each with both taxes.
        for inv in w.invoices.values() {
            assert_eq!(inv.total(), inv.sub_total() + inv.tax_total());
        }
    }

    #[test]
    fn quebec_taxes_round_half_up_per_tax() {
        assert_eq!(quebec_taxes(14500), 725 + 1446); // 1446.375 → 1446
        assert_eq!(quebec_taxes(10), 1 + 1); // 0.5 → 1, 0.9975 → 1
        assert_eq!(round_half_up(250, 100), 3);
        assert_eq!(round_half_up(-250, 100), -3);
    }
}
