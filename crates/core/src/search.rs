//! The cross-script name search key.
//!
//! Members are searched by a name typed in Devanagari or in Latin letters, whichever script the
//! name was stored in, and with the usual spelling variants ("Mohd"/"Mohammad"/"मोहम्मद",
//! "Laxmi"/"Lakshmi"/"लक्ष्मी", "Chaudhary"/"Chowdhury"/"चौधरी"). Both sides are reduced to a
//! key: each word folded to a lower-case consonant skeleton. Keys collide by design (the
//! skeleton forgets vowels), so a search finds candidates by key and then orders them with
//! [`rank`].
//!
//! How a word becomes its key:
//!
//! 1. **Words.** The name is canonically decomposed (so composed and decomposed forms, NFC or
//!    NFD, give one key); zero-width characters (ZWJ, ZWNJ, BOM, soft hyphen, bidi marks),
//!    apostrophes (`'` `’` `‘` `` ` `` `ʼ`) and digits (ASCII and Devanagari) are dropped
//!    inside a word ("D’Souza" is one word); whitespace and every other non-letter (hyphen,
//!    dot, comma, slash, danda, `॰`) separate words ("Ram-Prakash", "R.K." are two words).
//!    Word order is kept.
//! 2. **Devanagari → Latin** by the table in this file: consonants carry an inherent "a",
//!    matras replace it, the virama removes it; Hindi schwa deletion drops the inherent "a" at
//!    the end of a word (not after a conjunct: मिश्र → "mishra") and in a `V C a C V` position
//!    (अज़हर → "azhar", like the Latin spelling); anusvara and chandrabindu give "m" before
//!    प फ ब भ म and "n" elsewhere (संपत → "sampat"); a final ंह is "ngh" (सिंह → "singh");
//!    nukta forms: क़ q, ख़ kh, ग़ g, ज़ z, फ़ f, ड़ r, ढ़ rh; ज्ञ is "gy"; visarga and avagraha
//!    are dropped. Latin letters lose their diacritics (ā → a, ṣ → s) and are lower-cased.
//!    Letters of other scripts are kept as they are (lower-cased): they match only themselves.
//! 3. **Abbreviations**, whole words only: "md", "mohd", "mhd", "muhd", "mohmd" and
//!    Hindi "मो" (from "मो." or "मो०") stand for "mohammad".
//! 4. **Spelling folds**: x → ks, q → k, z → j, ph → f, "ch" → c, other c → s before e/i/y
//!    and k elsewhere, "ow" before a consonant or at the end → au (Chowdhury), w → v,
//!    ee → i, oo → u; an h after a consonant is dropped (bh, dh, kh, sh, th, ...), so is a
//!    final h after a vowel (Shah, Fatimah); doubled letters merge; a final "ey" → e
//!    (Dubey = दुबे, Pandey = पाण्डेय), a final "ao" → av (Rao = राव), a final y after a
//!    consonant → i (Chaudhary = चौधरी, Reddy = रेड्डी); "ai" → ay (Jaiswal = जायसवाल,
//!    Nair = नायर); i before a vowel takes a glide y (Sonia = सोनिया); b → v (Bijay = Vijay,
//!    Binod = Vinod); doubled letters merge again.
//! 5. **Skeleton**: the first letter is kept even if it is a vowel ("Anil" → "anl", so Anil
//!    and "Nil" differ, and Asha and Usha differ); after it the vowels a e i o u are dropped.
//!    y, v and h stay: they are consonants here.
//!
//! Examples: "Ram Prakash Nishad" and "राम प्रकाश निषाद" → `rm prks nsd`;
//! "Md. Irfan" and "मोहम्मद इरफ़ान" → `mhmd irfn`; "Laxmi", "Lakshmi", "लक्ष्मी" → `lksm`;
//! "Chaudhary", "Chowdhury", "चौधरी" → `cdr`; "Vijay", "Bijay", "विजय" → `vjy`.
//!
//! Known limits (see the tests for measured recall and false-match rate):
//! - different names can share a key: Mahmood = Mohammad (`mhmd`), Kumar = Kumari (`kmr`),
//!   Abdul = Abdullah, Kamal = Kamla = Komal, Riya = Rai = Roy (`ry`); [`rank`] cannot tell
//!   them apart either, since it only sees keys beyond tier 3;
//! - ऐ written "e" on one side and "ai" on the other (Shaikh / शेख़, Qureshi / क़ुरैशी,
//!   Jaitley / जेटली), ड़ romanised as "d" (Gudiya / गुड़िया, Rathod / राठौड़), Goel / गोयल and a
//!   differing first vowel (Iyer / अय्यर) give different keys;
//! - the first vowel of a word is kept, so a vowel-initial part written apart or joined differs
//!   ("Ram Avtar" `rm avtr`, "Ramavtar" / "रामअवतार" `rmvtr`); consonant-initial parts are
//!   fine ("Ram Naresh" is a substring match of "रामनरेश");
//! - honorifics and their abbreviations are ordinary words (Smt. / श्रीमती, Km. / कु.);
//! - keys can be very short ("Jha" `j`, "Shah" `s`, "Rai" `ry`): a trigram index cannot find a
//!   key under 3 letters, so look such queries up by equality on the key.

use std::collections::HashSet;

use unicode_normalization::UnicodeNormalization;

/// The search key of a name: words folded to an ASCII consonant skeleton, separated by single spaces,
/// e.g. "Ram Prakash Nishad" and "राम प्रकाश निषाद" both give "rm prks nsd". Empty for a name with no letters.
pub fn name_key(name: &str) -> String {
    word_keys(name).join(" ")
}

/// The same key with the spaces removed ("rmprksnsd"): what the trigram index stores and what a query is
/// matched against as a substring, so "रामप्रकाश" finds "Ram Prakash Nishad".
pub fn joined_key(name: &str) -> String {
    word_keys(name).concat()
}

/// Rank a candidate for a query: higher is better.
///
/// * **3**: the same name as typed: equal identity keys ([`crate::ids::name_key`]: NFC,
///   case-folded, whitespace collapsed, zero-width characters removed), which implies the same
///   script and spelling.
/// * **2**: the same full name by search key: equal [`joined_key`]s ("रामप्रकाश निषाद" for
///   "Ram Prakash Nishad", "Md Salim" for "Mohammad Salim"), or the query's words cover all of
///   the candidate's words in another order ("Nishad Ram Prakash").
/// * **1**: the query names whole words of the candidate: the query's joined key occurs in the
///   candidate's joined key starting at the start of a candidate word *and* ending at the end
///   of a candidate word ("ram prakash" and "रामप्रकाश" in "Ram Prakash Nishad", "Kumar" in
///   "Anil Kumar"), or each query word is a whole run of candidate words, in any order
///   ("Nishad Ram" in "Ram Prakash Nishad"); or the candidate's whole name is the query's
///   leading words, the query naming more words than were stored ("Ram Prakash" and
///   "रामप्रकाश" for "Ram Prakash Nishad": see [`Ranker::leading_keys`]).
/// * **0**: anything else, including a query that is only a prefix or an inner part of a
///   candidate word ("Ram" for "Raman", "Rekha" for "Rakesh", "Anil" for "Sunil"): such
///   candidates come back from a substring index and are listed after every better tier.
///   A query or candidate without letters ranks 0.
///
/// Within a rank, [`Ranker::grade`] orders further: a candidate holding the whole query before
/// one that is only its leading words, then the more of the query's words spelled as typed
/// first ("Laxmi Devi" before "Lakshmi Devi" for "Laxmi").
pub fn rank(query: &str, candidate_name: &str) -> u8 {
    Ranker::new(query).rank(candidate_name)
}

/// A query of several words also finds people stored with its leading words only (a query
/// longer than the stored name: "Ram Prakash Nishad" finds "Ram Prakash" and "रामप्रकाश"), by
/// their whole key, when those words' joined key has at least this many letters with two words
/// or more...
pub const LEADING_MIN_KEY: usize = 4;
/// ...or at least this many with one word ("Ramprakash Nishad" finds "Ramprakash", "Sunita
/// Devi" does not find everyone called just "Sunita").
pub const LEADING_MIN_ONE_WORD_KEY: usize = 6;
/// At most this many leading-words keys are looked up for one query, the longest first.
pub const LEADING_MAX_KEYS: usize = 3;

/// How well a candidate matches a query, in the order a search lists them (greater first):
/// [`rank`], then `whole` (false only for a candidate that is just the query's leading words,
/// ranked 1), then `as_typed`, the number of the query's words the candidate spells as typed.
/// A word is spelled as typed when both read the same in Latin letters before any spelling fold,
/// case and diacritics aside and doubled letters merged ("Laxmi" = "laxmi", "Devi" = "देवी",
/// "Shailendra" = "शैलेन्द्र", but not "Laxmi" = "Lakshmi" or "Mohd" = "Mohammad").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Grade {
    pub rank: u8,
    pub whole: bool,
    pub as_typed: u8,
}

/// [`rank`] for one query against many candidates: the query's keys are computed once.
pub struct Ranker {
    exact: String,
    q: Vec<String>,
    q_concat: String,
    /// The query's words as spelled ([`spelling`]).
    spelled: Vec<String>,
    leading: Vec<String>,
}

impl Ranker {
    pub fn new(query: &str) -> Ranker {
        let (spelled, q) = words(query);
        let mut leading = Vec::new();
        for n in (1..q.len()).rev() {
            let key = q[..n].concat();
            let long_enough = if n >= 2 {
                key.len() >= LEADING_MIN_KEY
            } else {
                key.len() >= LEADING_MIN_ONE_WORD_KEY
            };
            if long_enough && leading.len() < LEADING_MAX_KEYS && !leading.contains(&key) {
                leading.push(key);
            }
        }
        Ranker {
            exact: crate::ids::name_key(query),
            q_concat: q.concat(),
            q,
            spelled,
            leading,
        }
    }

    /// The query's joined key ([`joined_key`]).
    pub fn key(&self) -> &str {
        &self.q_concat
    }

