//! The agents file (`config/agents.toml` by default): the manager, its specialists (each with
//! its token limit, tool choice and cut-off policy), red flags and fixed replies per language,
//! the replies for cut-off answers, and the memory budget. A built-in copy is used when the
//! default file is absent, so the binary runs anywhere.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use whatsapp_agent::agent::{
    self, AgentProfile, AgentsConfig, Concept, CutOffPolicy, CutOffReplies, LanguagePack,
    MemoryConfig, ModelOptions, RedFlag, Triage, TriageConfig,
};
use whatsapp_agent::ports::ToolChoice;

const BUILT_IN: &str = include_str!("../../../config/agents.toml");
const DEFAULT_FILE: &str = "agents.toml";

/// Where the agents file is, and what it says once loaded.
#[derive(Debug, Clone, Deserialize)]
pub struct AgentsSettings {
    /// The agents file; a relative path is resolved against the config folder.
    #[serde(default = "default_file")]
    pub file: PathBuf,
    /// The loaded file; filled by `Settings::load_from`.
    #[serde(skip, default = "built_in")]
    pub config: AgentsConfig,
    /// Whether `config` is still the built-in file's, as it starts.
    #[serde(skip, default = "built_in_loaded")]
    built_in_loaded: bool,
}

fn built_in_loaded() -> bool {
    true
}

impl Default for AgentsSettings {
    fn default() -> Self {
        Self {
            file: default_file(),
            config: built_in(),
            built_in_loaded: true,
        }
    }
}

fn default_file() -> PathBuf {
    PathBuf::from(DEFAULT_FILE)
}

/// A parse error's lines (it points at the spot in the file) joined into one.
fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The agents as shipped with the binary.
///
/// # Panics
/// If the built-in file is invalid, which a test rules out.
pub fn built_in() -> AgentsConfig {
    parse(BUILT_IN).expect("the built-in agents file is valid")
}

impl AgentsSettings {
    /// Reads the configured file, relative to `config_dir`. The default file may be absent
    /// (the built-in copy is used); a file named in the settings must exist.
    ///
    /// # Errors
    /// One line naming `agents.file` and the key at fault.
    pub fn load(&mut self, config_dir: &Path) -> Result<(), String> {
        let path = if self.file.is_absolute() {
            self.file.clone()
        } else {
            config_dir.join(&self.file)
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && self.file == default_file() => {
                BUILT_IN.to_string()
            }
            Err(e) => return Err(format!("agents.file: cannot read {}: {e}", path.display())),
        };
        // `config` starts as the built-in file (the settings' default); the shipped file
        // unchanged is not compiled a second time.
        if !(self.built_in_loaded && text == BUILT_IN) {
            self.config =
                parse(&text).map_err(|e| format!("agents.file {}: {e}", path.display()))?;
            self.built_in_loaded = text == BUILT_IN;
        }
        self.file = path;
        Ok(())
    }
}

#[derive(Deserialize)]
struct AgentsFile {
    emergency_number: String,
    opening_hours: String,
    default_language: String,
    reset_command: String,
    max_handoffs: usize,
    memory: MemoryFile,
    triage: TriageFile,
    #[serde(default)]
    cut_off: CutOffFile,
    manager: AgentFile,
    #[serde(default)]
    specialists: Vec<AgentFile>,
    languages: BTreeMap<String, LanguageFile>,
}

#[derive(Deserialize)]
struct MemoryFile {
    session_timeout_minutes: u64,
    history_max_messages: usize,
    history_max_chars: usize,
}

#[derive(Deserialize)]
struct TriageFile {
    categories: Vec<String>,
    window: Option<usize>,
    negation_reach: Option<usize>,
    typo_min_len: Option<usize>,
}

impl TriageFile {
    fn config(&self) -> Result<TriageConfig, String> {
        let defaults = TriageConfig::default();
        let config = TriageConfig {
            categories: self.categories.clone(),
            window: self.window.unwrap_or(defaults.window),
            negation_reach: self.negation_reach.unwrap_or(defaults.negation_reach),
            typo_min_len: self.typo_min_len.unwrap_or(defaults.typo_min_len),
        };
        if let Some(bad) = config.categories.iter().find(|c| !valid_name(c)) {
            return Err(format!(
                "triage.categories: {bad:?} must be 1-64 characters of a-z, 0-9 and _"
            ));
        }
        if !(1..=50).contains(&config.window) {
            return Err("triage.window: must be between 1 and 50 words".into());
        }
        if config.negation_reach > 10 {
            return Err("triage.negation_reach: must be at most 10 words".into());
        }
        if config.typo_min_len != 0 && config.typo_min_len < 4 {
            return Err("triage.typo_min_len: must be 0 (off) or at least 4".into());
        }
        Ok(config)
    }
}

