//! The maintenance-note detector over realistic notes: French and English, with and without
//! accents, readings in °C and °F, negatives, problems resolved in the same note.

use Family::*;
use alerts::notes::{Family, NoteScanner};

/// `O` = open (unresolved), `R` = resolved at creation.
const O: bool = false;
const R: bool = true;

fn cases() -> Vec<(&'static str, Vec<(Family, bool)>)> {
    vec![
        // Routine notes and readings: nothing.
        ("Accord standard à 440 Hz. 21C, 39%", vec![]),
        ("Tuning at A440, minor voicing. 20°C 45%", vec![]),
        ("Accord, réglage des étouffoirs. 68F, 40%", vec![]),
        (
            "Accord et ajustement de la pédale douce. Lecture : Temp 22 °C / humidité 48 %",
            vec![],
        ),
        ("Routine tuning, client happy. 24C 50%", vec![]),
        ("Entretien régulier, tout est beau.", vec![]),
        (
            "Housse en place, PLS branché, réservoir plein. 21C 42%",
            vec![],
        ),
        ("Cover on, system plugged in and working. 70F 45%", vec![]),
        (
            "Yamaha C3 accordé, modèle b121 à vérifier l'an prochain.",
            vec![],
        ),
        ("Humidité normale, température normale.", vec![]),
        ("Aucun problème d'humidité cette fois. 21°C 40%", vec![]),
        ("PLS pas débranché, tout fonctionne.", vec![]),
        ("Le PLS n'est pas déconnecté, vérifié.", vec![]),
        ("Client a une base de piano neuve.", vec![]),
        ("Humidity system checked, all good. 21C 39%", vec![]),
        ("Tank not empty, checked.", vec![]),
        ("Lecture 18C 30%", vec![]),
        ("Lecture 26°C 60%", vec![]),
        // Cover.
        (
            "Housse enlevée par le client, à surveiller. 21C, 39%",
            vec![(Cover, O)],
        ),
        ("housse enlevee par le concierge", vec![(Cover, O)]),
        ("HOUSSE RETIRÉE pour le concert", vec![(Cover, O)]),
        ("Piano sans housse depuis l'été.", vec![(Cover, O)]),
        (
            "Pas de housse sur le piano de la salle 204.",
            vec![(Cover, O)],
        ),
        ("Housse manquante.", vec![(Cover, O)]),
        (
            "Cover removed during the concert season. 20°C 45%",
            vec![(Cover, O)],
        ),
        ("cover off since the recital", vec![(Cover, O)]),
        ("No cover on the Steinway.", vec![(Cover, O)]),
        (
            "Housse enlevée pour l'accord, housse replacée.",
            vec![(Cover, R)],
        ),
        (
            "Housse retirée, housse remise après le service.",
            vec![(Cover, R)],
        ),
        (
            "Cover removed for tuning, cover replaced after.",
            vec![(Cover, R)],
        ),
        // Power.
        ("PLS débranché derrière le piano! 21C 40%", vec![(Power, O)]),
        ("pls debranche derriere le piano", vec![(Power, O)]),
        (
            "Dampp-Chaser unplugged, told the custodian.",
            vec![(Power, O)],
        ),
        (
            "Le système était déconnecté, prise débranchée.",
            vec![(Power, O)],
        ),
        (
            "Dampp chaser débranché par l'entretien ménager.",
            vec![(Power, O)],
        ),
        ("Humidistat not plugged in.", vec![(Power, O)]),
        ("The system was disconnected.", vec![(Power, O)]),
        ("Le PLS était pas branché.", vec![(Power, O)]),
        (
            "PLS débranché à l'arrivée — rebranché avant de partir.",
            vec![(Power, R)],
        ),
        (
            "Dampp chaser was unplugged, plugged back in.",
            vec![(Power, R)],
        ),
        ("PLS déconnecté; reconnecté et testé.", vec![(Power, R)]),
        ("prise debranchee, branche a nouveau", vec![(Power, R)]),
        // Reservoir.
        ("Réservoir vide, voyant clignote.", vec![(Reservoir, O)]),
        ("reservoir vide", vec![(Reservoir, O)]),
        ("Tank empty on the humidity system.", vec![(Reservoir, O)]),
        (
            "Réservoir à remplir la semaine prochaine.",
            vec![(Reservoir, O)],
        ),
        ("Réservoir manquant sur le PLS.", vec![(Reservoir, O)]),
        (
            "Réservoir vide, réservoir rempli sur place.",
            vec![(Reservoir, R)],
        ),
        (
            "Tank empty — tank filled before leaving.",
            vec![(Reservoir, R)],
        ),
        // Environment: phrases, topic words, readings.
        (
            "Fenêtre ouverte juste à côté du piano.",
            vec![(Environment, O)],
        ),
        (
            "Chauffage au plancher sous le piano.",
            vec![(Environment, O)],
        ),
        ("Humidité très basse dans la salle.", vec![(Environment, O)]),
        ("humidite trop elevee, salle humide", vec![(Environment, O)]),
        (
            "Température anormale dans l'auditorium.",
            vec![(Environment, O)],
        ),
        ("Humidity too low in the hall.", vec![(Environment, O)]),
        (
            "Temperature high near the stage lights.",
            vec![(Environment, O)],
        ),
        (
            "Fenêtre ouverte, fenêtre fermée avant de partir.",
            vec![(Environment, R)],
        ),
        (
            "Problème d'humidité corrigé par le concierge.",
            vec![(Environment, R)],
        ),
        ("Lecture 15C, 22%", vec![(Environment, O)]),
        ("17°C 63%", vec![(Environment, O)]),
        ("Salle froide : 59F, 35%", vec![(Environment, O)]),
        ("Temp 29 °C / humidité 70 %", vec![(Environment, O)]),
        ("Accord. 21C, 25%", vec![(Environment, O)]),
        ("HR 72% dans la chapelle", vec![(Environment, O)]),
        ("Humidité 25 % ce matin.", vec![(Environment, O)]),
        ("Température 16,5°C seulement.", vec![(Environment, O)]),
        // A problem word counts only in the topic's clause, and not in its musical sense
        // (the bass string, a low note, the treble register).
        (
            "Remplacé une corde de basse (la0). Humidity control system disconnected.",
            vec![(Power, O)],
        ),
        ("Accord. Note basse qui frise; humidité stable.", vec![]),
        ("Corde de basse changée, humidité correcte.", vec![]),
        ("Humidité correcte. Corde basse remplacée.", vec![]),
        ("Note haute (do7) fausse, température stable.", vec![]),
        ("Registre haut accordé; temp. stable à 21C.", vec![]),
        (
            "Corde de basse cassée : humidité très basse dans la salle.",
            vec![(Environment, O)],
        ),
        ("Temp. trop basse ce matin.", vec![(Environment, O)]),
        // Several families in one note.
        (
            "Housse enlevée et PLS débranché. 21C 39%",
            vec![(Cover, O), (Power, O)],
        ),
        (
            "PLS débranché, réservoir vide. Rebranché, réservoir rempli.",
            vec![(Power, R), (Reservoir, R)],
        ),
        (
            "Cover off, heater right next to the piano. 80F 25%",
            vec![(Cover, O), (Environment, O)],
        ),
        (
            "Réservoir vide et fenêtre ouverte; housse replacée.",
            vec![(Reservoir, O), (Environment, O)],
        ),
    ]
}

