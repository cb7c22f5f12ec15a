//! Triage: the red flags that need the fixed emergency reply before any model is asked, and
//! the requests for a person, read from the user's own words in every configured language.
//!
//! A rule is a set of concepts that must occur near each other in any order ("chest" and
//! "pain"), so inflections and word order do not hide an emergency. Words are compared without
//! case or accents, stretched letters count once, and longer words also match with one typo.
//! A clearly negated mention ("no chest pain") raises nothing, but a negation never hides an
//! emergency stated elsewhere in the message.

mod hash;
mod lexicon;
mod rows;
mod scan;
#[cfg(test)]
mod tests;
mod text;

use std::sync::Arc;

use crate::agent::{LanguagePack, TriageConfig};
use lexicon::{Goal, Lexicon};
use scan::{Reading, Verdict};

/// A red flag found in the user's text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedFlagHit {
    /// The language the message is in; its reply is the one to send.
    pub language: String,
    /// The category, one of [`TriageConfig::categories`].
    pub reason: String,
}

/// What triage makes of one message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Assessment {
    pub red_flag: Option<RedFlagHit>,
    /// The language in which the user asks for a person, if they do.
    pub asks_for_human: Option<String>,
}

/// A rule that cannot be compiled.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TriageError {
    /// `key` names the setting at fault, e.g. `languages.en.red_flags.chest_pain`.
    #[error("{key}: {reason}")]
    Invalid { key: String, reason: String },
}

impl TriageError {
    fn invalid(key: &str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            key: key.to_string(),
            reason: reason.into(),
        }
    }
}

/// The red-flag and person-request rules of every language, compiled once.
#[derive(Clone, PartialEq)]
pub struct Triage(Arc<Lexicon>);

impl std::fmt::Debug for Triage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let codes: Vec<&str> = self.0.languages.iter().map(|l| l.code.as_str()).collect();
        f.debug_struct("Triage")
            .field("languages", &codes)
            .field("rules", &self.0.rules.len())
            .finish_non_exhaustive()
    }
}

impl Triage {
    /// Compiles the rules of `languages`.
    ///
    /// # Errors
    /// [`TriageError::Invalid`] naming the key of a rule that refers to an unknown concept or
    /// category, or holds something that is not a phrase.
    pub fn new(config: &TriageConfig, languages: &[LanguagePack]) -> Result<Self, TriageError> {
        Lexicon::compile(config, languages).map(|lexicon| Self(Arc::new(lexicon)))
    }

    /// Reads `text` once for both red flags and requests for a person. When several
    /// categories match, the one listed first in [`TriageConfig::categories`] wins; the
    /// language is the one most of the message's frequent words belong to.
    pub fn assess(&self, text: &str) -> Assessment {
        let lexicon = &self.0;
        let reading = Reading::new(lexicon, text);
        let verdicts = reading.verdicts();
        if !verdicts.iter().any(|(_, v)| *v == Verdict::Holds) {
            return Assessment::default();
        }
        let scores = reading.language_scores();
        let top = scores.iter().copied().max().unwrap_or(0);
        let native = |language: usize| top == 0 || scores[language] == top;
        // Languages share stems ("convuls*", "suicid*"), so a rule of one language can fire on
        // a message in another. The message's own language knows its words best: when one of
        // its rules for the same goal saw the words but found them negated or excused ("de
        // pequeño", "hace dos años"), another language's rule does not overrule it.
        let blocked_natively = |goal: Goal| {
            verdicts.iter().any(|&(r, verdict)| {
                let rule = &lexicon.rules[r];
                rule.goal == goal && verdict == Verdict::Blocked && native(rule.language)
            })
        };
        let mut best: Option<(usize, u64)> = None;
        let mut human: u64 = 0;
        for &(r, verdict) in &verdicts {
            let rule = &lexicon.rules[r];
            if verdict != Verdict::Holds || (!native(rule.language) && blocked_natively(rule.goal))
            {
                continue;
            }
            let bit = 1u64 << rule.language;
            match rule.goal {
                Goal::Human => human |= bit,
                Goal::RedFlag(category) => match &mut best {
                    Some((c, languages)) if *c == category => *languages |= bit,
                    Some((c, _)) if *c < category => {}
                    _ => best = Some((category, bit)),
                },
            }
        }
        let language_of = |matched: u64| lexicon.languages[choose(&scores, matched)].code.clone();
        Assessment {
            red_flag: best.map(|(category, languages)| RedFlagHit {
                language: language_of(languages),
                reason: lexicon.categories[category].clone(),
            }),
            asks_for_human: (human != 0).then(|| language_of(human)),
        }
    }

    /// The red flag in `text`, if any.
    pub fn red_flag(&self, text: &str) -> Option<RedFlagHit> {
        self.assess(text).red_flag
    }

    /// The rule words of `language` (of every language when `None`) that `word` would be read
    /// as through a typo: a real word listed here belongs in the language's `not_typos`.
    pub fn typo_readings(&self, word: &str, language: Option<&str>) -> Vec<String> {
        let languages = match language {
            None => u64::MAX,
            Some(code) => match self.0.languages.iter().position(|l| l.code == code) {
                Some(index) => 1 << index,
                None => return Vec::new(),
            },
        };
        text::tokens(word, false)
            .first()
            .map(|t| scan::typo_matches(&self.0, &t.word, languages))
            .unwrap_or_default()
    }

    /// The language `text` is most likely written in, when any of its words tells: for
    /// replies that do not come from the model (a note on a cut-off reply, a fallback).
    pub fn language_of(&self, text: &str) -> Option<String> {
        let scores = Reading::new(&self.0, text).language_scores();
        if scores.iter().all(|&s| s == 0) {
            return None;
        }
        Some(self.0.languages[choose(&scores, 0)].code.clone())
    }

    /// The language in which `text` asks for a person, if it does.
    pub fn asks_for_human(&self, text: &str) -> Option<String> {
        self.assess(text).asks_for_human
    }
}

/// The language with the most frequent words in the message; ties go to a language whose
/// rule matched, then to the configured order. With no frequent word at all, the first
/// language whose rule matched.
fn choose(scores: &[usize], matched: u64) -> usize {
    let matched_first = (0..scores.len()).find(|i| matched & (1 << i) != 0);
    let top = scores.iter().copied().max().unwrap_or(0);
    if top == 0 {
        return matched_first.unwrap_or(0);
    }
    let tied: Vec<usize> = (0..scores.len()).filter(|&i| scores[i] == top).collect();
    tied.iter()
        .copied()
        .find(|i| matched & (1 << i) != 0)
        .unwrap_or(tied[0])
}
