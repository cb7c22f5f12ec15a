//! Splitting a reply into parts that fit Twilio's body limit: at paragraph boundaries first,
//! then sentence ends, then whitespace, and hard at the limit as a last resort.

/// Twilio's `Body` limit, in characters, for every channel (longer sends fail with 21617).
pub const MAX_BODY_CHARS: usize = 1600;

/// Splits `text` into non-empty parts of at most `max_chars` characters (Unicode scalar
/// values), in order. Whitespace at the cuts and around the whole text is dropped; nothing else
/// is. Blank text gives no parts.
pub fn split_body(text: &str, max_chars: usize) -> Vec<String> {
    let max_chars = max_chars.max(1);
    let mut parts = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let Some(cut) = cut_point(rest, max_chars) else {
            parts.push(rest.to_string());
            break;
        };
        let part = rest[..cut].trim_end();
        if !part.is_empty() {
            parts.push(part.to_string());
        }
        rest = rest[cut..].trim_start();
    }
    parts
}

/// Where to end the next part (a byte offset into `text`), or `None` when `text` fits whole.
/// `text` starts with a non-whitespace character.
fn cut_point(text: &str, max_chars: usize) -> Option<usize> {
    // A character after the first `max_chars` means the text does not fit.
    text.chars().nth(max_chars)?;
    let mut paragraph = None;
    let mut sentence = None;
    let mut word = None;
    let mut hard = None;
    let mut chars = text.char_indices().enumerate().peekable();
    while let Some((count, (offset, c))) = chars.next() {
        // `count` characters come before `offset`: a part ending here has that many.
        if count > max_chars {
            break;
        }
        if count == max_chars {
            hard = Some(offset);
        }
        let next = chars.peek().map(|(_, (_, n))| *n);
        if count > 0 && c == '\n' && starts_blank_line(&text[offset + 1..]) {
            paragraph = Some(offset);
        }
        if count > 0 && c.is_whitespace() {
            word = Some(offset);
        }
        if count < max_chars && ends_sentence(c, next) {
            sentence = Some(offset + c.len_utf8());
        }
    }
    paragraph.or(sentence).or(word).or(hard)
}

/// Whether `rest` (what follows a newline) is a blank line: optional spaces, then a newline.
fn starts_blank_line(rest: &str) -> bool {
    rest.trim_start_matches([' ', '\t', '\r']).starts_with('\n')
}

/// Whether a sentence ends with `c`, given the character after it.
fn ends_sentence(c: char, next: Option<char>) -> bool {
    match c {
        // Full-width marks end sentences without a following space.
        '。' | '！' | '？' | '｡' => true,
        // `.` `!` `?` `…` end one before whitespace (Spanish `¿` `¡` then open the next).
        '.' | '!' | '?' | '…' => next.is_some_and(char::is_whitespace),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_one_part_and_blank_text_none() {
        assert_eq!(split_body("  hello  ", 10), vec!["hello"]);
        assert!(split_body(" \n\n ", 10).is_empty());
        assert_eq!(split_body("exactly10!", 10), vec!["exactly10!"]);
    }

    #[test]
    fn paragraphs_win_over_sentences() {
        let text = "One. Two.\n\nThree four.";
        assert_eq!(split_body(text, 15), vec!["One. Two.", "Three four."]);
    }

    #[test]
    fn sentences_then_words_then_hard() {
        assert_eq!(split_body("Aa bb. Cc dd.", 10), vec!["Aa bb.", "Cc dd."]);
        assert_eq!(
            split_body("¿Qué tal? ¡Bien!", 12),
            vec!["¿Qué tal?", "¡Bien!"]
        );
        assert_eq!(
            split_body("你好。今天好吗？", 4),
            vec!["你好。", "今天好吗", "？"]
        );
        assert_eq!(split_body("aaa bbb ccc", 8), vec!["aaa bbb", "ccc"]);
        assert_eq!(split_body("abcdefgh", 3), vec!["abc", "def", "gh"]);
    }

    #[test]
    fn a_boundary_right_after_the_limit_is_used() {
        assert_eq!(split_body("abcde fgh", 5), vec!["abcde", "fgh"]);
    }
}
