//! Reading one message: which words match which terms, where each part of a rule occurs, and
//! which rules hold without being negated.

use std::collections::HashMap;

use super::lexicon::{Lexicon, Rule, WordId};
use super::text::{tokens, Token};

/// Where a term occurs: words `start..end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Span {
    start: usize,
    end: usize,
}

impl Span {
    fn covers(self, word: usize) -> bool {
        self.start <= word && word < self.end
    }

    fn overlaps(self, other: Span) -> bool {
        self.start < other.end && other.start < self.end
    }
}

/// One message as read against a [`Lexicon`].
pub(crate) struct Reading<'a> {
    lexicon: &'a Lexicon,
    tokens: Vec<Token>,
    /// Where each part occurs, in word order.
    part_spans: Vec<Vec<Span>>,
    /// Words that belong to a term saying something about the patient.
    content: Vec<bool>,
    /// The lexicon's words each token matches.
    matches: Vec<Vec<WordId>>,
}

impl<'a> Reading<'a> {
    pub(crate) fn new(lexicon: &'a Lexicon, text: &str) -> Self {
        let tokens = tokens(text, false);
        let matches = word_matches(lexicon, &tokens);
        let mut part_spans = vec![Vec::new(); lexicon.part_count];
        for (start, found) in matches.iter().enumerate() {
            for word in found {
                let Some(terms) = lexicon.terms_by_first_word.get(word) else {
                    continue;
                };
                for &term in terms {
                    let words = &lexicon.terms[term];
                    let end = start + words.len();
                    let whole = end <= tokens.len()
                        && words[1..]
                            .iter()
                            .zip(&matches[start + 1..])
                            .all(|(word, found)| found.contains(word));
                    if !whole {
                        continue;
                    }
                    for &part in &lexicon.term_parts[term] {
                        let spans: &mut Vec<Span> = &mut part_spans[part];
                        let span = Span { start, end };
                        if spans.last() != Some(&span) {
                            spans.push(span);
                        }
                    }
                }
            }
        }
        let mut content = vec![false; tokens.len()];
        for (part, spans) in part_spans.iter().enumerate() {
            if lexicon.content_parts[part] {
                for span in spans {
                    content[span.start..span.end].fill(true);
                }
            }
        }
        Self {
            lexicon,
            tokens,
            part_spans,
            content,
            matches,
        }
    }

    /// The rules that hold: all their parts near each other, none negated, no excluded part
    /// nearby.
    pub(crate) fn holding(&self) -> impl Iterator<Item = &'a Rule> + '_ {
        self.lexicon.rules.iter().filter(|rule| self.holds(rule))
    }

    /// For each language, how many of the message's words are its frequent words or words
    /// of its rules.
    pub(crate) fn language_scores(&self) -> Vec<usize> {
        let mut scores = vec![0; self.lexicon.languages.len()];
        for (token, found) in self.tokens.iter().zip(&self.matches) {
            let common = self.lexicon.common_words.get(&token.word).copied();
            let rules = found
                .iter()
                .fold(0, |bits, &word| bits | self.lexicon.word_languages[word]);
            let bits = common.unwrap_or(0) | rules;
            for (language, score) in scores.iter_mut().enumerate() {
                if bits & (1 << language) != 0 {
                    *score += 1;
                }
            }
        }
        scores
    }

    fn holds(&self, rule: &Rule) -> bool {
        if rule.parts.iter().any(|p| self.part_spans[*p].is_empty()) {
            return false;
        }
        let mut chosen = Vec::with_capacity(rule.parts.len());
        self.search(rule, &mut chosen)
    }

    /// Tries every placement of the remaining parts that keeps all within the window.
    fn search(&self, rule: &Rule, chosen: &mut Vec<Span>) -> bool {
        let Some(&part) = rule.parts.get(chosen.len()) else {
            return self.accepts(rule, chosen);
        };
        for &span in &self.part_spans[part] {
            if chosen.iter().any(|c| c.overlaps(span)) {
                continue;
            }
            let start = chosen.iter().map(|c| c.start).fold(span.start, usize::min);
            let end = chosen.iter().map(|c| c.end).fold(span.end, usize::max);
            if end - start > rule.window {
                continue;
            }
            chosen.push(span);
            if self.search(rule, chosen) {
                return true;
            }
            chosen.pop();
        }
        false
    }

    fn accepts(&self, rule: &Rule, chosen: &[Span]) -> bool {
        let start = chosen.iter().map(|c| c.start).min().unwrap_or(0);
        let end = chosen.iter().map(|c| c.end).max().unwrap_or(0);
        let reach = self.lexicon.negation_reach;
        let near = Span {
            start: start.saturating_sub(reach),
            end: end + reach,
        };
        let whole = Span { start, end };
        let excluded = rule.excluded.iter().any(|&part| {
            self.part_spans[part]
                .iter()
                .any(|&s| s.overlaps(near) && self.same_clause(s, whole))
        });
        !excluded
            && !chosen
                .iter()
                .any(|&span| self.negated(rule.language, span, chosen))
    }

    /// Whether no clause ends between `a` and `b`.
    fn same_clause(&self, a: Span, b: Span) -> bool {
        let (first, second) = if a.start <= b.start { (a, b) } else { (b, a) };
        !self.tokens[first.start + 1..=second.start.min(self.tokens.len() - 1)]
            .iter()
            .any(|t| t.clause_start)
    }

