//! The published OpenAPI document: what the framework derives from the operations, completed
//! with what it cannot express, so that the spec says exactly what the server does.
//!
//! Added here: the request limits the core enforces on `ChatRequest` (lengths, counts, URL
//! format, and "empty `content` only with an attachment"), examples on every operation, the
//! 405 every path answers for a method it does not serve, and the link from a chat's
//! `conversation_id` to the conversation operations, and `security: []` on open operations.
//! Properties that reference another schema are plain `$ref`s (an `allOf` around one defeats
//! some SDK generators).

use serde_json::{json, Map, Value};
use whatsapp_agent::chat::InputLimits;

use crate::routes::openapi_service;

/// Characters Rust's `str::trim` removes (Unicode `White_Space`), as a regex class body.
const WHITESPACE: &str =
    r"\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";
/// Control characters (Unicode `Cc`), as a regex class body.
const CONTROL: &str = r"\u0000-\u001f\u007f-\u009f";

/// The document as served at `/openapi.json` and committed as `openapi.yaml`.
pub fn document() -> Value {
    let raw = openapi_service().spec();
    let mut doc: Value = serde_json::from_str(&raw).unwrap_or_else(|_| json!({}));
    chat_request_limits(&mut doc, &InputLimits::default());
    request_limits(&mut doc);
    plain_refs(&mut doc);
    examples(&mut doc);
    method_not_allowed(&mut doc);
    rate_limited(&mut doc);
    open_operations(&mut doc);
    links(&mut doc);
    doc
}

pub fn document_json() -> String {
    serde_json::to_string_pretty(&document()).unwrap_or_default()
}

/// YAML with the top-level keys in the usual reading order (`openapi`, `info`, … `components`).
pub fn document_yaml() -> String {
    let doc = document();
    let Some(top) = doc.as_object() else {
        return String::new();
    };
    let order = ["openapi", "info", "servers", "tags", "paths", "components"];
    let mut keys: Vec<&String> = top.keys().collect();
    keys.sort_by_key(|k| order.iter().position(|o| o == k).unwrap_or(order.len()));
    keys.into_iter()
        .map(|key| {
            let mut one = Map::new();
            one.insert(key.clone(), top[key].clone());
            serde_yaml::to_string(&Value::Object(one)).unwrap_or_default()
        })
        .collect()
}

fn schema_mut<'a>(doc: &'a mut Value, name: &str) -> Option<&'a mut Map<String, Value>> {
    doc.pointer_mut(&format!("/components/schemas/{name}"))
        .and_then(Value::as_object_mut)
}

/// The limits `ChatInput::validate` enforces, in JSON Schema terms.
fn chat_request_limits(doc: &mut Value, limits: &InputLimits) {
    let Some(schema) = schema_mut(doc, "ChatRequest") else {
        return;
    };
    let url = json!({
        "type": "string",
        "maxLength": limits.max_url_len,
        // http or https, a host that starts with a letter, a digit or `[`, and printable ASCII
        // only (international names in punycode, other characters percent-encoded).
        "pattern": r"^[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9\[][!-~]*$",
    });
    if let Some(props) = schema.get_mut("properties").and_then(Value::as_object_mut) {
        if let Some(content) = props.get_mut("content").and_then(Value::as_object_mut) {
            content.insert("maxLength".into(), json!(limits.max_content_chars));
            content.insert("pattern".into(), json!(r"^[^\u0000]*$"));
        }
        for field in ["media_urls", "audio_urls"] {
            if let Some(list) = props.get_mut(field).and_then(Value::as_object_mut) {
                list.insert("nullable".into(), json!(true));
                list.insert("maxItems".into(), json!(limits.max_urls));
                list.insert("items".into(), url.clone());
            }
        }
        if let Some(user_id) = props.get_mut("user_id").and_then(Value::as_object_mut) {
            user_id.insert("nullable".into(), json!(true));
            user_id.insert("minLength".into(), json!(1));
            user_id.insert("maxLength".into(), json!(limits.max_user_id_len));
            // No control character, and at least one character that is not whitespace.
            user_id.insert(
                "pattern".into(),
                json!(format!(
                    "^[^{CONTROL}]*[^{WHITESPACE}{CONTROL}][^{CONTROL}]*$"
                )),
            );
        }
    }
    // Blank `content` is refused unless an image or a voice note comes with it. (`not` rather
    // than `anyOf`: generators skip it instead of giving up on the type.)
    let none = json!({"maxItems": 0, "items": {"type": "string"}});
    schema.insert(
        "not".into(),
        json!({
            "properties": {
                "content": {"pattern": format!("^[{WHITESPACE}]*$")},
                "media_urls": none,
                "audio_urls": none,
            }
        }),
    );
}

