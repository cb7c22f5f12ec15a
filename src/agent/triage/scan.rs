//! Reading one message: which words match which terms, where each part of a rule occurs, and
//! which rules hold without being negated.

use super::hash::FastMap;
use super::lexicon::{stem_start, Lexicon, PartId, Rule, WordId};
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

/// What a message says to one rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Its parts do not all occur near each other.
    Absent,
    /// They do, but only negated or next to an excluded part.
    Blocked,
    /// They do, plainly.
    Holds,
}

/// One message as read against a [`Lexicon`].
pub(crate) struct Reading<'a> {
    lexicon: &'a Lexicon,
    tokens: Vec<Token>,
    /// Where each part that occurs at all occurs, in word order.
    part_spans: FastMap<PartId, Vec<Span>>,
    /// Words that belong to a term saying something about the patient.
    content: Vec<bool>,
    /// The lexicon's words each token matches.
    matches: Matches,
}

impl<'a> Reading<'a> {
    pub(crate) fn new(lexicon: &'a Lexicon, text: &str) -> Self {
        let tokens = tokens(text, false);
        let matches = Matches::new(lexicon, &tokens);
        let mut part_spans: FastMap<PartId, Vec<Span>> = FastMap::default();
        let mut found = |term: usize, start: usize| {
            let words = &lexicon.terms[term];
            let end = start + words.len();
            let whole = end <= tokens.len()
                && words
                    .get(2..)
                    .unwrap_or_default()
                    .iter()
                    .enumerate()
                    .all(|(i, word)| matches.of(start + 2 + i).contains(word));
            if whole {
                for &part in &lexicon.term_parts[term] {
                    let spans = part_spans.entry(part).or_default();
                    let span = Span { start, end };
                    if spans.last() != Some(&span) {
                        spans.push(span);
                    }
                }
            }
        };
        for start in 0..tokens.len() {
            let next = if start + 1 < tokens.len() {
                matches.of(start + 1)
            } else {
                &[]
            };
            for &word in matches.of(start) {
                for &term in &lexicon.terms_by_first_word[word] {
                    found(term, start);
                }
                for &second in next {
                    if let Some(terms) = lexicon.terms_by_first_pair.get(&(word, second)) {
                        for &term in terms {
                            found(term, start);
                        }
                    }
                }
            }
        }
        let mut content = vec![false; tokens.len()];
        for (&part, spans) in &part_spans {
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

    /// Where `part` occurs.
    fn spans(&self, part: PartId) -> &[Span] {
        self.part_spans.get(&part).map_or(&[], Vec::as_slice)
    }

    /// The rules whose parts the message holds, and what it says to each; every other rule
    /// is [`Verdict::Absent`].
    pub(crate) fn verdicts(&self) -> Vec<(usize, Verdict)> {
        let mut candidates: Vec<usize> = self
            .part_spans
            .keys()
            .flat_map(|&part| &self.lexicon.rules_by_first_part[part])
            .copied()
            .collect();
        candidates.sort_unstable();
        candidates
            .into_iter()
            .map(|r| (r, self.verdict(&self.lexicon.rules[r])))
            .filter(|(_, verdict)| *verdict != Verdict::Absent)
            .collect()
    }

    /// For each language, how many of the message's words are its frequent words or words
    /// of its rules.
    pub(crate) fn language_scores(&self) -> Vec<usize> {
        language_scores(self.lexicon, &self.tokens, &self.matches)
    }

    fn verdict(&self, rule: &Rule) -> Verdict {
        if rule.parts.iter().any(|p| self.spans(*p).is_empty()) {
            return Verdict::Absent;
        }
        let mut chosen = Vec::with_capacity(rule.parts.len());
        let mut placed = false;
        if self.search(rule, &mut chosen, &mut placed) {
            Verdict::Holds
        } else if placed {
            Verdict::Blocked
        } else {
            Verdict::Absent
        }
    }

    /// Tries every placement of the remaining parts that keeps all within the window;
    /// `placed` tells whether any placement was found at all.
    fn search(&self, rule: &Rule, chosen: &mut Vec<Span>, placed: &mut bool) -> bool {
        let Some(&part) = rule.parts.get(chosen.len()) else {
            *placed = true;
            return self.accepts(rule, chosen);
        };
        for &span in self.spans(part) {
            if chosen.iter().any(|c| c.overlaps(span)) {
                continue;
            }
            let start = chosen.iter().map(|c| c.start).fold(span.start, usize::min);
            let end = chosen.iter().map(|c| c.end).fold(span.end, usize::max);
            if end - start > rule.window {
                continue;
            }
            chosen.push(span);
            if self.search(rule, chosen, placed) {
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
        let excluded = rule.excluded.iter().any(|&part| {
            self.spans(part)
                .iter()
                .any(|&s| s.overlaps(near) && chosen.iter().any(|&c| self.same_clause(s, c)))
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
        let negations = self.spans(language.negations);
        let ends = self.spans(language.negation_ends);
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

/// For each language, how many of `tokens` are its frequent words or words of its rules.
fn language_scores(lexicon: &Lexicon, tokens: &[Token], matches: &Matches) -> Vec<usize> {
    let mut scores = vec![0; lexicon.languages.len()];
    for (i, token) in tokens.iter().enumerate() {
        let common = lexicon.common_words.get(&token.word).copied().unwrap_or(0);
        let rules = matches
            .of(i)
            .iter()
            .fold(0, |bits, &word| bits | lexicon.word_languages[word]);
        for (language, score) in scores.iter_mut().enumerate() {
            if (common | rules) & (1 << language) != 0 {
                *score += 1;
            }
        }
    }
    scores
}

/// The languages (a bit each) with the top score, or all when no word tells.
fn likely_languages(scores: &[usize]) -> u64 {
    let top = scores.iter().copied().max().unwrap_or(0);
    if top == 0 {
        return u64::MAX;
    }
    scores
        .iter()
        .enumerate()
        .filter(|(_, &score)| score == top)
        .fold(0, |bits, (language, _)| bits | 1 << language)
}

/// Words this short are read as typos only with two neighbouring letters swapped.
pub(crate) const SWAP_MIN_LEN: usize = 4;

/// Longer words are never read as typos (no term is this long).
const MAX_TYPO_WORD: usize = 40;

/// Letters a word may have beyond a stem it matches with a typo.
const STEM_TYPO_TAIL: usize = 3;

/// The lexicon's words that each token matches: whole, as a stem, or with one typo. A word
/// that comes back is looked up once.
struct Matches {
    /// For each token, its entry in `distinct`.
    of_token: Vec<usize>,
    distinct: Vec<Vec<WordId>>,
}

impl Matches {
    fn new(lexicon: &Lexicon, tokens: &[Token]) -> Self {
        let mut seen: FastMap<&str, usize> = FastMap::default();
        let mut distinct = Vec::new();
        let mut words = Vec::new();
        let of_token: Vec<usize> = tokens
            .iter()
            .map(|token| {
                *seen.entry(token.word.as_str()).or_insert_with(|| {
                    distinct.push(known_matches(lexicon, &token.word));
                    words.push(token.word.as_str());
                    distinct.len() - 1
                })
            })
            .collect();
        // Typos are read only as words of the languages the message is most likely in, so that
        // an English "could" is not a French "coule".
        let mut matches = Self { of_token, distinct };
        let languages = likely_languages(&language_scores(lexicon, tokens, &matches));
        for (found, word) in matches.distinct.iter_mut().zip(words) {
            // A word that another language knows ("pils") may still be a typo in this one.
            if found
                .iter()
                .all(|&w| lexicon.word_languages[w] & languages == 0)
            {
                typos_of(lexicon, word, languages, found);
            }
        }
        matches
    }

    fn of(&self, token: usize) -> &[WordId] {
        &self.distinct[self.of_token[token]]
    }
}

/// The lexicon's words that `word` matches only as a typo, for checking which real words of a
/// language a rule would misread.
pub(crate) fn typo_matches(lexicon: &Lexicon, word: &str, languages: u64) -> Vec<String> {
    let known = known_matches(lexicon, word);
    if known
        .iter()
        .any(|&w| lexicon.word_languages[w] & languages != 0)
    {
        return Vec::new();
    }
    let mut found = Vec::new();
    typos_of(lexicon, word, languages, &mut found);
    found
        .into_iter()
        .map(|id| lexicon.words[id].text.clone())
        .collect()
}

/// The lexicon's words that `word` is, whole or as a stem.
fn known_matches(lexicon: &Lexicon, word: &str) -> Vec<WordId> {
    let mut found = Vec::new();
    if let Some(&id) = lexicon.exact.get(word) {
        found.push(id);
    }
    stems_of(lexicon, word, &mut found);
    found
}

/// Adds the words of `languages` (a bit each) that `word`, a word the lexicon does not know,
/// may be a typo of.
fn typos_of(lexicon: &Lexicon, word: &str, languages: u64, found: &mut Vec<WordId>) {
    let typo_min = lexicon.typo_min_len;
    let languages = languages & !lexicon.not_typos.get(word).copied().unwrap_or(0);
    let may_be_typo = typo_min > 0
        && languages != 0
        && word.is_ascii()
        && word.len() + 1 >= typo_min.min(SWAP_MIN_LEN + 1)
        && word.len() < MAX_TYPO_WORD
        && !word.bytes().any(|b| b.is_ascii_digit());
    if may_be_typo {
        let text = word.as_bytes();
        let prefix_masks = prefix_letter_masks(text);
        let whole_mask = prefix_masks[text.len()];
        // A whole word is at most one letter longer or shorter; a stem may also end up to
        // `STEM_TYPO_TAIL` letters before the word does.
        let lengths = text.len().saturating_sub(STEM_TYPO_TAIL + 1)..=text.len() + 1;
        for length in lengths {
            let Some(candidates) = lexicon.typo_candidates.get(&(text[0], length)) else {
                continue;
            };
            for &id in candidates {
                if lexicon.word_languages[id] & languages == 0 {
                    continue;
                }
                let want = &lexicon.words[id];
                let want_text = want.text.as_bytes();
                // One edit brings at most one letter the other word lacks: a cheap test that
                // rules out almost every candidate before comparing letters.
                let want_mask = lexicon.letter_masks[id];
                let mask = if want.stem {
                    prefix_masks[(want_text.len() + 1).min(text.len())]
                } else {
                    whole_mask
                };
                if (want_mask & !mask).count_ones() > 1
                    || (!want.stem && (mask & !want_mask).count_ones() > 1)
                {
                    continue;
                }
                // A stem matches a word it begins with a typo only when little of the word is
                // left after it: "bleding" is "bleed*", "responsible" is not "respond*".
                // Short words ("pian") may only have two letters swapped: any other edit of a
                // four-letter word makes too many other real words.
                let swap_only = text.len() + 1 < typo_min || want_text.len() < typo_min;
                let n = want_text.len();
                let close = match (want.stem, swap_only) {
                    (true, false) => [n - 1, n, n + 1]
                        .into_iter()
                        .filter(|&k| k >= 1 && k <= text.len() && text.len() - k <= STEM_TYPO_TAIL)
                        .any(|k| within_one_edit(want_text, &text[..k])),
                    (true, true) => {
                        n <= text.len()
                            && text.len() - n <= STEM_TYPO_TAIL
                            && within_one_swap(want_text, &text[..n])
                    }
                    (false, false) => within_one_edit(want_text, text),
                    (false, true) => within_one_swap(want_text, text),
                };
                if close {
                    found.push(id);
                }
            }
        }
    }
}

/// The letters (a bit each) of every prefix of an ASCII word: entry `k` for its first `k`
/// bytes.
fn prefix_letter_masks(text: &[u8]) -> [u32; MAX_TYPO_WORD + 1] {
    let mut masks = [0; MAX_TYPO_WORD + 1];
    for (i, &b) in text.iter().take(MAX_TYPO_WORD).enumerate() {
        masks[i + 1] = masks[i] | letter_bit(b);
    }
    masks
}

/// A bit for an ASCII letter or digit (digits share bits; a false match only costs a
/// comparison).
pub(crate) fn letter_bit(b: u8) -> u32 {
    match b {
        b'a'..=b'z' => 1 << (b - b'a'),
        b'0'..=b'9' => 1 << (26 + (b - b'0') % 6),
        _ => 0,
    }
}

/// Adds the stems `word` begins with to `found`.
fn stems_of(lexicon: &Lexicon, word: &str, found: &mut Vec<WordId>) {
    let bytes = word.as_bytes();
    let Some(&first) = bytes.first() else {
        return;
    };
    let two = stem_start(bytes);
    let keys = [[first, 0], two];
    let keys = if two[1] == 0 { &keys[..1] } else { &keys[..] };
    for key in keys {
        if let Some(ids) = lexicon.stems_by_start.get(key) {
            found.extend(
                ids.iter()
                    .copied()
                    .filter(|&id| word.starts_with(lexicon.words[id].text.as_str())),
            );
        }
    }
}

/// Whether `a` becomes `b` by swapping two neighbouring letters.
fn within_one_swap(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let same = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    same == a.len()
        || (same + 1 < a.len()
            && a[same] == b[same + 1]
            && a[same + 1] == b[same]
            && a[same + 2..] == b[same + 2..])
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