    /// The joined keys of the query's leading words (its words but the last, but the last two,
    /// ...; longest first): a search also finds the people whose whole search key is one of
    /// them, ranked 1 below those holding the whole query. Only keys of at least
    /// [`LEADING_MIN_KEY`] letters (of two words or more) or [`LEADING_MIN_ONE_WORD_KEY`] (one
    /// word), at most [`LEADING_MAX_KEYS`]: "Ram" alone is looked for by no query. Empty for a
    /// query of one word.
    pub fn leading_keys(&self) -> &[String] {
        &self.leading
    }

    /// Does a search for this query find a person whose search key ([`joined_key`]) is
    /// `search_key`, by name: the query's key is in it, or it is one of the
    /// [`Ranker::leading_keys`].
    pub fn finds(&self, search_key: &str) -> bool {
        !self.q.is_empty()
            && (search_key.contains(self.q_concat.as_str())
                || self.leading.iter().any(|k| k == search_key))
    }

    /// [`Ranker::grade`] for a stored person whose identity key ([`crate::ids::name_key`]) and
    /// search key ([`joined_key`]) are at hand, as stored with the name: the same answer, without
    /// deriving the identity key again, nor comparing words, when the name is the query's as
    /// typed (at state scope a common full name can have a thousand namesakes to rank).
    pub fn grade_stored(&self, name: &str, name_key: &str, search_key: &str) -> Grade {
        if !self.q.is_empty() && search_key == self.q_concat {
            if name_key == self.exact {
                return Grade {
                    rank: 3,
                    whole: true,
                    as_typed: self.all_typed(),
                };
            }
            return Grade {
                rank: 2,
                whole: true,
                as_typed: self.as_typed(&words(name).0),
            };
        }
        self.grade(name)
    }

    /// [`Ranker::rank`] from the stored keys, as [`Ranker::grade_stored`].
    pub fn rank_stored(&self, name: &str, name_key: &str, search_key: &str) -> u8 {
        self.grade_stored(name, name_key, search_key).rank
    }

    pub fn rank(&self, candidate_name: &str) -> u8 {
        self.grade(candidate_name).rank
    }

    /// The candidate's [`Grade`]: its [`rank`], and its order within the rank.
    pub fn grade(&self, candidate_name: &str) -> Grade {
        if self.q.is_empty() {
            return Grade::default();
        }
        // The same identity key means the same words (so some, the query's being some).
        if self.exact == crate::ids::name_key(candidate_name) {
            return Grade {
                rank: 3,
                whole: true,
                as_typed: self.all_typed(),
            };
        }
        let (spelled, c) = words(candidate_name);
        if c.is_empty() {
            return Grade::default();
        }
        let graded = |rank: u8, whole: bool| Grade {
            rank,
            whole,
            as_typed: self.as_typed(&spelled),
        };
        let c_concat = c.concat();
        if self.q_concat == c_concat {
            return graded(2, true);
        }
        let (all_found, all_covered) = cover(&self.q, &c);
        if all_found && all_covered {
            return graded(2, true);
        }
        if all_found || aligned_substring(&self.q_concat, &c) {
            return graded(1, true);
        }
        if self.leading.contains(&c_concat) {
            return graded(1, false);
        }
        graded(0, true)
    }

    fn all_typed(&self) -> u8 {
        self.spelled.len().min(u8::MAX as usize) as u8
    }

    /// How many of the query's words are among the candidate's as spelled (each candidate word
    /// counted once).
    fn as_typed(&self, c: &[String]) -> u8 {
        let mut used = vec![false; c.len()];
        let mut n = 0u8;
        for w in &self.spelled {
            if let Some(i) = (0..c.len()).find(|&i| !used[i] && c[i] == *w) {
                used[i] = true;
                n = n.saturating_add(1);
            }
        }
        n
    }
}

/// Is this query a mobile/EPIC-looking string rather than a name? (digits with optional + spaces
/// dashes, or 3 letters + 7 digits): lets search route to exact identifier lookup.
///
/// True for: at least one digit (ASCII or Devanagari) and otherwise only spaces, `-`, `.`,
/// `(`, `)` and one `+` before any digit ("+91 …", "(+91) …": the forms
/// [`crate::ids::Mobile::parse`] accepts, and any partial number); or an EPIC as
/// [`crate::ids::Epic::parse`] accepts it (3 letters + 7 digits, any case, spaces ignored).
pub fn looks_like_identifier(query: &str) -> bool {
    let t = query.trim();
    let (mut digits, mut plus) = (false, false);
    let numberish = t.chars().any(is_digit)
        && t.chars().all(|c| {
            if is_digit(c) {
                digits = true;
                true
            } else if c == '+' {
                let first = !digits && !plus;
                plus = true;
                first
            } else {
                c.is_whitespace() || matches!(c, '-' | '.' | '(' | ')')
            }
        });
    numberish || crate::ids::Epic::parse(t).is_ok()
}

fn is_digit(c: char) -> bool {
    c.is_ascii_digit() || ('\u{0966}'..='\u{096F}').contains(&c)
}

/// Greedily match each query word (longest first) to a run of consecutive, not yet used
/// candidate words whose keys concatenate to it. Returns (every query word found, every
/// candidate word used).
fn cover(q: &[String], c: &[String]) -> (bool, bool) {
    let mut used = vec![false; c.len()];
    let mut order: Vec<&String> = q.iter().collect();
    order.sort_by_key(|w| std::cmp::Reverse(w.len()));
    let mut all_found = true;
    for w in order {
        let mut found = None;
        'start: for s in 0..c.len() {
            let mut acc = String::new();
            for e in s..c.len() {
                if used[e] {
                    continue 'start;
                }
                acc.push_str(&c[e]);
                if acc.len() > w.len() || !w.starts_with(acc.as_str()) {
                    continue 'start;
                }
                if acc.len() == w.len() {
                    found = Some((s, e));
                    break 'start;
                }
            }
        }
        match found {
            Some((s, e)) => used[s..=e].iter_mut().for_each(|u| *u = true),
            None => all_found = false,
        }
    }
    (all_found, used.iter().all(|u| *u))
}

/// Does `needle` occur in the concatenation of `words` starting and ending at word boundaries?
fn aligned_substring(needle: &str, words: &[String]) -> bool {
    if needle.is_empty() {
        return false;
    }
    let hay = words.concat();
    let mut bounds = HashSet::new();
    let mut pos = 0;
    bounds.insert(0);
    for w in words {
        pos += w.len();
        bounds.insert(pos);
    }
    bounds
        .iter()
        .any(|&b| hay[b..].starts_with(needle) && bounds.contains(&(b + needle.len())))
}

// ---------------------------------------------------------------------------------------------
// Words

fn is_zero_width(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}' | '\u{00AD}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '’' | '‘' | '`' | '´' | 'ʼ' | 'ʻ' | '′')
}

/// Combining diacritics of the Latin script (dropped: ā → a).
fn is_latin_mark(c: char) -> bool {
    matches!(c, '\u{0300}'..='\u{036F}' | '\u{1AB0}'..='\u{1AFF}' | '\u{1DC0}'..='\u{1DFF}' | '\u{20D0}'..='\u{20FF}' | '\u{FE20}'..='\u{FE2F}')
}

fn is_devanagari(c: char) -> bool {
    ('\u{0900}'..='\u{097F}').contains(&c) || ('\u{A8E0}'..='\u{A8FF}').contains(&c)
}

