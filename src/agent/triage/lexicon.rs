//! The rules of every language compiled once into indexes, so that reading a message is one
//! pass over its words whatever the number of rules.

use std::collections::HashMap;

use super::hash::FastMap;
use super::rows::Rows;
use super::scan::SWAP_MIN_LEN;

use super::text::tokens;
use super::TriageError;
use crate::agent::{LanguagePack, TriageConfig};

pub(crate) type WordId = usize;
pub(crate) type PartId = usize;

/// A word of a phrase: whole, or a stem matching every word it begins (`hurt*`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Word {
    pub text: String,
    pub stem: bool,
}

/// What a rule raises when it matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Goal {
    /// A red flag of the category at this index of [`TriageConfig::categories`].
    RedFlag(usize),
    /// The user asks for a person.
    Human,
}

/// Parts that must all occur near each other, and parts that must not.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Rule {
    pub language: usize,
    pub goal: Goal,
    pub parts: Vec<PartId>,
    pub excluded: Vec<PartId>,
    /// The parts must all occur within this many words.
    pub window: usize,
}

/// What reading needs to know about one language.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Language {
    pub code: String,
    /// The part whose terms negate what follows.
    pub negations: PartId,
    /// The part whose terms end a negation's reach.
    pub negation_ends: PartId,
}

/// Every language's rules, indexed.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Lexicon {
    pub window: usize,
    pub negation_reach: usize,
    pub typo_min_len: usize,
    pub categories: Vec<String>,
    pub languages: Vec<Language>,
    pub rules: Vec<Rule>,
    pub words: Vec<Word>,
    /// Whole words by text.
    pub exact: FastMap<String, WordId>,
    /// Stems by text, and by [`stem_start`].
    pub stems: FastMap<String, WordId>,
    pub stems_by_start: FastMap<[u8; 2], Box<[WordId]>>,
    /// Words long enough to match with a typo, by their first byte and length.
    pub typo_candidates: FastMap<(u8, usize), Box<[WordId]>>,
    /// For each word, the letters it holds (see [`super::scan::letter_bit`]).
    pub letter_masks: Vec<u32>,
    /// The rules whose first part this is.
    pub rules_by_first_part: Rows<usize>,
    /// Real words never read as typos of the words of the languages (a bit each) that list
    /// them, in `not_typos` or `common_words`.
    pub not_typos: FastMap<String, u64>,
    /// A phrase is a sequence of words; the parts each phrase belongs to.
    pub terms: Rows<WordId>,
    pub term_parts: Rows<PartId>,
    /// The one-word phrases of each word.
    pub terms_by_first_word: Rows<usize>,
    /// The longer phrases, by their first two words: function words start hundreds of them.
    pub terms_by_first_pair: FastMap<(WordId, WordId), Box<[usize]>>,
    pub part_count: usize,
    /// Parts that say something about the patient (not negations or their ends): a negation
    /// does not reach past them.
    pub content_parts: Vec<bool>,
    /// Frequent words, with a bit per language that uses them.
    pub common_words: FastMap<String, u64>,
    /// For each word, a bit per language whose rules use it.
    pub word_languages: Vec<u64>,
    /// The language whose terms are being added.
    current_language: usize,
    /// The indexes as they grow while rules are added; empty once compiled.
    draft: Draft,
}

/// The growing forms of the lexicon's indexes, packed into compact ones when every rule is in
/// (a compiled lexicon is read for every message for as long as the service runs). They are
/// a few long lists rather than one small list per term or word, so that compiling does not
/// leave the process's heap strewn with tens of thousands of freed pieces.
#[derive(Clone, Debug, Default, PartialEq)]
struct Draft {
    /// Every term's words, a row per term.
    terms: Rows<WordId>,
    /// Each part a term belongs to, as (term, part), possibly more than once.
    term_parts: Vec<(usize, PartId)>,
    /// The one-word term of each word that has one.
    single_word_terms: FastMap<WordId, usize>,
    terms_by_first_pair: FastMap<(WordId, WordId), Vec<usize>>,
    rules_by_first_part: Vec<Vec<usize>>,
    stems_by_start: FastMap<[u8; 2], Vec<WordId>>,
    typo_candidates: FastMap<(u8, usize), Vec<WordId>>,
}

impl Draft {
    /// The id of the term made of `ids`, if it was added before.
    fn find_term(&self, ids: &[WordId]) -> Option<usize> {
        match *ids {
            [one] => self.single_word_terms.get(&one).copied(),
            [first, second, ..] => self
                .terms_by_first_pair
                .get(&(first, second))?
                .iter()
                .copied()
                .find(|&term| &self.terms[term] == ids),
            [] => None,
        }
    }
}

