//! The committed `openapi.yaml` must match what the code serves, and say what the server does.
//! Regenerate it with `UPDATE_OPENAPI=1 cargo test -p wa-http --test openapi_spec`.

use std::path::PathBuf;

use serde_json::Value;

#[test]
fn committed_openapi_yaml_is_current() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../openapi.yaml");
    let generated = wa_http::spec_yaml();
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).expect("write openapi.yaml");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi.yaml is stale: run `UPDATE_OPENAPI=1 cargo test -p wa-http --test openapi_spec` and commit it"
    );
}

fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            ops.push((method.to_uppercase(), path.clone(), op));
        }
    }
    ops
}

fn statuses(op: &Value) -> Vec<&str> {
    op["responses"]
        .as_object()
        .expect("responses")
        .keys()
        .map(String::as_str)
        .collect()
}

#[test]
fn each_operation_lists_the_statuses_it_answers() {
    let doc = wa_http::spec_document();
    let expected: &[(&str, &str, &[&str])] = &[
        (
            "POST",
            "/chat",
            &[
                "200", "400", "401", "403", "405", "409", "413", "415", "422", "429", "500", "502",
                "503", "504",
            ],
        ),
        (
            "POST",
            "/chat/stream",
            &[
                "200", "400", "401", "403", "405", "409", "413", "415", "422", "429", "500", "502",
                "503", "504",
            ],
        ),
        (
            "POST",
            "/conversations/{id}/release",
            &[
                "200", "400", "401", "403", "404", "405", "429", "500", "503",
            ],
        ),
        (
            "POST",
            "/conversations/{id}/takeover",
            &[
                "200", "400", "401", "403", "404", "405", "429", "500", "503",
            ],
        ),
        (
            "POST",
            "/conversations/{id}/messages",
            &[
                "201", "400", "401", "403", "404", "405", "413", "415", "422", "429", "500", "503",
            ],
        ),
        (
            "GET",
            "/conversations",
            &["200", "401", "403", "405", "422", "429", "500", "503"],
        ),
        (
            "POST",
            "/conversations/{id}/messages/{message_id}/retry",
            &[
                "200", "400", "401", "403", "404", "405", "409", "422", "429", "500", "503",
            ],
        ),
        (
            "GET",
            "/conversations/events",
            &["200", "401", "403", "405", "429", "500", "503"],
        ),
        (
            "GET",
            "/conversations/{id}",
            &[
                "200", "400", "401", "403", "404", "405", "422", "429", "500", "503",
            ],
        ),
        (
            "GET",
            "/users/{user}/messages",
            &[
                "200", "401", "403", "404", "405", "422", "429", "500", "503",
            ],
        ),
        ("GET", "/health", &["200", "405"]),
        ("GET", "/health/ready", &["200", "405", "503"]),
        (
            "POST",
            "/webhook",
            &[
                "200", "400", "403", "404", "405", "413", "415", "500", "503",
            ],
        ),
        (
            "GET",
            "/webhook",
            &["200", "400", "403", "404", "405", "500", "503"],
        ),
        (
            "POST",
            "/webhook/status",
            &[
                "200", "400", "403", "404", "405", "413", "415", "500", "503",
            ],
        ),
        (
            "POST",
            "/keys",
            &[
                "201", "400", "401", "403", "405", "413", "415", "422", "429", "500", "503",
            ],
        ),
        (
            "GET",
            "/keys",
            &["200", "401", "403", "405", "429", "500", "503"],
        ),
        (
            "POST",
            "/keys/{prefix}/revoke",
            &["200", "401", "403", "404", "405", "429", "500", "503"],
        ),
        (
            "GET",
            "/jobs",
            &["200", "401", "403", "405", "422", "429", "500", "503"],
        ),
        (
            "POST",
            "/jobs/{id}/retry",
            &[
                "200", "400", "401", "403", "404", "405", "409", "429", "500", "503",
            ],
        ),
        (
            "GET",
            "/users/{user}/export",
            &["200", "401", "403", "404", "405", "429", "500", "503"],
        ),
        (
            "DELETE",
            "/users/{user}",
            &["200", "401", "403", "404", "405", "429", "500", "503"],
        ),
    ];
    let ops = operations(&doc);
    assert_eq!(ops.len(), expected.len());
    for (method, path, codes) in expected {
        let (_, _, op) = ops
            .iter()
            .find(|(m, p, _)| m == method && p == path)
            .unwrap_or_else(|| panic!("{method} {path} is documented"));
        assert_eq!(&statuses(op), codes, "{method} {path}");
        let allow = &op["responses"]["405"]["headers"]["Allow"];
        assert_eq!(allow["required"], true, "{method} {path} documents Allow");
    }
}