#[test]
fn sixty_and_more_realistic_notes_give_the_expected_alerts() {
    let scanner = NoteScanner::from_config(&config::Alerts::default());
    let cases = cases();
    assert!(cases.len() >= 60, "{} cases", cases.len());
    let mut failures = Vec::new();
    for (note, expected) in &cases {
        let found: Vec<(Family, bool)> = scanner
            .scan(note)
            .iter()
            .map(|f| (f.family, f.resolution.is_some()))
            .collect();
        if &found != expected {
            failures.push(format!("{note:?}: expected {expected:?}, found {found:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_finding_describes_phrase_resolution_and_excerpt() {
    let scanner = NoteScanner::from_config(&config::Alerts::default());
    let found = scanner.scan("PLS débranché à l'arrivée — rebranché avant de partir.");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].problem, "PLS débranché");
    assert_eq!(found[0].resolution.as_deref(), Some("rebranché"));
    assert_eq!(
        found[0].description(),
        "PLS débranché détecté — résolu : rebranché — « PLS débranché à l'arrivée — rebranché avant de partir. »"
    );
    let reading = scanner.scan("Lecture 15C, 22%");
    assert!(
        reading[0]
            .problem
            .starts_with("lecture hors plage (15C, 22%"),
        "{:?}",
        reading[0].problem
    );
}

#[test]
fn phrases_and_thresholds_come_from_configuration() {
    let mut alerts = config::Alerts::default();
    alerts.phrases.cover.problems.push("bâche enlevée".into());
    alerts.humidity_min_percent = 40;
    let scanner = NoteScanner::from_config(&alerts);
    assert_eq!(scanner.scan("Bache enlevee.")[0].family, Cover);
    assert_eq!(scanner.scan("21C, 35%")[0].family, Environment);
}

#[test]
fn long_notes_are_excerpted_around_the_problem() {
    let scanner = NoteScanner::from_config(&config::Alerts::default());
    let note = format!(
        "{} PLS débranché {}",
        "Accord long. ".repeat(20),
        "Suite du texte. ".repeat(20)
    );
    let found = scanner.scan(&note);
    let excerpt = &found[0].excerpt;
    assert!(
        excerpt.starts_with('…') && excerpt.ends_with('…'),
        "{excerpt}"
    );
    assert!(excerpt.contains("PLS débranché"));
    assert!(excerpt.chars().count() < 170);
}

proptest::proptest! {
    /// Whatever a technician types (any Unicode, any length), scanning never panics and every
    /// excerpt is taken from the note.
    #[test]
    fn any_text_scans_without_panicking(note in "\\PC{0,400}") {
        let scanner = NoteScanner::from_config(&config::Alerts::default());
        for finding in scanner.scan(&note) {
            let flat: String = note.split_whitespace().collect::<Vec<_>>().join(" ");
            let core = finding.excerpt.trim_matches('…');
            proptest::prop_assert!(flat.contains(core), "{:?} not in {:?}", core, flat);
        }
    }

    #[test]
    fn phrase_soup_scans_without_panicking(words in proptest::collection::vec(
        proptest::sample::select(vec!["PLS", "débranché", "pas", "housse", "enlevée", "21", "°", "C", ",", "39", "%", "-", "5", "F", "humidité", "trop", "basse", "réservoir", "vide", "rebranché", "1.5", "ª"]), 0..40)) {
        let scanner = NoteScanner::from_config(&config::Alerts::default());
        let _ = scanner.scan(&words.join(" "));
        let _ = scanner.scan(&words.concat());
    }
}
