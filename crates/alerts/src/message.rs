//! The e-mails, in the recipient's language (French by default), as plain text and HTML.
//!
//! Every message has a stable `Message-ID` derived from what it is about, so a retry is the
//! same message. Messages about the same thing share a subject and a thread id (a piano's
//! maintenance alerts, a technician's J-1 notices of one day), which mail clients use to
//! thread them (`References` / `In-Reply-To` point at the thread id).

use config::Language;

/// The domain of our Message-IDs: not a real host, so it can never collide with a server's.
const ID_DOMAIN: &str = "assistant-gazelle.invalid";

/// A composed message, ready to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Composed {
    pub subject: String,
    pub text: String,
    pub html: String,
    pub message_id: String,
    pub thread_id: Option<String>,
}

/// `<kind.key@domain>` with every character outside `[A-Za-z0-9._-]` replaced by `.`.
pub fn message_id(kind: &str, key: &str) -> String {
    let clean: String = format!("{kind}.{key}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '.'
            }
        })
        .collect();
    format!("<{clean}@{ID_DOMAIN}>")
}

pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A message as a title, an opening line and (label, value) rows: rendered once as text and
/// once as HTML, so the two never say different things.
struct Body<'a> {
    opening: String,
    rows: Vec<(&'a str, String)>,
    closing: String,
}

impl Body<'_> {
    fn text(&self) -> String {
        let mut out = format!("{}\n\n", self.opening);
        let width = self
            .rows
            .iter()
            .map(|(l, _)| l.chars().count())
            .max()
            .unwrap_or(0);
        for (label, value) in &self.rows {
            let pad = width - label.chars().count();
            out.push_str(&format!("{label}{} : {value}\n", " ".repeat(pad)));
        }
        out.push_str(&format!("\n{}\n", self.closing));
        out
    }

    fn html(&self, title: &str) -> String {
        let mut out = format!(
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{}</title></head>\n<body style=\"font-family: -apple-system, Helvetica, Arial, sans-serif\">\n<p>{}</p>\n<table>\n",
            escape(title),
            escape(&self.opening)
        );
        for (label, value) in &self.rows {
            out.push_str(&format!(
                "<tr><th align=\"left\" style=\"padding-right: 1em\">{}</th><td>{}</td></tr>\n",
                escape(label),
                escape(value)
            ));
        }
        out.push_str(&format!(
            "</table>\n<p>{}</p>\n</body></html>\n",
            escape(&self.closing)
        ));
        out
    }

    fn compose(self, subject: String, message_id: String, thread_id: Option<String>) -> Composed {
        Composed {
            text: self.text(),
            html: self.html(&subject),
            subject,
            message_id,
            thread_id,
        }
    }
}

pub(crate) fn closing(language: Language) -> String {
    match language {
        Language::Fr => "— Assistant Gazelle".into(),
        Language::En => "— Assistant Gazelle".into(),
    }
}

/// The words for an alert family.
pub fn family_label(family: &str, language: Language) -> &'static str {
    match (family, language) {
        ("cover", Language::Fr) => "Housse",
        ("cover", Language::En) => "Cover",
        ("power", Language::Fr) => "Alimentation (PLS débranché)",
        ("power", Language::En) => "Power (PLS unplugged)",
        ("reservoir", Language::Fr) => "Réservoir",
        ("reservoir", Language::En) => "Reservoir",
        (_, Language::Fr) => "Environnement (humidité, température)",
        (_, Language::En) => "Environment (humidity, temperature)",
    }
}

/// What a maintenance alert e-mail says.
#[derive(Debug, Clone)]
pub struct MaintenanceFacts<'a> {
    pub alert_external_id: &'a str,
    pub family: &'a str,
    pub client: &'a str,
    pub institutional: bool,
    pub piano: Option<String>,
    pub piano_external_id: Option<&'a str>,
    pub client_external_id: Option<&'a str>,
    pub room: Option<&'a str>,
    pub date: &'a str,
    pub technician: Option<String>,
    pub description: &'a str,
    pub excerpt: &'a str,
}

