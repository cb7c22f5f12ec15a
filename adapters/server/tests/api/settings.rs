//! Settings: layering, the well-known variables, clear errors and no leaked secrets.

use std::collections::HashMap;
use std::path::PathBuf;

use wa_server::Settings;

fn load(vars: &[(&str, &str)]) -> Result<Settings, String> {
    let mut env: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config");
    env.insert("APP_CONFIG_DIR".into(), dir.display().to_string());
    Settings::load_from(&env).map_err(|e| e.to_string())
}

#[test]
fn defaults_run_on_a_fresh_machine() {
    let settings = load(&[]).expect("defaults load");

    assert_eq!(settings.server.port, 8000);
    assert!(settings.db_settings().url.starts_with("sqlite:"));
    assert!(settings.llm.api_key.is_none());
}

#[test]
fn seed_and_platform_variables_work_as_they_are() {
    let settings = load(&[
        ("PORT", "9123"),
        ("HOST", "127.0.0.1"),
        (
            "DATABASE_URL",
            "postgres://app:hunter2@db.internal:5432/agent",
        ),
        ("TWILIO_ACCOUNT_SID", "AC123"),
        ("TWILIO_AUTH_TOKEN", "tok-secret"),
        ("TWILIO_PHONE_NUMBER", "+14155550100"),
    ])
    .expect("loads");

    assert_eq!(settings.server.port, 9123);
    assert_eq!(settings.server.host, "127.0.0.1");
    assert_eq!(
        settings.db_settings().url,
        "postgres://app:hunter2@db.internal:5432/agent"
    );
    assert_eq!(settings.twilio.account_sid.as_deref(), Some("AC123"));
    assert_eq!(
        settings.twilio.phone_number.as_deref(),
        Some("+14155550100")
    );
}

#[test]
fn app_prefixed_variables_override_files() {
    let settings = load(&[
        ("APP_CHAT__MAX_CONTENT_CHARS", "7"),
        ("APP_LOG__FORMAT", "json"),
    ])
    .expect("loads");

    assert_eq!(settings.chat.max_content_chars, 7);
    assert_eq!(settings.log.format, wa_server::settings::LogFormat::Json);
}

#[test]
fn model_server_compatibility_settings_reach_the_adapter() {
    let defaults = load(&[]).expect("loads").openai_settings();
    let tuned = load(&[
        ("APP_LLM__TOOL_CHOICE", "required"),
        ("APP_LLM__STREAM_TOOLS", "false"),
        ("APP_LLM__MAX_TOKENS_FIELD", "max_tokens"),
    ])
    .expect("loads")
    .openai_settings();

    assert_eq!(
        defaults.tool_choice,
        whatsapp_agent::ports::ToolChoice::Auto
    );
    assert!(defaults.stream_tools);
    assert_eq!(
        defaults.token_limit_field,
        wa_openai::TokenLimitField::MaxCompletionTokens
    );
    assert_eq!(
        tuned.tool_choice,
        whatsapp_agent::ports::ToolChoice::Required
    );
    assert!(!tuned.stream_tools);
    assert_eq!(
        tuned.token_limit_field,
        wa_openai::TokenLimitField::MaxTokens
    );
}

#[test]
fn app_env_selects_the_environment_file() {
    let settings = load(&[("APP_ENV", "production")]).expect("loads");

    assert_eq!(settings.log.format, wa_server::settings::LogFormat::Json);
}

#[test]
fn bad_values_stop_start_up_naming_the_key() {
    let cases = [
        (("PORT", "eighty"), "port"),
        (("DATABASE_URL", "mysql://x"), "database.url"),
        (("APP_LOG__FORMAT", "xml"), "format"),
        (
            ("APP_DATABASE__MAX_CONNECTIONS", "0"),
            "database.max_connections",
        ),
        (("APP_LLM__PROVIDER", "magic"), "provider"),
        (("APP_LLM__TOOL_CHOICE", "sometimes"), "tool_choice"),
        (
            ("APP_LLM__MAX_TOKENS_FIELD", "n_predict"),
            "max_tokens_field",
        ),
    ];
    for ((key, value), named) in cases {
        let err = load(&[(key, value)]).expect_err("must fail");
        assert!(err.contains(named), "{key}={value}: {err}");
        assert_eq!(err.lines().count(), 1, "one line: {err}");
    }
}

#[test]
fn secrets_never_appear_in_debug_output() {
    let settings = load(&[
        (
            "DATABASE_URL",
            "postgres://app:hunter2@db.internal:5432/agent",
        ),
        ("OPENAI_API_KEY", "sk-very-secret"),
        ("TWILIO_AUTH_TOKEN", "tok-secret"),
    ])
    .expect("loads");

    let printed = format!("{settings:?}");
    assert!(!printed.contains("hunter2"), "{printed}");
    assert!(!printed.contains("sk-very-secret"));
    assert!(!printed.contains("tok-secret"));
    assert_eq!(
        settings.database.redacted_url(),
        "postgres://app:***@db.internal:5432/agent"
    );
}

#[test]
fn list_settings_come_from_comma_separated_variables() {
    let settings = load(&[(
        "APP_SERVER__CORS_ALLOWED_ORIGINS",
        "https://app.example.com, https://admin.example.com",
    )])
    .expect("loads");

    assert_eq!(
        settings.server.cors_allowed_origins,
        ["https://app.example.com", "https://admin.example.com"]
    );
}

#[test]
fn unknown_keys_are_reported_not_fatal() {
    let settings = load(&[("APP_CHAT__HISTORY_LIMT", "7")]).expect("loads");

    assert_eq!(settings.unknown_keys, ["chat.history_limt"]);
    assert!(load(&[]).expect("loads").unknown_keys.is_empty());
}
