//! Wildcard patterns (`*`, `?`) with policy variables (`${aws:username}`, defaults, escapes),
//! compiled once. Variables expand to literal text: a `*` in a user's tag never acts as a wildcard.

use crate::request::KeyName;

/// One piece of a compiled pattern's middle.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Lit(Box<str>),
    /// `*`: any run of characters, `/` and `:` included.
    Star,
    /// `?`: exactly one character.
    One,
    /// `${key}` or `${key, 'default'}`; `slot` is its place among the pattern's variables.
    Var {
        key: KeyName,
        default: Option<Box<str>>,
        slot: usize,
    },
}

/// What variables a pattern may read: the request's single-valued context keys.
pub trait Variables {
    /// The key's value when it has exactly one; `None` when absent or multi-valued.
    fn single(&self, key: &KeyName) -> Option<&str>;
}

/// A pattern compiled from policy text: the literal text every match starts with, the literal
/// text every match ends with, and what lies between. Most patterns are all prefix (`s3:GetObject`)
/// or prefix and star (`s3:Get*`), and most mismatches are decided by the prefix alone, before any
/// variable is looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    prefix: Box<str>,
    suffix: Box<str>,
    middle: Middle,
    /// How many `Var` tokens `middle` holds.
    variables: usize,
}

/// What lies between a pattern's prefix and suffix. The two commonest shapes hold no tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Middle {
    /// The pattern is all literal.
    Nothing,
    /// A single `*`.
    Star,
    /// Starts and ends with a wildcard or variable.
    Tokens(Box<[Token]>),
}

/// Literal pattern text as stored: lower-cased when the comparison ignores case (in place when
/// ASCII, which saves a copy).
fn literal(text: &str, lowercase: bool) -> Box<str> {
    if !lowercase {
        return Box::from(text);
    }
    if text.is_ascii() {
        let mut owned = Box::<str>::from(text);
        owned.make_ascii_lowercase();
        return owned;
    }
    text.to_lowercase().into_boxed_str()
}

/// Variables resolved once per match; patterns with more fall back to a heap list.
const INLINE_VARIABLES: usize = 4;

impl Pattern {
    /// Compiles `text`. With `wildcards`, `*` and `?` are wildcards (Like operators, actions,
    /// resources); without, they are literal (Equals operators). With `variables` (policy version
    /// 2012-10-17), `${...}` is a variable; otherwise literal text. With `lowercase`, literal text
    /// is lower-cased (for case-insensitive comparison against lower-cased input).
    pub fn compile(text: &str, wildcards: bool, variables: bool, lowercase: bool) -> Pattern {
        let special = |b: &u8| (wildcards && (*b == b'*' || *b == b'?')) || (variables && *b == b'$');
        // Most patterns are all literal (`s3:GetObject`) or a literal and a final star (`s3:Get*`):
        // those are built without scanning twice or collecting tokens.
        match text.bytes().position(|b| special(&b)) {
            None => return Pattern::literal(literal(text, lowercase)),
            Some(at) if at + 1 == text.len() && text.ends_with('*') => {
                let mut p = Pattern::literal(literal(text.get(..at).unwrap_or_default(), lowercase));
                p.middle = Middle::Star;
                return p;
            }
            Some(_) => {}
        }
        let mut tokens = Vec::new();
        let mut lit = String::new();
        let mut slots = 0;
        let flush = |lit: &mut String, tokens: &mut Vec<Token>| {
            if !lit.is_empty() {
                tokens.push(Token::Lit(literal(lit, lowercase)));
                lit.clear();
            }
        };
        let mut rest = text;
        loop {
            // The special characters are ASCII, so every cut falls on a character boundary.
            let cut = rest.bytes().position(|b| special(&b)).unwrap_or(rest.len());
            lit.push_str(rest.get(..cut).unwrap_or_default());
            rest = rest.get(cut..).unwrap_or_default();
            let Some(&b) = rest.as_bytes().first() else { break };
            if b == b'$' {
                if let Some((token, after)) = parse_variable(rest) {
                    match token {
                        VarOrEscape::Escape(ch) => lit.push(ch),
                        VarOrEscape::Var { key, default } => {
                            flush(&mut lit, &mut tokens);
                            let default = default.map(|d| literal(d, lowercase));
                            tokens.push(Token::Var { key: KeyName::new(key), default, slot: slots });
                            slots += 1;
                        }
                    }
                    rest = after;
                } else {
                    lit.push('$');
                    rest = rest.get(1..).unwrap_or_default();
                }
                continue;
            }
            flush(&mut lit, &mut tokens);
            if b == b'?' {
                tokens.push(Token::One);
            } else if tokens.last() != Some(&Token::Star) {
                tokens.push(Token::Star);
            }
            rest = rest.get(1..).unwrap_or_default();
        }
        flush(&mut lit, &mut tokens);
        let suffix = match tokens.last() {
            Some(Token::Lit(_)) if tokens.len() > 1 => match tokens.pop() {
                Some(Token::Lit(l)) => l,
                _ => Box::default(),
            },
            _ => Box::default(),
        };
        let mut tokens = tokens.into_iter().peekable();
        let prefix = match tokens.next_if(|t| matches!(t, Token::Lit(_))) {
            Some(Token::Lit(l)) => l,
            _ => Box::default(),
        };
        let middle: Box<[Token]> = tokens.collect();
        let middle = match &*middle {
            [] => Middle::Nothing,
            [Token::Star] => Middle::Star,
            _ => Middle::Tokens(middle),
        };
        Pattern { prefix, suffix, middle, variables: slots }
    }