/// "Alerte PLS — <client> — <make model> (<room>)" (RULES.md); the same subject for every
/// alert of a piano, so they thread.
pub fn maintenance(facts: &MaintenanceFacts<'_>, language: Language) -> Composed {
    let piano = facts.piano.clone().unwrap_or_else(|| match language {
        Language::Fr => "piano non précisé".into(),
        Language::En => "unspecified piano".into(),
    });
    let room = facts.room.map(|r| format!(" ({r})")).unwrap_or_default();
    let subject = match language {
        Language::Fr => format!("Alerte PLS — {} — {piano}{room}", facts.client),
        Language::En => format!("PLS alert — {} — {piano}{room}", facts.client),
    };
    let thread = facts
        .piano_external_id
        .map(|p| message_id("piano", p))
        .or_else(|| facts.client_external_id.map(|c| message_id("client", c)));
    let unknown = || match language {
        Language::Fr => "—".to_owned(),
        Language::En => "—".to_owned(),
    };
    let (opening, labels) = match language {
        Language::Fr => (
            format!(
                "{}Alerte d'entretien : {}.",
                if facts.institutional {
                    "[Institutionnel] "
                } else {
                    ""
                },
                family_label(facts.family, language)
            ),
            [
                "Client",
                "Piano",
                "Pièce",
                "Date",
                "Technicien",
                "Constat",
                "Note",
            ],
        ),
        Language::En => (
            format!(
                "{}Maintenance alert: {}.",
                if facts.institutional {
                    "[Institutional] "
                } else {
                    ""
                },
                family_label(facts.family, language)
            ),
            [
                "Client",
                "Piano",
                "Room",
                "Date",
                "Technician",
                "Finding",
                "Note",
            ],
        ),
    };
    let rows = vec![
        (labels[0], facts.client.to_owned()),
        (labels[1], piano),
        (labels[2], facts.room.map_or_else(unknown, str::to_owned)),
        (labels[3], facts.date.to_owned()),
        (labels[4], facts.technician.clone().unwrap_or_else(unknown)),
        (labels[5], facts.description.to_owned()),
        (labels[6], facts.excerpt.to_owned()),
    ];
    Body {
        opening,
        rows,
        closing: closing(language),
    }
    .compose(
        subject,
        message_id("alert", facts.alert_external_id),
        thread,
    )
}

/// What a J-1 notice says.
#[derive(Debug, Clone)]
pub struct UnconfirmedFacts<'a> {
    pub event_external_id: &'a str,
    pub technician_id: &'a str,
    pub date: &'a str,
    pub first_name: Option<&'a str>,
    pub time: String,
    pub client: &'a str,
    pub piano: Option<String>,
    pub duration_minutes: Option<i64>,
}

/// "RV non confirmé demain chez <client>" to the appointment's technician.
pub fn unconfirmed(facts: &UnconfirmedFacts<'_>, language: Language) -> Composed {
    let name = facts.first_name.unwrap_or("");
    let (subject, opening, labels) = match language {
        Language::Fr => (
            format!("RV non confirmé demain chez {}", facts.client),
            format!("Bonjour {name}, le client n'a pas encore confirmé le rendez-vous de demain.")
                .replace("Bonjour ,", "Bonjour,"),
            ["Heure", "Client", "Piano", "Durée"],
        ),
        Language::En => (
            format!("Unconfirmed appointment tomorrow at {}", facts.client),
            format!("Hello {name}, the client has not confirmed tomorrow's appointment yet.")
                .replace("Hello ,", "Hello,"),
            ["Time", "Client", "Piano", "Duration"],
        ),
    };
    let rows = vec![
        (labels[0], facts.time.clone()),
        (labels[1], facts.client.to_owned()),
        (labels[2], facts.piano.clone().unwrap_or_else(|| "—".into())),
        (
            labels[3],
            facts
                .duration_minutes
                .map_or_else(|| "—".into(), |m| format!("{m} min")),
        ),
    ];
    let key = format!(
        "{}.{}.{}",
        facts.event_external_id, facts.technician_id, facts.date
    );
    Body {
        opening,
        rows,
        closing: closing(language),
    }
    .compose(
        subject,
        message_id("unconfirmed", &key),
        Some(message_id(
            "j1",
            &format!("{}.{}", facts.technician_id, facts.date),
        )),
    )
}

