//! Parsing the attribute's arguments (`key = value, ...`) with darling.

use darling::ast::NestedMeta;
use darling::util::SpannedValue;
use darling::{Error, FromMeta};
use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, LitStr, Pat, Path, Token};

/// A DSL value: any expression, rewritten by [`crate::dsl`] before use.
#[derive(Clone, Debug)]
pub(crate) struct Value(pub Expr);

impl FromMeta for Value {
    fn from_expr(expr: &Expr) -> darling::Result<Self> {
        Ok(Value(expr.clone()))
    }

    fn from_word() -> darling::Result<Self> {
        Err(Error::custom("this key needs a value: `key = value`"))
    }

    fn from_list(_: &[NestedMeta]) -> darling::Result<Self> {
        Err(Error::custom("write `key = value`, not `key(value)`"))
    }
}

/// The value of `name`: a string literal (it labels traces and metrics, so it is
/// fixed at compile time).
#[derive(Clone, Debug)]
pub(crate) struct Name(pub LitStr);

impl FromMeta for Name {
    fn from_expr(expr: &Expr) -> darling::Result<Self> {
        match expr {
            Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(lit), .. }) => Ok(Name(lit.clone())),
            Expr::Group(group) => Self::from_expr(&group.expr),
            _ => {
                Err(Error::custom("`name` is a string literal: `name = \"payments::charge\"`")
                    .with_span(expr))
            }
        }
    }
}

/// Patterns of the fn's error type: `[Timeout, Http(500..=599), MyError::Io(_)]`.
#[derive(Clone, Debug)]
pub(crate) struct Patterns(pub Vec<Pat>);

impl Patterns {
    /// The patterns of an array whose items are all bare names or paths
    /// (`[Timeout, MyError::Io]`), read off the expression darling parsed; `None`
    /// for any other array, which is parsed again as patterns.
    fn of_paths(array: &syn::ExprArray) -> Option<Self> {
        if array.elems.is_empty() {
            return None;
        }
        let pats = array.elems.iter().map(|elem| match elem {
            Expr::Path(path) if path.attrs.is_empty() && path.qself.is_none() => {
                Some(match path.path.get_ident() {
                    Some(ident) => Pat::Ident(syn::PatIdent {
                        attrs: Vec::new(),
                        by_ref: None,
                        mutability: None,
                        ident: ident.clone(),
                        subpat: None,
                    }),
                    None => Pat::Path(path.clone()),
                })
            }
            _ => None,
        });
        pats.collect::<Option<Vec<Pat>>>().map(Patterns)
    }

    fn parse(tokens: TokenStream) -> syn::Result<Self> {
        let parser = |input: syn::parse::ParseStream<'_>| {
            let content;
            let brackets = syn::bracketed!(content in input);
            let pats = Punctuated::<Pat, Token![,]>::parse_terminated_with(&content, Pat::parse_multi)?;
            if pats.is_empty() {
                return Err(syn::Error::new(
                    brackets.span.join(),
                    "an empty list matches no error: give at least one pattern (`[Timeout]`), or leave the key out",
                ));
            }
            Ok(Patterns(pats.into_iter().collect()))
        };
        parser.parse2(tokens)
    }
}

/// The value of `on`: patterns, or `transient`.
#[derive(Clone, Debug)]
pub(crate) enum On {
    Transient(Span),
    Patterns(Patterns),
}

const ON_EXPECTED: &str = "expected `[Pattern, ...]` (variants of the error type) or `transient`";

impl FromMeta for On {
    fn from_expr(expr: &Expr) -> darling::Result<Self> {
        match expr {
            Expr::Path(path) if path.path.is_ident("transient") => Ok(On::Transient(path.span())),
            Expr::Group(group) => Self::from_expr(&group.expr),
            Expr::Array(array) => match Patterns::of_paths(array) {
                Some(patterns) => Ok(On::Patterns(patterns)),
                None => Ok(On::Patterns(Patterns::parse(expr.to_token_stream())?)),
            },
            _ => Err(Error::custom(ON_EXPECTED).with_span(expr)),
        }
    }

    fn from_invalid_expr(meta: &darling::ast::MetaNameValueInvalidExpr) -> darling::Result<Self> {
        Patterns::parse(meta.value.clone())
            .map(On::Patterns)
            .map_err(|_| Error::custom(ON_EXPECTED).with_span(&meta.value))
    }

    fn from_word() -> darling::Result<Self> {
        Err(Error::custom(ON_EXPECTED))
    }
}

