//! Splitting long replies to Twilio's 1600-character body limit.

use wa_twilio::split::{split_body, MAX_BODY_CHARS};

fn without_whitespace(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Parts are non-empty, fit, appear in the original in order, and together are the original
/// minus whitespace at the cuts.
fn assert_faithful(text: &str, parts: &[String], max: usize) {
    let mut from = 0;
    for part in parts {
        assert!(!part.trim().is_empty(), "empty part");
        assert!(
            part.chars().count() <= max,
            "part of {} chars",
            part.chars().count()
        );
        let at = text[from..]
            .find(part.as_str())
            .expect("part appears in order");
        from += at + part.len();
    }
    assert_eq!(
        without_whitespace(&parts.concat()),
        without_whitespace(text)
    );
}

fn paragraph(seed: usize, sentences: usize) -> String {
    (0..sentences)
        .map(|i| format!("Sentence {i} of paragraph {seed} says something useful about care."))
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn a_long_reply_of_paragraphs_splits_on_paragraphs() {
    let paragraphs: Vec<String> = (0..13).map(|p| paragraph(p, 7)).collect();
    let text = paragraphs.join("\n\n");
    assert!(text.chars().count() >= 5000, "{}", text.chars().count());
    let parts = split_body(&text, MAX_BODY_CHARS);
    assert!(parts.len() >= 4, "{} parts", parts.len());
    assert_faithful(&text, &parts, MAX_BODY_CHARS);
    // Every cut is at a paragraph boundary: parts are whole paragraphs joined by blank lines.
    for part in &parts {
        for piece in part.split("\n\n") {
            assert!(
                paragraphs.contains(&piece.to_string()),
                "cut inside a paragraph"
            );
        }
    }
    assert_eq!(parts.join("\n\n"), text);
}

#[test]
fn a_huge_paragraph_splits_on_sentences() {
    let text = paragraph(1, 60);
    let parts = split_body(&text, MAX_BODY_CHARS);
    assert!(parts.len() >= 2);
    assert_faithful(&text, &parts, MAX_BODY_CHARS);
    for part in &parts {
        assert!(part.ends_with('.'), "cut inside a sentence: {part:?}");
        assert!(part.starts_with("Sentence "));
    }
    assert_eq!(parts.join(" "), text);
}

#[test]
fn a_single_4000_char_word_splits_hard() {
    let word: String = "abcdefghij".repeat(400);
    let parts = split_body(&word, MAX_BODY_CHARS);
    let lengths: Vec<usize> = parts.iter().map(|p| p.chars().count()).collect();
    assert_eq!(lengths, vec![1600, 1600, 800]);
    assert_eq!(parts.concat(), word);
}

#[test]
fn characters_not_bytes_are_counted() {
    let text = "é".repeat(1600);
    assert_eq!(split_body(&text, MAX_BODY_CHARS), vec![text.clone()]);
    let longer = "😀".repeat(1601);
    let parts = split_body(&longer, MAX_BODY_CHARS);
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[0].chars().count(), 1600);
    assert_eq!(parts[1], "😀");
}

#[test]
fn cjk_and_spanish_sentences_split_at_their_marks() {
    let cjk = "今日は良い天気です。".repeat(200);
    let parts = split_body(&cjk, MAX_BODY_CHARS);
    assert_faithful(&cjk, &parts, MAX_BODY_CHARS);
    assert!(parts.iter().all(|p| p.ends_with('。')));

    let spanish = "¿Cómo te sientes hoy? ¡Muy bien, gracias! ".repeat(60);
    let parts = split_body(&spanish, MAX_BODY_CHARS);
    assert_faithful(&spanish, &parts, MAX_BODY_CHARS);
    assert!(parts.iter().all(|p| p.ends_with('?') || p.ends_with('!')));
    assert!(parts
        .iter()
        .all(|p| p.starts_with('¿') || p.starts_with('¡')));
}

#[test]
fn words_are_used_when_there_are_no_sentences() {
    let text = "word ".repeat(700);
    let parts = split_body(&text, MAX_BODY_CHARS);
    assert_faithful(&text, &parts, MAX_BODY_CHARS);
    assert!(parts.iter().all(|p| p.split(' ').all(|w| w == "word")));
}

#[test]
fn mixed_text_keeps_every_invariant() {
    // Deterministic pseudo-random texts of words, punctuation, spaces, newlines and runs.
    let pieces = [
        "a",
        "bb",
        "ccc",
        "Hello",
        "world.",
        "why?",
        "wow!",
        "日本語。",
        "¿qué?",
        " ",
        " ",
        " ",
        "\n",
        "\n\n",
        "\n \n",
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    ];
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    for round in 0..200 {
        let mut text = String::new();
        let len = 50 + round * 20;
        while text.chars().count() < len {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            text.push_str(pieces[(state % pieces.len() as u64) as usize]);
        }
        for max in [1, 7, 64, 300] {
            let parts = split_body(&text, max);
            assert_faithful(&text, &parts, max);
        }
    }
    assert!(split_body("   \n\n  ", MAX_BODY_CHARS).is_empty());
}