/// Split a name into raw words (canonically decomposed), dropping what is nothing inside a word.
fn raw_words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    for c in name.nfd() {
        if is_zero_width(c) || is_apostrophe(c) || c.is_numeric() || is_latin_mark(c) {
            continue;
        }
        let word_char = match c {
            '\u{0964}' | '\u{0965}' | '\u{0970}' => false, // danda, double danda, abbreviation sign
            _ if is_devanagari(c) => true,
            _ => c.is_alphabetic() || (!c.is_ascii() && is_mark_like(c)),
        };
        if word_char {
            cur.push(c);
        } else if !cur.is_empty() {
            words.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

/// Vowel signs and other marks of other Indic scripts are not all `Alphabetic`; keep them in the word.
fn is_mark_like(c: char) -> bool {
    let u = c as u32;
    (0x0980..=0x0DFF).contains(&u)
}

fn word_keys(name: &str) -> Vec<String> {
    raw_words(name)
        .iter()
        .map(|w| word_key(w))
        .filter(|k| !k.is_empty())
        .collect()
}

/// The words that have a key: their spellings ([`spelling`]) and their keys, in order.
fn words(name: &str) -> (Vec<String>, Vec<String>) {
    let (mut spelled, mut keys) = (Vec::new(), Vec::new());
    for w in raw_words(name) {
        let latin = to_latin(&w);
        let s = spelling(&latin);
        let k = key_of_latin(latin);
        if !k.is_empty() {
            spelled.push(s);
            keys.push(k);
        }
    }
    (spelled, keys)
}

/// A word as spelled, for telling the spelling typed from its variants: its Latin letters before
/// any fold ([`to_latin`]: lower-cased, without diacritics, Devanagari transliterated), doubled
/// letters merged (so that ई "ii" reads as "i": "Devi" = "देवी").
fn spelling(latin: &str) -> String {
    let mut s = String::with_capacity(latin.len());
    for c in latin.chars() {
        if !s.ends_with(c) {
            s.push(c);
        }
    }
    s
}

const MOHAMMAD_ABBREVIATIONS: &[&str] = &["md", "mohd", "mhd", "muhd", "mohmd", "mo"];

fn word_key(raw: &str) -> String {
    key_of_latin(to_latin(raw))
}

fn key_of_latin(latin: String) -> String {
    let latin = if MOHAMMAD_ABBREVIATIONS.contains(&latin.as_str()) {
        "mohammad".to_string()
    } else {
        latin
    };
    skeleton(&fold(&latin))
}

// ---------------------------------------------------------------------------------------------
// Devanagari → Latin

#[derive(Debug, Clone, Copy, PartialEq)]
enum Tok {
    /// A consonant: its base letter and its Latin spelling.
    C(char, &'static str),
    /// A written vowel (independent letter or matra).
    V(&'static str),
    /// The inherent "a" of a consonant.
    A,
    /// Anusvara or chandrabindu.
    N,
    /// Any non-Devanagari character, already lower-cased.
    X(char),
}

fn consonant(c: char) -> Option<&'static str> {
    Some(match c {
        'क' => "k",
        'ख' => "kh",
        'ग' => "g",
        'घ' => "gh",
        'ङ' => "n",
        'च' => "ch",
        'छ' => "chh",
        'ज' => "j",
        'झ' => "jh",
        'ञ' => "n",
        'ट' => "t",
        'ठ' => "th",
        'ड' => "d",
        'ढ' => "dh",
        'ण' => "n",
        'त' => "t",
        'थ' => "th",
        'द' => "d",
        'ध' => "dh",
        'न' | 'ऩ' => "n",
        'प' => "p",
        'फ' => "ph",
        'ब' => "b",
        'भ' => "bh",
        'म' => "m",
        'य' | '\u{095F}' | 'ॺ' => "y",
        'र' | 'ऱ' => "r",
        'ल' | 'ळ' | 'ऴ' => "l",
        'व' => "v",
        'श' | 'ष' => "sh",
        'स' => "s",
        'ह' => "h",
        // Precomposed nukta letters (decomposition removes them, but be safe).
        '\u{0958}' => "q",
        '\u{0959}' => "kh",
        '\u{095A}' => "g",
        '\u{095B}' => "z",
        '\u{095C}' => "r",
        '\u{095D}' => "rh",
        '\u{095E}' => "f",
        // Sindhi implosives and the like.
        'ॻ' => "g",
        'ॼ' | 'ॹ' => "j",
        'ॾ' => "d",
        'ॿ' => "b",
        _ => return None,
    })
}

/// The Latin spelling of a consonant followed by a nukta.
fn with_nukta(base: char, plain: &'static str) -> &'static str {
    match base {
        'क' => "q",
        'ख' => "kh",
        'ग' => "g",
        'ज' => "z",
        'ड' => "r",
        'ढ' => "rh",
        'फ' => "f",
        _ => plain,
    }
}

fn independent_vowel(c: char) -> Option<&'static str> {
    Some(match c {
        'ऄ' | 'अ' | 'ॲ' => "a",
        'आ' => "aa",
        'इ' => "i",
        'ई' => "ii",
        'उ' => "u",
        'ऊ' => "uu",
        'ऋ' | 'ॠ' => "ri",
        'ऌ' | 'ॡ' => "li",
        'ऍ' | 'ऎ' | 'ए' => "e",
        'ऐ' => "ai",
        'ऑ' | 'ऒ' | 'ओ' => "o",
        'औ' => "au",
        'ॐ' => "om",
        _ => return None,
    })
}

fn matra(c: char) -> Option<&'static str> {
    Some(match c {
        'ा' => "aa",
        'ि' => "i",
        'ी' => "ii",
        'ु' | 'ॖ' | 'ॗ' | 'ऻ' => "u",
        'ू' => "uu",
        'ृ' | 'ॄ' => "ri",
        'ॢ' | 'ॣ' => "li",
        'ॅ' | 'ॆ' | 'े' | 'ॎ' | 'ॕ' | 'ऺ' => "e",
        'ै' => "ai",
        'ॉ' | 'ॊ' | 'ो' => "o",
        'ौ' | 'ॏ' => "au",
        _ => return None,
    })
}

const VIRAMA: char = '\u{094D}';
const NUKTA: char = '\u{093C}';

/// Lower-cased Latin for a raw word, transliterating any Devanagari in it.
fn to_latin(raw: &str) -> String {
    let mut toks: Vec<Tok> = Vec::new();
    // A consonant was just pushed and has not yet received its vowel.
    let mut pending = false;
    for c in raw.chars() {
        if c == NUKTA {
            if let Some(Tok::C(base, plain)) = toks.last().copied() {
                *toks.last_mut().unwrap() = Tok::C(base, with_nukta(base, plain));
            }
            continue;
        }
        if c == VIRAMA {
            pending = false;
            continue;
        }
        if let Some(v) = matra(c) {
            pending = false;
            toks.push(Tok::V(v));
            continue;
        }
        if pending {
            toks.push(Tok::A);
            pending = false;
        }
        if let Some(s) = consonant(c) {
            // ज्ञ is read "gy" in Hindi (ज्ञान Gyan, प्रज्ञा Pragya).
            if c == 'ञ' && matches!(toks.last(), Some(Tok::C('ज', _))) {
                toks.pop();
                toks.push(Tok::C('ञ', "gy"));
            } else {
                toks.push(Tok::C(c, s));
            }
            pending = true;
        } else if let Some(v) = independent_vowel(c) {
            toks.push(Tok::V(v));
        } else if matches!(c, '\u{0900}' | 'ँ' | 'ं') {
            toks.push(Tok::N);
        } else if is_devanagari(c) {
            // visarga, avagraha, accents, signs: nothing
        } else {
            for l in c.to_lowercase() {
                match l {
                    'æ' => toks.extend([Tok::X('a'), Tok::X('e')]),
                    'œ' => toks.extend([Tok::X('o'), Tok::X('e')]),
                    'ß' => toks.extend([Tok::X('s'), Tok::X('s')]),
                    'ø' => toks.push(Tok::X('o')),
                    'đ' | 'ð' => toks.push(Tok::X('d')),
                    'ł' => toks.push(Tok::X('l')),
                    'ı' => toks.push(Tok::X('i')),
                    'þ' => toks.extend([Tok::X('t'), Tok::X('h')]),
                    _ if is_latin_mark(l) => {}
                    _ => toks.push(Tok::X(l)),
                }
            }
        }
    }
    if pending {
        toks.push(Tok::A);
    }
    schwa_deletion(&mut toks);
    let n = toks.len();
    // A final anusvara + ह is "ngh" (सिंह Singh, नरसिंह Narsingh).
    if n >= 2 && toks[n - 2] == Tok::N && matches!(toks[n - 1], Tok::C('ह', _)) {
        toks[n - 1] = Tok::C('ह', "gh");
    }
    let mut out = String::new();
    for (i, t) in toks.iter().enumerate() {
        match *t {
            Tok::C(_, s) | Tok::V(s) => out.push_str(s),
            Tok::A => out.push('a'),
            Tok::X(c) => out.push(c),
            Tok::N => {
                let labial = matches!(
                    toks.get(i + 1),
                    Some(Tok::C('प' | 'फ' | 'ब' | 'भ' | 'म', _))
                );
                out.push(if labial { 'm' } else { 'n' });
            }
        }
    }
    out
}

fn is_vowel_tok(t: Option<&Tok>) -> bool {
    matches!(t, Some(Tok::V(_) | Tok::A))
}

/// Hindi schwa deletion: the inherent "a" goes at the end of a word unless its consonant closes a
/// conjunct, and in the middle of a word between a vowel + consonant and a consonant + vowel
/// (scanning from the right, so a deletion protects the schwa before it).
fn schwa_deletion(toks: &mut Vec<Tok>) {
    let n = toks.len();
    if n >= 2
        && toks[n - 1] == Tok::A
        && matches!(toks[n - 2], Tok::C(..))
        && !(n >= 3 && matches!(toks[n - 3], Tok::C(..)))
    {
        toks.pop();
    }
    let mut i = toks.len();
    while i > 0 {
        i -= 1;
        if toks[i] != Tok::A || i < 2 {
            continue;
        }
        let deletable = matches!(toks[i - 1], Tok::C(..))
            && is_vowel_tok(toks.get(i - 2))
            && matches!(toks.get(i + 1), Some(Tok::C(..)))
            && is_vowel_tok(toks.get(i + 2));
        if deletable {
            toks.remove(i);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Spelling folds and the skeleton

fn is_vowel(c: char) -> bool {
    matches!(c, 'a' | 'e' | 'i' | 'o' | 'u')
}

fn is_consonant(c: char) -> bool {
    c.is_alphabetic() && !is_vowel(c) && c != 'y'
}

fn merge_doubles(v: &mut Vec<char>) {
    v.dedup();
}

fn fold(s: &str) -> Vec<char> {
    let src: Vec<char> = s.chars().collect();
    let at = |i: usize| src.get(i).copied();

    // Letters and digraphs.
    let mut v: Vec<char> = Vec::with_capacity(src.len() + 4);
    let mut i = 0;
    while i < src.len() {
        let c = src[i];
        let next = at(i + 1);
        match c {
            'x' => v.extend(['k', 's']),
            'q' => v.push('k'),
            'z' => v.push('j'),
            'p' if next == Some('h') => {
                v.push('f');
                i += 1;
            }
            'c' => {
                let ch = next == Some('h') || (next == Some('c') && at(i + 2) == Some('h'));
                v.push(if ch {
                    'c'
                } else if matches!(next, Some('e' | 'i' | 'y')) {
                    's'
                } else {
                    'k'
                });
            }
            'o' if next == Some('w') && !at(i + 2).is_some_and(is_vowel) => {
                v.extend(['a', 'u']);
                i += 1;
            }
            'w' => v.push('v'),
            'e' if next == Some('e') => {
                v.push('i');
                i += 1;
            }
            'o' if next == Some('o') => {
                v.push('u');
                i += 1;
            }
            _ => v.push(c),
        }
        i += 1;
    }

    // h: dropped after a consonant (aspiration, sh, ch) and at the end after a vowel.
    let mut w: Vec<char> = Vec::with_capacity(v.len());
    for (i, &c) in v.iter().enumerate() {
        if c == 'h' {
            match w.last() {
                Some(&p) if !is_vowel(p) => continue,
                Some(_) if i + 1 == v.len() => continue,
                _ => {}
            }
        }
        w.push(c);
    }
    merge_doubles(&mut w);

    // Word endings.
    let n = w.len();
    if n >= 2 && w[n - 2..] == ['e', 'y'] {
        w.pop();
    } else if n >= 2 && w[n - 2..] == ['a', 'o'] {
        w[n - 1] = 'v';
    } else if n >= 2 && w[n - 1] == 'y' && is_consonant(w[n - 2]) {
        w[n - 1] = 'i';
    }

    // ai → ay; i + vowel → i y vowel; b → v.
    let mut out: Vec<char> = Vec::with_capacity(w.len() + 4);
    for (i, &c) in w.iter().enumerate() {
        match c {
            'i' if out.last() == Some(&'a') => out.push('y'),
            'b' => out.push('v'),
            _ => out.push(c),
        }
        if c == 'i' && out.last() == Some(&'i') && w.get(i + 1).is_some_and(|&n| is_vowel(n)) {
            out.push('y');
        }
    }
    merge_doubles(&mut out);
    out
}

/// First letter, then everything but the vowels.
fn skeleton(w: &[char]) -> String {
    let mut it = w.iter();
    let mut out = String::new();
    if let Some(&first) = it.next() {
        out.push(first);
    }
    out.extend(it.filter(|c| !is_vowel(**c)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (kind, Latin, Devanagari): the same name in both scripts, written the way people
    /// commonly write it. Kind: M / F = male / female first name, L = surname, N = full name.
    /// Several Latin spellings of one name (Pooja / Puja) and several Devanagari spellings
    /// (शैलेंद्र / शैलेन्द्र) appear as separate pairs.
    const PAIRS: &[(&str, &str, &str)] = &[
        // Male first names
        ("M", "Ram", "राम"),
        ("M", "Shyam", "श्याम"),
        ("M", "Syam", "श्याम"),
        ("M", "Mohan", "मोहन"),
        ("M", "Sohan", "सोहन"),
        ("M", "Rakesh", "राकेश"),
        ("M", "Suresh", "सुरेश"),
        ("M", "Ramesh", "रमेश"),
        ("M", "Mahesh", "महेश"),
        ("M", "Dinesh", "दिनेश"),
        ("M", "Ganesh", "गणेश"),
        ("M", "Umesh", "उमेश"),
        ("M", "Naresh", "नरेश"),
        ("M", "Rajesh", "राजेश"),
        ("M", "Mukesh", "मुकेश"),
        ("M", "Brijesh", "बृजेश"),
        ("M", "Yogesh", "योगेश"),
        ("M", "Kamlesh", "कमलेश"),
        ("M", "Akhilesh", "अखिलेश"),
        ("M", "Awadhesh", "अवधेश"),
        ("M", "Shailendra", "शैलेंद्र"),
        ("M", "Shailender", "शैलेन्द्र"),
        ("M", "Surendra", "सुरेन्द्र"),
        ("M", "Narendra", "नरेन्द्र"),
        ("M", "Dharmendra", "धर्मेन्द्र"),
        ("M", "Jitendra", "जितेंद्र"),
        ("M", "Rajendra", "राजेन्द्र"),
        ("M", "Virendra", "वीरेन्द्र"),
        ("M", "Devendra", "देवेंद्र"),
        ("M", "Mahendra", "महेंद्र"),
        ("M", "Gyanendra", "ज्ञानेन्द्र"),
        ("M", "Raghvendra", "राघवेंद्र"),
        ("M", "Pushpendra", "पुष्पेंद्र"),
        ("M", "Ravindra", "रवींद्र"),
        ("M", "Bhupendra", "भूपेंद्र"),
        ("M", "Vijay", "विजय"),
        ("M", "Bijay", "विजय"),
        ("M", "Ajay", "अजय"),
        ("M", "Sanjay", "संजय"),
        ("M", "Abhay", "अभय"),
        ("M", "Uday", "उदय"),
        ("M", "Vinay", "विनय"),
        ("M", "Anil", "अनिल"),
        ("M", "Sunil", "सुनील"),
        ("M", "Kapil", "कपिल"),
        ("M", "Amit", "अमित"),
        ("M", "Sumit", "सुमित"),
        ("M", "Rohit", "रोहित"),
        ("M", "Mohit", "मोहित"),
        ("M", "Ankit", "अंकित"),
        ("M", "Arun", "अरुण"),
        ("M", "Varun", "वरुण"),
        ("M", "Tarun", "तरुण"),
        ("M", "Ashok", "अशोक"),
        ("M", "Alok", "आलोक"),
        ("M", "Vinod", "विनोद"),
        ("M", "Binod", "विनोद"),
        ("M", "Pramod", "प्रमोद"),
        ("M", "Manoj", "मनोज"),
        ("M", "Anand", "आनंद"),
        ("M", "Arvind", "अरविंद"),
        ("M", "Govind", "गोविंद"),
        ("M", "Prakash", "प्रकाश"),
        ("M", "Akash", "आकाश"),
        ("M", "Vikas", "विकास"),
        ("M", "Subhash", "सुभाष"),
        ("M", "Santosh", "संतोष"),
        ("M", "Ashutosh", "आशुतोष"),
        ("M", "Rajiv", "राजीव"),
        ("M", "Sanjeev", "संजीव"),
        ("M", "Deepak", "दीपक"),
        ("M", "Pankaj", "पंकज"),
        ("M", "Neeraj", "नीरज"),
        ("M", "Dheeraj", "धीरज"),
        ("M", "Suraj", "सूरज"),
        ("M", "Manish", "मनीष"),
        ("M", "Ashish", "आशीष"),
        ("M", "Harish", "हरीश"),
        ("M", "Satish", "सतीश"),
        ("M", "Krishna", "कृष्ण"),
        ("M", "Gopal", "गोपाल"),
        ("M", "Shiv", "शिव"),
        ("M", "Hari", "हरि"),
        ("M", "Ravi", "रवि"),
        ("M", "Rahul", "राहुल"),
        ("M", "Vishal", "विशाल"),
        ("M", "Kunal", "कुणाल"),
        ("M", "Nikhil", "निखिल"),
        ("M", "Sachin", "सचिन"),
        ("M", "Nitin", "नितिन"),
        ("M", "Pawan", "पवन"),
        ("M", "Gaurav", "गौरव"),
        ("M", "Saurabh", "सौरभ"),
        ("M", "Abhishek", "अभिषेक"),
        ("M", "Vivek", "विवेक"),
        ("M", "Vikram", "विक्रम"),
        ("M", "Pradeep", "प्रदीप"),
        ("M", "Sandeep", "संदीप"),
        ("M", "Kuldeep", "कुलदीप"),
        ("M", "Dilip", "दिलीप"),
        ("M", "Anoop", "अनूप"),
        ("M", "Shivam", "शिवम"),
        ("M", "Satyam", "सत्यम"),
        ("M", "Sundar", "सुंदर"),
        ("M", "Shankar", "शंकर"),
        ("M", "Bhaskar", "भास्कर"),
        ("M", "Diwakar", "दिवाकर"),
        ("M", "Prabhakar", "प्रभाकर"),
        ("M", "Jagdish", "जगदीश"),
        ("M", "Lakshman", "लक्ष्मण"),
        ("M", "Laxman", "लक्ष्मण"),
        ("M", "Bharat", "भरत"),
        ("M", "Shatrughan", "शत्रुघ्न"),
        ("M", "Baldev", "बलदेव"),
        ("M", "Kamal", "कमल"),
        ("M", "Vimal", "विमल"),
        ("M", "Bimal", "विमल"),
        ("M", "Nirmal", "निर्मल"),
        ("M", "Munna", "मुन्ना"),
        ("M", "Pappu", "पप्पू"),
        ("M", "Rajkumar", "राजकुमार"),
        ("M", "Omprakash", "ओमप्रकाश"),
        ("M", "Kishore", "किशोर"),
        ("M", "Keshav", "केशव"),
        ("M", "Madhav", "माधव"),
        ("M", "Raghav", "राघव"),
        ("M", "Yash", "यश"),
        ("M", "Ayush", "आयुष"),
        ("M", "Piyush", "पीयूष"),
        ("M", "Anuj", "अनुज"),
        ("M", "Ankur", "अंकुर"),
        ("M", "Amar", "अमर"),
        ("M", "Jagannath", "जगन्नाथ"),
        ("M", "Vishwanath", "विश्वनाथ"),
        ("M", "Bholanath", "भोलानाथ"),
        ("M", "Ramchandra", "रामचंद्र"),
        ("M", "Hemant", "हेमंत"),
        ("M", "Vasant", "वसंत"),
        ("M", "Basant", "बसंत"),
        ("M", "Prashant", "प्रशांत"),
        ("M", "Nishant", "निशांत"),
        ("M", "Shashank", "शशांक"),
        ("M", "Mayank", "मयंक"),
        ("M", "Himanshu", "हिमांशु"),
        ("M", "Sudhanshu", "सुधांशु"),
        ("M", "Aditya", "आदित्य"),
        ("M", "Surya", "सूर्य"),
        ("M", "Kshitij", "क्षितिज"),
        ("M", "Rishi", "ऋषि"),
        ("M", "Amrit", "अमृत"),
        ("M", "Kartik", "कार्तिक"),
        ("M", "Karan", "करण"),
        ("M", "Arjun", "अर्जुन"),
        ("M", "Balram", "बलराम"),
        ("M", "Sitaram", "सीताराम"),
        ("M", "Ghanshyam", "घनश्याम"),
        ("M", "Radheshyam", "राधेश्याम"),
        ("M", "Kailash", "कैलाश"),
        ("M", "Avinash", "अविनाश"),
        ("M", "Pranav", "प्रणव"),
        ("M", "Ujjwal", "उज्ज्वल"),
        ("M", "Dharampal", "धर्मपाल"),
        ("M", "Ishwar", "ईश्वर"),
        ("M", "Ranjeet", "रणजीत"),
        ("M", "Abhijeet", "अभिजीत"),
        ("M", "Indrajeet", "इंद्रजीत"),
        ("M", "Sarvesh", "सर्वेश"),
        ("M", "Rupesh", "रूपेश"),
        ("M", "Harsh", "हर्ष"),
        ("M", "Ritesh", "रितेश"),
        ("M", "Raju", "राजू"),
        ("M", "Lallan", "लल्लन"),
        ("M", "Phoolchand", "फूलचंद"),
        ("M", "Bhagwan", "भगवान"),
        ("M", "Chhotelal", "छोटेलाल"),
        ("M", "Shambhu", "शंभू"),
        ("M", "Sampat", "संपत"),
        ("M", "Gyan", "ज्ञान"),
        ("M", "Mohammad", "मोहम्मद"),
        ("M", "Mohammed", "मोहम्मद"),
        ("M", "Muhammad", "मुहम्मद"),
        ("M", "Mohd", "मोहम्मद"),
        ("M", "Md.", "मो."),
        ("M", "Abdul", "अब्दुल"),
        ("M", "Irfan", "इरफ़ान"),
        ("M", "Irfan", "इरफान"),
        ("M", "Imran", "इमरान"),
        ("M", "Salman", "सलमान"),
        ("M", "Arif", "आरिफ़"),
        ("M", "Asif", "आसिफ"),
        ("M", "Aslam", "असलम"),
        ("M", "Akram", "अकरम"),
        ("M", "Anwar", "अनवर"),
        ("M", "Javed", "जावेद"),
        ("M", "Zaheer", "ज़हीर"),
        ("M", "Nasir", "नासिर"),
        ("M", "Sabir", "साबिर"),
        ("M", "Wasim", "वसीम"),
        ("M", "Waseem", "वसीम"),
        ("M", "Naeem", "नईम"),
        ("M", "Saeed", "सईद"),
        ("M", "Rashid", "राशिद"),
        ("M", "Khalid", "ख़ालिद"),
        ("M", "Sajid", "साजिद"),
        ("M", "Shahid", "शाहिद"),
        ("M", "Farooq", "फ़ारूक़"),
        ("M", "Iqbal", "इक़बाल"),
        ("M", "Yusuf", "यूसुफ़"),
        ("M", "Yunus", "यूनुस"),
        ("M", "Idris", "इदरीस"),
        ("M", "Ismail", "इस्माइल"),
        ("M", "Ibrahim", "इब्राहीम"),
        ("M", "Jamal", "जमाल"),
        ("M", "Shakeel", "शकील"),
        ("M", "Aqeel", "अक़ील"),
        ("M", "Jameel", "जमील"),
        ("M", "Nadeem", "नदीम"),
        ("M", "Faizan", "फ़ैज़ान"),
        ("M", "Rizwan", "रिज़वान"),
        ("M", "Sarfaraz", "सरफ़राज़"),
        ("M", "Mustafa", "मुस्तफ़ा"),
        ("M", "Ahmad", "अहमद"),
        ("M", "Ahmed", "अहमद"),
        ("M", "Mehmood", "महमूद"),
        ("M", "Mahmood", "महमूद"),
        ("M", "Hasan", "हसन"),
        ("M", "Hussain", "हुसैन"),
        ("M", "Husain", "हुसैन"),
        ("M", "Haider", "हैदर"),
        ("M", "Hyder", "हैदर"),
        ("M", "Ali", "अली"),
        ("M", "Raza", "रज़ा"),
        ("M", "Abbas", "अब्बास"),
        ("M", "Zafar", "ज़फ़र"),
        ("M", "Azhar", "अज़हर"),
        ("M", "Rafiq", "रफ़ीक़"),
        ("M", "Tariq", "तारिक़"),
        ("M", "Faisal", "फ़ैसल"),
        ("M", "Danish", "दानिश"),
        ("M", "Sohail", "सोहैल"),
        ("M", "Sohel", "सोहेल"),
        ("M", "Wajid", "वाजिद"),
        ("M", "Qasim", "क़ासिम"),
        ("M", "Nawaz", "नवाज़"),
        ("M", "Ghulam", "ग़ुलाम"),
        ("M", "Gulam", "गुलाम"),
        ("M", "Nizam", "निज़ाम"),
        ("M", "Azam", "आज़म"),
        ("M", "Usman", "उस्मान"),
        ("M", "Umar", "उमर"),
        ("M", "Saleem", "सलीम"),
        ("M", "Salim", "सलीम"),
        ("M", "Kareem", "करीम"),
        ("M", "Rahim", "रहीम"),
        ("M", "Ayub", "अय्यूब"),
        ("M", "Sadiq", "सादिक़"),
        ("M", "Rahman", "रहमान"),
        ("M", "Rehman", "रहमान"),
        ("M", "Abdullah", "अब्दुल्लाह"),
        // Female first names
        ("F", "Sita", "सीता"),
        ("F", "Seeta", "सीता"),
        ("F", "Gita", "गीता"),
        ("F", "Geeta", "गीता"),
        ("F", "Rekha", "रेखा"),
        ("F", "Sunita", "सुनीता"),
        ("F", "Anita", "अनीता"),
        ("F", "Savita", "सविता"),
        ("F", "Kavita", "कविता"),
        ("F", "Babita", "बबीता"),
        ("F", "Lalita", "ललिता"),
        ("F", "Mamta", "ममता"),
        ("F", "Neha", "नेहा"),
        ("F", "Pooja", "पूजा"),
        ("F", "Puja", "पूजा"),
        ("F", "Priya", "प्रिया"),
        ("F", "Riya", "रिया"),
        ("F", "Kiran", "किरण"),
        ("F", "Anjali", "अंजलि"),
        ("F", "Sonia", "सोनिया"),
        ("F", "Manju", "मंजू"),
        ("F", "Anju", "अंजू"),
        ("F", "Usha", "उषा"),
        ("F", "Asha", "आशा"),
        ("F", "Nisha", "निशा"),
        ("F", "Lakshmi", "लक्ष्मी"),
        ("F", "Laxmi", "लक्ष्मी"),
        ("F", "Radha", "राधा"),
        ("F", "Meera", "मीरा"),
        ("F", "Seema", "सीमा"),
        ("F", "Reema", "रीमा"),
        ("F", "Renu", "रेनू"),
        ("F", "Shanti", "शांति"),
        ("F", "Preeti", "प्रीति"),
        ("F", "Jyoti", "ज्योति"),
        ("F", "Shalini", "शालिनी"),
        ("F", "Kamini", "कामिनी"),
        ("F", "Rashmi", "रश्मि"),
        ("F", "Sushma", "सुषमा"),
        ("F", "Pushpa", "पुष्पा"),
        ("F", "Urmila", "उर्मिला"),
        ("F", "Sharmila", "शर्मिला"),
        ("F", "Nirmala", "निर्मला"),
        ("F", "Kamla", "कमला"),
        ("F", "Vimla", "विमला"),
        ("F", "Sarla", "सरला"),
        ("F", "Sarita", "सरिता"),
        ("F", "Kalpana", "कल्पना"),
        ("F", "Archana", "अर्चना"),
        ("F", "Vandana", "वंदना"),
        ("F", "Rachna", "रचना"),
        ("F", "Sadhna", "साधना"),
        ("F", "Shobha", "शोभा"),
        ("F", "Prabha", "प्रभा"),
        ("F", "Shweta", "श्वेता"),
        ("F", "Sweta", "श्वेता"),
        ("F", "Swati", "स्वाति"),
        ("F", "Smita", "स्मिता"),
        ("F", "Sneha", "स्नेहा"),
        ("F", "Shilpa", "शिल्पा"),
        ("F", "Deepika", "दीपिका"),
        ("F", "Radhika", "राधिका"),
        ("F", "Monika", "मोनिका"),
        ("F", "Priyanka", "प्रियंका"),
        ("F", "Sangeeta", "संगीता"),
        ("F", "Sushila", "सुशीला"),
        ("F", "Sheela", "शीला"),
        ("F", "Kusum", "कुसुम"),
        ("F", "Suman", "सुमन"),
        ("F", "Poonam", "पूनम"),
        ("F", "Nandini", "नंदिनी"),
        ("F", "Kaushalya", "कौशल्या"),
        ("F", "Saraswati", "सरस्वती"),
        ("F", "Parvati", "पार्वती"),
        ("F", "Durga", "दुर्गा"),
        ("F", "Ganga", "गंगा"),
        ("F", "Mala", "माला"),
        ("F", "Pinki", "पिंकी"),
        ("F", "Khushboo", "ख़ुशबू"),
        ("F", "Shabnam", "शबनम"),
        ("F", "Nargis", "नरगिस"),
        ("F", "Fatima", "फ़ातिमा"),
        ("F", "Fatima", "फातिमा"),
        ("F", "Ayesha", "आयशा"),
        ("F", "Aisha", "आयशा"),
        ("F", "Zainab", "ज़ैनब"),
        ("F", "Rukhsana", "रुख़साना"),
        ("F", "Nazia", "नाज़िया"),
        ("F", "Shaheen", "शाहीन"),
        ("F", "Rubina", "रूबीना"),
        ("F", "Farzana", "फ़रज़ाना"),
        ("F", "Reshma", "रेशमा"),
        ("F", "Salma", "सलमा"),
        ("F", "Shabana", "शबाना"),
        ("F", "Rehana", "रेहाना"),
        ("F", "Tabassum", "तबस्सुम"),
        ("F", "Parveen", "परवीन"),
        ("F", "Nasreen", "नसरीन"),
        ("F", "Yasmin", "यास्मीन"),
        ("F", "Noor", "नूर"),
        ("F", "Mumtaz", "मुमताज़"),
        ("F", "Shamim", "शमीम"),
        ("F", "Aishwarya", "ऐश्वर्या"),
        ("F", "Ekta", "एकता"),
        ("F", "Isha", "ईशा"),
        ("F", "Indu", "इंदु"),
        ("F", "Uma", "उमा"),
        ("F", "Aarti", "आरती"),
        ("F", "Arti", "आरती"),
        ("F", "Bharti", "भारती"),
        ("F", "Vaishali", "वैशाली"),
        ("F", "Pallavi", "पल्लवी"),
        ("F", "Madhuri", "माधुरी"),
        ("F", "Madhu", "मधु"),
        ("F", "Shraddha", "श्रद्धा"),
        ("F", "Pragya", "प्रज्ञा"),
        ("F", "Vidya", "विद्या"),
        ("F", "Divya", "दिव्या"),
        ("F", "Meenakshi", "मीनाक्षी"),
        ("F", "Chhaya", "छाया"),
        ("F", "Maya", "माया"),
        ("F", "Jaya", "जया"),
        ("F", "Sudha", "सुधा"),
        ("F", "Anuradha", "अनुराधा"),
        ("F", "Rani", "रानी"),
        ("F", "Shakuntala", "शकुंतला"),
        ("F", "Savitri", "सावित्री"),
        ("F", "Chanda", "चंदा"),
        ("F", "Chandni", "चांदनी"),
        ("F", "Hema", "हेमा"),
        ("F", "Gudiya", "गुड़िया"),
        ("F", "Sapna", "सपना"),
        ("F", "Komal", "कोमल"),
        ("F", "Jyotsna", "ज्योत्स्ना"),
        ("F", "Kajal", "काजल"),
        ("F", "Payal", "पायल"),
        ("F", "Sonam", "सोनम"),
        ("F", "Ritu", "ऋतु"),
        ("F", "Neetu", "नीतू"),
        ("F", "Nitu", "नीतू"),
        ("F", "Rinku", "रिंकू"),
        ("F", "Babli", "बबली"),
        ("F", "Rajni", "रजनी"),
        ("F", "Veena", "वीणा"),
        ("F", "Meena", "मीना"),
        ("F", "Leela", "लीला"),
        ("F", "Shivani", "शिवानी"),
        ("F", "Khushi", "ख़ुशी"),
        ("F", "Tanya", "तान्या"),
        ("F", "Sakshi", "साक्षी"),
        ("F", "Muskan", "मुस्कान"),
        ("F", "Sana", "सना"),
        ("F", "Heena", "हिना"),
        ("F", "Hina", "हिना"),
        ("F", "Nazma", "नज़मा"),
        ("F", "Afsana", "अफ़साना"),
        ("F", "Roshni", "रोशनी"),
        // Surnames
        ("L", "Sharma", "शर्मा"),
        ("L", "Verma", "वर्मा"),
        ("L", "Varma", "वर्मा"),
        ("L", "Gupta", "गुप्ता"),
        ("L", "Mishra", "मिश्रा"),
        ("L", "Misra", "मिश्रा"),
        ("L", "Mishra", "मिश्र"),
        ("L", "Tripathi", "त्रिपाठी"),
        ("L", "Tiwari", "तिवारी"),
        ("L", "Tewari", "तिवारी"),
        ("L", "Pandey", "पाण्डेय"),
        ("L", "Pandey", "पांडेय"),
        ("L", "Pande", "पांडे"),
        ("L", "Dubey", "दुबे"),
        ("L", "Dwivedi", "द्विवेदी"),
        ("L", "Trivedi", "त्रिवेदी"),
        ("L", "Chaturvedi", "चतुर्वेदी"),
        ("L", "Shukla", "शुक्ला"),
        ("L", "Shukla", "शुक्ल"),
        ("L", "Bajpai", "बाजपेयी"),
        ("L", "Vajpayee", "वाजपेयी"),
        ("L", "Awasthi", "अवस्थी"),
        ("L", "Dixit", "दीक्षित"),
        ("L", "Dikshit", "दीक्षित"),
        ("L", "Upadhyay", "उपाध्याय"),
        ("L", "Srivastava", "श्रीवास्तव"),
        ("L", "Shrivastav", "श्रीवास्तव"),
        ("L", "Saxena", "सक्सेना"),
        ("L", "Nigam", "निगम"),
        ("L", "Mathur", "माथुर"),
        ("L", "Agarwal", "अग्रवाल"),
        ("L", "Agrawal", "अग्रवाल"),
        ("L", "Agarwal", "अगरवाल"),
        ("L", "Jain", "जैन"),
        ("L", "Goyal", "गोयल"),
        ("L", "Goel", "गोयल"),
        ("L", "Bansal", "बंसल"),
        ("L", "Mittal", "मित्तल"),
        ("L", "Garg", "गर्ग"),
        ("L", "Yadav", "यादव"),
        ("L", "Kushwaha", "कुशवाहा"),
        ("L", "Maurya", "मौर्य"),
        ("L", "Patel", "पटेल"),
        ("L", "Nishad", "निषाद"),
        ("L", "Kashyap", "कश्यप"),
        ("L", "Prajapati", "प्रजापति"),
        ("L", "Chauhan", "चौहान"),
        ("L", "Rathore", "राठौर"),
        ("L", "Thakur", "ठाकुर"),
        ("L", "Tomar", "तोमर"),
        ("L", "Rajput", "राजपूत"),
        ("L", "Pal", "पाल"),
        ("L", "Baghel", "बघेल"),
        ("L", "Gautam", "गौतम"),
        ("L", "Jatav", "जाटव"),
        ("L", "Valmiki", "वाल्मीकि"),
        ("L", "Kumar", "कुमार"),
        ("L", "Singh", "सिंह"),
        ("L", "Chaudhary", "चौधरी"),
        ("L", "Choudhary", "चौधरी"),
        ("L", "Chaudhari", "चौधरी"),
        ("L", "Chowdhury", "चौधरी"),
        ("L", "Sinha", "सिन्हा"),
        ("L", "Prasad", "प्रसाद"),
        ("L", "Lal", "लाल"),
        ("L", "Das", "दास"),
        ("L", "Khan", "ख़ान"),
        ("L", "Khan", "खान"),
        ("L", "Ansari", "अंसारी"),
        ("L", "Qureshi", "क़ुरैशी"),
        ("L", "Siddiqui", "सिद्दीक़ी"),
        ("L", "Shaikh", "शेख़"),
        ("L", "Sheikh", "शेख"),
        ("L", "Syed", "सैयद"),
        ("L", "Naqvi", "नक़वी"),
        ("L", "Rizvi", "रिज़वी"),
        ("L", "Zaidi", "ज़ैदी"),
        ("L", "Abbasi", "अब्बासी"),
        ("L", "Farooqui", "फ़ारूक़ी"),
        ("L", "Usmani", "उस्मानी"),
        ("L", "Malik", "मलिक"),
        ("L", "Mirza", "मिर्ज़ा"),
        ("L", "Pathan", "पठान"),
        ("L", "Beg", "बेग"),
        ("L", "Bano", "बानो"),
        ("L", "Khatoon", "ख़ातून"),
        ("L", "Begum", "बेगम"),
        ("L", "Devi", "देवी"),
        ("L", "Kumari", "कुमारी"),
        ("L", "Rawat", "रावत"),
        ("L", "Negi", "नेगी"),
        ("L", "Bisht", "बिष्ट"),
        ("L", "Joshi", "जोशी"),
        ("L", "Pant", "पंत"),
        ("L", "Bhatt", "भट्ट"),
        ("L", "Bhat", "भट"),
        ("L", "Jha", "झा"),
        ("L", "Pathak", "पाठक"),
        ("L", "Ojha", "ओझा"),
        ("L", "Rai", "राय"),
        ("L", "Roy", "रॉय"),
        ("L", "Sahu", "साहू"),
        ("L", "Kewat", "केवट"),
        ("L", "Mallah", "मल्लाह"),
        ("L", "Bind", "बिंद"),
        ("L", "Rajbhar", "राजभर"),
        ("L", "Chaurasia", "चौरसिया"),
        ("L", "Bhatia", "भाटिया"),
        ("L", "Kapoor", "कपूर"),
        ("L", "Khanna", "खन्ना"),
        ("L", "Malhotra", "मल्होत्रा"),
        ("L", "Mehta", "मेहता"),
        ("L", "Arora", "अरोड़ा"),
        ("L", "Ahuja", "आहूजा"),
        ("L", "Sethi", "सेठी"),
        ("L", "Chawla", "चावला"),
        ("L", "Banerjee", "बनर्जी"),
        ("L", "Mukherjee", "मुखर्जी"),
        ("L", "Chatterjee", "चटर्जी"),
        ("L", "Ghosh", "घोष"),
        ("L", "Bose", "बोस"),
        ("L", "Sen", "सेन"),
        ("L", "Dutta", "दत्ता"),
        ("L", "Chakraborty", "चक्रवर्ती"),
        ("L", "Reddy", "रेड्डी"),
        ("L", "Nair", "नायर"),
        ("L", "Menon", "मेनन"),
        ("L", "Rao", "राव"),
        ("L", "Iyer", "अय्यर"),
        ("L", "Pillai", "पिल्लई"),
        ("L", "Patil", "पाटिल"),
        ("L", "Pawar", "पवार"),
        ("L", "Jadhav", "जाधव"),
        ("L", "Deshmukh", "देशमुख"),
        ("L", "Kulkarni", "कुलकर्णी"),
        ("L", "Shinde", "शिंदे"),
        ("L", "Gaikwad", "गायकवाड"),
        ("L", "Kamble", "कांबळे"),
        ("L", "Bhosale", "भोसले"),
        ("L", "Solanki", "सोलंकी"),
        ("L", "Vishwakarma", "विश्वकर्मा"),
        ("L", "Sonkar", "सोनकर"),
        ("L", "Kanaujia", "कनौजिया"),
        ("L", "Paswan", "पासवान"),
        ("L", "Manjhi", "मांझी"),
        ("L", "Ahirwar", "अहिरवार"),
        ("L", "Jaiswal", "जायसवाल"),
        ("L", "Jaiswal", "जैसवाल"),
        ("L", "Rastogi", "रस्तोगी"),
        ("L", "Bhardwaj", "भारद्वाज"),
        ("L", "Ahluwalia", "अहलूवालिया"),
        ("L", "Saini", "सैनी"),
        ("L", "Lodhi", "लोधी"),
        ("L", "Kurmi", "कुर्मी"),
        ("L", "Tyagi", "त्यागी"),
        ("L", "Kumhar", "कुम्हार"),
        // Full names
        ("N", "Ram Prakash Nishad", "राम प्रकाश निषाद"),
        ("N", "Sunita Devi", "सुनीता देवी"),
        ("N", "Mohd Irfan Khan", "मोहम्मद इरफ़ान ख़ान"),
        ("N", "Akhilesh Yadav", "अखिलेश यादव"),
        ("N", "Abdul Rahman", "अब्दुल रहमान"),
        ("N", "Shailender Singh", "शैलेन्द्र सिंह"),
        ("N", "Pooja Kumari", "पूजा कुमारी"),
        ("N", "Fatima Bano", "फातिमा बानो"),
        ("N", "Om Prakash Verma", "ओम प्रकाश वर्मा"),
        ("N", "Radhey Shyam Gupta", "राधेश्याम गुप्ता"),
        ("N", "Ram Naresh Yadav", "रामनरेश यादव"),
        ("N", "Md. Salim Ansari", "मो. सलीम अंसारी"),
        ("N", "Laxmi Devi", "लक्ष्मी देवी"),
        ("N", "Vijay Kumar Chaudhary", "विजय कुमार चौधरी"),
        ("N", "Rajesh Kumar Srivastava", "राजेश कुमार श्रीवास्तव"),
        ("N", "Suman Lata", "सुमनलता"),
        ("N", "Shiv Kumar Tripathi", "शिवकुमार त्रिपाठी"),
        ("N", "Sanjay Kumar Mishra", "संजय कुमार मिश्रा"),
        ("N", "Rehana Khatoon", "रेहाना ख़ातून"),
        ("N", "Ram Kishore Kushwaha", "राम किशोर कुशवाहा"),
    ];

    /// Latin spellings of one name that the table pairs with different Devanagari spellings.
    const SAME_NAME: &[&[&str]] = &[
        &["Shailendra", "Shailender"],
        &["Mohammad", "Mohammed", "Muhammad", "Mohd", "Md."],
        &["Ghulam", "Gulam"],
        &["Vasant", "Basant"],
    ];

    fn same_key(a: &str, b: &str) -> bool {
        !name_key(a).is_empty() && name_key(a) == name_key(b)
    }

    /// The loose measure: one joined key contains the other.
    fn loose(a: &str, b: &str) -> bool {
        let (ja, jb) = (joined_key(a), joined_key(b));
        !ja.is_empty() && !jb.is_empty() && (ja.contains(&jb) || jb.contains(&ja))
    }

    fn assert_same_key(names: &[&str]) {
        let first = name_key(names[0]);
        assert!(!first.is_empty(), "{}", names[0]);
        for n in &names[1..] {
            assert_eq!(name_key(n), first, "{n} vs {}", names[0]);
        }
    }

    #[test]
    fn keys_of_examples() {
        for (name, key) in [
            ("Ram Prakash Nishad", "rm prks nsd"),
            ("राम प्रकाश निषाद", "rm prks nsd"),
            ("Anil", "anl"),
            ("अनिल", "anl"),
            ("Md. Irfan", "mhmd irfn"),
            ("मोहम्मद इरफ़ान", "mhmd irfn"),
            ("Laxmi", "lksm"),
            ("Chowdhury", "cdr"),
            ("Vijay", "vjy"),
            ("सिंह", "sng"),
            ("Sinha", "sn"),
            ("Dubey", "dv"),
            ("Aishwarya", "aysvry"),
            ("", ""),
            ("  123 - ० ", ""),
        ] {
            assert_eq!(name_key(name), key, "{name}");
        }
        assert_eq!(joined_key("Ram Prakash Nishad"), "rmprksnsd");
    }

    #[test]
    fn the_briefs_pairs_match() {
        // Ram Prakash Nishad, typed in every way.
        assert_eq!(name_key("Ram Prakash Nishad"), name_key("राम प्रकाश निषाद"));
        assert!(joined_key("राम प्रकाश निषाद").contains(&joined_key("ram prakash")));
        assert_eq!(joined_key("रामप्रकाश"), joined_key("Ram Prakash"));
        assert!(joined_key("Ram Prakash Nishad").starts_with(&joined_key("रामप्रकाश")));
        assert_eq!(rank("ram prakash", "राम प्रकाश निषाद"), 1);
        assert_eq!(rank("रामप्रकाश", "Ram Prakash Nishad"), 1);
        assert_eq!(rank("राम प्रकाश निषाद", "Ram Prakash Nishad"), 2);

        for names in [
            &[
                "Mohammad",
                "Mohd",
                "Muhammad",
                "Mohammed",
                "Md.",
                "MD",
                "मोहम्मद",
                "मुहम्मद",
                "मो.",
            ][..],
            &["Laxmi", "Lakshmi", "लक्ष्मी"],
            &["Shailendra", "Shailender", "शैलेंद्र", "शैलेन्द्र"],
            &["Shyam", "Syam", "श्याम"],
            &["Rakesh", "राकेश"],
            &["Suresh", "सुरेश"],
            &["Pooja", "Puja", "पूजा"],
            &["Vijay", "Bijay", "विजय"],
            &["Yadav", "यादव"],
            &[
                "Chaudhary",
                "Choudhary",
                "Chaudhari",
                "Chowdhury",
                "Chaudhry",
                "चौधरी",
            ],
            &[
                "Srivastava",
                "Shrivastav",
                "Srivastav",
                "Shrivastava",
                "श्रीवास्तव",
            ],
            &["Devi", "देवी"],
            &["Kumar", "कुमार"],
            &["Singh", "सिंह"],
            &["Gupta", "गुप्ता"],
            &["Mishra", "Misra", "मिश्रा", "मिश्र"],
            &["Tripathi", "त्रिपाठी"],
            &["Verma", "Varma", "वर्मा"],
            &["Abdul", "अब्दुल"],
            &["Rahman", "Rehman", "Rahaman", "रहमान"],
            &[
                "Fatima",
                "Fatimah",
                "फ़ातिमा",
                "फातिमा",
                "फ\u{093C}ातिमा",
                "\u{095E}ातिमा",
            ],
            &["Siddiqui", "Siddiqi", "सिद्दीक़ी"],
            &["Pandey", "Pande", "पाण्डेय", "पांडे"],
            &["Agarwal", "Agrawal", "अग्रवाल", "अगरवाल"],
            &["Sampat", "संपत", "सम्पत"],
            &["Azhar", "अज़हर"],
            &["Syed", "Sayyed", "सैयद", "सय्यद"],
            &["Shah", "शाह"],
            &["Gyan", "ज्ञान"],
        ] {
            assert_same_key(names);
        }
        // Composed and decomposed nukta forms, NFC or not, and stray zero-width joiners.
        assert_eq!(name_key("ज़फ़र"), name_key("ज\u{093C}फ\u{093C}र"));
        assert_eq!(name_key("शैलेन्\u{200D}द्र"), name_key("शैलेन्द्र"));
        assert_eq!(name_key("Rām Prakāś"), name_key("Ram Prakash"));
    }

    #[test]
    fn different_names_do_not_match() {
        for (a, b) in [
            ("Sita", "Gita"),
            ("Anil Kumar", "Sunil Kumar"),
            ("Rekha", "Rakesh"),
            ("Ram", "Raman"),
            ("Asha", "Usha"),
            ("Anil", "Nil"),
            ("Mohan", "Sohan"),
            ("Kamla", "Vimla"),
        ] {
            assert_ne!(name_key(a), name_key(b), "{a} / {b}");
            assert_eq!(rank(a, b), 0, "{a} / {b}");
            assert_eq!(rank(b, a), 0, "{b} / {a}");
        }
        // A prefix is found by a substring index but ranks below every whole-word match.
        assert!(joined_key("Raman").starts_with(&joined_key("Ram")));
        assert_eq!(rank("Ram", "Raman"), 0);
        assert_eq!(rank("Ram", "Ram Prakash"), 1);
        assert_eq!(rank("Rekha", "Rakesh Kumar"), 0);
    }

    #[test]
    fn rank_tiers() {
        // 3: the same name as typed, whatever the case, spacing or zero-width characters.
        assert_eq!(rank("  ram   PRAKASH ", "Ram Prakash"), 3);
        assert_eq!(rank("राम\u{200C} प्रकाश", "राम प्रकाश"), 3);
        // 2: the same full key.
        assert_eq!(rank("राम प्रकाश", "Ram Prakash"), 2);
        assert_eq!(rank("Md Salim", "Mohammad Salim"), 2);
        assert_eq!(rank("Ramprakash Nishad", "Ram Prakash Nishad"), 2);
        assert_eq!(rank("Nishad Ram Prakash", "Ram Prakash Nishad"), 2);
        assert_eq!(rank("निषाद रामप्रकाश", "Ram Prakash Nishad"), 2);
        // 1: whole words of the candidate, in order or not.
        assert_eq!(rank("Kumar", "Anil Kumar"), 1);
        assert_eq!(rank("prakash nishad", "Ram Prakash Nishad"), 1);
        assert_eq!(rank("Nishad Ram", "Ram Prakash Nishad"), 1);
        assert_eq!(rank("Ram Prakash", "Ramprakash Nishad"), 1);
        // 1: the candidate is the query's leading words (the query names more than was stored).
        assert_eq!(rank("Ram Prakash Nishad", "Ram Prakash"), 1);
        assert_eq!(rank("राम प्रकाश निषाद", "रामप्रकाश"), 1);
        // 0: inner parts and prefixes of words, other names, nothing to compare.
        assert_eq!(rank("Prakash", "Ramprakash"), 0);
        assert_eq!(rank("Ram Prakash Nishad", "Ram"), 0);
        // (only the leading words: a query's later words alone are not looked for)
        assert_eq!(rank("Ram Prakash Nishad", "Prakash Nishad"), 0);
        assert_eq!(rank("Ram Prakash Nishad", "Ram Prakash Yadav"), 0);
        assert_eq!(rank("Ram Kumar", "Ram"), 0);
        assert_eq!(rank("Sunil", "Anil Kumar"), 0);
        assert_eq!(rank("", "Ram"), 0);
        assert_eq!(rank("123", "Ram"), 0);
        assert_eq!(rank("Ram", ""), 0);
    }

    /// Ranking a stored person from their stored keys gives what ranking their name gives.
    #[test]
    fn rank_stored_agrees_with_rank() {
        let names = [
            "Ram Prakash",
            "राम प्रकाश",
            "  ram   PRAKASH ",
            "Ramprakash Nishad",
            "Ram Prakash Nishad",
            "Nishad Ram Prakash",
            "Mohammad Salim",
            "Md Salim",
            "Anil Kumar",
            "Sunil",
            "Ramprakash",
            "",
            "123",
            "Kumar",
            "रामप्रकाश",
            "राम प्रकाश निषाद",
            "Laxmi Devi",
            "Lakshmi Devi",
            "लक्ष्मी देवी",
            "LAXMI DEVI",
        ];
        for q in names {
            let r = Ranker::new(q);
            for c in names {
                let stored = r.rank_stored(c, &crate::ids::name_key(c), &joined_key(c));
                assert_eq!(stored, rank(q, c), "{q:?} / {c:?}");
                let graded = r.grade_stored(c, &crate::ids::name_key(c), &joined_key(c));
                assert_eq!(graded, r.grade(c), "{q:?} / {c:?}");
            }
        }
    }

    /// "Ram Prakash Nishad", "ram prakash", "राम प्रकाश निषाद" and "रामप्रकाश": each typed finds
    /// each stored (16 pairs), whole words at least, a query longer than the name by its leading
    /// words.
    #[test]
    fn the_four_forms_find_each_other() {
        let forms = [
            "Ram Prakash Nishad",
            "ram prakash",
            "राम प्रकाश निषाद",
            "रामप्रकाश",
        ];
        for q in forms {
            let r = Ranker::new(q);
            for stored in forms {
                assert!(r.finds(&joined_key(stored)), "{q:?} finds {stored:?}");
                assert!(
                    r.rank(stored) >= 1,
                    "{q:?} ranks {stored:?} {}",
                    r.rank(stored)
                );
            }
        }
        // Those holding the whole query before those that are its leading words only.
        let r = Ranker::new("Ram Prakash Nishad");
        assert!(r.grade("राम प्रकाश निषाद") > r.grade("Ram Prakash Nishad Yadav"));
        assert!(r.grade("Ram Prakash Nishad Yadav") > r.grade("Ram Prakash"));
        assert!(r.grade("Ram Prakash") > r.grade("Ramprakash Nishadpur"));
        assert!(!r.finds(&joined_key("Ram Prakash Yadav")));
        assert!(!r.finds(&joined_key("Ram")));
    }

    /// A query's leading words are looked for only when their key is long enough.
    #[test]
    fn leading_keys_are_bounded() {
        let keys = |q: &str| Ranker::new(q).leading_keys().to_vec();
        assert_eq!(keys("Ram Prakash Nishad"), ["rmprks"]);
        assert_eq!(keys("राम प्रकाश निषाद"), ["rmprks"]);
        assert_eq!(keys("Ramprakash Nishad"), ["rmprks"]);
        assert_eq!(keys("Ram Prakash Nishad Yadav"), ["rmprksnsd", "rmprks"]);
        assert_eq!(keys("Sita Ram Yadav"), ["strm"]);
        assert_eq!(
            keys("Anil Kumar Singh Yadav Ji"),
            ["anlkmrsngydv", "anlkmrsng", "anlkmr"]
        );
        for q in [
            "Ram",
            "Ram Kumar",
            "Sunita Devi",
            "Ram Lal",
            "रामप्रकाश",
            "",
            "R K Singh",
        ] {
            assert!(keys(q).is_empty(), "{q}: {:?}", keys(q));
        }
    }

    /// Within a rank, a name spelled as typed comes before its spelling variants (whichever
    /// script it was stored in).
    #[test]
    fn spelling_as_typed_first() {
        for (q, typed, variants) in [
            ("Laxmi", "Laxmi Devi", &["Lakshmi Devi", "लक्ष्मी देवी"][..]),
            ("Lakshmi", "लक्ष्मी देवी", &["Laxmi Devi"][..]),
            ("Shailendra", "Shailendra Singh", &["Shailender Singh"][..]),
            ("Shailendra", "शैलेन्द्र सिंह", &["Shailender Singh"][..]),
            (
                "Mohd",
                "Mohd Rafi",
                &["Mohammad Rafi", "Muhammad Rafi", "Md Rafi", "मोहम्मद रफ़ी"][..],
            ),
            (
                "Mohammad",
                "Mohammad Rafi",
                &["Mohd Rafi", "Muhammad Rafi"][..],
            ),
            (
                "Muhammad Rafi",
                "Muhammad  Rafi",
                &["Mohammad Rafi", "Mohd Rafi"][..],
            ),
            ("mohd rafi", "MOHD RAFI", &["Mohammad Rafi"][..]),
            ("Laxmi Devi", "Laxmi Devi", &["Lakshmi Devi"][..]),
            ("Lakshmi Devi", "लक्ष्मी देवी", &["Laxmi Devi"][..]),
        ] {
            let r = Ranker::new(q);
            for v in variants {
                assert!(
                    r.grade(typed) > r.grade(v),
                    "{q}: {typed} {:?} before {v} {:?}",
                    r.grade(typed),
                    r.grade(v)
                );
            }
        }
        // The rank itself is kept: a spelling variant is the same tier.
        assert_eq!(
            (rank("Laxmi", "Laxmi Devi"), rank("Laxmi", "Lakshmi Devi")),
            (1, 1)
        );
        assert_eq!(
            (
                rank("Mohd Rafi", "Mohd Rafi"),
                rank("Mohd Rafi", "Mohammad Rafi")
            ),
            (3, 2)
        );
        // A better tier still comes first, whatever the spelling.
        let r = Ranker::new("Laxmi Devi");
        assert!(r.grade("Lakshmi Devi") > r.grade("Laxmi Devi Yadav"));
    }

    #[test]
    fn punctuation_and_digits() {
        assert_eq!(name_key("D'Souza"), name_key("D’Souza"));
        assert_eq!(name_key("D'Souza"), name_key("DSouza"));
        assert_eq!(name_key("D'Souza"), name_key("डी’सोउज़ा"));
        assert_eq!(name_key("Ram-Prakash"), name_key("Ram Prakash"));
        assert_eq!(name_key("R.K. Sharma"), "r k srm");
        assert_eq!(name_key("राम१"), name_key("राम"));
        assert_eq!(name_key("Ram 2"), name_key("Ram"));
        assert_eq!(name_key("सुरेश।"), name_key("Suresh"));
    }

    #[test]
    fn identifiers() {
        for q in [
            "9839012345",
            "+91 98390 12345",
            "098390-12345",
            "(0522) 2612345",
            "९८३९०१२३४५",
            "9839",
            "(+91) 98390 12345",
            "9839012345.0",
            "ABC1234567",
            "abc 1234567",
            " UPX१२३४५६७ ",
        ] {
            assert!(looks_like_identifier(q), "{q}");
        }
        for q in [
            "",
            "Ram",
            "Ram 2",
            "AB1234567",
            "ABCD1234567",
            "ABC123456",
            "+",
            "- -",
            "9839+12345",
            "++91 9839012345",
            "(+91) +9839012345",
            "राम",
        ] {
            assert!(!looks_like_identifier(q), "{q}");
        }
    }

    #[test]
    fn recall_on_name_pairs() {
        let mut strict = 0;
        let mut loose_n = 0;
        for &(_, lat, dev) in PAIRS {
            if same_key(lat, dev) {
                strict += 1;
            } else {
                println!(
                    "strict miss: {lat} [{}] / {dev} [{}]",
                    name_key(lat),
                    name_key(dev)
                );
            }
            if loose(lat, dev) {
                loose_n += 1;
            } else {
                println!("loose miss: {lat} / {dev}");
            }
        }
        let n = PAIRS.len() as f64;
        let (s, l) = (strict as f64 / n, loose_n as f64 / n);
        println!(
            "recall on {} (Latin, Devanagari) pairs: strict (equal name_key) {strict} = {s:.3}, loose (joined_key substring either way) {loose_n} = {l:.3}",
            PAIRS.len()
        );
        // What a search finds: each spelling typed finds the other stored, both ways (by the
        // query's key in the stored one, or the stored one being the query's leading words).
        let both = PAIRS
            .iter()
            .filter(|(_, lat, dev)| {
                Ranker::new(lat).finds(&joined_key(dev)) && Ranker::new(dev).finds(&joined_key(lat))
            })
            .count();
        let equal_joined = PAIRS
            .iter()
            .filter(|(_, lat, dev)| {
                !joined_key(lat).is_empty() && joined_key(lat) == joined_key(dev)
            })
            .count();
        println!(
            "search finds both ways: {both} = {:.3} (by the query's key alone, equal joined keys: {equal_joined} = {:.3})",
            both as f64 / n,
            equal_joined as f64 / n
        );
        assert!(PAIRS.len() >= 150);
        assert!(s >= 0.95, "strict recall {s}");
        assert!(l >= 0.98, "loose recall {l}");
        assert!(
            both >= equal_joined && both >= strict,
            "search recall {both}"
        );
    }

    /// Distinct Latin first names of the table, each with a group id: two spellings are one
    /// name when they share a spelling in either script (Pooja / Puja both पूजा) or are listed
    /// in [`SAME_NAME`].
    fn first_name_groups() -> Vec<(&'static str, usize)> {
        let firsts: Vec<(&str, &str)> = PAIRS
            .iter()
            .filter(|p| p.0 == "M" || p.0 == "F")
            .map(|p| (p.1, p.2))
            .collect();
        let group_of = |l: &str| {
            SAME_NAME
                .iter()
                .position(|g| g.iter().any(|n| n.eq_ignore_ascii_case(l)))
        };
        let mut parent: Vec<usize> = (0..firsts.len()).collect();
        fn find(p: &mut [usize], mut i: usize) -> usize {
            while p[i] != i {
                p[i] = p[p[i]];
                i = p[i];
            }
            i
        }
        for i in 0..firsts.len() {
            for j in 0..i {
                let same = firsts[i].0.eq_ignore_ascii_case(firsts[j].0)
                    || crate::ids::name_key(firsts[i].1) == crate::ids::name_key(firsts[j].1)
                    || group_of(firsts[i].0).is_some_and(|g| group_of(firsts[j].0) == Some(g));
                if same {
                    let (a, b) = (find(&mut parent, i), find(&mut parent, j));
                    parent[a] = b;
                }
            }
        }
        let mut out: Vec<(&str, usize)> = Vec::new();
        for (i, &(latin, _)) in firsts.iter().enumerate() {
            if !out.iter().any(|(n, _)| n.eq_ignore_ascii_case(latin)) {
                let g = find(&mut parent, i);
                out.push((latin, g));
            }
        }
        out
    }

    #[test]
    fn false_match_rate_on_first_names() {
        let names = first_name_groups();
        let mut pairs = 0;
        let mut equal = 0;
        for i in 0..names.len() {
            for j in 0..i {
                if names[i].1 == names[j].1 {
                    continue;
                }
                pairs += 1;
                if same_key(names[i].0, names[j].0) {
                    equal += 1;
                    println!(
                        "same key: {} / {} [{}]",
                        names[i].0,
                        names[j].0,
                        name_key(names[i].0)
                    );
                }
            }
        }
        let rate = equal as f64 / pairs as f64;
        println!(
            "false matches: {} distinct Latin first names, {pairs} pairs of different names, {equal} with equal name_key = {rate:.5}",
            names.len()
        );
        assert!(pairs > 10_000);
        assert!(rate < 0.002, "false-match rate {rate}");
    }
}