/// A category or concept name: short, lowercase ASCII.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

#[derive(Deserialize)]
struct AgentFile {
    id: String,
    name: String,
    #[serde(default)]
    description: String,
    instructions: String,
    #[serde(default)]
    max_completion_tokens: Option<u32>,
    /// `auto`, `none`, `required` or one of the agent's tool names.
    #[serde(default)]
    tool_choice: Option<String>,
    #[serde(default)]
    on_cut_off: OnCutOff,
}

#[derive(Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
enum OnCutOff {
    Keep,
    #[default]
    Note,
    Fallback,
}

/// The `[cut_off]` section; a missing text keeps its built-in default.
#[derive(Default, Deserialize)]
struct CutOffFile {
    length_note: Option<String>,
    content_filter_note: Option<String>,
    fallback_reply: Option<String>,
}

impl CutOffFile {
    fn replies(&self) -> CutOffReplies {
        self.replies_over(&CutOffReplies::default())
    }

    /// These texts, each missing one taken from `base`.
    fn replies_over(&self, base: &CutOffReplies) -> CutOffReplies {
        let or = |text: &Option<String>, base: &str| text.clone().unwrap_or_else(|| base.into());
        CutOffReplies {
            length_note: or(&self.length_note, &base.length_note),
            content_filter_note: or(&self.content_filter_note, &base.content_filter_note),
            fallback_reply: or(&self.fallback_reply, &base.fallback_reply),
        }
    }
}

fn model_options(a: &AgentFile) -> ModelOptions {
    ModelOptions {
        max_completion_tokens: a.max_completion_tokens,
        tool_choice: a.tool_choice.as_deref().map(ToolChoice::parse),
        on_cut_off: match a.on_cut_off {
            OnCutOff::Keep => CutOffPolicy::Keep,
            OnCutOff::Note => CutOffPolicy::Note,
            OnCutOff::Fallback => CutOffPolicy::Fallback,
        },
    }
}

#[derive(Deserialize)]
struct LanguageFile {
    emergency_reply: String,
    human_notice: String,
    reset_reply: String,
    /// Sent when the model cannot answer for good.
    #[serde(default)]
    fallback: Option<String>,
    #[serde(default)]
    human_phrases: Vec<String>,
    #[serde(default)]
    red_flags: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    replies: BTreeMap<String, String>,
    #[serde(default)]
    concepts: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    negations: Vec<String>,
    #[serde(default)]
    negation_ends: Vec<String>,
    #[serde(default)]
    common_words: Vec<String>,
    #[serde(default)]
    not_typos: Vec<String>,
    cut_off: Option<CutOffFile>,
}

