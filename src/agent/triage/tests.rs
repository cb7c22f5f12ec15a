//! How rules read messages, on a small rule set written here.

use super::*;
use crate::agent::{Concept, RedFlag};

fn concept(name: &str, terms: &[&str]) -> Concept {
    Concept {
        name: name.to_string(),
        terms: terms.iter().map(|t| (*t).to_string()).collect(),
    }
}

fn flag(reason: &str, patterns: &[&str]) -> RedFlag {
    RedFlag {
        reason: reason.to_string(),
        patterns: patterns.iter().map(|t| (*t).to_string()).collect(),
    }
}

fn strings(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| (*w).to_string()).collect()
}

fn english() -> LanguagePack {
    LanguagePack {
        code: "en".into(),
        concepts: vec![
            concept("chest", &["chest", "breastbone"]),
            concept("pain", &["pain*", "hurt*", "pressure"]),
            concept("cant", &["can t", "cant", "cannot", "struggling to"]),
            concept("breathe", &["breath*"]),
            concept("talk", &["talk*", "speak*"]),
            concept("person", &["person", "human", "someone"]),
        ],
        red_flags: vec![
            flag("chest_pain", &["{chest} + {pain}"]),
            flag("breathing", &["{cant} + {breathe} + !nose ~4"]),
            flag("self_harm", &["suicid*", "kill myself"]),
            flag("bleeding", &["bleeding + won t stop"]),
            flag("seizure", &["seizure"]),
        ],
        negations: strings(&["no", "not", "don t", "doesn t", "without", "won t"]),
        negation_ends: strings(&["but"]),
        common_words: strings(&["the", "my", "i", "and", "is", "a"]),
        not_typos: strings(&["breast"]),
        human_phrases: strings(&["{talk} + {person} ~4"]),
        ..LanguagePack::default()
    }
}

fn spanish() -> LanguagePack {
    LanguagePack {
        code: "es".into(),
        concepts: vec![
            concept("pecho", &["pecho"]),
            concept("dolor", &["dolor*", "duele*"]),
        ],
        red_flags: vec![flag("chest_pain", &["{pecho} + {dolor}"])],
        negations: strings(&["no", "sin"]),
        common_words: strings(&["el", "la", "me", "mi", "de", "mucho"]),
        ..LanguagePack::default()
    }
}

fn config() -> TriageConfig {
    TriageConfig {
        categories: strings(&[
            "self_harm",
            "breathing",
            "chest_pain",
            "bleeding",
            "seizure",
        ]),
        ..TriageConfig::default()
    }
}

fn triage() -> Triage {
    Triage::new(&config(), &[english(), spanish()]).expect("valid rules")
}

fn reason(text: &str) -> Option<String> {
    triage().red_flag(text).map(|hit| hit.reason)
}

#[test]
fn concepts_match_in_any_order_and_inflection() {
    for text in [
        "I have chest pain",
        "my chest really hurts",
        "it hurts in the middle of my chest",
        "terrible pressure on my breastbone",
        "CHEST PAINS!!!",
    ] {
        assert_eq!(reason(text).as_deref(), Some("chest_pain"), "{text:?}");
    }
}

#[test]
fn concepts_far_apart_do_not_match() {
    let text = "I need a chest x-ray for the clinic, the form is on the desk, and my knee hurts";
    assert_eq!(reason(text), None);
    assert_eq!(
        reason("I can't sleep well, and my breathing exercises help"),
        None
    );
}

#[test]
fn a_negated_mention_alone_raises_nothing() {
    for text in [
        "no chest pain, just a cough",
        "my chest doesn't hurt",
        "I don't have chest pain",
        "I'm not suicidal, I just need a refill",
    ] {
        assert_eq!(reason(text), None, "{text:?}");
    }
}

#[test]
fn a_negation_does_not_hide_an_emergency_stated_elsewhere() {
    for (text, expected) in [
        ("no fever but my chest hurts", "chest_pain"),
        ("no fever, chest pain since an hour", "chest_pain"),
        ("No chest pain. I can't breathe", "breathing"),
        ("no cough and I cannot breathe", "breathing"),
    ] {
        assert_eq!(reason(text).as_deref(), Some(expected), "{text:?}");
    }
}

#[test]
fn a_term_that_is_itself_negative_is_never_negated() {
    assert_eq!(reason("no, I can't breathe").as_deref(), Some("breathing"));
    assert_eq!(
        reason("the bleeding won't stop").as_deref(),
        Some("bleeding"),
        "\"won't\" inside the rule is no negation of it"
    );
}