/// Limits the request types enforce beyond what their Rust types say: a key needs a scope, and
/// a reply's `author` may be `null` (the key's name then signs it).
fn request_limits(doc: &mut Value) {
    if let Some(scopes) = doc.pointer_mut("/components/schemas/CreateKeyRequest/properties/scopes")
    {
        scopes["minItems"] = json!(1);
    }
    if let Some(name) = doc.pointer_mut("/components/schemas/CreateKeyRequest/properties/name") {
        name["minLength"] = json!(1);
        name["maxLength"] = json!(100);
        // No control character, and at least one character that is not whitespace.
        name["pattern"] = json!(format!(
            "^[^{CONTROL}]*[^{WHITESPACE}{CONTROL}][^{CONTROL}]*$"
        ));
    }
    if let Some(author) =
        doc.pointer_mut("/components/schemas/PersonReplyRequest/properties/author")
    {
        author["nullable"] = json!(true);
    }
}

/// `{allOf: [{$ref: X}], description}` → `{$ref: X}`, with the property's description moved
/// into the object's: generators make a needless type of the first, or none at all when `X` is
/// an enum.
fn plain_refs(doc: &mut Value) {
    let names: Vec<String> = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .map(|s| s.keys().cloned().collect())
        .unwrap_or_default();
    for name in &names {
        let Some(schema) = schema_mut(doc, name) else {
            continue;
        };
        let mut notes = Vec::new();
        if let Some(props) = schema.get_mut("properties").and_then(Value::as_object_mut) {
            for (prop, value) in props.iter_mut() {
                let reference = value
                    .pointer("/allOf/0/$ref")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                if let Some(reference) = reference {
                    if let Some(text) = value.get("description").and_then(Value::as_str) {
                        notes.push(format!("`{prop}`: {text}"));
                    }
                    *value = json!({ "$ref": reference });
                }
            }
        }
        if !notes.is_empty() {
            let mut description = schema
                .get("description")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_default();
            for note in notes {
                if !description.is_empty() {
                    description.push_str("\n\n");
                }
                description.push_str(&note);
            }
            schema.insert("description".into(), json!(description));
        }
    }
}

fn operations(doc: &mut Value) -> Vec<&mut Map<String, Value>> {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return Vec::new();
    };
    paths
        .values_mut()
        .filter_map(Value::as_object_mut)
        .flat_map(|item| item.values_mut())
        .filter_map(Value::as_object_mut)
        .collect()
}

