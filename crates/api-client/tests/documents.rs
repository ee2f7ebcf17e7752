//! Every document the client can send validates against Gazelle's schema.

#[test]
fn every_document_validates_against_the_schema() {
    let mut failures = Vec::new();
    for op in api_client::documents::ALL {
        if let Err(errors) = gazelle_schema::validate(op.document) {
            let messages: Vec<String> = errors.into_iter().map(|e| e.message).collect();
            failures.push(format!("{}: {}", op.name, messages.join("; ")));
        }
        assert!(
            op.document.contains(&format!(" {}", op.name)),
            "{} is named in its document",
            op.name
        );
    }
    assert!(
        failures.is_empty(),
        "invalid documents:\n{}",
        failures.join("\n")
    );
    assert!(api_client::documents::ALL.len() >= 20);
}

#[test]
fn only_idempotent_mutations_are_marked_idempotent() {
    use api_client::documents::*;
    for op in [CREATE_PIANO, CREATE_EVENT, CREATE_CLIENT_LOG] {
        assert!(
            !op.idempotent,
            "{} creates a record without a client-supplied id",
            op.name
        );
    }
    for op in [CREATE_CLIENT, CREATE_INVOICE] {
        assert!(
            op.document.contains("$id: String"),
            "{} carries a client-supplied id",
            op.name
        );
    }
}

#[test]
fn probe_documents_validate_for_any_number_of_windows() {
    use api_client::probe::{MAX_WINDOWS, ProbeKind};
    for kind in [ProbeKind::Events, ProbeKind::Invoices, ProbeKind::Timeline] {
        for windows in [1, 2, 37, MAX_WINDOWS] {
            let document = kind.document(windows);
            if let Err(errors) = gazelle_schema::validate(&document) {
                let messages: Vec<String> = errors.into_iter().map(|e| e.message).collect();
                panic!("{kind:?} with {windows} windows: {}", messages.join("; "));
            }
            assert!(document.contains(&format!(" {}", kind.operation().name)));
            assert_eq!(document.matches(": all").count(), windows);
        }
    }
}

#[test]
fn lookup_documents_validate_for_any_number_of_ids() {
    use api_client::lookup::{LookupKind, MAX_IDS};
    for kind in [
        LookupKind::Clients,
        LookupKind::Pianos,
        LookupKind::Events,
        LookupKind::Invoices,
    ] {
        for ids in [1, 2, 17, MAX_IDS] {
            let document = kind.document(ids);
            if let Err(errors) = gazelle_schema::validate(&document) {
                let messages: Vec<String> = errors.into_iter().map(|e| e.message).collect();
                panic!("{kind:?} with {ids} ids: {}", messages.join("; "));
            }
            assert!(document.contains(&format!(" {}", kind.operation().name)));
            assert_eq!(document.matches("$r").count(), ids * 2);
        }
    }
}