    fn literal(prefix: Box<str>) -> Pattern {
        Pattern { prefix, suffix: Box::default(), middle: Middle::Nothing, variables: 0 }
    }

    pub fn has_variables(&self) -> bool {
        self.variables > 0
    }

    /// The context keys its variables read (lower-cased), in order.
    pub fn variable_keys(&self) -> impl Iterator<Item = &str> {
        let tokens: &[Token] = match &self.middle {
            Middle::Tokens(tokens) => tokens,
            _ => &[],
        };
        tokens.iter().filter_map(|t| match t {
            Token::Var { key, .. } => Some(key.as_str()),
            _ => None,
        })
    }

    pub fn is_everything(&self) -> bool {
        self.prefix.is_empty() && self.suffix.is_empty() && self.middle == Middle::Star
    }

    /// Whether `text` matches. A variable with no value and no default matches nothing.
    /// `lowercase_vars` lower-cases variable values (for case-insensitive comparisons).
    pub fn matches(&self, text: &str, vars: &dyn Variables, lowercase_vars: bool) -> bool {
        let (p, s) = (self.prefix.len(), self.suffix.len());
        // The prefix and suffix must not overlap in `text`.
        if text.len() < p + s {
            return false;
        }
        let bytes = text.as_bytes();
        if !bytes.get(..p).is_some_and(|head| same(head, self.prefix.as_bytes()))
            || !bytes.get(text.len() - s..).is_some_and(|tail| same(tail, self.suffix.as_bytes()))
        {
            return false;
        }
        // Both ends matched whole characters, so the cuts fall on character boundaries.
        let Some(rest) = text.get(p..text.len() - s) else {
            return false;
        };
        let middle = match &self.middle {
            Middle::Nothing => return rest.is_empty(),
            Middle::Star => return true,
            Middle::Tokens(tokens) => &**tokens,
        };
        // The common case borrows everything: literals from the pattern, variable values from the
        // request. Only many variables, or case-folded ones, need heap copies.
        if self.variables <= INLINE_VARIABLES && !(lowercase_vars && self.variables > 0) {
            let mut values = [""; INLINE_VARIABLES];
            for t in middle {
                if let Token::Var { key, default, slot } = t {
                    let (Some(value), Some(place)) = (resolve(vars, key, default), values.get_mut(*slot)) else {
                        return false;
                    };
                    *place = value;
                }
            }
            return glob(middle, &values, rest);
        }
        let mut owned = Vec::with_capacity(self.variables);
        for t in middle {
            if let Token::Var { key, default, .. } = t {
                let Some(value) = resolve(vars, key, default) else {
                    return false;
                };
                owned.push(if lowercase_vars { value.to_lowercase() } else { value.to_owned() });
            }
        }
        let values: Vec<&str> = owned.iter().map(String::as_str).collect();
        glob(middle, &values, rest)
    }
}