/// A low-stock notice to the owner.
pub fn low_stock(
    alert_id: i64,
    product: &str,
    technician: &str,
    quantity: i64,
    threshold: i64,
    language: Language,
) -> Composed {
    let critical = quantity == 0;
    let (subject, opening, labels) = match language {
        Language::Fr => (
            format!(
                "{} — {product} — {technician}",
                if critical {
                    "Rupture de stock"
                } else {
                    "Stock bas"
                }
            ),
            format!(
                "Le stock de {product} de {technician} est {}.",
                if critical { "épuisé" } else { "bas" }
            ),
            ["Produit", "Technicien", "Quantité", "Seuil"],
        ),
        Language::En => (
            format!(
                "{} — {product} — {technician}",
                if critical {
                    "Out of stock"
                } else {
                    "Low stock"
                }
            ),
            format!(
                "{technician}'s stock of {product} is {}.",
                if critical { "empty" } else { "low" }
            ),
            ["Product", "Technician", "Quantity", "Threshold"],
        ),
    };
    let rows = vec![
        (labels[0], product.to_owned()),
        (labels[1], technician.to_owned()),
        (labels[2], quantity.to_string()),
        (labels[3], threshold.to_string()),
    ];
    Body {
        opening,
        rows,
        closing: closing(language),
    }
    .compose(
        subject,
        // Its own message when it runs out, in the thread of the alert's first one.
        if critical {
            message_id("low-stock-out", &alert_id.to_string())
        } else {
            message_id("low-stock", &alert_id.to_string())
        },
        Some(message_id("low-stock", &alert_id.to_string())).filter(|_| critical),
    )
}

/// A sync-health notice: raised (`cleared` false) or back to normal.
pub fn sync_health(alert_id: i64, summary: &str, cleared: bool, language: Language) -> Composed {
    let (subject, opening) = match (language, cleared) {
        (Language::Fr, false) => (
            format!("Synchronisation Gazelle : {summary}"),
            "La synchronisation avec Gazelle a besoin d'attention.".to_owned(),
        ),
        (Language::Fr, true) => (
            format!("Synchronisation Gazelle rétablie : {summary}"),
            "Le problème de synchronisation est réglé.".to_owned(),
        ),
        (Language::En, false) => (
            format!("Gazelle sync: {summary}"),
            "The Gazelle sync needs attention.".to_owned(),
        ),
        (Language::En, true) => (
            format!("Gazelle sync recovered: {summary}"),
            "The sync problem is over.".to_owned(),
        ),
    };
    let label = match language {
        Language::Fr => "Détail",
        Language::En => "Detail",
    };
    let thread = message_id("sync-health", &alert_id.to_string());
    let id = if cleared {
        message_id("sync-health-cleared", &alert_id.to_string())
    } else {
        thread.clone()
    };
    Body {
        opening,
        rows: vec![(label, summary.to_owned())],
        closing: closing(language),
    }
    .compose(subject, id, cleared.then_some(thread))
}

/// One line of the digest.
#[derive(Debug, Clone)]
pub struct DigestLine {
    pub institutional: bool,
    pub date: String,
    pub family: String,
    pub client: String,
    pub piano: String,
    pub description: String,
}