#[test]
fn every_operation_has_examples_and_says_its_security() {
    let doc = wa_http::spec_document();
    for (method, path, op) in operations(&doc) {
        let bodies = op["requestBody"]["content"].as_object();
        for media in bodies.into_iter().flat_map(|c| c.values()) {
            assert!(
                media.get("example").is_some(),
                "{method} {path} request example"
            );
        }
        // The success answer: 200, or 201 for an operation that creates something.
        let success = ["200", "201"]
            .into_iter()
            .find(|status| op["responses"].get(status).is_some())
            .expect("a success status");
        let ok = op["responses"][success]["content"]
            .as_object()
            .expect("success body");
        for media in ok.values() {
            assert!(
                media.get("example").is_some(),
                "{method} {path} {success} example"
            );
        }
        for param in op["parameters"].as_array().into_iter().flatten() {
            assert!(param.get("example").is_some(), "{method} {path} {param}");
        }
        assert!(
            op["security"].is_array(),
            "{method} {path} states its security"
        );
    }
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["WebhookSignature"]["type"], "apiKey");
    assert_eq!(schemes["WebhookSignature"]["in"], "header");
    assert_eq!(schemes["WebhookSignature"]["name"], "X-Twilio-Signature");
    assert_eq!(schemes["ApiKey"]["scheme"], "bearer");
    assert_eq!(schemes["UserToken"]["scheme"], "bearer");
    assert_eq!(schemes["UserToken"]["bearerFormat"], "JWT");
    // A chat operation takes either credential; a staff operation only a key.
    let chat = &doc["paths"]["/chat"]["post"]["security"];
    assert_eq!(
        chat,
        &serde_json::json!([{"ApiKey": []}, {"UserToken": []}])
    );
    let release = &doc["paths"]["/conversations/{id}/release"]["post"]["security"];
    assert_eq!(release, &serde_json::json!([{"ApiKey": []}]));
    assert_eq!(
        doc["paths"]["/webhook"]["post"]["security"][0]["WebhookSignature"],
        serde_json::json!([])
    );
    assert_eq!(doc["info"]["license"]["name"], "MIT");
    assert!(!doc["servers"].as_array().expect("servers").is_empty());
}

#[test]
fn each_stream_event_is_one_chat_chunk() {
    let doc = wa_http::spec_document();
    let media =
        &doc["paths"]["/chat/stream"]["post"]["responses"]["200"]["content"]["text/event-stream"];
    assert_eq!(media["schema"]["$ref"], "#/components/schemas/ChatChunk");
}

#[test]
fn a_chats_conversation_id_links_to_the_conversation_operations() {
    let doc = wa_http::spec_document();
    let link = &doc["paths"]["/chat"]["post"]["responses"]["200"]["links"]["ReleaseConversation"];
    assert_eq!(link["operationId"], "releaseConversation");
    assert_eq!(link["parameters"]["id"], "$response.body#/conversation_id");
}

#[test]
fn no_property_wraps_a_reference_in_all_of() {
    let yaml = wa_http::spec_yaml();
    assert!(!yaml.contains("allOf"), "allOf defeats SDK generators");
}