/// Parses and checks an agents file.
///
/// # Errors
/// A message naming the key at fault.
pub fn parse(text: &str) -> Result<AgentsConfig, String> {
    // Read straight into the file's types: the settings layering of `config` would first copy
    // the whole file (thousands of red-flag terms) into a tree of its own values, several
    // megabytes that the process's heap keeps after start-up.
    let file: AgentsFile = toml::Deserializer::parse(text)
        .map_err(|e| one_line(&e.to_string()))
        .and_then(|document| {
            serde_path_to_error::deserialize(document)
                .map_err(|e| format!("{}: {}", e.path(), one_line(&e.inner().to_string())))
        })?;
    let fill = |text: &str| {
        text.replace("{emergency_number}", &file.emergency_number)
            .replace("{opening_hours}", &file.opening_hours)
    };
    let agent = |a: &AgentFile| AgentProfile {
        id: a.id.clone(),
        name: a.name.clone(),
        description: fill(&a.description),
        instructions: fill(&a.instructions),
        model: model_options(a),
    };
    let triage = file.triage.config()?;
    let global_cut_off = file.cut_off.replies();
    let mut languages = Vec::new();
    for (code, l) in &file.languages {
        let key = format!("languages.{code}");
        let replies = std::iter::once(("emergency_reply".to_string(), &l.emergency_reply))
            .chain(l.fallback.iter().map(|t| ("fallback".to_string(), t)))
            .chain(l.replies.iter().map(|(r, t)| (format!("replies.{r}"), t)));
        for (name, reply) in replies {
            if !reply.contains("{emergency_number}") {
                return Err(format!("{key}.{name}: must contain {{emergency_number}}"));
            }
        }
        let unknown = l
            .replies
            .keys()
            .chain(l.red_flags.keys())
            .find(|r| !triage.categories.contains(r));
        if let Some(reason) = unknown {
            return Err(format!("{key}: {reason:?} is not one of triage.categories"));
        }
        if let Some(name) = l.concepts.keys().find(|n| !valid_name(n)) {
            return Err(format!(
                "{key}.concepts.{name}: a concept name is 1-64 characters of a-z, 0-9 and _"
            ));
        }
        languages.push(LanguagePack {
            code: code.to_ascii_lowercase(),
            red_flags: l
                .red_flags
                .iter()
                .map(|(reason, patterns)| RedFlag {
                    reason: reason.clone(),
                    patterns: patterns.clone(),
                })
                .collect(),
            concepts: l
                .concepts
                .iter()
                .map(|(name, terms)| Concept {
                    name: name.clone(),
                    terms: terms.clone(),
                })
                .collect(),
            negations: l.negations.clone(),
            negation_ends: l.negation_ends.clone(),
            common_words: l.common_words.clone(),
            not_typos: l.not_typos.clone(),
            emergency_reply: fill(&l.emergency_reply),
            replies: l
                .replies
                .iter()
                .map(|(reason, reply)| (reason.clone(), fill(reply)))
                .collect(),
            human_phrases: l.human_phrases.clone(),
            human_notice: fill(&l.human_notice),
            reset_reply: fill(&l.reset_reply),
            fallback: l.fallback.as_deref().map(fill).unwrap_or_default(),
            cut_off: l.cut_off.as_ref().map(|c| c.replies_over(&global_cut_off)),
        });
    }
    let Some(default) = languages
        .iter()
        .position(|l| l.code == file.default_language)
    else {
        return Err(format!(
            "default_language: no [languages.{}] section",
            file.default_language
        ));
    };
    languages.swap(0, default);
    let triage = Triage::new(&triage, &languages).map_err(|e| e.to_string())?;
    let config = AgentsConfig {
        triage,
        manager: agent(&file.manager),
        specialists: file.specialists.iter().map(agent).collect(),
        languages,
        memory: MemoryConfig {
            session_timeout: std::time::Duration::from_secs(
                file.memory.session_timeout_minutes.saturating_mul(60),
            ),
            max_messages: file.memory.history_max_messages,
            max_chars: file.memory.history_max_chars,
        },
        max_handoffs: file.max_handoffs,
        reset_command: file.reset_command,
        cut_off: global_cut_off,
    };
    check(&config, &file.emergency_number)?;
    Ok(config)
}

fn check(config: &AgentsConfig, emergency_number: &str) -> Result<(), String> {
    let valid_id = |id: &str| {
        !id.is_empty()
            && id.len() <= 40
            && id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    };
    if emergency_number.trim().is_empty() {
        return Err("emergency_number: must not be empty".into());
    }
    if !valid_id(&config.manager.id) {
        return Err("manager.id: must be 1-40 characters of a-z, 0-9 and _".into());
    }
    let mut seen = vec![config.manager.id.as_str(), "guardrail", "system"];
    for (i, s) in config.specialists.iter().enumerate() {
        if !valid_id(&s.id) {
            return Err(format!(
                "specialists[{i}].id: must be 1-40 characters of a-z, 0-9 and _"
            ));
        }
        if seen.contains(&s.id.as_str()) {
            return Err(format!("specialists[{i}].id: {:?} is taken", s.id));
        }
        if s.description.trim().is_empty() {
            return Err(format!("specialists[{i}].description: must not be empty"));
        }
        seen.push(&s.id);
    }
    if config.memory.session_timeout.is_zero() {
        return Err("memory.session_timeout_minutes: must be at least 1".into());
    }
    if config.memory.max_messages > 1000 {
        return Err("memory.history_max_messages: must be at most 1000".into());
    }
    if config.max_handoffs > 10 {
        return Err("max_handoffs: must be at most 10".into());
    }
    if config.reset_command.trim().is_empty() {
        return Err("reset_command: must not be empty".into());
    }
    check_models(config)
}