/// The value of `unless` and `breaker_counts`: patterns, or a predicate
/// `Fn(&E) -> bool`.
#[derive(Clone, Debug)]
pub(crate) enum Unless {
    Patterns(Patterns),
    Predicate(Expr),
}

impl FromMeta for Unless {
    fn from_expr(expr: &Expr) -> darling::Result<Self> {
        match expr {
            Expr::Group(group) => Self::from_expr(&group.expr),
            Expr::Array(array) => match Patterns::of_paths(array) {
                Some(patterns) => Ok(Unless::Patterns(patterns)),
                None => Ok(Unless::Patterns(Patterns::parse(expr.to_token_stream())?)),
            },
            _ => Ok(Unless::Predicate(expr.clone())),
        }
    }

    fn from_invalid_expr(meta: &darling::ast::MetaNameValueInvalidExpr) -> darling::Result<Self> {
        Ok(Unless::Patterns(Patterns::parse(meta.value.clone())?))
    }
}

/// The arguments of `#[retry(...)]` (and, after its predicate, `#[retry_if_result(...)]`).
#[derive(Debug, Default, FromMeta)]
#[darling(default)]
pub(crate) struct RetryArgs {
    pub stop: Option<SpannedValue<Value>>,
    pub wait: Option<SpannedValue<Value>>,
    pub on: Option<SpannedValue<On>>,
    pub when: Option<SpannedValue<Value>>,
    pub unless: Option<SpannedValue<Unless>>,
    pub if_result: Option<SpannedValue<Value>>,
    pub retry_after: Option<SpannedValue<Value>>,
    pub timeout: Option<SpannedValue<Value>>,
    pub deadline: Option<SpannedValue<Value>>,
    pub before: Option<SpannedValue<Value>>,
    pub after: Option<SpannedValue<Value>>,
    pub before_sleep: Option<SpannedValue<Value>>,
    pub on_success: Option<SpannedValue<Value>>,
    pub on_giveup: Option<SpannedValue<Value>>,
    pub fallback: Option<SpannedValue<Value>>,
    pub sleep: Option<SpannedValue<Value>>,
    pub clock: Option<SpannedValue<Value>>,
    pub breaker: Option<SpannedValue<Value>>,
    pub breaker_counts: Option<SpannedValue<Unless>>,
    pub budget: Option<SpannedValue<Value>>,
    pub observe: Option<SpannedValue<Value>>,
    pub name: Option<Name>,
    #[darling(rename = "crate")]
    pub krate: Option<CratePath>,
}

/// The value of `crate`: a path (`crate = my_reexport::retry`), not a string.
#[derive(Clone, Debug)]
pub(crate) struct CratePath(pub Path);

impl FromMeta for CratePath {
    fn from_expr(expr: &Expr) -> darling::Result<Self> {
        match expr {
            Expr::Path(path) if path.qself.is_none() => Ok(CratePath(path.path.clone())),
            Expr::Group(group) => Self::from_expr(&group.expr),
            Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(lit), .. }) => {
                Err(Error::custom(format!("`crate` is a path, not a string: `crate = {}`", lit.value()))
                    .with_span(expr))
            }
            _ => Err(Error::custom("`crate` is the path of the `retry` crate: `crate = my_reexport::retry`")
                .with_span(expr)),
        }
    }
}

impl ToTokens for CratePath {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        self.0.to_tokens(tokens);
    }
}

/// The level of `observe = ..` (0 off … 5 error), if it is one.
pub(crate) fn event_level(expr: &Expr) -> Option<u8> {
    const LEVELS: [&str; 6] = ["off", "trace", "debug", "info", "warn", "error"];
    let Expr::Path(path) = expr else { return None };
    let name = path.path.get_ident()?.to_string();
    LEVELS.iter().position(|level| *level == name).and_then(|index| u8::try_from(index).ok())
}

/// The arguments of `#[hedge(...)]`.
#[derive(Debug, Default, FromMeta)]
#[darling(default)]
pub(crate) struct HedgeArgs {
    pub n: Option<SpannedValue<Value>>,
    pub delay: Option<SpannedValue<Value>>,
    pub on: Option<SpannedValue<On>>,
    pub when: Option<SpannedValue<Value>>,
    pub budget: Option<SpannedValue<Value>>,
    pub name: Option<Name>,
    #[darling(rename = "crate")]
    pub krate: Option<CratePath>,
}

/// The keys [`HedgeArgs`] knows.
const HEDGE_KEYS: &[&str] = &["n", "delay", "on", "when", "budget", "name", "crate"];