    /// Whether a negation of `language` stands shortly before `span`, in the same clause,
    /// with no other term about the patient in between ("no fever chest pain" negates the
    /// fever only). A term that is itself negative ("can't breathe") cannot be negated.
    fn negated(&self, language: usize, span: Span, chosen: &[Span]) -> bool {
        let language = &self.lexicon.languages[language];
        let negations: &[Span] = &self.part_spans[language.negations];
        let ends: &[Span] = &self.part_spans[language.negation_ends];
        if negations
            .iter()
            .any(|n| n.start >= span.start && n.end <= span.end)
        {
            return false;
        }
        let stop = span.start.saturating_sub(self.lexicon.negation_reach);
        let mut word = span.start;
        while word > stop && !self.tokens[word].clause_start {
            word -= 1;
            if chosen.iter().any(|c| c.covers(word)) {
                continue;
            }
            let negation = negations
                .iter()
                .any(|n| n.end == word + 1 && !chosen.iter().any(|c| c.overlaps(*n)));
            if negation {
                return true;
            }
            let in_negation = negations.iter().any(|n| n.covers(word));
            if ends.iter().any(|e| e.covers(word)) || (self.content[word] && !in_negation) {
                return false;
            }
        }
        false
    }
}

/// Letters a word may have beyond a stem it matches with a typo.
const STEM_TYPO_TAIL: usize = 3;

/// The lexicon's words that each token matches: whole, as a stem, or with one typo.
fn word_matches(lexicon: &Lexicon, tokens: &[Token]) -> Vec<Vec<WordId>> {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut out: Vec<Vec<WordId>> = Vec::with_capacity(tokens.len());
    for (i, token) in tokens.iter().enumerate() {
        let found = match seen.get(token.word.as_str()) {
            Some(&earlier) => out[earlier].clone(),
            None => {
                seen.insert(&token.word, i);
                matches_of(lexicon, &token.word)
            }
        };
        out.push(found);
    }
    out
}

/// The lexicon's words that `word` matches only as a typo, for checking which real words of a
/// language a rule would misread.
pub(crate) fn typo_matches(lexicon: &Lexicon, word: &str) -> Vec<String> {
    let exact_or_stem = lexicon.exact.contains_key(word)
        || lexicon.stem_lengths.iter().any(|&len| {
            word.get(..len)
                .is_some_and(|p| lexicon.stems.contains_key(p))
        });
    if exact_or_stem {
        return Vec::new();
    }
    matches_of(lexicon, word)
        .into_iter()
        .map(|id| lexicon.words[id].text.clone())
        .collect()
}

fn matches_of(lexicon: &Lexicon, word: &str) -> Vec<WordId> {
    let mut found = Vec::new();
    if let Some(&id) = lexicon.exact.get(word) {
        found.push(id);
    }
    for &len in &lexicon.stem_lengths {
        if len > word.len() {
            break;
        }
        if let Some(&id) = word.get(..len).and_then(|p| lexicon.stems.get(p)) {
            found.push(id);
        }
    }
    let typo_min = lexicon.typo_min_len;
    let may_be_typo = found.is_empty()
        && typo_min > 0
        && word.is_ascii()
        && word.len() + 1 >= typo_min
        && !word.bytes().any(|b| b.is_ascii_digit())
        && !lexicon.not_typos.contains(word);
    if may_be_typo {
        let text = word.as_bytes();
        // A whole word is at most one letter longer or shorter; a stem may also end up to
        // `STEM_TYPO_TAIL` letters before the word does.
        let lengths = text.len().saturating_sub(STEM_TYPO_TAIL + 1)..=text.len() + 1;
        for length in lengths {
            let Some(candidates) = lexicon.typo_candidates.get(&(text[0], length)) else {
                continue;
            };
            for &id in candidates {
                let want = &lexicon.words[id];
                let want_text = want.text.as_bytes();
                // A stem matches a word it begins with a typo only when little of the word is
                // left after it: "bleding" is "bleed*", "responsible" is not "respond*".
                let close = if want.stem {
                    let n = want_text.len();
                    [n - 1, n, n + 1]
                        .into_iter()
                        .filter(|&k| k >= 1 && k <= text.len() && text.len() - k <= STEM_TYPO_TAIL)
                        .any(|k| within_one_edit(want_text, &text[..k]))
                } else {
                    within_one_edit(want_text, text)
                };
                if close {
                    found.push(id);
                }
            }
        }
    }
    found
}

/// Whether `a` becomes `b` by one letter missing, added or changed, or two neighbours swapped.
fn within_one_edit(a: &[u8], b: &[u8]) -> bool {
    if a.len().abs_diff(b.len()) > 1 {
        return false;
    }
    let same = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    if same == a.len() && same == b.len() {
        return true;
    }
    match a.len().cmp(&b.len()) {
        std::cmp::Ordering::Equal => {
            a[same + 1..] == b[same + 1..]
                || (same + 1 < a.len()
                    && a[same] == b[same + 1]
                    && a[same + 1] == b[same]
                    && a[same + 2..] == b[same + 2..])
        }
        std::cmp::Ordering::Greater => a[same + 1..] == b[same..],
        std::cmp::Ordering::Less => a[same..] == b[same + 1..],
    }
}

#[cfg(test)]
mod tests {
    use super::within_one_edit;

    #[test]
    fn one_edit_is_a_letter_missing_added_changed_or_swapped() {
        for (a, b) in [
            ("breathe", "breath"),
            ("breathe", "breathee"),
            ("breathe", "braethe"),
            ("breathe", "brezthe"),
            ("chest", "chst"),
            ("seizure", "siezure"),
        ] {
            assert!(within_one_edit(a.as_bytes(), b.as_bytes()), "{a} {b}");
        }
        for (a, b) in [
            ("breathe", "brth"),
            ("chest", "chase"),
            ("seizure", "sezuire"),
        ] {
            assert!(!within_one_edit(a.as_bytes(), b.as_bytes()), "{a} {b}");
        }
    }
}