impl Lexicon {
    /// Compiles the rules of `languages`.
    ///
    /// # Errors
    /// [`TriageError`] naming the key of a rule that refers to an unknown concept or
    /// category, or holds an empty phrase.
    pub(crate) fn compile(
        config: &TriageConfig,
        languages: &[LanguagePack],
    ) -> Result<Self, TriageError> {
        if languages.len() > 64 {
            return Err(TriageError::invalid(
                "languages",
                "at most 64 are supported",
            ));
        }
        let mut lexicon = Self {
            window: config.window,
            negation_reach: config.negation_reach,
            typo_min_len: config.typo_min_len,
            categories: config.categories.clone(),
            languages: Vec::new(),
            rules: Vec::new(),
            words: Vec::new(),
            exact: FastMap::default(),
            stems: FastMap::default(),
            stems_by_start: FastMap::default(),
            typo_candidates: FastMap::default(),
            letter_masks: Vec::new(),
            rules_by_first_part: Rows::default(),
            not_typos: FastMap::default(),
            terms: Rows::default(),
            term_parts: Rows::default(),
            terms_by_first_word: Rows::default(),
            terms_by_first_pair: FastMap::default(),
            part_count: 0,
            content_parts: Vec::new(),
            common_words: FastMap::default(),
            word_languages: Vec::new(),
            current_language: 0,
            draft: Draft::default(),
        };
        for (index, language) in languages.iter().enumerate() {
            lexicon.add_language(index, language)?;
        }
        lexicon.pack();
        Ok(lexicon)
    }

    /// Moves the draft indexes into their compact forms and drops spare capacity.
    fn pack(&mut self) {
        let draft = std::mem::take(&mut self.draft);
        let term_count = draft.terms.len();
        self.terms = draft.terms;
        self.terms.shrink_to_fit();
        let mut term_parts = draft.term_parts;
        term_parts.sort_unstable();
        term_parts.dedup();
        self.term_parts = Rows::group(term_count, term_parts);
        self.terms_by_first_word = Rows::group(
            self.words.len(),
            draft.single_word_terms.into_iter().collect(),
        );
        self.rules_by_first_part = Rows::pack(draft.rules_by_first_part);
        self.terms_by_first_pair = boxed(draft.terms_by_first_pair);
        self.stems_by_start = boxed(draft.stems_by_start);
        self.typo_candidates = boxed(draft.typo_candidates);
        self.categories.shrink_to_fit();
        self.languages.shrink_to_fit();
        self.rules.shrink_to_fit();
        self.words.shrink_to_fit();
        self.exact.shrink_to_fit();
        self.stems.shrink_to_fit();
        self.letter_masks.shrink_to_fit();
        self.not_typos.shrink_to_fit();
        self.content_parts.shrink_to_fit();
        self.common_words.shrink_to_fit();
        self.word_languages.shrink_to_fit();
    }

    fn add_language(&mut self, index: usize, pack: &LanguagePack) -> Result<(), TriageError> {
        let key = format!("languages.{}", pack.code);
        self.current_language = index;
        let negations = self.new_part(false);
        for term in &pack.negations {
            self.add_term(negations, term, false, &format!("{key}.negations"))?;
        }
        let negation_ends = self.new_part(false);
        for term in &pack.negation_ends {
            self.add_term(negation_ends, term, false, &format!("{key}.negation_ends"))?;
        }
        let mut concepts = HashMap::new();
        for concept in &pack.concepts {
            let part = self.new_part(true);
            for term in &concept.terms {
                self.add_term(
                    part,
                    term,
                    true,
                    &format!("{key}.concepts.{}", concept.name),
                )?;
            }
            concepts.insert(concept.name.as_str(), part);
        }
        for flag in &pack.red_flags {
            let flag_key = format!("{key}.red_flags.{}", flag.reason);
            let category = self
                .categories
                .iter()
                .position(|c| *c == flag.reason)
                .ok_or_else(|| TriageError::invalid(&flag_key, "not one of triage.categories"))?;
            for pattern in &flag.patterns {
                self.add_rule(
                    index,
                    Goal::RedFlag(category),
                    pattern,
                    &concepts,
                    &flag_key,
                )?;
            }
        }
        for pattern in &pack.human_phrases {
            let phrases_key = format!("{key}.human_phrases");
            self.add_rule(index, Goal::Human, pattern, &concepts, &phrases_key)?;
        }
        let bit = 1u64 << index;
        for word in pack.common_words.iter().flat_map(|w| tokens(w, false)) {
            *self.common_words.entry(word.word.clone()).or_default() |= bit;
            *self.not_typos.entry(word.word).or_default() |= bit;
        }
        for word in pack.not_typos.iter().flat_map(|w| tokens(w, false)) {
            *self.not_typos.entry(word.word).or_default() |= bit;
        }
        self.languages.push(Language {
            code: pack.code.clone(),
            negations,
            negation_ends,
        });
        Ok(())
    }

    fn new_part(&mut self, content: bool) -> PartId {
        self.part_count += 1;
        self.content_parts.push(content);
        self.draft.rules_by_first_part.push(Vec::new());
        self.part_count - 1
    }

