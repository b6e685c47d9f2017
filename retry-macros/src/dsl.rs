//! The two rewrites of the attribute DSL, and the checks of literal values.
//!
//! * Duration literals: `250ms`, `1.5s`, `3m`, `1h`, `500us`, `10ns` become
//!   `Duration::new(secs, nanos)`, computed here, so a typo is a compile error.
//! * Named arguments: `f(a, k = v)` becomes `f(a).k(v)`; and `chain(a, b)` becomes
//!   `chain((a, b))`, the runtime's tuple form.
//!
//! Literal values that can never work (`attempts(0)`, `min > max`, a negative
//! duration, a base below 1) are reported here, on the offending tokens.

use darling::Error;
use proc_macro2::TokenStream;
use quote::{ToTokens, quote_spanned};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::visit_mut::{self, VisitMut};
use syn::{Expr, Lit, Token, UnOp};

const NANOS_PER_SEC: f64 = 1e9;

/// Nanoseconds per unit of a duration suffix; `None` for a suffix that is not one.
fn unit_nanos(suffix: &str) -> Option<f64> {
    Some(match suffix {
        "ns" => 1.0,
        "us" => 1e3,
        "ms" => 1e6,
        "s" => 1e9,
        "m" => 60e9,
        "h" => 3600e9,
        _ => return None,
    })
}

/// Rust's own numeric suffixes, which stay as they are.
fn is_numeric_suffix(suffix: &str) -> bool {
    matches!(
        suffix,
        "" | "u8"
            | "u16"
            | "u32"
            | "u64"
            | "u128"
            | "usize"
            | "i8"
            | "i16"
            | "i32"
            | "i64"
            | "i128"
            | "isize"
            | "f32"
            | "f64"
    )
}

/// A literal's value in seconds: a duration literal, or a bare number (seconds).
/// `None` if `expr` is not a numeric literal.
pub(crate) fn literal_seconds(expr: &Expr) -> Option<f64> {
    match expr {
        Expr::Lit(lit) => {
            let (digits, suffix) = match &lit.lit {
                Lit::Int(int) => (int.base10_digits().to_owned(), int.suffix().to_owned()),
                Lit::Float(float) => (float.base10_digits().to_owned(), float.suffix().to_owned()),
                _ => return None,
            };
            let value: f64 = digits.parse().ok()?;
            match unit_nanos(&suffix) {
                Some(unit) => Some(value * unit / NANOS_PER_SEC),
                None if is_numeric_suffix(&suffix) => Some(value),
                None => None,
            }
        }
        Expr::Unary(unary) if matches!(unary.op, UnOp::Neg(_)) => literal_seconds(&unary.expr).map(|v| -v),
        Expr::Paren(inner) => literal_seconds(&inner.expr),
        Expr::Group(inner) => literal_seconds(&inner.expr),
        _ => None,
    }
}