/// Copies each referenced schema's example onto the media types that use it, and gives path
/// parameters and the text bodies an example, so every operation has examples.
fn examples(doc: &mut Value) {
    let schemas = doc
        .pointer("/components/schemas")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let example_of = |media: &Value| -> Option<Value> {
        let reference = media.pointer("/schema/$ref")?.as_str()?;
        let name = reference.strip_prefix("#/components/schemas/")?;
        schemas.get(name)?.get("example").cloned()
    };
    for op in operations(doc) {
        let mut contents: Vec<&mut Value> = Vec::new();
        for (key, value) in op.iter_mut() {
            match key.as_str() {
                "requestBody" => {
                    if let Some(content) = value.get_mut("content").and_then(Value::as_object_mut) {
                        contents.extend(content.values_mut());
                    }
                }
                "responses" => {
                    let responses = value
                        .as_object_mut()
                        .into_iter()
                        .flat_map(|r| r.values_mut());
                    for response in responses {
                        let Some(content) =
                            response.get_mut("content").and_then(Value::as_object_mut)
                        else {
                            continue;
                        };
                        for (media_type, media) in content.iter_mut() {
                            if media_type == "text/xml" {
                                media["example"] =
                                    json!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>");
                            } else {
                                contents.push(media);
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        for media in contents {
            if let Some(example) = example_of(media) {
                media["example"] = example;
            }
        }
        if let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) {
            for param in params {
                let is_uuid =
                    param.pointer("/schema/format").and_then(Value::as_str) == Some("uuid");
                let example = match param.get("name").and_then(Value::as_str) {
                    Some("id") if is_uuid => json!(crate::chat::example_ids::CONVERSATION),
                    Some("prefix") => json!("wak_3kX9aQ2m"),
                    Some("user") => json!("+14155550100"),
                    Some("MessageSid") => json!("SM0123456789abcdef0123456789abcdef"),
                    Some("From") => json!("whatsapp:+14155550100"),
                    Some("Body") => json!("Hello, can I book an appointment for Monday?"),
                    // Otherwise the example the operation gave the parameter's schema; an
                    // enum's schema then reads `allOf: [$ref, {example}]`, kept as the `$ref`.
                    _ => {
                        let Some(example) = param.pointer("/schema/example").cloned() else {
                            continue;
                        };
                        if let Some(reference) = param.pointer("/schema/allOf/0/$ref").cloned() {
                            param["schema"] = json!({"$ref": reference});
                        }
                        example
                    }
                };
                param["example"] = example;
            }
        }
    }
}

/// Every operation documents the 405 its path answers for other methods, with `Allow`.
fn method_not_allowed(doc: &mut Value) {
    let response = json!({
        "description": "The path does not serve this method; `Allow` lists the ones it does.",
        "headers": {
            "Allow": {
                "description": "The methods this path serves, e.g. `POST`.",
                "required": true,
                "schema": {"type": "string"},
            }
        },
        "content": {
            "application/json; charset=utf-8": {
                "schema": {"$ref": "#/components/schemas/ErrorBody"},
                "example": {"error": {
                    "code": "method_not_allowed",
                    "message": "method not allowed",
                }},
            }
        },
    });
    for op in operations(doc) {
        if let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) {
            responses.insert("405".into(), response.clone());
            sort_statuses(responses);
        }
    }
}

/// Every operation that takes a credential documents the 429 of the per-credential rate
/// limit, answered before its handler runs.
fn rate_limited(doc: &mut Value) {
    let response = json!({
        "description": "The credential is over its request rate (`limits.per_key_per_minute`).",
        "headers": {
            "Retry-After": {
                "description": "Seconds to wait before retrying.",
                "required": true,
                "schema": {"type": "integer", "format": "uint64"},
            }
        },
        "content": {
            "application/json; charset=utf-8": {
                "schema": {"$ref": "#/components/schemas/ErrorBody"},
                "example": {"error": {
                    "code": "rate_limited",
                    "message": "too many requests for this credential; retry later",
                }},
            }
        },
    });
    for op in operations(doc) {
        let secured = crate::rate_limit::takes_credential(op.get("security"));
        if let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) {
            if secured && !responses.contains_key("429") {
                responses.insert("429".into(), response.clone());
                sort_statuses(responses);
            }
        }
    }
}

/// An operation without a security scheme says so (`security: []`) rather than leaving it
/// unsaid.
fn open_operations(doc: &mut Value) {
    for op in operations(doc) {
        op.entry("security").or_insert_with(|| json!([]));
    }
}

fn sort_statuses(responses: &mut Map<String, Value>) {
    let mut entries: Vec<(String, Value)> = std::mem::take(responses).into_iter().collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    responses.extend(entries);
}

/// A chat's `conversation_id` feeds the conversation operations.
fn links(doc: &mut Value) {
    let Some(ok) = doc.pointer_mut("/paths/~1chat/post/responses/200") else {
        return;
    };
    ok["links"] = json!({
        "ReleaseConversation": {
            "operationId": "releaseConversation",
            "parameters": {"id": "$response.body#/conversation_id"},
            "description": "Give the conversation of this turn back to the bot.",
        }
    });
}
