//! How triage reads text: lowercase words without accents, split at apostrophes, with the
//! punctuation that ends a clause remembered (a negation does not reach across it).

/// One word of a message, as triage compares it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Token {
    pub word: String,
    /// Whether a clause ended right before this word (`.`, `,`, `;`, `!`, `?`, a line break…).
    pub clause_start: bool,
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

/// Punctuation after which a new clause starts.
fn ends_clause(c: char) -> bool {
    matches!(
        c,
        '.' | ',' | ';' | ':' | '!' | '?' | '¿' | '¡' | '\n' | '(' | ')' | '…'
    )
}

/// The words of `text`. In a pattern (`pattern = true`) a `*` stays part of its word.
///
/// Letters repeated three times or more count once ("hurtsss" is "hurts", "ayudaaa" is
/// "ayuda"): chat writing stretches words, and no word of the supported languages has a
/// letter three times in a row.
pub(crate) fn tokens(text: &str, pattern: bool) -> Vec<Token> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut clause_start = false;
    let push = |word: &mut String, clause_start: &mut bool, out: &mut Vec<Token>| {
        if !word.is_empty() {
            out.push(Token {
                word: squeeze(word),
                clause_start: *clause_start,
            });
            word.clear();
            *clause_start = false;
        }
    };
    for c in text.chars().flat_map(char::to_lowercase) {
        if let Some(base) = fold(c) {
            word.push_str(base);
        } else if c.is_alphanumeric() || (pattern && c == '*') {
            word.push(c);
        } else {
            push(&mut word, &mut clause_start, &mut out);
            if ends_clause(c) {
                clause_start = true;
            }
        }
    }
    push(&mut word, &mut clause_start, &mut out);
    out
}

/// Collapses runs of three or more equal letters to one.
fn squeeze(word: &str) -> String {
    let chars: Vec<char> = word.chars().collect();
    let mut out = String::with_capacity(word.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let mut run = 1;
        while i + run < chars.len() && chars[i + run] == c {
            run += 1;
        }
        let keep = if run >= 3 && c.is_alphabetic() {
            1
        } else {
            run
        };
        for _ in 0..keep {
            out.push(c);
        }
        i += run;
    }
    out
}

/// Lowercase words without accents, separated by single spaces: "¿Me DUELE el pecho?" becomes
/// "me duele el pecho". Apostrophes split words alike in text and patterns.
pub fn normalize(text: &str) -> String {
    tokens(text, false)
        .into_iter()
        .map(|t| t.word)
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizing_drops_case_accents_and_punctuation() {
        assert_eq!(normalize("¿Me DUELE el Pécho?"), "me duele el pecho");
        assert_eq!(normalize("Straße, Übelkeit!"), "strasse ubelkeit");
        assert_eq!(normalize("I can’t  breathe"), "i can t breathe");
        assert_eq!(normalize("l'hôpital"), "l hopital");
    }

    #[test]
    fn stretched_letters_count_once() {
        assert_eq!(normalize("it hurtsss sooo much"), "it hurts so much");
        assert_eq!(normalize("ayudaaaa"), "ayuda");
        assert_eq!(normalize("1000 need"), "1000 need");
    }

    #[test]
    fn punctuation_starts_a_clause() {
        let words = tokens("no fever, chest pain", false);
        let starts: Vec<bool> = words.iter().map(|t| t.clause_start).collect();
        assert_eq!(starts, [false, false, true, false]);
    }
}
