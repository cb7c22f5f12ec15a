//! Layered settings: the built-in base file, `config/base.toml`, `config/<APP_ENV>.toml`,
//! `APP_<SECTION>__<KEY>` variables, then the well-known variables platforms and the old
//! service use (`PORT`, `HOST`, `DATABASE_URL`, `OPENAI_*`, `TWILIO_*`).

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use config::{Config, Environment, File, FileFormat};
use secrecy::SecretString;
use serde::Deserialize;
use wa_openai::TokenLimitField;
use wa_sql::DbSettings;
use whatsapp_agent::agent::AgentsConfig;
use whatsapp_agent::chat::InputLimits;
use whatsapp_agent::ports::ToolChoice;
use whatsapp_agent::ChatConfig;

use crate::agents_file::AgentsSettings;

const BUILT_IN_BASE: &str = include_str!("../../../config/base.toml");

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub llm: LlmSettings,
    pub chat: ChatSettings,
    pub stream: StreamSettings,
    pub media: MediaConfig,
    /// The agents file; see `config/agents.toml`.
    #[serde(default)]
    pub agents: AgentsSettings,
    pub twilio: TwilioSettings,
    pub worker: WorkerSettings,
    pub log: LogSettings,
    /// Keys that were set but mean nothing here (typos, removed settings); start-up warns.
    #[serde(skip)]
    pub unknown_keys: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ServerSettings {
    pub host: String,
    pub port: u16,
    pub body_limit_bytes: usize,
    pub shutdown_timeout_secs: u64,
    #[serde(default)]
    pub cors_allowed_origins: Vec<String>,
    /// Bearer token for staff endpoints (`ADMIN_TOKEN`); never logged.
    #[serde(default)]
    pub admin_token: Option<SecretString>,
    /// Bearer token `GET /metrics` asks for (`METRICS_TOKEN`); unset, it is open. Never logged.
    #[serde(default)]
    pub metrics_token: Option<SecretString>,
}

#[derive(Clone, Deserialize)]
pub struct DatabaseSettings {
    /// May hold a password, so it is never printed whole.
    pub url: SecretString,
    pub max_connections: u32,
    pub min_connections: u32,
    pub connect_timeout_secs: u64,
    pub acquire_timeout_secs: u64,
    pub idle_timeout_secs: u64,
    pub max_lifetime_secs: u64,
    pub test_before_acquire: bool,
    pub sqlite_busy_timeout_ms: u64,
}

impl std::fmt::Debug for DatabaseSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseSettings")
            .field("url", &self.redacted_url())
            .field("max_connections", &self.max_connections)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LlmProvider {
    Auto,
    Offline,
    Openai,
}

/// `llm.tool_choice`: how the model must use the tools it is offered (an agent may override).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ToolChoiceSetting {
    Auto,
    None,
    Required,
}

