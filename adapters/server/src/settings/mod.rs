//! Layered settings: the built-in base file, `config/base.toml`, `config/<APP_ENV>.toml`,
//! `APP_<SECTION>__<KEY>` variables, then the well-known variables platforms and the old
//! service use (`PORT`, `HOST`, `DATABASE_URL`, `OPENAI_*`, `TWILIO_*`).
//!
//! One module per section: each section checks its own values and turns itself into the
//! settings of the adapter it configures. Secrets stay [`SecretString`]s, so no `Debug`
//! output or log line can show them.

mod auth;
mod chat;
mod database;
mod limits;
mod llm;
mod log;
mod media;
mod privacy;
mod server;
mod twilio;
mod worker;

use std::collections::HashMap;
use std::path::PathBuf;

use config::{Config, Environment, File, FileFormat};
use serde::Deserialize;
use wa_sql::DbSettings;
use whatsapp_agent::agent::AgentsConfig;
use whatsapp_agent::ChatConfig;

use crate::agents_file::AgentsSettings;

pub use auth::AuthSettings;
pub use chat::{ChatSettings, StreamSettings};
pub use database::DatabaseSettings;
pub use limits::LimitsSettings;
pub use llm::{LlmProvider, LlmSettings, TokenLimitSetting, ToolChoiceSetting};
pub use log::{LogFormat, LogSettings};
pub use media::MediaConfig;
pub use privacy::PrivacySettings;
pub use secrecy::SecretString;
pub use server::ServerSettings;
pub use twilio::TwilioSettings;
pub use worker::WorkerSettings;

const BUILT_IN_BASE: &str = include_str!("../../../../config/base.toml");

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
    pub auth: AuthSettings,
    pub limits: LimitsSettings,
    pub privacy: PrivacySettings,
    /// Keys that were set but mean nothing here (typos, removed settings); start-up warns.
    #[serde(skip)]
    pub unknown_keys: Vec<String>,
}

/// A configuration problem, always naming the key at fault, on one line.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct SettingsError(String);

impl SettingsError {
    /// `key: why`.
    pub(crate) fn key(key: &str, why: impl std::fmt::Display) -> Self {
        Self(format!("{key}: {why}"))
    }

    /// A message that names its keys itself.
    pub(crate) fn message(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

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
    ("APP_SERVER__TRUSTED_PROXIES", "server.trusted_proxies"),
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
                    .map_err(|e| SettingsError::key(key, e))?;
            }
        }
        for (name, key) in WELL_KNOWN {
            let value = var(name).filter(|v| !v.trim().is_empty());
            builder = builder
                .set_override_option(*key, value)
                .map_err(|e| SettingsError::key(key, e))?;
        }
        let mut unknown_keys = Vec::new();
        let mut settings: Settings = builder
            .build()
            .and_then(|config| {
                serde_ignored::deserialize(config, |path| unknown_keys.push(path.to_string()))
            })
            .map_err(|e| SettingsError(e.to_string().replace('\n', " ")))?;
        settings.unknown_keys = unknown_keys;
        settings.validate()?;
        settings.agents.load(&dir).map_err(SettingsError)?;
        Ok(settings)
    }

    /// Every section checks itself; then the checks that span sections.
    ///
    /// # Errors
    /// The first problem found, naming its key.
    pub fn validate(&self) -> Result<(), SettingsError> {
        self.server.validate()?;
        self.database.validate()?;
        self.llm.validate()?;
        self.chat.validate()?;
        self.stream.validate()?;
        self.twilio.validate()?;
        self.worker.validate()?;
        self.log.validate()?;
        self.auth.validate(&self.server)?;
        self.limits.validate()?;
        self.privacy.validate()?;
        Ok(())
    }

    /// Settings of the SQL adapter.
    pub fn db_settings(&self) -> DbSettings {
        self.database.db_settings()
    }

    /// Settings of the chat use case.
    pub fn chat_config(&self) -> ChatConfig {
        self.chat.chat_config(self.llm.inline_images)
    }

    /// The agents as loaded from the agents file.
    pub fn agents_config(&self) -> AgentsConfig {
        self.agents.config.clone()
    }

    /// Settings of the OpenAI-compatible adapter.
    pub fn openai_settings(&self) -> wa_openai::OpenAiSettings {
        self.llm.openai_settings()
    }

    /// Settings of the guarded media fetcher.
    pub fn media_settings(&self) -> wa_media::MediaSettings {
        self.media.media_settings()
    }

    /// How credentials are checked, with `server.admin_token` as the bootstrap admin credential.
    pub fn access_config(&self) -> whatsapp_agent::access::AccessConfig {
        self.auth.access_config(self.server.admin_token.as_ref())
    }
}