/// Parses `#[hedge(...)]`'s arguments.
pub(crate) fn parse_hedge(args: TokenStream, errors: &mut darling::error::Accumulator) -> Option<HedgeArgs> {
    parse_list(args, "#[hedge]", HEDGE_KEYS, errors)
        .and_then(|items| errors.handle(HedgeArgs::from_list(&items)))
}

/// Which attribute is being expanded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Retry,
    RetryIfResult,
}

impl Kind {
    pub(crate) fn attr_name(self) -> &'static str {
        match self {
            Kind::Retry => "#[retry]",
            Kind::RetryIfResult => "#[retry_if_result]",
        }
    }
}

/// The keys [`RetryArgs`] knows (a test checks the list against the struct).
const KEYS: &[&str] = &[
    "stop",
    "wait",
    "on",
    "when",
    "unless",
    "if_result",
    "retry_after",
    "timeout",
    "deadline",
    "breaker",
    "breaker_counts",
    "budget",
    "observe",
    "before",
    "after",
    "before_sleep",
    "on_success",
    "on_giveup",
    "fallback",
    "sleep",
    "clock",
    "name",
    "crate",
];

/// Parses `#[retry(...)]`'s arguments. Every error is reported, not just the first:
/// when some keys are wrong, the others are still parsed (and later checked), so
/// one build shows everything to fix.
pub(crate) fn parse_retry(args: TokenStream, errors: &mut darling::error::Accumulator) -> Option<RetryArgs> {
    if let Some(args) = parse_plain(&args) {
        return Some(args);
    }
    parse_list(args, "#[retry]", KEYS, errors).and_then(|items| from_items(items, errors))
}

/// The arguments when each is `key = value` with a key of [`KEYS`], given once,
/// and a value each key takes: what darling would make of them, made without
/// its generic machinery (most attributes are like this, and each is parsed on
/// every check). `None` for anything else, which [`parse_list`] and darling
/// then parse and report, so the errors are theirs.
fn parse_plain(args: &TokenStream) -> Option<RetryArgs> {
    use proc_macro2::TokenTree;
    let mut parsed = RetryArgs::default();
    let mut trees = args.clone().into_iter().peekable();
    let mut seen: Vec<String> = Vec::new();
    while trees.peek().is_some() {
        let Some(TokenTree::Ident(key)) = trees.next() else { return None };
        match trees.next() {
            Some(TokenTree::Punct(eq))
                if eq.as_char() == '=' && eq.spacing() == proc_macro2::Spacing::Alone => {}
            _ => return None,
        }
        let mut value = TokenStream::new();
        let (mut first, mut last) = (None, None);
        let mut comma = false;
        for tree in trees.by_ref() {
            if matches!(&tree, TokenTree::Punct(p) if p.as_char() == ',') {
                comma = true;
                break;
            }
            first.get_or_insert(tree.span());
            last = Some(tree.span());
            value.extend([tree]);
        }
        let (Some(first), Some(last)) = (first, last) else { return None };
        // The span darling gives a value: its tokens, first to last.
        let span = first.join(last).unwrap_or(first);
        let key = key.to_string();
        if !KEYS.contains(&key.as_str()) || seen.contains(&key) {
            return None;
        }
        // As darling: the last value, when it is all one literal (`-5s`
        // included), is that literal; any other is an expression.
        let literal = if comma { None } else { syn::parse2::<syn::Lit>(value.clone()).ok() };
        let expr: Expr = match literal {
            Some(lit) => Expr::Lit(syn::ExprLit { attrs: Vec::new(), lit }),
            None => syn::parse2(value).ok()?,
        };
        let value = |expr: Expr| Some(SpannedValue::new(Value(expr), span));
        match key.as_str() {
            "stop" => parsed.stop = value(expr),
            "wait" => parsed.wait = value(expr),
            "on" => parsed.on = Some(SpannedValue::new(On::from_expr(&expr).ok()?, span)),
            "when" => parsed.when = value(expr),
            "unless" => parsed.unless = Some(SpannedValue::new(Unless::from_expr(&expr).ok()?, span)),
            "if_result" => parsed.if_result = value(expr),
            "retry_after" => parsed.retry_after = value(expr),
            "timeout" => parsed.timeout = value(expr),
            "deadline" => parsed.deadline = value(expr),
            "before" => parsed.before = value(expr),
            "after" => parsed.after = value(expr),
            "before_sleep" => parsed.before_sleep = value(expr),
            "on_success" => parsed.on_success = value(expr),
            "on_giveup" => parsed.on_giveup = value(expr),
            "fallback" => parsed.fallback = value(expr),
            "sleep" => parsed.sleep = value(expr),
            "clock" => parsed.clock = value(expr),
            "breaker" => parsed.breaker = value(expr),
            "breaker_counts" => {
                parsed.breaker_counts = Some(SpannedValue::new(Unless::from_expr(&expr).ok()?, span))
            }
            "budget" => parsed.budget = value(expr),
            "observe" => parsed.observe = value(expr),
            "name" => parsed.name = Some(Name::from_expr(&expr).ok()?),
            "crate" => parsed.krate = Some(CratePath::from_expr(&expr).ok()?),
            _ => return None,
        }
        seen.push(key);
    }
    Some(parsed)
}