    fn add_rule(
        &mut self,
        language: usize,
        goal: Goal,
        pattern: &str,
        concepts: &HashMap<&str, PartId>,
        key: &str,
    ) -> Result<(), TriageError> {
        let (pattern, window) = match pattern.rsplit_once('~') {
            Some((rest, n)) => match n.trim().parse::<usize>() {
                Ok(n) if (1..=50).contains(&n) => (rest, n),
                _ => {
                    return Err(TriageError::invalid(
                        key,
                        format!("{pattern:?}: `~N` needs a window of 1 to 50 words"),
                    ))
                }
            },
            None => (pattern, self.window),
        };
        let mut rule = Rule {
            language,
            goal,
            parts: Vec::new(),
            excluded: Vec::new(),
            window,
        };
        for part in pattern.split('+').map(str::trim) {
            let (excluded, part) = match part.strip_prefix('!') {
                Some(rest) => (true, rest.trim()),
                None => (false, part),
            };
            let id = match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                Some(name) => *concepts.get(name.trim()).ok_or_else(|| {
                    TriageError::invalid(key, format!("{pattern:?} names an unknown concept"))
                })?,
                None => {
                    let id = self.new_part(true);
                    self.add_term(id, part, true, key)?;
                    id
                }
            };
            if excluded {
                rule.excluded.push(id);
            } else {
                rule.parts.push(id);
            }
        }
        if rule.parts.is_empty() {
            return Err(TriageError::invalid(
                key,
                format!("{pattern:?} needs a part that must occur"),
            ));
        }
        self.draft.rules_by_first_part[rule.parts[0]].push(self.rules.len());
        self.rules.push(rule);
        Ok(())
    }

    /// Adds `phrase` to `part`; its words match with a typo when `typos` (never for
    /// negations: "night" must not read as the German "nicht").
    fn add_term(
        &mut self,
        part: PartId,
        phrase: &str,
        typos: bool,
        key: &str,
    ) -> Result<(), TriageError> {
        let words = tokens(phrase, true);
        if words.is_empty() || phrase.contains(['{', '}', '+']) {
            return Err(TriageError::invalid(
                key,
                format!("{phrase:?} is not a phrase of words"),
            ));
        }
        let mut ids = Vec::with_capacity(words.len());
        for token in words {
            let word = match token.word.strip_suffix('*') {
                Some(stem) if !stem.is_empty() && !stem.contains('*') => Word {
                    text: stem.to_string(),
                    stem: true,
                },
                None if !token.word.contains('*') => Word {
                    text: token.word,
                    stem: false,
                },
                _ => {
                    return Err(TriageError::invalid(
                        key,
                        format!("{phrase:?}: `*` may only end a word"),
                    ))
                }
            };
            ids.push(self.word_id(word, typos));
        }
        let draft = &mut self.draft;
        let term = match draft.find_term(&ids) {
            Some(term) => term,
            None => {
                let term = draft.terms.len();
                match ids[..] {
                    [one] => {
                        draft.single_word_terms.insert(one, term);
                    }
                    [first, second, ..] => draft
                        .terms_by_first_pair
                        .entry((first, second))
                        .or_default()
                        .push(term),
                    [] => {}
                }
                draft.terms.push(ids.iter().copied());
                term
            }
        };
        // Repeats (a phrase listed twice in one concept) are dropped when packing.
        draft.term_parts.push((term, part));
        Ok(())
    }

    fn word_id(&mut self, word: Word, typos: bool) -> WordId {
        let index = if word.stem {
            &mut self.stems
        } else {
            &mut self.exact
        };
        let id = match index.get(&word.text) {
            Some(id) => *id,
            None => {
                let id = self.words.len();
                index.insert(word.text.clone(), id);
                if word.stem {
                    self.draft
                        .stems_by_start
                        .entry(stem_start(word.text.as_bytes()))
                        .or_default()
                        .push(id);
                }
                self.letter_masks.push(
                    word.text
                        .bytes()
                        .fold(0, |mask, b| mask | super::scan::letter_bit(b)),
                );
                self.words.push(word);
                self.word_languages.push(0);
                id
            }
        };
        self.word_languages[id] |= 1 << self.current_language;
        let word = &self.words[id];
        let typo_eligible = typos
            && self.typo_min_len > 0
            && word.text.is_ascii()
            && word.text.len() >= self.typo_min_len.min(SWAP_MIN_LEN);
        if typo_eligible {
            let candidates = self
                .draft
                .typo_candidates
                .entry((word.text.as_bytes()[0], word.text.len()))
                .or_default();
            if !candidates.contains(&id) {
                candidates.push(id);
            }
        }
        id
    }
}

/// `map` with each list in an allocation of its exact size.
fn boxed<K: Eq + std::hash::Hash, T>(map: FastMap<K, Vec<T>>) -> FastMap<K, Box<[T]>> {
    map.into_iter()
        .map(|(key, list)| (key, list.into_boxed_slice()))
        .collect()
}

/// The key of a stem in [`Lexicon::stems_by_start`]: its first two bytes, or its only byte and
/// a zero.
pub(crate) fn stem_start(stem: &[u8]) -> [u8; 2] {
    [stem[0], stem.get(1).copied().unwrap_or(0)]
}
