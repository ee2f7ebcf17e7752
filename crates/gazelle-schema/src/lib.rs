//! Gazelle's private GraphQL schema: the contract every document the project sends must
//! validate against, and the one the simulator enforces.
//!
//! `schema.graphql` is a copy of `shared/gazelle/schema.graphql` (718 types, from a full
//! introspection of 2025-12-30), kept in the repository so the project builds on its own.

use std::sync::OnceLock;

use apollo_compiler::Schema;
use apollo_compiler::executable::ExecutableDocument;
use apollo_compiler::validation::Valid;
use serde::Serialize;

/// The schema's SDL.
pub const SDL: &str = include_str!("../schema.graphql");

/// The parsed and validated schema, built once per process (about 10 ms).
pub fn schema() -> &'static Valid<Schema> {
    static SCHEMA: OnceLock<Valid<Schema>> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        Schema::parse_and_validate(SDL, "schema.graphql")
            // The SDL is a constant checked by this crate's test: it cannot be invalid.
            .unwrap_or_else(|e| unreachable!("the bundled Gazelle schema is invalid: {e}"))
    })
}

/// A GraphQL error as Gazelle returns it in the `errors` array.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GraphQlError {
    pub message: String,
    pub locations: Vec<Location>,
    pub path: Vec<String>,
    pub extensions: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

/// Parses and validates a request document against the schema. Errors are worded as
/// Gazelle's server (graphql-ruby) words them, so a client bug reads the same here as in
/// production: `Field 'manufactureYear' doesn't exist on type 'PrivatePiano'`.
pub fn validate(document: &str) -> Result<Valid<ExecutableDocument>, Vec<GraphQlError>> {
    ExecutableDocument::parse_and_validate(schema(), document, "request.graphql").map_err(
        |with_errors| {
            with_errors
                .errors
                .iter()
                .map(|diagnostic| {
                    let json = diagnostic.to_json();
                    GraphQlError {
                        message: gazelle_wording(&json.message),
                        locations: json
                            .locations
                            .iter()
                            .map(|l| Location {
                                line: l.line,
                                column: l.column,
                            })
                            .collect(),
                        path: Vec::new(),
                        extensions: serde_json::Map::new(),
                    }
                })
                .collect()
        },
    )
}

/// Rewrites apollo-compiler's wording of the common errors into graphql-ruby's.
fn gazelle_wording(message: &str) -> String {
    let ticks: Vec<&str> = message.split('`').skip(1).step_by(2).collect();
    if message.starts_with("type `")
        && message.contains("does not have a field")
        && ticks.len() == 2
    {
        return format!("Field '{}' doesn't exist on type '{}'", ticks[1], ticks[0]);
    }
    if message.starts_with("the argument `")
        && message.contains("is not supported by")
        && ticks.len() == 2
    {
        let field = ticks[1].rsplit('.').next().unwrap_or(ticks[1]);
        return format!("Field '{field}' doesn't accept argument '{}'", ticks[0]);
    }
    if message.starts_with("variable `")
        && message.contains("cannot be used for argument")
        && ticks.len() == 4
    {
        return format!(
            "Type mismatch on variable {} and argument {} ({} / {})",
            ticks[0], ticks[2], ticks[1], ticks[3]
        );
    }
    message.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_schema_is_valid_and_complete() {
        let schema = schema();
        assert!(schema.types.len() >= 718, "{} types", schema.types.len());
        assert!(schema.get_object("PrivatePiano").is_some());
    }

    #[test]
    fn errors_read_as_gazelle_words_them() {
        let err = |doc: &str| validate(doc).expect_err("invalid")[0].message.clone();
        assert_eq!(
            err("{ allPianos(first: 1) { nodes { id manufactureYear } } }"),
            "Field 'manufactureYear' doesn't exist on type 'PrivatePiano'"
        );
        assert_eq!(
            err("{ allTimelineEntries(orderBy: 1) { nodes { id } } }"),
            "Field 'allTimelineEntries' doesn't accept argument 'orderBy'"
        );
        assert_eq!(
            err("query($pianoId: ID!) { piano(id: $pianoId) { id } }"),
            "Type mismatch on variable $pianoId and argument id (ID! / String)"
        );
        assert!(validate("{ allUsers { id firstName } }").is_ok());
        assert!(validate("{ nope").is_err());
    }
}