/// Splits `key = value, ...` into items, reporting what is not that shape in words
/// of the attribute (`key: value`, a bare value, a key of another library), and
/// leaving out the items reported.
pub(crate) fn parse_list(
    args: TokenStream,
    attr: &str,
    keys: &[&str],
    errors: &mut darling::error::Accumulator,
) -> Option<Vec<NestedMeta>> {
    // `key: value` (a struct literal's syntax) fails to parse as a list: say so.
    let trees: Vec<proc_macro2::TokenTree> = args.clone().into_iter().collect();
    let mut colon = false;
    for (i, pair) in trees.windows(2).enumerate() {
        if let [proc_macro2::TokenTree::Ident(key), proc_macro2::TokenTree::Punct(p)] = pair
            && p.as_char() == ':'
            && p.spacing() == proc_macro2::Spacing::Alone
            && (i == 0 || matches!(&trees[i - 1], proc_macro2::TokenTree::Punct(c) if c.as_char() == ','))
        {
            errors.push(Error::custom(format!("write `{key} = ..`, not `{key}: ..`")).with_span(p));
            colon = true;
        }
    }
    if colon {
        return None;
    }
    let items = errors.handle(NestedMeta::parse_meta_list(args).map_err(Error::from))?;
    let mut kept = Vec::with_capacity(items.len());
    let mut seen: Vec<String> = Vec::new();
    for item in items {
        // A key given twice is reported here and its second value left out, so
        // the first (and every other key) is still checked.
        let key = match &item {
            NestedMeta::Meta(meta) => Some((meta.path().to_token_stream().to_string(), meta.path().span())),
            NestedMeta::NameValueInvalidExpr(meta) => {
                Some((meta.path.to_token_stream().to_string(), meta.path.span()))
            }
            NestedMeta::Lit(_) => None,
        };
        if let Some((key, span)) = key {
            if seen.contains(&key) {
                errors.push(Error::custom(format!("`{key}` is given twice; keep one")).with_span(&span));
                continue;
            }
            seen.push(key);
        }
        match &item {
            NestedMeta::Lit(lit) => errors.push(
                Error::custom(format!(
                    "{attr} takes `key = value` arguments, not a bare value: e.g. `stop = attempts(3)`"
                ))
                .with_span(lit),
            ),
            NestedMeta::Meta(meta) => match meta.path().get_ident().map(ToString::to_string) {
                Some(key) if !keys.contains(&key.as_str()) => {
                    errors.push(unknown_key(&key, keys).with_span(meta.path()))
                }
                _ => kept.push(item),
            },
            NestedMeta::NameValueInvalidExpr(meta) => match meta.path.get_ident().map(ToString::to_string) {
                Some(key) if !keys.contains(&key.as_str()) => {
                    errors.push(unknown_key(&key, keys).with_span(&meta.path))
                }
                _ => kept.push(item),
            },
        }
    }
    Some(kept)
}