/// Each agent's token limit and tool choice, and the cut-off texts.
fn check_models(config: &AgentsConfig) -> Result<(), String> {
    let keyed = std::iter::once(("manager".to_string(), &config.manager)).chain(
        config
            .specialists
            .iter()
            .enumerate()
            .map(|(i, s)| (format!("specialists[{i}]"), s)),
    );
    for (key, profile) in keyed {
        if profile.model.max_completion_tokens == Some(0) {
            return Err(format!("{key}.max_completion_tokens: must be at least 1"));
        }
        if let Some(ToolChoice::Function(name)) = &profile.model.tool_choice {
            let tools: Vec<String> = agent::tools_for(config, profile)
                .into_iter()
                .map(|t| t.name)
                .collect();
            if !tools.contains(name) {
                return Err(format!(
                    "{key}.tool_choice: {name:?} is not auto, none, required or one of this \
                     agent's tools ({})",
                    tools.join(", ")
                ));
            }
        }
    }
    let sections = std::iter::once(("cut_off".to_string(), &config.cut_off)).chain(
        config
            .languages
            .iter()
            .filter_map(|l| Some((format!("languages.{}.cut_off", l.code), l.cut_off.as_ref()?))),
    );
    for (key, replies) in sections {
        let texts = [
            ("length_note", &replies.length_note),
            ("content_filter_note", &replies.content_filter_note),
            ("fallback_reply", &replies.fallback_reply),
        ];
        if let Some((name, _)) = texts.iter().find(|(_, text)| text.trim().is_empty()) {
            return Err(format!("{key}.{name}: must not be empty"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_file_is_anna_with_two_specialists_and_three_languages() {
        let config = parse(BUILT_IN).expect("valid");

        assert_eq!(config.manager.id, "anna");
        let ids: Vec<&str> = config.specialists.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["appointments", "medical_info"]);
        let codes: Vec<&str> = config.languages.iter().map(|l| l.code.as_str()).collect();
        assert_eq!(codes[0], "en");
        for code in ["de", "es"] {
            assert!(codes.contains(&code), "{codes:?}");
        }
        assert!(config
            .languages
            .iter()
            .all(|l| l.emergency_reply.contains("112")));
    }

    #[test]
    fn the_built_in_agents_keep_replies_whatsapp_sized_and_medical_info_falls_back() {
        let config = parse(BUILT_IN).expect("valid");

        for agent in std::iter::once(&config.manager).chain(&config.specialists) {
            assert_eq!(agent.model.max_completion_tokens, Some(600), "{}", agent.id);
            assert_eq!(agent.model.tool_choice, None, "{}", agent.id);
        }
        assert_eq!(
            config.agent("medical_info").model.on_cut_off,
            CutOffPolicy::Fallback
        );
        assert_eq!(config.manager.model.on_cut_off, CutOffPolicy::Note);
        assert_eq!(config.cut_off, CutOffReplies::default());
    }

    #[test]
    fn a_tool_choice_may_name_only_one_of_the_agents_tools() {
        let with = |choice: &str| {
            BUILT_IN.replacen(
                "[manager]\n",
                &format!("[manager]\ntool_choice = \"{choice}\"\n"),
                1,
            )
        };

        let named = parse(&with("transfer_to_appointments")).expect("a manager's tool");
        let required = parse(&with("required")).expect("a mode");
        let err = parse(&with("transfer_back_to_manager")).expect_err("a specialist's tool");

        assert_eq!(
            named.manager.model.tool_choice,
            Some(ToolChoice::Function("transfer_to_appointments".into()))
        );
        assert_eq!(
            required.manager.model.tool_choice,
            Some(ToolChoice::Required)
        );
        assert!(err.starts_with("manager.tool_choice"), "{err}");
    }

    #[test]
    fn a_reply_without_the_emergency_number_is_refused_naming_the_key() {
        let start = "[languages.en]\nemergency_reply = \"\"\"";
        let (before, rest) = BUILT_IN.split_once(start).expect("the English section");
        let (_, after) = rest.split_once("\"\"\"").expect("the end of the reply");
        let text = format!("{before}[languages.en]\nemergency_reply = \"Call a doctor.\"{after}");

        let err = parse(&text).expect_err("refused");

        assert!(err.starts_with("languages.en.emergency_reply"), "{err}");
    }
}
