//! Executes validated GraphQL documents against the world.
//!
//! apollo-compiler's executor does the GraphQL work (fragments, aliases, `__typename`,
//! variable coercion, null propagation, errors with paths); this module only tells it how to
//! read a field of the world's JSON records:
//!
//! * `{"$ref": id}` is another record, looked up when (and only when) it is selected;
//! * `{"$list": [...]}` under a `…Connection` field is paged with the field's `first/after`;
//! * a JSON object under a scalar type (`I18nString`, `JSON`) is a leaf, not an object.

use std::cell::RefCell;

use apollo_compiler::resolvers::{Execution, FieldError, ObjectValue, ResolveInfo, ResolvedValue};
use apollo_compiler::schema::{ExtendedType, Type};
use serde_json::{Map, Value};

use crate::mutations;
use crate::world::{World, encode_cursor};

/// The world, borrowed for one request. Mutations borrow it mutably for the moment they
/// change it; reads borrow it briefly per lookup.
pub struct Context<'w> {
    world: RefCell<&'w mut World>,
}

/// Runs one request. Returns the response body as JSON text (`data` and/or `errors`), its
/// keys in selection order as GraphQL requires.
pub fn execute(
    world: &mut World,
    query: &str,
    operation_name: Option<&str>,
    variables: &Map<String, Value>,
) -> String {
    let document = match gazelle_schema::validate(query) {
        Ok(doc) => doc,
        Err(errors) => return serde_json::json!({ "errors": errors }).to_string(),
    };
    let schema = gazelle_schema::schema();
    let variables: apollo_compiler::response::JsonMap =
        match serde_json::from_value(Value::Object(variables.clone())) {
            Ok(v) => v,
            Err(e) => return request_error(format!("Variables are invalid JSON: {e}")),
        };
    let execution = match Execution::new(schema, &document).operation_name(operation_name) {
        Ok(execution) => execution.raw_variable_values(&variables),
        Err(e) => return request_error(e.message().to_string()),
    };
    let operation = match document.operations.get(operation_name) {
        Ok(op) => op,
        Err(e) => return request_error(e.message().to_string()),
    };
    let root_type = operation.object_type().to_string();
    let context = Context {
        world: RefCell::new(world),
    };
    let root = Root {
        context: &context,
        type_name: root_type,
        is_mutation: operation.is_mutation(),
    };
    match execution.execute_sync(&root) {
        Ok(response) => serde_json::to_string(&response)
            .unwrap_or_else(|e| request_error(format!("response could not be encoded: {e}"))),
        Err(e) => request_error(e.message().to_string()),
    }
}

fn request_error(message: String) -> String {
    serde_json::json!({ "errors": [{ "message": message, "locations": [], "path": [], "extensions": {} }] }).to_string()
}

struct Root<'c, 'w> {
    context: &'c Context<'w>,
    type_name: String,
    is_mutation: bool,
}

impl ObjectValue for Root<'_, '_> {
    fn type_name(&self) -> &str {
        &self.type_name
    }

    fn resolve_field<'a>(
        &'a self,
        info: &'a ResolveInfo<'a>,
    ) -> Result<ResolvedValue<'a>, FieldError> {
        let args = to_serde(info.arguments());
        let raw = {
            let mut world = self.context.world.borrow_mut();
            if self.is_mutation {
                mutations::mutate(&mut world, info.field_name(), &args)
            } else {
                world.query(info.field_name(), &args)
            }
        }
        .map_err(|message| FieldError { message })?;
        self.context
            .resolve(raw, &info.field_definition().ty, &args)
    }
}

/// A record or nested object of the world.
struct Object<'c, 'w> {
    context: &'c Context<'w>,
    type_name: String,
    fields: Map<String, Value>,
}

impl ObjectValue for Object<'_, '_> {
    fn type_name(&self) -> &str {
        &self.type_name
    }

    fn resolve_field<'a>(
        &'a self,
        info: &'a ResolveInfo<'a>,
    ) -> Result<ResolvedValue<'a>, FieldError> {
        let raw = self
            .fields
            .get(info.field_name())
            .cloned()
            .unwrap_or(Value::Null);
        let args = to_serde(info.arguments());
        self.context
            .resolve(raw, &info.field_definition().ty, &args)
    }
}

