//! Wildcard patterns (`*`, `?`) with policy variables (`${aws:username}`, defaults, escapes),
//! compiled once. Variables expand to literal text: a `*` in a user's tag never acts as a wildcard.

/// One piece of a compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Lit(Box<str>),
    /// `*`: any run of characters, `/` and `:` included.
    Star,
    /// `?`: exactly one character.
    One,
    /// `${key}` or `${key, 'default'}`; the key lower-cased (keys are case-insensitive).
    Var {
        key: Box<str>,
        default: Option<Box<str>>,
    },
}

/// What variables a pattern may read: the request's single-valued context keys.
pub trait Variables {
    /// The key's value when it has exactly one; `None` when absent or multi-valued.
    fn single(&self, lowercase_key: &str) -> Option<&str>;
}

/// A pattern compiled from policy text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    tokens: Vec<Token>,
    shape: Shape,
}

/// Shapes that match without the general algorithm; most real patterns are one of these.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Shape {
    Everything,
    Exact(Box<str>),
    Prefix(Box<str>),
    General,
}

/// A resolved token: variables replaced by their text.
#[derive(Debug, Clone, Copy)]
enum Piece<'a> {
    Lit(&'a str),
    Star,
    One,
}

impl Pattern {
    /// Compiles `text`. With `wildcards`, `*` and `?` are wildcards (Like operators, actions,
    /// resources); without, they are literal (Equals operators). With `variables` (policy version
    /// 2012-10-17), `${...}` is a variable; otherwise literal text. With `lowercase`, literal text
    /// is lower-cased (for case-insensitive comparison against lower-cased input).
    pub fn compile(text: &str, wildcards: bool, variables: bool, lowercase: bool) -> Pattern {
        let mut tokens = Vec::new();
        let mut lit = String::new();
        let mut rest = text;
        let push_lit = |lit: &mut String, tokens: &mut Vec<Token>| {
            if !lit.is_empty() {
                let text = if lowercase { lit.to_lowercase() } else { std::mem::take(lit) };
                lit.clear();
                tokens.push(Token::Lit(text.into()));
            }
        };
        while let Some(c) = rest.chars().next() {
            if variables
                && rest.starts_with("${")
                && let Some((token, after)) = parse_variable(rest)
            {
                match token {
                    VarOrEscape::Escape(ch) => lit.push(ch),
                    VarOrEscape::Var { key, default } => {
                        push_lit(&mut lit, &mut tokens);
                        tokens.push(Token::Var {
                            key: key.to_ascii_lowercase().into(),
                            default: default.map(|d| if lowercase { d.to_lowercase() } else { d.to_owned() }.into()),
                        });
                    }
                }
                rest = after;
                continue;
            }
            match c {
                '*' if wildcards => {
                    push_lit(&mut lit, &mut tokens);
                    if tokens.last() != Some(&Token::Star) {
                        tokens.push(Token::Star);
                    }
                }
                '?' if wildcards => {
                    push_lit(&mut lit, &mut tokens);
                    tokens.push(Token::One);
                }
                _ => lit.push(c),
            }
            rest = rest.get(c.len_utf8()..).unwrap_or_default();
        }
        push_lit(&mut lit, &mut tokens);
        let shape = match tokens.as_slice() {
            [Token::Star] => Shape::Everything,
            [] => Shape::Exact("".into()),
            [Token::Lit(l)] => Shape::Exact(l.clone()),
            [Token::Lit(l), Token::Star] => Shape::Prefix(l.clone()),
            _ => Shape::General,
        };
        Pattern { tokens, shape }
    }

    pub fn has_variables(&self) -> bool {
        self.tokens.iter().any(|t| matches!(t, Token::Var { .. }))
    }

    pub fn is_everything(&self) -> bool {
        self.shape == Shape::Everything
    }

    /// Whether `text` matches. A variable with no value and no default matches nothing.
    /// `lowercase_vars` lower-cases variable values (for case-insensitive comparisons).
    pub fn matches(&self, text: &str, vars: &dyn Variables, lowercase_vars: bool) -> bool {
        match &self.shape {
            Shape::Everything => return true,
            Shape::Exact(l) => return text == &**l,
            Shape::Prefix(p) => return text.starts_with(&**p),
            Shape::General => {}
        }
        // The common case borrows everything: literals from the pattern, variable values from the
        // request. Only case-folded variable values need a heap copy.
        let n = self.tokens.len();
        if n <= 16 && !(lowercase_vars && self.has_variables()) {
            let mut pieces = [Piece::Star; 16];
            for (slot, t) in pieces.iter_mut().zip(&self.tokens) {
                *slot = match t {
                    Token::Lit(l) => Piece::Lit(l),
                    Token::Star => Piece::Star,
                    Token::One => Piece::One,
                    Token::Var { key, default } => match vars.single(key).or(default.as_deref()) {
                        Some(value) => Piece::Lit(value),
                        None => return false,
                    },
                };
            }
            return glob(pieces.get(..n).unwrap_or_default(), text);
        }
        let mut owned: Vec<String> = Vec::new();
        let mut resolved: Vec<(u8, usize)> = Vec::with_capacity(self.tokens.len());
        for t in &self.tokens {
            match t {
                Token::Lit(_) | Token::Star | Token::One => resolved.push((0, 0)),
                Token::Var { key, default } => {
                    let value = vars.single(key).map(str::to_owned).or_else(|| default.as_deref().map(str::to_owned));
                    let Some(value) = value else {
                        return false;
                    };
                    owned.push(if lowercase_vars { value.to_lowercase() } else { value });
                    resolved.push((1, owned.len() - 1));
                }
            }
        }
        let pieces: Vec<Piece<'_>> = self
            .tokens
            .iter()
            .zip(&resolved)
            .map(|(t, (kind, i))| match t {
                Token::Lit(l) => Piece::Lit(l),
                Token::Star => Piece::Star,
                Token::One => Piece::One,
                Token::Var { .. } if *kind == 1 => Piece::Lit(owned.get(*i).map_or("", String::as_str)),
                Token::Var { .. } => Piece::One,
            })
            .collect();
        glob(&pieces, text)
    }
}

/// Wildcard matching with single-star backtracking: linear in practice, O(n*m) at worst.
fn glob(pieces: &[Piece<'_>], text: &str) -> bool {
    let bytes = text.as_bytes();
    let (mut ti, mut pos) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    loop {
        let advanced = match pieces.get(ti) {
            Some(Piece::Star) => {
                star = Some((ti + 1, pos));
                ti += 1;
                continue;
            }
            Some(Piece::One) => match text.get(pos..).and_then(|r| r.chars().next()) {
                Some(c) => {
                    pos += c.len_utf8();
                    true
                }
                None => false,
            },
            Some(Piece::Lit(l)) => {
                if bytes.get(pos..pos + l.len()) == Some(l.as_bytes()) {
                    pos += l.len();
                    true
                } else {
                    false
                }
            }
            None => {
                if pos == bytes.len() {
                    return true;
                }
                false
            }
        };
        if advanced {
            ti += 1;
            continue;
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
        fn single(&self, key: &str) -> Option<&str> {
            self.0.get(key).copied()
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
