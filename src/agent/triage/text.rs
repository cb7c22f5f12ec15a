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
    let mut reader = Reader {
        out: Vec::with_capacity(text.len() / 5),
        word: String::new(),
        clause_start: false,
        after_number: false,
        pattern,
    };
    for c in text.chars() {
        if c.is_ascii() {
            // Most text is ASCII: lowering it needs no Unicode tables.
            reader.read(c.to_ascii_lowercase());
        } else {
            for lower in c.to_lowercase() {
                reader.read(lower);
            }
        }
    }
    reader.end_word();
    reader.out
}

/// Splits lowercase characters into words.
struct Reader {
    out: Vec<Token>,
    word: String,
    clause_start: bool,
    /// A `.` or `,` right after a number: a clause ends there unless a digit follows ("38,5").
    after_number: bool,
    pattern: bool,
}

impl Reader {
    fn read(&mut self, c: char) {
        if std::mem::take(&mut self.after_number) && !c.is_ascii_digit() {
            self.clause_start = true;
        }
        if (c == ',' || c == '.') && self.word.bytes().all(|b| b.is_ascii_digit()) {
            self.after_number = !self.word.is_empty();
            self.end_word();
            if !self.after_number {
                self.clause_start = true;
            }
            return;
        }
        if c.is_ascii_alphanumeric() {
            self.word.push(c);
        } else if let Some(base) = fold(c) {
            self.word.push_str(base);
        } else if c.is_alphanumeric() || (self.pattern && c == '*') {
            self.word.push(c);
        } else {
            self.end_word();
            if ends_clause(c) {
                self.clause_start = true;
            }
        }
    }

    fn end_word(&mut self) {
        if !self.word.is_empty() {
            self.out.push(Token {
                word: squeeze(&self.word),
                clause_start: self.clause_start,
            });
            self.word.clear();
            self.clause_start = false;
        }
    }
}

/// Collapses runs of three or more equal letters to one.
fn squeeze(word: &str) -> String {
    let bytes = word.as_bytes();
    if !bytes.windows(3).any(|w| w[0] == w[1] && w[1] == w[2]) {
        return word.to_string();
    }
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
#[cfg(test)]
fn normalize(text: &str) -> String {
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
        let words = tokens("fever 38,5 since 2. Now", false);
        let starts: Vec<bool> = words.iter().map(|t| t.clause_start).collect();
        assert_eq!(starts, [false, false, false, false, false, true]);
    }
}
