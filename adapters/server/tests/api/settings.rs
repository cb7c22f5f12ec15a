//! Settings: layering, the well-known variables, clear errors and no leaked secrets.

use std::collections::HashMap;
use std::path::PathBuf;

use secrecy::ExposeSecret;
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
    assert!(settings
        .db_settings()
        .url
        .expose_secret()
        .starts_with("sqlite:"));
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
        settings.db_settings().url.expose_secret(),
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

#[test]
fn anonymous_access_is_only_allowed_on_loopback() {
    for host in ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"] {
        let settings = load(&[("HOST", host)]).expect("loopback loads");
        assert!(settings.auth.allow_anonymous, "{host}");
    }

    let err = load(&[("HOST", "0.0.0.0")]).expect_err("public bind refused");

    assert_eq!(
        err,
        "configuration error: auth.allow_anonymous=true is only allowed when server.host is a \
         loopback address (it is 0.0.0.0); set auth.allow_anonymous=false and create API keys, \
         or bind 127.0.0.1"
    );
    let keyed = load(&[("HOST", "0.0.0.0"), ("APP_AUTH__ALLOW_ANONYMOUS", "false")])
        .expect("keyed public bind loads");
    assert!(!keyed.auth.allow_anonymous);
}

#[test]
fn production_binds_every_interface_and_needs_credentials() {
    let settings = load(&[("APP_ENV", "production")]).expect("loads");

    assert_eq!(settings.server.host, "0.0.0.0");
    assert!(!settings.auth.allow_anonymous);
    assert!(!settings.access_config().allow_anonymous);
}

#[test]
fn access_limits_and_privacy_have_safe_defaults() {
    let settings = load(&[("ADMIN_TOKEN", "admin-secret")]).expect("loads");

    let access = settings.access_config();
    assert!(access.allow_anonymous);
    assert_eq!(access.admin_token.as_deref(), Some("admin-secret"));
    assert_eq!(access.cache_ttl, std::time::Duration::from_secs(5));
    assert_eq!(access.token_leeway_secs, 30);
    assert_eq!(access.token_max_ttl_secs, 86400);
    let limits = &settings.limits;
    assert_eq!(
        (limits.per_key_per_minute, limits.per_key_burst),
        (1200, 120)
    );
    assert_eq!(
        (limits.per_user_per_minute, limits.per_user_burst),
        (30, 10)
    );
    assert_eq!(limits.turn_wait_secs, 30);
    assert_eq!(settings.privacy.retention_days, None);
    assert_eq!(settings.privacy.retention(), None);
    assert_eq!(settings.privacy.purge_interval_secs, 3600);
    assert_eq!(settings.privacy.purge_batch, 500);
    assert!(settings.server.trusted_proxies.is_empty());
    assert_eq!(settings.server.header_read_timeout_secs, 10);
    assert_eq!(settings.server.body_read_timeout_secs, 30);
}

#[test]
fn new_settings_come_from_variables() {
    let settings = load(&[
        ("APP_PRIVACY__RETENTION_DAYS", "90"),
        ("APP_LIMITS__PER_USER_PER_MINUTE", "0"),
        ("APP_SERVER__TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1"),
        ("APP_SERVER__HEADER_READ_TIMEOUT_SECS", "2"),
    ])
    .expect("loads");

    assert_eq!(settings.privacy.retention_days, Some(90));
    assert_eq!(settings.limits.per_user_per_minute, 0);
    assert_eq!(settings.server.trusted_proxies, ["10.0.0.0/8", "127.0.0.1"]);
    assert!(settings
        .server
        .trusted_proxies()
        .contains("10.9.8.7".parse().expect("an address")));
    assert_eq!(settings.server.header_read_timeout_secs, 2);
}

#[test]
fn bad_new_values_stop_start_up_naming_the_key() {
    let cases = [
        (
            ("APP_PRIVACY__RETENTION_DAYS", "0"),
            "privacy.retention_days",
        ),
        (("APP_PRIVACY__PURGE_BATCH", "0"), "privacy.purge_batch"),
        (
            ("APP_SERVER__TRUSTED_PROXIES", "proxy.internal"),
            "server.trusted_proxies",
        ),
        (
            ("APP_SERVER__BODY_READ_TIMEOUT_SECS", "0"),
            "server.body_read_timeout_secs",
        ),
        (("APP_AUTH__ALLOW_ANONYMOUS", "maybe"), "allow_anonymous"),
        (("APP_LIMITS__PER_KEY_BURST", "0"), "limits.per_key_burst"),
    ];
    for ((key, value), named) in cases {
        let err = load(&[(key, value)]).expect_err("must fail");
        assert!(err.contains(named), "{key}={value}: {err}");
        assert_eq!(err.lines().count(), 1, "one line: {err}");
    }
}

#[test]
fn no_secret_appears_in_any_debug_output() {
    let secrets = [
        "hunter2-db-password",
        "sk-very-secret-key",
        "tok-primary-secret",
        "tok-secondary-secret",
        "admin-bootstrap-secret",
        "metrics-scrape-secret",
    ];
    let settings = load(&[
        (
            "DATABASE_URL",
            "postgres://app:hunter2-db-password@db.internal:5432/agent",
        ),
        ("OPENAI_API_KEY", "sk-very-secret-key"),
        ("TWILIO_ACCOUNT_SID", "AC123"),
        ("TWILIO_AUTH_TOKEN", "tok-primary-secret"),
        ("TWILIO_SECONDARY_AUTH_TOKEN", "tok-secondary-secret"),
        ("TWILIO_PHONE_NUMBER", "+14155550100"),
        ("ADMIN_TOKEN", "admin-bootstrap-secret"),
        ("METRICS_TOKEN", "metrics-scrape-secret"),
    ])
    .expect("loads");

    let printed = [
        format!("{settings:?}"),
        format!("{settings:#?}"),
        format!("{:?}", settings.openai_settings()),
        format!("{:?}", settings.access_config()),
        format!("{:?}", settings.db_settings()),
        settings.database.redacted_url(),
    ];

    for output in &printed {
        for secret in secrets {
            assert!(!output.contains(secret), "{secret} leaked: {output}");
        }
    }
    assert!(printed[0].contains("AC123"), "non-secrets still show");
}