/// `Duration::new(secs, nanos)` for a duration literal, or an error for a bad one.
/// With `build` false (validation), an empty stream for a good one.
fn duration_literal(lit: &Lit, build: bool) -> Option<Result<TokenStream, Error>> {
    let (digits, suffix, span) = match lit {
        Lit::Int(int) => (int.base10_digits(), int.suffix(), int.span()),
        Lit::Float(float) => (float.base10_digits(), float.suffix(), float.span()),
        _ => return None,
    };
    if is_numeric_suffix(suffix) {
        return None;
    }
    let Some(unit) = unit_nanos(suffix) else {
        return Some(Err(Error::custom(format!(
            "unknown duration unit `{suffix}`; use one of `ns`, `us`, `ms`, `s`, `m`, `h` (e.g. `250ms`)"
        ))
        .with_span(&span)));
    };
    let nanos = digits.parse::<f64>().unwrap_or(f64::INFINITY) * unit;
    if !nanos.is_finite() || nanos / NANOS_PER_SEC >= u64::MAX as f64 {
        return Some(Err(Error::custom("this duration is too large for `Duration`").with_span(&span)));
    }
    if !build {
        return Some(Ok(TokenStream::new()));
    }
    let secs = (nanos / NANOS_PER_SEC).floor();
    let subsec = ((nanos - secs * NANOS_PER_SEC).round() as u32).min(999_999_999);
    let secs = secs as u64;
    Some(Ok(quote_spanned!(span=> ::core::time::Duration::new(#secs, #subsec))))
}

/// The functions of `retry::dsl`, which a value may call by their bare names.
const DSL_FNS: &[&str] = &[
    "attempts",
    "before_elapsed",
    "chain",
    "decorrelated",
    "elapsed",
    "equal_jitter",
    "expo",
    "expo_jitter",
    "fibonacci",
    "fixed",
    "from_state",
    "linear",
    "never",
    "none",
    "percentile",
    "random",
    "random_expo",
    "signal",
    "transient",
];

/// Where the DSL's names resolve: each bare DSL name a value calls becomes the
/// full path of the runtime's fn, so nothing is imported over the user's names:
/// the fn's arguments and locals keep their meaning (`stop = attempts(attempts)`).
/// A user item of the same name in scope is a compile error rather than silently
/// swapped ([`Scope::clash_check`]).
pub(crate) struct Scope {
    private: TokenStream,
    /// The fn's argument names: a bare DSL name in value position that is one of
    /// them stays the argument.
    arguments: std::collections::HashSet<String>,
    /// The DSL names used, with where.
    used: Vec<syn::Ident>,
    /// `private` parsed, once.
    private_path: Option<syn::Path>,
}

impl Scope {
    pub(crate) fn new(private: &TokenStream, sig: &syn::Signature) -> Self {
        let arguments = crate::item::argument_names(sig);
        Scope { private: private.clone(), arguments, used: Vec::new(), private_path: None }
    }

    /// `#private::dsl::name`, every token at `name`'s span, built without parsing.
    fn dsl_path(&mut self, name: &syn::Ident) -> syn::Path {
        let span = name.span();
        let private = &self.private;
        let mut path = self.private_path.get_or_insert_with(|| syn::parse_quote!(#private)).clone();
        path.segments.push(syn::Ident::new("dsl", span).into());
        path.segments.push(name.clone().into());
        respan_path(&mut path, span);
        path
    }

    /// Adds the names a value binds itself (closure parameters, `let`s) to the
    /// names that stay the user's.
    fn bind_locals(&mut self, expr: &Expr) {
        struct Bound<'a>(&'a mut std::collections::HashSet<String>);
        impl syn::visit::Visit<'_> for Bound<'_> {
            fn visit_pat_ident(&mut self, pat: &syn::PatIdent) {
                self.0.insert(pat.ident.to_string());
                syn::visit::visit_pat_ident(self, pat);
            }
        }
        syn::visit::Visit::visit_expr(&mut Bound(&mut self.arguments), expr);
    }

    /// A block that fails to compile when a DSL name this attribute used is also
    /// a user's item in scope: an import of the name beside a glob import of the
    /// DSL is ambiguous (E0659) exactly then. rustc's message names both, and how
    /// to name the user's unambiguously (`crate::fixed`); the crate docs add
    /// `retry::dsl::fixed`, which no message of rustc's can be made to show. One
    /// block for all the names (each block of imports is a scope rustc resolves
    /// and hashes on every check): the error is at the name that clashes, the
    /// note on the DSL's side at the first name.
    pub(crate) fn clash_check(&self) -> TokenStream {
        let mut seen = std::collections::HashSet::new();
        // An argument of the same name is a local, which imports cannot see (nor
        // clash with): skipped.
        let mut names = self
            .used
            .iter()
            .filter(|name| !self.arguments.contains(&name.to_string()) && seen.insert(name.to_string()))
            .peekable();
        let Some(first) = names.peek() else { return TokenStream::new() };
        let private = &self.private;
        // The glob spanned at a name: rustc's note on the DSL's side of a clash
        // then points at the attribute's value, not at the whole attribute.
        let glob = crate::item::respanned(&quote::quote!(use #private::dsl::*;), first.span());
        let mut imports = glob;
        for name in names {
            imports.extend(quote::quote!(use #name as _;));
        }
        quote::quote!(#[allow(unused_imports)] { #imports })
    }
}

/// Reports every way one DSL value is wrong (the validation pass): literals no
/// policy accepts, malformed durations, misspelled DSL fns, misplaced named
/// arguments. The same walk as [`rewrite`], on a copy, reporting.
pub(crate) fn validate(expr: &Expr, sig: &syn::Signature, errors: &mut darling::error::Accumulator) {
    check_literals(expr, errors);
    let mut scope = Scope::new(&TokenStream::new(), sig);
    scope.bind_locals(expr);
    let mut copy = expr.clone();
    Rewriter { errors: Some(errors), in_closure: false, scope: &mut scope }.visit_expr_mut(&mut copy);
}

/// Rewrites one DSL value in place (generation: [`validate`] reported what is
/// wrong with it, so nothing here can fail).
pub(crate) fn rewrite(expr: &mut Expr, scope: &mut Scope) {
    let arguments = scope.arguments.clone();
    scope.bind_locals(expr);
    Rewriter { errors: None, in_closure: false, scope: &mut *scope }.visit_expr_mut(expr);
    scope.arguments = arguments;
}

struct Rewriter<'a> {
    /// Where the validation pass reports; `None` when generating.
    errors: Option<&'a mut darling::error::Accumulator>,
    in_closure: bool,
    scope: &'a mut Scope,
}

impl Rewriter<'_> {
    fn report(&mut self, error: Error) {
        if let Some(errors) = &mut self.errors {
            errors.push(error);
        }
    }
}

impl Rewriter<'_> {
    /// `name` → `::retry::__private::dsl::name` for a bare DSL name.
    fn qualify(&mut self, path: &mut syn::ExprPath, callee: bool) {
        let Some(ident) = path.path.get_ident().filter(|_| path.qself.is_none()) else { return };
        let name = ident.to_string();
        if self.in_closure && self.scope.arguments.contains(&name) {
            return;
        }
        if callee
            && !self.in_closure
            && !DSL_FNS.contains(&name.as_str())
            && !self.scope.arguments.contains(&name)
        {
            if let Some(near) = DSL_FNS.iter().find(|dsl| name.len() >= 4 && distance(&name, dsl) <= 2) {
                let error = Error::custom(format!("unknown DSL function `{name}`; did you mean `{near}`?"));
                self.report(error.with_span(ident));
            }
            return;
        }
        if !DSL_FNS.contains(&name.as_str()) || (!callee && self.scope.arguments.contains(&name)) {
            return;
        }
        if self.errors.is_some() {
            // Validation: nothing to rewrite.
            return;
        }
        let ident = ident.clone();
        self.scope.used.push(ident.clone());
        path.path = self.scope.dsl_path(&ident);
    }
}

impl VisitMut for Rewriter<'_> {
    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        match expr {
            Expr::Closure(_) | Expr::Block(_) | Expr::Async(_) => {
                // User code: only duration literals are rewritten inside (they are
                // not valid Rust anyway); calls keep their meaning.
                let outer = std::mem::replace(&mut self.in_closure, true);
                visit_mut::visit_expr_mut(self, expr);
                self.in_closure = outer;
                return;
            }
            Expr::Unary(unary) if matches!(unary.op, UnOp::Neg(_)) => {
                if let Expr::Lit(lit) = &*unary.expr
                    && duration_literal(&lit.lit, false).is_some()
                {
                    let error = Error::custom("a duration cannot be negative").with_span(&*unary);
                    self.report(error);
                    return;
                }
            }
            _ => {}
        }
        match expr {
            // A DSL fn called in a closure or a block is the DSL's too (unless
            // the value binds the name itself).
            Expr::Call(call) => {
                if let Expr::Path(path) = &mut *call.func {
                    self.qualify(path, true);
                }
            }
            Expr::Path(path) if !self.in_closure => self.qualify(path, false),
            _ => {}
        }
        visit_mut::visit_expr_mut(self, expr);
        match expr {
            Expr::Lit(lit) => match duration_literal(&lit.lit, self.errors.is_none()) {
                Some(Ok(tokens)) if self.errors.is_none() => *expr = Expr::Verbatim(tokens),
                Some(Ok(_)) => {}
                Some(Err(error)) => self.report(error),
                None => {}
            },
            Expr::Call(call) if !self.in_closure => {
                if let Some(rewritten) = named_arguments(call, self.errors.as_deref_mut()) {
                    *expr = rewritten;
                }
            }
            _ => {}
        }
    }
}

/// The name of a call's callee when it is a bare identifier (`expo` in `expo(1)`).
pub(crate) fn callee_name(call: &syn::ExprCall) -> Option<String> {
    match &*call.func {
        Expr::Path(path) if path.qself.is_none() => match path.path.get_ident() {
            Some(ident) => Some(ident.to_string()),
            // A DSL name qualified by [`Rewriter::qualify`].
            None => {
                let segments = &path.path.segments;
                let dsl = segments.len() >= 2 && segments[segments.len() - 2].ident == "dsl";
                segments.last().filter(|_| dsl).map(|last| last.ident.to_string())
            }
        },
        _ => None,
    }
}

/// `k = v` as an argument: the key, if `k` is a bare identifier.
fn named(arg: &Expr) -> Option<(&syn::Ident, &Expr)> {
    match arg {
        Expr::Assign(assign) => match &*assign.left {
            Expr::Path(path) if path.qself.is_none() => {
                path.path.get_ident().map(|key| (key, &*assign.right))
            }
            _ => None,
        },
        _ => None,
    }
}

/// `f(a, k = v)` → `f(a).k(v)`; `chain(a, b)` → `chain((a, b))`. `None` when the
/// call has neither.
fn named_arguments(
    call: &syn::ExprCall,
    mut errors: Option<&mut darling::error::Accumulator>,
) -> Option<Expr> {
    let validating = errors.is_some();
    let mut report = |error: Error| {
        if let Some(errors) = errors.as_deref_mut() {
            errors.push(error);
        }
    };
    let is_chain = callee_name(call).as_deref() == Some("chain");
    let has_named = call.args.iter().any(|arg| named(arg).is_some());
    if !has_named && !is_chain {
        return None;
    }
    let mut positional: Punctuated<Expr, Token![,]> = Punctuated::new();
    let mut setters = Vec::new();
    for arg in &call.args {
        match named(arg) {
            // A setter given twice would silently keep the last value.
            Some((key, _)) if setters.iter().any(|(seen, _): &(syn::Ident, Expr)| seen == key) => {
                report(Error::custom(format!("`{key}` is given twice; keep one")).with_span(key));
            }
            Some((key, value)) => setters.push((key.clone(), value.clone())),
            None if !setters.is_empty() => {
                report(
                    Error::custom("positional arguments come before named ones (`key = value`)")
                        .with_span(arg),
                );
            }
            None => positional.push(arg.clone()),
        }
    }
    if validating {
        // Validation: the checks above and the empty `chain`'s, nothing built.
        if is_chain && positional.is_empty() {
            report(
                Error::custom("`chain` needs at least one wait policy: `chain(fixed(1), fixed(5))`")
                    .with_span(call),
            );
        }
        return None;
    }
    let func = &call.func;
    // What `call.span()` gives, without printing the call to find its last token.
    let span = match &**func {
        Expr::Path(path) if path.qself.is_none() && path.attrs.is_empty() && call.attrs.is_empty() => {
            let first = match &path.path.leading_colon {
                Some(colon) => colon.spans[0],
                None => path.path.segments[0].ident.span(),
            };
            let last = call.paren_token.span.close();
            first.join(last).unwrap_or(first)
        }
        _ => call.span(),
    };
    let mut tokens = if is_chain {
        if positional.is_empty() {
            report(
                Error::custom("`chain` needs at least one wait policy: `chain(fixed(1), fixed(5))`")
                    .with_span(call),
            );
        }
        if !positional.empty_or_trailing() {
            positional.push_punct(<Token![,]>::default());
        }
        quote_spanned!(span=> #func((#positional)))
    } else {
        quote_spanned!(span=> #func(#positional))
    };
    for (key, value) in setters {
        let value = value.to_token_stream();
        tokens = quote_spanned!(key.span()=> #tokens.#key(#value));
    }
    Some(Expr::Verbatim(tokens))
}

/// Literal values no policy can accept, reported at compile time.
fn check_literals(expr: &Expr, errors: &mut darling::error::Accumulator) {
    struct Checker<'a>(&'a mut darling::error::Accumulator);
    impl syn::visit::Visit<'_> for Checker<'_> {
        fn visit_expr_closure(&mut self, _: &syn::ExprClosure) {}
        fn visit_expr_call(&mut self, call: &syn::ExprCall) {
            check_call(call, self.0);
            syn::visit::visit_expr_call(self, call);
        }
    }
    syn::visit::Visit::visit_expr(&mut Checker(errors), expr);
}

/// Functions of the DSL whose arguments are durations.
const DURATION_FNS_WITH_DURATIONS: &[&str] = &[
    "fixed",
    "from_state",
    "expo",
    "random_expo",
    "signal",
    "equal_jitter",
    "expo_jitter",
    "decorrelated",
    "fibonacci",
    "linear",
    "random",
    "elapsed",
    "before_elapsed",
];

fn check_call(call: &syn::ExprCall, errors: &mut darling::error::Accumulator) {
    let Some(name) = callee_name(call) else { return };
    let positional: Vec<&Expr> = call.args.iter().filter(|arg| named(arg).is_none()).collect();
    let named_value = |key: &str| call.args.iter().filter_map(named).find(|(k, _)| *k == key).map(|(_, v)| v);

    if name == "attempts" {
        match positional.first().map(|n| (n, literal_seconds(n))) {
            Some((n, Some(0.0))) => errors.push(
                Error::custom("`attempts(0)` would never call the fn; the least is `attempts(1)` (no retry)")
                    .with_span(*n),
            ),
            Some((n, Some(count))) if count < 0.0 => errors.push(
                Error::custom(
                    "`attempts` counts calls, the first included: a whole number of at least 1 \
                     (`attempts(1)`: no retry; `never()`: no limit)",
                )
                .with_span(*n),
            ),
            _ => {}
        }
        return;
    }
    if matches!(name.as_str(), "elapsed" | "before_elapsed")
        && let Some(limit) = positional.first()
        && literal_seconds(limit) == Some(0.0)
    {
        errors.push(
            Error::custom(format!(
                "`{name}(0)` stops after the first attempt, whatever it is: write `attempts(1)` for no retry"
            ))
            .with_span(*limit),
        );
    }
    // A first delay above `max`: every delay would be `max`, which is what the
    // user would write as `fixed(max)` (and it is likely a slip of units).
    if matches!(
        name.as_str(),
        "expo" | "random_expo" | "equal_jitter" | "expo_jitter" | "fibonacci" | "linear" | "decorrelated"
    ) && let (Some(first), Some(max)) = (positional.first(), named_value("max"))
        && let (Some(f), Some(m)) = (literal_seconds(first), literal_seconds(max))
        && f > m
    {
        errors.push(
            Error::custom(format!(
                "the first delay ({}) is greater than `max` ({}): every delay would be `max`; \
                 write `fixed({})`, or check the units",
                show(first),
                show(max),
                show(max)
            ))
            .with_span(*first),
        );
    }
    if !DURATION_FNS_WITH_DURATIONS.contains(&name.as_str()) {
        return;
    }
    let durations = positional
        .iter()
        .copied()
        .chain(["max", "min", "step", "jitter"].into_iter().filter_map(named_value));
    for value in durations {
        if literal_seconds(value).is_some_and(|v| v < 0.0) {
            errors.push(Error::custom("a duration cannot be negative").with_span(value));
        }
    }
    let (low, high) = if name == "random" {
        (positional.first().copied(), positional.get(1).copied())
    } else {
        (named_value("min"), named_value("max"))
    };
    if let (Some(low), Some(high)) = (low, high)
        && let (Some(l), Some(h)) = (literal_seconds(low), literal_seconds(high))
        && l > h
    {
        let (lo_name, hi_name) =
            if name == "random" { ("the first bound", "the second") } else { ("`min`", "`max`") };
        errors.push(
            Error::custom(format!("{lo_name} ({}) is greater than {hi_name} ({})", show(low), show(high)))
                .with_span(low),
        );
    }
    if let Some(base) = named_value("base")
        && literal_seconds(base).is_some_and(|b| b < 1.0)
    {
        errors.push(
            Error::custom("`base` must be at least 1: below it, delays would shrink instead of grow")
                .with_span(base),
        );
    }
}

fn show(expr: &Expr) -> String {
    expr.to_token_stream().to_string().replace(' ', "")
}

/// The edit distance between two names (for "did you mean").
pub(crate) fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = (previous + usize::from(ca != *cb)).min(row[j] + 1).min(current + 1);
            previous = current;
        }
    }
    row[b.len()]
}

/// Puts every token of a path (with no generic arguments) at `span`.
pub(crate) fn respan_path(path: &mut syn::Path, span: proc_macro2::Span) {
    if let Some(colon) = &mut path.leading_colon {
        colon.spans = [span, span];
    }
    for mut pair in path.segments.pairs_mut() {
        pair.value_mut().ident.set_span(span);
        if let Some(sep) = pair.punct_mut() {
            sep.spans = [span, span];
        }
    }
}