impl<'w> Context<'w> {
    fn resolve<'a>(
        &'a self,
        raw: Value,
        ty: &Type,
        args: &Map<String, Value>,
    ) -> Result<ResolvedValue<'a>, FieldError> {
        let named = ty.inner_named_type().as_str();
        let is_leaf = matches!(
            gazelle_schema::schema().types.get(named),
            Some(ExtendedType::Scalar(_) | ExtendedType::Enum(_))
        );
        match raw {
            Value::Null => Ok(ResolvedValue::null()),
            _ if is_leaf && !ty.is_list() => Ok(ResolvedValue::leaf(to_bytes(raw))),
            Value::Object(map) if map.contains_key("$ref") => {
                let id = map.get("$ref").and_then(Value::as_str).unwrap_or_default();
                let record = self.world.borrow().record(id);
                Ok(ResolvedValue::nullable_object(record.map(|fields| {
                    Object {
                        context: self,
                        type_name: named.to_owned(),
                        fields,
                    }
                })))
            }
            Value::Object(mut map) if map.contains_key("$list") => {
                let items = match map.remove("$list") {
                    Some(Value::Array(items)) => items,
                    _ => Vec::new(),
                };
                if ty.is_list() {
                    self.resolve(Value::Array(items), ty, args)
                } else {
                    let fields =
                        nested_connection(items, args).map_err(|message| FieldError { message })?;
                    Ok(ResolvedValue::object(Object {
                        context: self,
                        type_name: named.to_owned(),
                        fields,
                    }))
                }
            }
            Value::Object(fields) => Ok(ResolvedValue::object(Object {
                context: self,
                type_name: named.to_owned(),
                fields,
            })),
            Value::Array(items) => {
                let item_type = ty.item_type().clone();
                let resolved: Vec<Result<ResolvedValue<'a>, FieldError>> = items
                    .into_iter()
                    .map(|item| self.resolve(item, &item_type, &Map::new()))
                    .collect();
                Ok(ResolvedValue::List(Box::new(resolved.into_iter())))
            }
            leaf => Ok(ResolvedValue::leaf(to_bytes(leaf))),
        }
    }
}

/// Pages a short nested list (a client's contacts, an invoice's items) by position.
fn nested_connection(
    items: Vec<Value>,
    args: &Map<String, Value>,
) -> Result<Map<String, Value>, String> {
    // Archived items (contacts) are listed only when asked for.
    let with_archived = args.get("includeArchived") == Some(&Value::Bool(true));
    let items: Vec<Value> = items
        .into_iter()
        .filter(|item| with_archived || item.get("$archived") != Some(&Value::Bool(true)))
        .collect();
    let first = match args.get("first").and_then(Value::as_i64) {
        Some(n) if n < 0 => return Err("`first` must be non-negative".into()),
        Some(n) => n as usize,
        None => usize::MAX,
    };
    let start = match args.get("after").and_then(Value::as_str) {
        None => 0,
        Some(cursor) => {
            decode_position(cursor).ok_or_else(|| format!("Invalid cursor: `{cursor}`"))? + 1
        }
    };
    let total = items.len();
    let end = start.saturating_add(first).min(total);
    let page: Vec<(usize, Value)> = items
        .into_iter()
        .enumerate()
        .skip(start)
        .take(end.saturating_sub(start))
        .collect();
    let cursor = |i: usize| encode_cursor("POSITION", &format!("{i:08}"), "");
    let value = serde_json::json!({
        "nodes": page.iter().map(|(_, v)| v.clone()).collect::<Vec<_>>(),
        "edges": page.iter().map(|(i, v)| serde_json::json!({"node": v, "cursor": cursor(*i)})).collect::<Vec<_>>(),
        "pageInfo": {
            "hasNextPage": end < total,
            "hasPreviousPage": start > 0,
            "startCursor": page.first().map(|(i, _)| cursor(*i)),
            "endCursor": page.last().map(|(i, _)| cursor(*i)),
        },
        "totalCount": total,
    });
    Ok(match value {
        Value::Object(map) => map,
        _ => Map::new(),
    })
}

fn decode_position(cursor: &str) -> Option<usize> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let mut parts = text.split('\n');
    (parts.next()? == "POSITION").then_some(())?;
    parts.next()?.parse().ok()
}

fn to_serde(map: &apollo_compiler::response::JsonMap) -> Map<String, Value> {
    match serde_json::to_value(map) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

fn to_bytes(value: Value) -> apollo_compiler::response::JsonValue {
    serde_json_bytes::Value::from(value)
}