/// The daily digest of unresolved alerts, institutional clients first.
pub fn digest(date: &str, lines: &[DigestLine], language: Language) -> Composed {
    let mut sorted: Vec<&DigestLine> = lines.iter().collect();
    sorted.sort_by(|a, b| {
        b.institutional
            .cmp(&a.institutional)
            .then(b.date.cmp(&a.date))
    });
    let (subject, opening) = match language {
        Language::Fr => (
            format!("Alertes d'entretien ouvertes — {date}"),
            format!("{} alerte(s) d'entretien non résolue(s).", lines.len()),
        ),
        Language::En => (
            format!("Open maintenance alerts — {date}"),
            format!("{} unresolved maintenance alert(s).", lines.len()),
        ),
    };
    let rows: Vec<(&str, String)> = sorted
        .iter()
        .map(|l| {
            (
                if l.institutional { "★" } else { "•" },
                format!(
                    "{} — {} — {} — {} — {}",
                    l.date,
                    family_label(&l.family, language),
                    l.client,
                    l.piano,
                    l.description
                ),
            )
        })
        .collect();
    Body {
        opening,
        rows,
        closing: closing(language),
    }
    .compose(
        subject,
        message_id("digest", date),
        Some(message_id("digest", "thread")),
    )
}

/// `gazellectl alerts test-email`.
pub fn test(nonce: &str, language: Language) -> Composed {
    let (subject, opening) = match language {
        Language::Fr => (
            "Assistant Gazelle : courriel d'essai".to_owned(),
            "Ce courriel d'essai confirme que les alertes vous parviennent (é à ç ô).".to_owned(),
        ),
        Language::En => (
            "Assistant Gazelle: test e-mail".to_owned(),
            "This test e-mail confirms that alerts reach you.".to_owned(),
        ),
    };
    Body {
        opening,
        rows: vec![],
        closing: closing(language),
    }
    .compose(subject, message_id("test", nonce), None)
}

/// What an appointment-change notice says.
pub struct ChangeFacts<'a> {
    /// `new`, `reassigned` (taken off this technician's day), `rescheduled`, `cancelled`,
    /// `deleted`.
    pub change: &'a str,
    pub appointment_id: i64,
    pub technician_id: &'a str,
    pub first_name: Option<&'a str>,
    /// When, in the shop's time ("mardi 8 décembre 09:00" is the caller's to format).
    pub when: String,
    /// When it was before a reschedule.
    pub before: Option<String>,
    pub client: &'a str,
    pub pianos: Option<String>,
    pub duration_minutes: Option<i64>,
}

/// "RV déplacé — <client> — <when>" to the technician concerned.
pub fn appointment_change(facts: &ChangeFacts<'_>, language: Language) -> Composed {
    let name = facts.first_name.unwrap_or("");
    let (what, labels, hello) = match language {
        Language::Fr => (
            match facts.change {
                "new" => "Nouveau RV",
                "reassigned" => "RV retiré de votre horaire",
                "rescheduled" => "RV déplacé",
                "cancelled" => "RV annulé",
                _ => "RV supprimé",
            },
            ["Quand", "Avant", "Client", "Pianos", "Durée"],
            format!("Bonjour {name},").replace("Bonjour ,", "Bonjour,"),
        ),
        Language::En => (
            match facts.change {
                "new" => "New appointment",
                "reassigned" => "Appointment taken off your schedule",
                "rescheduled" => "Appointment moved",
                "cancelled" => "Appointment cancelled",
                _ => "Appointment deleted",
            },
            ["When", "Before", "Client", "Pianos", "Duration"],
            format!("Hello {name},").replace("Hello ,", "Hello,"),
        ),
    };
    let subject = format!("{what} — {} — {}", facts.client, facts.when);
    let mut rows = vec![(labels[0], facts.when.clone())];
    if let Some(before) = &facts.before {
        rows.push((labels[1], before.clone()));
    }
    rows.extend([
        (labels[2], facts.client.to_owned()),
        (
            labels[3],
            facts.pianos.clone().unwrap_or_else(|| "—".into()),
        ),
        (
            labels[4],
            facts
                .duration_minutes
                .map_or_else(|| "—".into(), |m| format!("{m} min")),
        ),
    ]);
    let key = format!(
        "{}.{}.{}.{}",
        facts.appointment_id, facts.technician_id, facts.change, facts.when
    );
    Body {
        opening: format!("{hello} {what}."),
        rows,
        closing: closing(language),
    }
    .compose(
        subject,
        message_id("change", &key),
        // One thread per appointment and technician.
        Some(message_id(
            "appointment",
            &format!("{}.{}", facts.appointment_id, facts.technician_id),
        )),
    )
}