/// Whether two byte strings of equal length are equal. Policy literals are short (`s3:Get`,
/// `arn:aws:s3:::`), and for them a call to the C library's `memcmp`, which `==` on slices becomes,
/// costs more than the comparison: a decision makes hundreds of these, so short ones are compared
/// here a machine word at a time.
#[inline]
fn same(a: &[u8], b: &[u8]) -> bool {
    fn word(bytes: &[u8], at: usize) -> u64 {
        bytes.get(at..at + 8).and_then(|w| w.try_into().ok()).map_or(0, u64::from_ne_bytes)
    }
    fn half(bytes: &[u8], at: usize) -> u32 {
        bytes.get(at..at + 4).and_then(|w| w.try_into().ok()).map_or(0, u32::from_ne_bytes)
    }
    let n = a.len();
    if n != b.len() {
        return false;
    }
    match n {
        0 => true,
        1..4 => a.iter().zip(b).all(|(x, y)| x == y),
        // Two overlapping reads cover every byte.
        4..8 => half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4),
        8..=16 => word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8),
        _ => word(a, 0) == word(b, 0) && a == b,
    }
}

/// A variable's value: the request's, else the default.
fn resolve<'a>(vars: &'a dyn Variables, key: &KeyName, default: &'a Option<Box<str>>) -> Option<&'a str> {
    vars.single(key).or(default.as_deref())
}

/// Wildcard matching with single-star backtracking: linear in practice, O(n*m) at worst.
/// `values` holds each variable's text by slot. Text right after a star is searched for rather
/// than tried at every position.
fn glob(tokens: &[Token], values: &[&str], text: &str) -> bool {
    let bytes = text.as_bytes();
    let (mut ti, mut pos) = (0usize, 0usize);
    // The token after the latest star, and where the star's run currently ends.
    let mut star: Option<(usize, usize)> = None;
    loop {
        let literal = match tokens.get(ti) {
            Some(Token::Lit(l)) => Some(&**l),
            Some(Token::Var { slot, .. }) => Some(values.get(*slot).copied().unwrap_or_default()),
            _ => None,
        };
        let advanced = match (tokens.get(ti), literal) {
            (Some(Token::Star), _) => {
                star = Some((ti + 1, pos));
                ti += 1;
                continue;
            }
            (_, Some(l)) if !l.is_empty() && star.is_some_and(|(after, _)| after == ti) => {
                // The star takes everything up to the next occurrence; none means no match at all,
                // for growing this star further cannot help and earlier stars need not move.
                let Some(at) = find(bytes, pos, l.as_bytes()) else {
                    return false;
                };
                star = Some((ti, at));
                pos = at + l.len();
                true
            }
            (_, Some(l)) => {
                let ok = bytes.get(pos..pos + l.len()).is_some_and(|here| same(here, l.as_bytes()));
                pos += if ok { l.len() } else { 0 };
                ok
            }
            (Some(_), None) => match text.get(pos..).and_then(|r| r.chars().next()) {
                Some(c) => {
                    pos += c.len_utf8();
                    true
                }
                None => false,
            },
            (None, _) => pos == bytes.len(),
        };
        if advanced && ti < tokens.len() {
            ti += 1;
            continue;
        }
        if advanced {
            return true;
        }
        match star {
            Some((after_star, from)) if from < bytes.len() => {
                let step = text.get(from..).and_then(|r| r.chars().next()).map_or(1, char::len_utf8);
                star = Some((after_star, from + step));
                ti = after_star;
                pos = from + step;
            }
            _ => return false,
        }
    }
}