#[test]
fn a_symptom_between_the_negation_and_the_term_stops_the_negation() {
    assert_eq!(
        reason("no breathing problems chest pain").as_deref(),
        Some("chest_pain")
    );
}

#[test]
fn an_excluded_word_next_to_the_match_cancels_it() {
    assert_eq!(
        reason("I can't breathe through my nose, it's blocked"),
        None
    );
    assert_eq!(
        reason("I can't breathe. My nose is fine").as_deref(),
        Some("breathing")
    );
}

#[test]
fn one_typo_in_a_longer_word_still_matches() {
    for text in [
        "I cant breth",
        "chset pain",
        "my chst hurts",
        "having a siezure",
        "feeling suicdal",
        "chest pian",
    ] {
        assert!(reason(text).is_some(), "{text:?}");
    }
}

#[test]
fn typos_spare_short_words_first_letters_and_real_words() {
    assert_eq!(
        reason("having a leizure day"),
        None,
        "never the first letter"
    );
    assert_eq!(reason("my breast hurts"), None, "listed as a real word");
    assert_eq!(
        reason("kill myselves"),
        None,
        "myself is not a typo of a longer word"
    );
}

#[test]
fn stretched_letters_and_shouting_are_read_as_words() {
    assert_eq!(
        reason("my CHEST hurtsssss sooo much").as_deref(),
        Some("chest_pain")
    );
}

#[test]
fn the_first_listed_category_wins() {
    assert_eq!(
        reason("chest pain and I feel suicidal").as_deref(),
        Some("self_harm")
    );
}

#[test]
fn the_reply_language_is_the_one_the_message_is_written_in() {
    let t = triage();
    let hit = t.red_flag("me duele mucho el pecho").expect("a flag");
    assert_eq!(
        (hit.language.as_str(), hit.reason.as_str()),
        ("es", "chest_pain")
    );
    let hit = t.red_flag("I feel suicidal").expect("a flag");
    assert_eq!(hit.language, "en");
}

#[test]
fn the_language_of_a_message_is_told_by_its_frequent_words() {
    let t = triage();
    assert_eq!(
        t.language_of("me duele mucho la cabeza").as_deref(),
        Some("es")
    );
    assert_eq!(
        t.language_of("is the clinic open on Saturday").as_deref(),
        Some("en")
    );
    assert_eq!(t.language_of("123 ???"), None);
}

#[test]
fn a_request_for_a_person_is_read_and_can_be_negated() {
    let t = triage();
    assert_eq!(
        t.asks_for_human("can I talk to a person please").as_deref(),
        Some("en")
    );
    assert_eq!(t.asks_for_human("I don't want to talk to a person"), None);
}

#[test]
fn a_rule_naming_an_unknown_concept_or_category_is_refused_with_its_key() {
    let mut language = english();
    language
        .red_flags
        .push(flag("chest_pain", &["{chset} + {pain}"]));
    let err = Triage::new(&config(), &[language]).expect_err("refused");
    assert!(
        err.to_string()
            .starts_with("languages.en.red_flags.chest_pain"),
        "{err}"
    );

    let mut language = english();
    language.red_flags.push(flag("sunburn", &["sunburn"]));
    let err = Triage::new(&config(), &[language]).expect_err("refused");
    assert!(err.to_string().contains("triage.categories"), "{err}");
}

#[test]
fn no_input_makes_reading_panic() {
    let t = triage();
    for text in [
        "",
        " ",
        "***",
        "'''",
        "\u{0}",
        "🙂🙂",
        "İ",
        "a\u{301}",
        &"x ".repeat(5_000),
    ] {
        let _ = t.assess(text);
    }
}

#[test]
fn random_text_never_makes_reading_panic() {
    // A fixed linear congruential sequence: the same inputs on every run.
    let alphabet: Vec<char> = "ab cé.,;!?'’0123456789*+{}~ñßİ\u{301}\u{0}🙂\nnot no chest pain"
        .chars()
        .collect();
    let t = triage();
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    for _ in 0..2_000 {
        let len = (state >> 59) as usize + 1;
        let text: String = (0..len * 4)
            .map(|_| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                alphabet[(state >> 33) as usize % alphabet.len()]
            })
            .collect();
        let _ = t.assess(&text);
        let _ = t.typo_readings(&text, Some("en"));
    }
}