/// An invitation to the dashboard: the link, who invites, how long it works.
pub fn invitation(url: &str, invited_by: &str, days: u32, language: Language) -> Composed {
    let (subject, opening, labels, closing_line) = match language {
        Language::Fr => (
            "Invitation au tableau de bord d'Assistant Gazelle".to_owned(),
            format!(
                "Bonjour, {invited_by} vous invite au tableau de bord de l'atelier : votre journée, vos alertes, votre stock."
            ),
            ["Lien", "Valide"],
            "Ouvrez le lien pour choisir votre mot de passe. Il ne sert qu'une fois.",
        ),
        Language::En => (
            "Invitation to the Assistant Gazelle dashboard".to_owned(),
            format!(
                "Hello, {invited_by} invites you to the shop's dashboard: your day, your alerts, your stock."
            ),
            ["Link", "Valid for"],
            "Open the link to choose your password. It works once.",
        ),
    };
    let valid = match language {
        Language::Fr => format!("{days} jours"),
        Language::En => format!("{days} days"),
    };
    Body {
        opening,
        rows: vec![(labels[0], url.to_owned()), (labels[1], valid)],
        closing: format!("{closing_line}\n\n{}", closing(language)),
    }
    .compose(
        subject,
        message_id("invitation", &crate::message::url_key(url)),
        None,
    )
}

/// A message-id key from a link (its last segment: the token, never repeated).
fn url_key(url: &str) -> String {
    url.rsplit('/')
        .next()
        .unwrap_or(url)
        .chars()
        .take(24)
        .collect()
}

/// The French name of a weekday ("mardi").
pub fn weekday_fr(day: jiff::civil::Weekday) -> &'static str {
    use jiff::civil::Weekday::*;
    match day {
        Monday => "lundi",
        Tuesday => "mardi",
        Wednesday => "mercredi",
        Thursday => "jeudi",
        Friday => "vendredi",
        Saturday => "samedi",
        Sunday => "dimanche",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_are_stable_and_valid() {
        assert_eq!(
            message_id("alert", "tme_ab:cover"),
            "<alert.tme_ab.cover@assistant-gazelle.invalid>"
        );
    }

    #[test]
    fn html_is_escaped_and_says_what_the_text_says() {
        let facts = MaintenanceFacts {
            alert_external_id: "tme_1:power",
            family: "power",
            client: "Salle <Bourgie> & Cie",
            institutional: true,
            piano: Some("Steinway D-274".into()),
            piano_external_id: Some("ins_1"),
            client_external_id: Some("cli_1"),
            room: Some("Salle de concert"),
            date: "2026-11-30",
            technician: Some("Élise Côté".into()),
            description: "débranché détecté",
            excerpt: "PLS débranché",
        };
        let m = maintenance(&facts, Language::Fr);
        assert_eq!(
            m.subject,
            "Alerte PLS — Salle <Bourgie> & Cie — Steinway D-274 (Salle de concert)"
        );
        assert!(m.html.contains("Salle &lt;Bourgie&gt; &amp; Cie"));
        assert!(m.text.contains("Technicien : Élise Côté"), "{}", m.text);
        assert!(
            m.text
                .starts_with("[Institutionnel] Alerte d'entretien : Alimentation")
        );
        assert_eq!(
            m.thread_id.as_deref(),
            Some("<piano.ins_1@assistant-gazelle.invalid>")
        );
        let en = maintenance(&facts, Language::En);
        assert!(en.subject.starts_with("PLS alert — "));
    }
}
