//! Matching the user's words against configured phrases: red flags that need an emergency
//! reply, and requests for a person. Case-, accent- and punctuation-insensitive, on whole words.

use super::{AgentsConfig, LanguagePack};

/// A red flag found in the user's text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedFlagHit {
    /// The language whose pattern matched; its reply is the one to send.
    pub language: String,
    pub reason: String,
}

/// Folds a lowercase Latin letter with a diacritic to its base letters.
fn fold(c: char) -> Option<&'static str> {
    Some(match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => "a",
        'æ' => "ae",
        'ç' | 'ć' | 'č' => "c",
        'ď' => "d",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ė' | 'ę' | 'ě' => "e",
        'ì' | 'í' | 'î' | 'ï' | 'ī' | 'į' => "i",
        'ł' => "l",
        'ñ' | 'ń' | 'ň' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ő' => "o",
        'œ' => "oe",
        'ř' => "r",
        'ś' | 'š' => "s",
        'ß' => "ss",
        'ť' => "t",
        'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' => "u",
        'ý' | 'ÿ' => "y",
        'ź' | 'ż' | 'ž' => "z",
        _ => return None,
    })
}

/// Lowercase words without accents, separated by single spaces: "¿Me DUELE el pecho?" becomes
/// "me duele el pecho". Apostrophes split words alike in text and patterns.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars().flat_map(char::to_lowercase) {
        if let Some(base) = fold(c) {
            out.push_str(base);
        } else if c.is_alphanumeric() || c == '*' {
            out.push(c);
        } else {
            out.push(' ');
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether the normalized `words` match `pattern`: a phrase as consecutive whole words, or
/// phrases joined by `+`, each found anywhere in the message.
fn contains(words: &[&str], pattern: &str) -> bool {
    let parts: Vec<&str> = pattern
        .split('+')
        .filter(|p| !p.trim().is_empty())
        .collect();
    !parts.is_empty() && parts.iter().all(|part| contains_phrase(words, part))
}

/// Whether the normalized `words` contain the phrase `pattern` as consecutive whole words.
fn contains_phrase(words: &[&str], pattern: &str) -> bool {
    let pattern = normalize(pattern);
    let wanted: Vec<&str> = pattern.split(' ').filter(|w| !w.is_empty()).collect();
    if wanted.is_empty() || wanted.len() > words.len() {
        return false;
    }
    words.windows(wanted.len()).any(|window| {
        window
            .iter()
            .zip(&wanted)
            .all(|(word, want)| match want.strip_suffix('*') {
                Some(prefix) => word.starts_with(prefix),
                None => word == want,
            })
    })
}

fn matches_any(words: &[&str], patterns: &[String]) -> bool {
    patterns.iter().any(|p| contains(words, p))
}

/// The first red flag in `text`, trying the languages in their configured order.
pub fn red_flag(config: &AgentsConfig, text: &str) -> Option<RedFlagHit> {
    let text = normalize(text);
    let words: Vec<&str> = text.split(' ').collect();
    config.languages.iter().find_map(|language| {
        language
            .red_flags
            .iter()
            .find(|flag| matches_any(&words, &flag.patterns))
            .map(|flag| RedFlagHit {
                language: language.code.clone(),
                reason: flag.reason.clone(),
            })
    })
}

/// The language in which `text` asks for a person, if it does.
pub fn asks_for_human<'a>(config: &'a AgentsConfig, text: &str) -> Option<&'a LanguagePack> {
    let text = normalize(text);
    let words: Vec<&str> = text.split(' ').collect();
    config
        .languages
        .iter()
        .find(|language| matches_any(&words, &language.human_phrases))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizing_drops_case_accents_and_punctuation() {
        assert_eq!(normalize("¿Me DUELE el Pécho?"), "me duele el pecho");
        assert_eq!(normalize("Straße, Übelkeit!"), "strasse ubelkeit");
        assert_eq!(normalize("I can’t  breathe"), "i can t breathe");
    }

    #[test]
    fn phrases_match_whole_words_and_prefixes_with_a_star() {
        let words = ["i", "feel", "suicidal", "today"];
        assert!(contains(&words, "feel suicid*"));
        assert!(contains(&words, "Suicidal"));
        assert!(
            !contains(&words, "suicid"),
            "a word without * must match whole"
        );
        assert!(!contains(&["heatstroke"], "stroke"));
    }
}