/// `llm.max_tokens_field`: the request field that carries the completion-token limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenLimitSetting {
    MaxCompletionTokens,
    MaxTokens,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LlmSettings {
    pub provider: LlmProvider,
    #[serde(default)]
    pub api_key: Option<SecretString>,
    #[serde(default)]
    pub base_url: Option<String>,
    pub model: String,
    #[serde(default)]
    pub vision_model: Option<String>,
    pub transcription_model: String,
    #[serde(default)]
    pub organization: Option<String>,
    #[serde(default)]
    pub project: Option<String>,
    pub connect_timeout_secs: u64,
    pub request_timeout_secs: u64,
    pub idle_stream_timeout_secs: u64,
    pub max_retries: u32,
    pub supports_tools: bool,
    pub tool_choice: ToolChoiceSetting,
    pub stream_tools: bool,
    pub supports_vision: bool,
    pub stream_usage: bool,
    #[serde(default)]
    pub temperature: Option<f32>,
    #[serde(default)]
    pub max_completion_tokens: Option<u32>,
    pub max_tokens_field: TokenLimitSetting,
    pub offline_word_delay_ms: u64,
    pub inline_images: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct MediaConfig {
    pub max_image_bytes: usize,
    pub max_audio_bytes: usize,
    pub connect_timeout_secs: u64,
    pub timeout_secs: u64,
    pub allow_private_networks: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ChatSettings {
    pub max_content_chars: usize,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StreamSettings {
    pub keep_alive_secs: u64,
    pub max_concurrent: usize,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TwilioSettings {
    #[serde(default)]
    pub account_sid: Option<String>,
    #[serde(default)]
    pub auth_token: Option<SecretString>,
    /// Accepted for webhook signatures too, during auth-token rotation.
    #[serde(default)]
    pub secondary_auth_token: Option<SecretString>,
    #[serde(default)]
    pub phone_number: Option<String>,
    /// The service's public URL as the provider calls it (behind proxies, the local address
    /// is not what was signed). Empty: the URL each request arrived at (Host and
    /// X-Forwarded-Proto/Host headers).
    #[serde(default)]
    pub public_base_url: String,
    pub validate_signatures: bool,
    pub api_base_url: String,
    /// Ask for delivery status callbacks at `<public_base_url>/webhook/status`.
    pub status_callbacks: bool,
    /// Hosts whose media is fetched with the account's credentials.
    pub media_hosts: Vec<String>,
    /// Retries of a media 404 (media can lag behind the webhook), in milliseconds.
    pub media_not_found_retry_ms: Vec<u64>,
    pub max_send_retries: u32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct WorkerSettings {
    /// Inbound workers per instance; 0 makes an instance that only receives webhooks.
    pub concurrency: usize,
    pub lease_secs: u64,
    pub max_attempts: u32,
    pub retry_base_ms: u64,
    pub retry_max_secs: u64,
    pub poll_interval_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LogSettings {
    pub format: LogFormat,
    pub level: String,
}

/// A configuration problem, always naming the key at fault.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct SettingsError(String);

/// Well-known variables and the keys they set. They win over files and `APP_…` variables,
/// because they are what hosting platforms and the previous service set.
const WELL_KNOWN: &[(&str, &str)] = &[
    ("PORT", "server.port"),
    ("HOST", "server.host"),
    ("DATABASE_URL", "database.url"),
    ("OPENAI_API_KEY", "llm.api_key"),
    ("OPENAI_BASE_URL", "llm.base_url"),
    ("OPENAI_MODEL", "llm.model"),
    ("OPENAI_ORG_ID", "llm.organization"),
    ("OPENAI_PROJECT_ID", "llm.project"),
    ("TWILIO_ACCOUNT_SID", "twilio.account_sid"),
    ("TWILIO_AUTH_TOKEN", "twilio.auth_token"),
    ("TWILIO_PHONE_NUMBER", "twilio.phone_number"),
    ("TWILIO_SECONDARY_AUTH_TOKEN", "twilio.secondary_auth_token"),
    ("TWILIO_API_BASE_URL", "twilio.api_base_url"),
    ("PUBLIC_BASE_URL", "twilio.public_base_url"),
    ("ADMIN_TOKEN", "server.admin_token"),
    ("METRICS_TOKEN", "server.metrics_token"),
];

/// List settings that may come from one comma-separated variable.
const LIST_VARS: &[(&str, &str)] = &[
    (
        "APP_SERVER__CORS_ALLOWED_ORIGINS",
        "server.cors_allowed_origins",
    ),
    ("APP_TWILIO__MEDIA_HOSTS", "twilio.media_hosts"),
];

impl Settings {
    /// Loads settings from the process environment and the config folder (`APP_CONFIG_DIR`,
    /// default `./config`).
    ///
    /// # Errors
    /// A [`SettingsError`] naming the key whose value is missing or invalid.
    pub fn load() -> Result<Self, SettingsError> {
        Self::load_from(&std::env::vars().collect())
    }

    /// Loads settings with `env` standing in for the process environment, for tests.
    ///
    /// # Errors
    /// A [`SettingsError`] naming the key whose value is missing or invalid.
    pub fn load_from(env: &HashMap<String, String>) -> Result<Self, SettingsError> {
        let var = |name: &str| env.get(name).cloned();
        let dir = var("APP_CONFIG_DIR").map_or_else(|| PathBuf::from("config"), PathBuf::from);
        let app_env = var("APP_ENV").unwrap_or_else(|| "local".to_string());
        // APP_CONFIG_DIR and APP_ENV choose the files; they are not settings themselves.
        let vars: HashMap<String, String> = env
            .iter()
            .filter(|(k, _)| k.starts_with("APP_") && *k != "APP_CONFIG_DIR" && *k != "APP_ENV")
            .filter(|(k, _)| !LIST_VARS.iter().any(|(name, _)| name == k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut builder = Config::builder()
            .add_source(File::from_str(BUILT_IN_BASE, FileFormat::Toml))
            .add_source(File::from(dir.join("base.toml")).required(false))
            .add_source(File::from(dir.join(format!("{app_env}.toml"))).required(false))
            .add_source(
                Environment::with_prefix("APP")
                    .prefix_separator("_")
                    .separator("__")
                    .source(Some(vars)),
            );
        for (name, key) in LIST_VARS {
            if let Some(value) = var(name) {
                let items: Vec<String> = value
                    .split(',')
                    .map(str::trim)
                    .filter(|item| !item.is_empty())
                    .map(str::to_string)
                    .collect();
                builder = builder
                    .set_override(*key, items)
                    .map_err(|e| SettingsError(format!("{key}: {e}")))?;
            }
        }
        for (name, key) in WELL_KNOWN {
            let value = var(name).filter(|v| !v.trim().is_empty());
            builder = builder
                .set_override_option(*key, value)
                .map_err(|e| SettingsError(format!("{key}: {e}")))?;
        }
        let mut unknown_keys = Vec::new();
        let mut settings: Settings = builder
            .build()
            .and_then(|config| {
                serde_ignored::deserialize(config, |path| unknown_keys.push(path.to_string()))
            })
            .map_err(|e| SettingsError(e.to_string()))?;
        settings.unknown_keys = unknown_keys;
        settings.validate()?;
        settings.agents.load(&dir).map_err(SettingsError)?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), SettingsError> {
        let fail = |key: &str, why: &str| Err(SettingsError(format!("{key}: {why}")));
        let url = secrecy::ExposeSecret::expose_secret(&self.database.url);
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            return fail(
                "database.url",
                "must start with sqlite:, postgres:// or postgresql://",
            );
        }
        if self.database.max_connections == 0 {
            return fail("database.max_connections", "must be at least 1");
        }
        if self.database.min_connections > self.database.max_connections {
            return fail(
                "database.min_connections",
                "must not exceed database.max_connections",
            );
        }
        if self.server.body_limit_bytes < 1024 {
            return fail("server.body_limit_bytes", "must be at least 1024");
        }
        if self.worker.lease_secs < 3 {
            return fail("worker.lease_secs", "must be at least 3");
        }
        if self.worker.max_attempts == 0 {
            return fail("worker.max_attempts", "must be at least 1");
        }
        let public = &self.twilio.public_base_url;
        if !(public.is_empty() || public.starts_with("http://") || public.starts_with("https://")) {
            return fail("twilio.public_base_url", "must be an http(s) URL");
        }
        if self.stream.keep_alive_secs == 0 {
            return fail("stream.keep_alive_secs", "must be at least 1");
        }
        if self.stream.max_concurrent == 0 {
            return fail("stream.max_concurrent", "must be at least 1");
        }
        if self.chat.max_content_chars == 0 {
            return fail("chat.max_content_chars", "must be at least 1");
        }
        if tracing_subscriber::EnvFilter::try_new(&self.log.level).is_err() {
            return fail(
                "log.level",
                "is not a valid level or filter (try info or debug)",
            );
        }
        if let Some(base) = &self.llm.base_url {
            if !(base.starts_with("http://") || base.starts_with("https://")) {
                return fail("llm.base_url", "must be an http(s) URL");
            }
        }
        Ok(())
    }

    pub fn db_settings(&self) -> DbSettings {
        let d = &self.database;
        DbSettings {
            url: secrecy::ExposeSecret::expose_secret(&d.url).to_string(),
            max_connections: d.max_connections,
            min_connections: d.min_connections,
            connect_timeout: Duration::from_secs(d.connect_timeout_secs),
            acquire_timeout: Duration::from_secs(d.acquire_timeout_secs),
            idle_timeout: Duration::from_secs(d.idle_timeout_secs),
            max_lifetime: Duration::from_secs(d.max_lifetime_secs),
            test_before_acquire: d.test_before_acquire,
            sqlite_busy_timeout: Duration::from_millis(d.sqlite_busy_timeout_ms),
        }
    }

    pub fn chat_config(&self) -> ChatConfig {
        ChatConfig {
            limits: InputLimits {
                max_content_chars: self.chat.max_content_chars,
                ..InputLimits::default()
            },
            inline_images: self.llm.inline_images,
        }
    }

    /// The agents as loaded from the agents file.
    pub fn agents_config(&self) -> AgentsConfig {
        self.agents.config.clone()
    }

    /// Settings of the OpenAI-compatible adapter; the official default base URL when only a
    /// key is given.
    pub fn openai_settings(&self) -> wa_openai::OpenAiSettings {
        let l = &self.llm;
        let base = l
            .base_url
            .clone()
            .unwrap_or_else(|| "https://api.openai.com/v1".to_string());
        let mut s = wa_openai::OpenAiSettings::new(base, l.model.clone());
        s.api_key = l
            .api_key
            .as_ref()
            .map(|k| secrecy::ExposeSecret::expose_secret(k).to_string());
        s.vision_model = l.vision_model.clone();
        s.transcription_model = l.transcription_model.clone();
        s.organization = l.organization.clone();
        s.project = l.project.clone();
        s.connect_timeout = Duration::from_secs(l.connect_timeout_secs);
        s.request_timeout = Duration::from_secs(l.request_timeout_secs);
        s.idle_stream_timeout = Duration::from_secs(l.idle_stream_timeout_secs);
        s.max_retries = l.max_retries;
        s.supports_tools = l.supports_tools;
        s.tool_choice = match l.tool_choice {
            ToolChoiceSetting::Auto => ToolChoice::Auto,
            ToolChoiceSetting::None => ToolChoice::None,
            ToolChoiceSetting::Required => ToolChoice::Required,
        };
        s.stream_tools = l.stream_tools;
        s.supports_vision = l.supports_vision;
        s.stream_usage = l.stream_usage;
        s.temperature = l.temperature;
        s.max_completion_tokens = l.max_completion_tokens;
        s.token_limit_field = match l.max_tokens_field {
            TokenLimitSetting::MaxCompletionTokens => TokenLimitField::MaxCompletionTokens,
            TokenLimitSetting::MaxTokens => TokenLimitField::MaxTokens,
        };
        s
    }

    pub fn media_settings(&self) -> wa_media::MediaSettings {
        let m = &self.media;
        wa_media::MediaSettings {
            max_image_bytes: m.max_image_bytes,
            max_audio_bytes: m.max_audio_bytes,
            connect_timeout: Duration::from_secs(m.connect_timeout_secs),
            timeout: Duration::from_secs(m.timeout_secs),
            allow_private_networks: m.allow_private_networks,
        }
    }
}

impl DatabaseSettings {
    /// The URL with any password replaced, safe for logs.
    pub fn redacted_url(&self) -> String {
        let url = secrecy::ExposeSecret::expose_secret(&self.url);
        match (url.find("://"), url.rfind('@')) {
            (Some(scheme_end), Some(at)) if at > scheme_end => {
                let userinfo = &url[scheme_end + 3..at];
                let user = userinfo.split(':').next().unwrap_or_default();
                format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..])
            }
            _ => url.to_string(),
        }
    }
}
