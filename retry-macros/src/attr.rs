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
    fn parse(tokens: TokenStream) -> syn::Result<Self> {
        let parser = |input: syn::parse::ParseStream<'_>| {
            let content;
            syn::bracketed!(content in input);
            let pats = Punctuated::<Pat, Token![,]>::parse_terminated_with(&content, Pat::parse_multi)?;
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
            Expr::Array(_) => Ok(On::Patterns(Patterns::parse(expr.to_token_stream())?)),
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
            Expr::Array(_) => Ok(Unless::Patterns(Patterns::parse(expr.to_token_stream())?)),
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
    pub log: Option<SpannedValue<Value>>,
    pub name: Option<Name>,
    #[darling(rename = "crate")]
    pub krate: Option<Path>,
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
    "log",
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
    let items = errors.handle(NestedMeta::parse_meta_list(args).map_err(Error::from))?;
    match RetryArgs::from_list(&items) {
        Ok(args) => Some(args),
        Err(error) => {
            errors.push(error);
            let known: Vec<NestedMeta> = items
                .into_iter()
                .filter(|item| match item {
                    NestedMeta::Meta(meta) => {
                        meta.path().get_ident().is_some_and(|key| KEYS.iter().any(|k| key == k))
                    }
                    _ => false,
                })
                .collect();
            // Errors of this second pass repeat the first's.
            RetryArgs::from_list(&known).ok()
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