/// "unknown key", with what to write instead: the DSL's form of a key of another
/// library, or the closest key, or the list of keys.
fn unknown_key(key: &str, keys: &[&str]) -> Error {
    let foreign = match key {
        "max_attempts" | "attempts" | "max_tries" | "tries" | "times" => {
            Some(format!("`{key} = 5` is `stop = attempts(5)` (5 calls in all)"))
        }
        "retries" | "max_retries" | "retry_count" => {
            Some(format!("`{key} = 3` is `stop = attempts(4)` (the first call and 3 retries)"))
        }
        "max_delay" | "max_backoff" | "max_wait" | "max_interval" => {
            Some(format!("`{key}` is the wait's `max`: `wait = expo(100ms, max = 10s)`"))
        }
        "delay" | "backoff" | "interval" | "min_delay" | "initial_delay" => {
            Some(format!("`{key}` is the wait policy: `wait = fixed(1s)` or `wait = expo(100ms, max = 10s)`"))
        }
        "retry_on" | "retry_if" | "retry_when" | "on_error" | "retry_on_error" => {
            Some(format!("`{key} = [..]` is `on = [..]` (patterns), or `when = |e| ..` (a predicate)"))
        }
        "max_elapsed" | "max_duration" | "max_elapsed_time" | "total_timeout" => {
            Some(format!("`{key}` is `deadline = 30s` (or `stop = elapsed(30s)`)"))
        }
        "jitter" => Some("jitter is part of the wait: `wait = random_expo(100ms, max = 10s)`".to_owned()),
        "log" | "log_level" | "level" | "events" => Some(format!(
            "`{key} = warn` is `observe = warn` (the level of the retry events; `off` for none)"
        )),
        _ => None,
    };
    let attr_keys = keys.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ");
    match foreign {
        Some(hint) => Error::custom(format!("unknown key `{key}`: {hint}")),
        None => match keys.iter().find(|k| crate::dsl::distance(key, k) <= 2) {
            Some(near) => Error::custom(format!("unknown key `{key}`; did you mean `{near}`?")),
            None => Error::custom(format!("unknown key `{key}`; the keys are {attr_keys}")),
        },
    }
}

fn from_items(items: Vec<NestedMeta>, errors: &mut darling::error::Accumulator) -> Option<RetryArgs> {
    match RetryArgs::from_list(&items) {
        Ok(args) => Some(args),
        Err(error) => {
            errors.push(error);
            // The items that are right on their own are still checked, so one
            // build shows everything to fix. (Their errors repeat the first's.)
            let valid: Vec<NestedMeta> = items
                .into_iter()
                .filter(|item| RetryArgs::from_list(std::slice::from_ref(item)).is_ok())
                .collect();
            RetryArgs::from_list(&valid).ok()
        }
    }
}

/// Parses `#[retry_if_result(pred, key = value, ...)]`: the predicate first.
pub(crate) fn parse_retry_if_result(
    args: TokenStream,
    errors: &mut darling::error::Accumulator,
) -> Option<RetryArgs> {
    const MISSING: &str = "`#[retry_if_result]` needs a predicate over the fn's value first: \
                           `#[retry_if_result(|v| v.is_pending(), ...)]`";
    let span = args.span();
    let split = |input: syn::parse::ParseStream<'_>| {
        if input.is_empty() {
            return Ok(None);
        }
        let predicate: Expr = input.parse()?;
        if !input.is_empty() {
            input.parse::<Token![,]>()?;
        }
        Ok(Some((predicate, input.parse::<TokenStream>()?)))
    };
    let (predicate, rest) = match errors.handle(split.parse2(args).map_err(Error::from))? {
        None => {
            errors.push(Error::custom(MISSING).with_span(&span));
            return None;
        }
        Some(parts) => parts,
    };
    if let Expr::Assign(assign) = &predicate
        && matches!(&*assign.left, Expr::Path(p) if p.path.get_ident().is_some())
    {
        errors.push(Error::custom(MISSING).with_span(&predicate));
        return None;
    }
    let mut parsed = parse_retry(rest, errors)?;
    if let Some(duplicate) = &parsed.if_result {
        errors.push(
            Error::custom(
                "the predicate of `#[retry_if_result]` is its first argument; `if_result` cannot be given again",
            )
            .with_span(&duplicate.span()),
        );
    }
    let span = predicate.span();
    parsed.if_result = Some(SpannedValue::new(Value(predicate), span));
    Some(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_every_field() {
        for key in KEYS {
            let items = NestedMeta::parse_meta_list(format!("{key} = 1").parse().unwrap()).unwrap();
            let error = RetryArgs::from_list(&items).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(!error.contains("Unknown field"), "`{key}`: {error}");
        }
        let items = NestedMeta::parse_meta_list("nope = 1".parse().unwrap()).unwrap();
        assert!(RetryArgs::from_list(&items).unwrap_err().to_string().contains("Unknown field"));
        // Every field is listed: each key of the struct's debug form is known.
        let fields = format!("{:?}", RetryArgs::default());
        for field in fields.split(['{', ',']).skip(1).filter_map(|f| f.split(':').next()) {
            let field = field.trim().trim_end_matches('}').trim();
            if !field.is_empty() {
                let key = if field == "krate" { "crate" } else { field };
                assert!(KEYS.contains(&key), "`{key}` is missing from KEYS");
            }
        }
    }
}