/// The first occurrence of `needle` (not empty) in `bytes` at or after `from`. Both are UTF-8, so
/// an occurrence starts on a character boundary.
fn find(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    let (first, _) = needle.split_first()?;
    let mut at = from;
    loop {
        let q = at + bytes.get(at..)?.iter().position(|b| b == first)?;
        if bytes.get(q..q + needle.len()).is_some_and(|here| same(here, needle)) {
            return Some(q);
        }
        at = q + 1;
    }
}

enum VarOrEscape<'a> {
    Escape(char),
    Var { key: &'a str, default: Option<&'a str> },
}

/// Parses `${...}` at the start of `text`: an escape (`${*}`, `${?}`, `${$}`), or a key with an
/// optional default (`${aws:PrincipalTag/team, 'company-wide'}`). `None` when malformed, in which
/// case the text is literal.
fn parse_variable(text: &str) -> Option<(VarOrEscape<'_>, &str)> {
    let body_end = text.find('}')?;
    let body = text.get(2..body_end)?;
    let after = text.get(body_end + 1..)?;
    match body {
        "*" => return Some((VarOrEscape::Escape('*'), after)),
        "?" => return Some((VarOrEscape::Escape('?'), after)),
        "$" => return Some((VarOrEscape::Escape('$'), after)),
        _ => {}
    }
    let (key, default) = match body.split_once(',') {
        Some((k, d)) => {
            let d = d.trim();
            let d = d.strip_prefix('\'')?.strip_suffix('\'')?;
            (k.trim(), Some(d))
        }
        None => (body.trim(), None),
    };
    let valid_key = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || "_:/-.@+=,".contains(c));
    valid_key.then_some((VarOrEscape::Var { key, default }, after))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct Ctx(HashMap<&'static str, &'static str>);
    impl Variables for Ctx {
        fn single(&self, key: &KeyName) -> Option<&str> {
            self.0.get(key.as_str()).copied()
        }
    }

    fn m(pattern: &str, text: &str) -> bool {
        Pattern::compile(pattern, true, true, false).matches(text, &Ctx(HashMap::new()), false)
    }

    #[test]
    fn wildcards_match_as_aws_does() {
        assert!(m("*", ""));
        assert!(m("s3:Get*", "s3:GetObject"));
        assert!(!m("s3:Get*", "s3:PutObject"));
        assert!(m("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a/b/c"));
        assert!(m("*Object", "s3:GetObject"));
        assert!(m("s3:*Obj?ct", "s3:PutObject"));
        assert!(!m("s3:*Obj?ct", "s3:PutObjct"));
        assert!(m("a*b*c", "a-b-b-c"));
        assert!(!m("a*b*c", "a-b-b-d"));
        assert!(m("??", "éx"));
        assert!(!m("???", "éx"));
        assert!(m("a**", "a"));
        assert!(m("*a*a*a*a*a*b", &format!("{}b", "a".repeat(100))));
        assert!(!m("*a*a*a*a*a*b", &"a".repeat(1000)));
        // Prefix and suffix are checked first; they must not overlap in the text.
        assert!(!m("ab*ba", "aba"));
        assert!(m("ab*ba", "abba"));
        assert!(!m("a?a", "aa"));
        assert!(m("a?a", "aéa"));
        assert!(m("x*", "x"));
        assert!(!m("x*y", "y"));
        assert!(m("é*é", "éé"));
        assert!(!m("é*é", "é"));
    }

    /// The obvious recursive matcher, over characters.
    fn naive(p: &[char], t: &[char]) -> bool {
        match p.split_first() {
            None => t.is_empty(),
            Some(('*', rest)) => naive(rest, t) || (!t.is_empty() && naive(p, &t[1..])),
            Some(('?', rest)) => !t.is_empty() && naive(rest, &t[1..]),
            Some((c, rest)) => t.first() == Some(c) && naive(rest, &t[1..]),
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4000))]
        #[test]
        fn matching_agrees_with_the_obvious_matcher(pattern in "[ab*?é]{0,12}", text in "[abé]{0,16}") {
            let p: Vec<char> = pattern.chars().collect();
            let t: Vec<char> = text.chars().collect();
            proptest::prop_assert_eq!(m(&pattern, &text), naive(&p, &t), "{} / {}", pattern, text);
        }
    }

    #[test]
    fn short_comparisons_agree_with_slice_equality() {
        let texts = ["", "a", "ab", "abc", "abcd", "abcde", "abcdefg", "abcdefgh", "abcdefghi", "abcdefghijklmnop"];
        for a in texts {
            for b in texts {
                assert_eq!(same(a.as_bytes(), b.as_bytes()), a == b, "{a} {b}");
            }
        }
        let long = "arn:aws:s3:::bucket/some/long/key";
        let mut other = long.to_owned().into_bytes();
        for i in 0..other.len() {
            other[i] ^= 1;
            assert!(!same(long.as_bytes(), &other), "byte {i}");
            other[i] ^= 1;
        }
        assert!(same(long.as_bytes(), &other));
    }

    #[test]
    fn many_or_case_folded_variables_take_the_slow_path_with_the_same_answers() {
        let ctx = Ctx(HashMap::from([("a:a", "1"), ("a:b", "2"), ("a:c", "3"), ("a:d", "4"), ("a:e", "Five")]));
        let five = Pattern::compile("${a:a}-${a:b}-${a:c}-${a:d}-${a:e}*", true, true, false);
        assert!(five.matches("1-2-3-4-Five!", &ctx, false));
        assert!(!five.matches("1-2-3-4-five!", &ctx, false));
        let folded = Pattern::compile("X-${a:e}", false, true, true);
        assert!(folded.matches("x-five", &ctx, true));
        assert!(!folded.matches("x-Five", &ctx, true));
        let missing = Pattern::compile("${a:a}${a:b}${a:c}${a:d}${a:zz}", true, true, false);
        assert!(!missing.matches("1234", &ctx, false));
    }

    #[test]
    fn variables_expand_to_literal_text_with_defaults_and_escapes() {
        let ctx = Ctx(HashMap::from([("aws:username", "ali*ce"), ("aws:principaltag/team", "ops")]));
        let p = Pattern::compile("arn:aws:s3:::home/${aws:username}/*", true, true, false);
        assert!(p.matches("arn:aws:s3:::home/ali*ce/x", &ctx, false));
        assert!(!p.matches("arn:aws:s3:::home/alibabce/x", &ctx, false), "a * from a variable is literal");
        let k = Pattern::compile("${AWS:PrincipalTag/Team}-${aws:PrincipalTag/missing, 'all'}", true, true, false);
        assert!(k.matches("ops-all", &ctx, false));
        let none = Pattern::compile("${aws:userid}", true, true, false);
        assert!(!none.matches("", &ctx, false), "a variable with no value matches nothing");
        let esc = Pattern::compile("a${*}b${?}${$}", true, true, false);
        assert!(esc.matches("a*b?$", &ctx, false));
        assert!(!esc.matches("axb?$", &ctx, false));
        let old = Pattern::compile("home/${aws:username}", true, false, false);
        assert!(old.matches("home/${aws:username}", &ctx, false), "2008-10-17: variables are literal");
        let broken = Pattern::compile("${aws:username", true, true, false);
        assert!(broken.matches("${aws:username", &ctx, false));
    }

    #[test]
    fn without_wildcards_stars_are_literal() {
        let p = Pattern::compile("a*", false, true, false);
        assert!(p.matches("a*", &Ctx(HashMap::new()), false));
        assert!(!p.matches("ab", &Ctx(HashMap::new()), false));
    }
}
