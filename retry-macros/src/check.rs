//! Cross-checks between the arguments and the fn they are on.

use darling::Error;
use darling::error::Accumulator;
use syn::spanned::Spanned;

use std::collections::HashSet;

use quote::ToTokens;
use syn::{Expr, FnArg, Type};

use crate::attr::{HedgeArgs, Kind, On, RetryArgs, Unless};
use crate::dsl;
use crate::item::{self, Output, Receiver, RetryFn, Shape, future_output, receiver_kind};

/// Reports every way a retry attribute cannot apply to this fn.
pub(crate) fn check(kind: Kind, func: &RetryFn, args: Option<&RetryArgs>, errors: &mut Accumulator) {
    let attr = kind.attr_name();
    let sig = &func.sig;
    check_fn(attr, func, errors);
    let returns_future = matches!(func.shape, Shape::Sync)
        && matches!(&sig.output, syn::ReturnType::Type(_, ty) if future_output(ty).is_some());
    if returns_future {
        errors.push(
            Error::custom(format!(
                "{attr} on a fn that returns a future would retry creating the future, not running it: \
                 write it as an `async fn`"
            ))
            .with_span(&match &sig.output {
                syn::ReturnType::Type(_, ty) => ty.span(),
                syn::ReturnType::Default => sig.ident.span(),
            }),
        );
    }
    // `#[retry] #[again]` (`use retry::retry as again;`): the attribute below cannot
    // be told by its name; it sees the body the one above made of the fn.
    if func.body.as_ref().is_some_and(already_retried) {
        errors.push(Error::custom(format!(
            "a retry attribute above this one (under another name, as after `use retry::retry as ..;`) \
             already retries this fn: {attr} here would retry the retried call (3 attempts of 3 attempts \
             each); put all the keys in one attribute"
        )));
    }
    let Some(args) = args else { return };
    check_values(func, args, errors);
    if let Some(timeout) = &args.timeout {
        if matches!(func.shape, Shape::Sync) {
            errors.push(
                Error::custom(
                    "`timeout` needs an async fn: a sync attempt cannot be interrupted; \
                     `deadline = ..` bounds the whole call (no sleep past it) on sync fns",
                )
                .with_span(&timeout.span()),
            );
        } else if !func.output.is_result() {
            errors.push(
                Error::custom(
                    "`timeout` turns a slow attempt into an error, so the fn must return a `Result`",
                )
                .with_span(&timeout.span()),
            );
        }
    }
    if let Some(counts) = &args.breaker_counts
        && args.breaker.is_none()
    {
        errors.push(
            Error::custom(
                "`breaker_counts` says which errors count against `breaker`, but there is no `breaker`",
            )
            .with_span(&counts.span()),
        );
    }
    if let Some(breaker) = &args.breaker
        && !func.output.is_result()
    {
        errors.push(
            Error::custom(
                "`breaker` rejects calls with an error (`E::from(retry::CircuitOpen)`), so the fn must \
                 return a `Result`",
            )
            .with_span(&breaker.span()),
        );
    }
    for (key, value) in [("timeout", &args.timeout), ("deadline", &args.deadline)] {
        let Some(value) = value else { continue };
        match crate::dsl::literal_seconds(&value.0) {
            Some(secs) if secs < 0.0 => {
                errors.push(Error::custom(format!("`{key}` cannot be negative")).with_span(&value.0))
            }
            Some(0.0) => {
                let what = if key == "timeout" {
                    "every attempt would time out at once"
                } else {
                    "the call would end before its first attempt"
                };
                errors.push(Error::custom(format!("a zero `{key}`: {what}")).with_span(&value.0))
            }
            _ => {}
        }
    }
    let if_result = args.if_result.is_some();
    if let Output::Value { ty } = &func.output {
        if !if_result && !returns_future {
            let shown = crate::item::show(ty);
            let span = match &sig.output {
                syn::ReturnType::Type(_, ty) => ty.span(),
                syn::ReturnType::Default => sig.ident.span(),
            };
            errors.push(
                Error::custom(format!(
                    "#[retry] retries errors, but `{}` returns `{shown}`, not a `Result`; to retry on the value, \
                     add `if_result = |v| ..` or use `#[retry_if_result(|v| ..)]`",
                    sig.ident
                ))
                .with_span(&span),
            );
        }
        let error_keys = [
            ("on", args.on.as_ref().map(|v| v.span())),
            ("when", args.when.as_ref().map(|v| v.span())),
            ("unless", args.unless.as_ref().map(|v| v.span())),
            ("retry_after", args.retry_after.as_ref().map(|v| v.span())),
            ("breaker_counts", args.breaker_counts.as_ref().map(|v| v.span())),
        ];
        for (key, span) in error_keys {
            if let Some(span) = span {
                errors.push(
                    Error::custom(format!("`{key}` is about errors, but this fn does not return a `Result`"))
                        .with_span(&span),
                );
            }
        }
    }
}

/// The attribute's values: each DSL value (see [`dsl::validate`]), the patterns
/// against the error type, the `observe` level.
fn check_values(func: &RetryFn, args: &RetryArgs, errors: &mut Accumulator) {
    let sig = &func.sig;
    let values = [
        &args.stop,
        &args.wait,
        &args.when,
        &args.if_result,
        &args.retry_after,
        &args.timeout,
        &args.deadline,
        &args.before,
        &args.after,
        &args.before_sleep,
        &args.on_success,
        &args.on_giveup,
        &args.fallback,
        &args.sleep,
        &args.clock,
        &args.breaker,
        &args.budget,
    ];
    for value in values.into_iter().flatten() {
        dsl::validate(&value.0, sig, errors);
    }
    let err = match &func.output {
        Output::Result { err, .. } => err.as_deref(),
        Output::Value { .. } => None,
    };
    // (On a fn that returns no `Result`, these keys are reported as such.)
    let result = func.output.is_result();
    if let Some(on) = &args.on
        && let On::Patterns(patterns) = &**on
        && result
    {
        crate::shared::check_patterns(&patterns.0, err, &sig.generics, errors);
    }
    for patterns_or_predicate in [&args.unless, &args.breaker_counts].into_iter().flatten() {
        match &**patterns_or_predicate {
            Unless::Patterns(patterns) if result => {
                crate::shared::check_patterns(&patterns.0, err, &sig.generics, errors)
            }
            Unless::Patterns(_) => {}
            Unless::Predicate(expr) => dsl::validate(expr, sig, errors),
        }
    }
    if let Some(level) = &args.observe
        && crate::attr::event_level(&level.0).is_none()
    {
        errors.push(
            Error::custom("`observe` is a level: `off`, `trace`, `debug`, `info`, `warn` or `error`")
                .with_span(&level.0),
        );
    }
}

/// The checks every attribute (`#[retry]`, `#[retry_if_result]`, `#[hedge]`)
/// makes of the fn it is on: what kind of fn it is, the attributes beside it, and
/// how its arguments can reach each attempt.
pub(crate) fn check_fn(attr: &str, func: &RetryFn, errors: &mut Accumulator) {
    let sig = &func.sig;
    if let Some(constness) = &sig.constness {
        errors.push(
            Error::custom(format!(
                "{attr} cannot go on a `const fn`: retrying sleeps and runs hooks, which const evaluation cannot"
            ))
            .with_span(constness),
        );
    }
    let is_hedge = attr == "#[hedge]";
    for outer in &func.outer_attrs {
        let name = outer.path().segments.last().map(|segment| segment.ident.to_string());
        match name.as_deref() {
            Some("retry" | "retry_if_result") if !is_hedge => errors.push(
                Error::custom(format!(
                    "{attr} is already on this fn: a second one would retry the retried call (3 attempts of 3 \
                     attempts each); put all the keys in one attribute"
                ))
                .with_span(outer.path()),
            ),
            Some("hedge") if is_hedge => errors.push(
                Error::custom("#[hedge] is already on this fn: put all the keys in one attribute").with_span(outer.path()),
            ),
            Some("track_caller") if matches!(func.shape, Shape::Sync) => errors.push(
                Error::custom(format!(
                    "{attr} cannot keep `#[track_caller]`: each attempt runs the body in a closure, where \
                     `Location::caller()` and panics would report the body's line, not the caller's; put \
                     `#[track_caller]` on a fn that calls this one, or remove it"
                ))
                .with_span(outer.path()),
            ),
            _ => {}
        }
    }
    // `extern "Rust"` is a Rust fn; other ABIs are called from foreign code.
    if let Some(abi) =
        sig.abi.as_ref().filter(|abi| abi.name.as_ref().is_none_or(|name| name.value() != "Rust"))
    {
        errors.push(
            Error::custom(format!(
                "{attr} cannot go on an `extern` fn: the retried body runs in a Rust closure; \
                 put the attribute on a Rust fn and call it from the `extern` one"
            ))
            .with_span(abi),
        );
    }
    if let Some(variadic) = &sig.variadic {
        errors.push(
            Error::custom(format!(
                "{attr} cannot go on a C-variadic fn: its arguments cannot be handed to a retry"
            ))
            .with_span(variadic),
        );
    }
    if func.body.is_none() {
        errors.push(
            Error::custom(format!(
                "{attr} needs the fn's body: put it on the method in the `impl`, or give the trait method a default body"
            ))
            .with_span(&sig.ident),
        );
    }
    check_arguments(attr, func, errors);
}

/// The arguments an attempt cannot be handed as the fn takes them: a borrow the
/// result keeps out of a `&mut` argument lent to each attempt, and an `impl
/// Trait` value the first attempt uses up.
pub(crate) fn check_arguments(attr: &str, func: &RetryFn, errors: &mut Accumulator) {
    let sig = &func.sig;
    // Lifetimes of the `&mut` arguments, and whether one is elided.
    let mut lent: Vec<(String, Option<String>, proc_macro2::Span)> = Vec::new();
    let mut references = 0;
    for input in &sig.inputs {
        match input {
            syn::FnArg::Receiver(receiver) => {
                if let syn::ReceiverKind::Reference(_, lifetime, _) = &receiver.kind {
                    references += 1;
                    if receiver_kind(sig) == Receiver::Mut {
                        lent.push((
                            "self".to_owned(),
                            lifetime.as_ref().map(|l| l.ident.to_string()),
                            receiver.self_token.span,
                        ));
                    }
                }
            }
            syn::FnArg::Typed(typed) => {
                if let syn::Type::Reference(reference) = &*typed.ty {
                    references += 1;
                    if reference.mutability.is_some() {
                        let name = crate::item::show(&typed.pat);
                        lent.push((
                            name,
                            reference.lifetime.as_ref().map(|l| l.ident.to_string()),
                            typed.pat.span(),
                        ));
                    }
                }
            }
        }
    }
    if !lent.is_empty() {
        let (named, elided) = output_lifetimes(func.output.ty());
        let has_self = sig.receiver().is_some_and(|r| matches!(r.kind, syn::ReceiverKind::Reference(..)));
        let escaping = lent.iter().find(|(name, lifetime, _)| match lifetime {
            Some(lifetime) => named.contains(lifetime),
            None => elided && (name == "self" || (!has_self && references == 1)),
        });
        if let Some((name, _, span)) = escaping {
            let shown = if name == "self" { "`self`".to_owned() } else { format!("`{name}`") };
            errors.push(
                Error::custom(format!(
                    "{attr} lends {shown} to each attempt in turn, so the value returned cannot borrow from it: \
                     the borrow checker cannot tell that only the last attempt's borrow is returned; return an \
                     owned value (or an index), and borrow from {shown} after the call"
                ))
                .with_span(span),
            );
        }
    }
    let Some(body) = &func.body else { return };
    let mut used = None;
    // Traits whose values are used up by their use (`into()`, `for`, `.await`, a
    // call): a lent argument bound only by them cannot serve a second attempt.
    let consuming = ["Into", "TryInto", "IntoIterator", "FnOnce", "IntoFuture", "Future", "Iterator"];
    for input in &sig.inputs {
        let syn::FnArg::Typed(typed) = input else { continue };
        let syn::Pat::Ident(ident) = &*typed.pat else { continue };
        // A lent argument: an `impl Trait` (one with `Clone` is copied), or, but
        // for `#[hedge]` (which clones it), a type parameter of the fn bound by
        // neither `Clone` nor `Copy`.
        let (bounds, shown, param) = match &*typed.ty {
            syn::Type::ImplTrait(impl_trait) => {
                let bounds: Vec<&syn::TypeParamBound> = impl_trait.bounds.iter().collect();
                (bounds, format!("impl {}", crate::item::show(&impl_trait.bounds)), None)
            }
            ty @ syn::Type::Path(path) if attr != "#[hedge]" && crate::item::unclonable_param(sig, ty) => {
                let Some(name) = path.path.get_ident() else { continue };
                let mut bounds: Vec<&syn::TypeParamBound> = Vec::new();
                for param in sig.generics.type_params().filter(|param| param.ident == *name) {
                    bounds.extend(param.bounds.iter());
                }
                for predicate in sig.generics.where_clause.iter().flat_map(|w| &w.predicates) {
                    if let syn::WherePredicate::Type(predicate) = predicate
                        && matches!(&predicate.bounded_ty, syn::Type::Path(b) if b.path.is_ident(name))
                    {
                        bounds.extend(predicate.bounds.iter());
                    }
                }
                (bounds, name.to_string(), Some(name))
            }
            // A boxed `FnOnce` is lent (never `Clone`), and a call uses it up.
            ty @ syn::Type::Path(path)
                if attr != "#[hedge]" && item::boxed_fn(ty).as_deref() == Some("FnOnce") =>
            {
                let Some(syn::Type::TraitObject(object)) =
                    path.path.segments.last().and_then(|boxed| match &boxed.arguments {
                        syn::PathArguments::AngleBracketed(args) => {
                            args.args.iter().find_map(|arg| match arg {
                                syn::GenericArgument::Type(ty) => Some(ty),
                                _ => None,
                            })
                        }
                        _ => None,
                    })
                else {
                    continue;
                };
                let bounds: Vec<&syn::TypeParamBound> = object.bounds.iter().collect();
                (bounds, item::show(ty), None)
            }
            _ => continue,
        };
        let traits: Vec<String> = bounds
            .iter()
            .filter_map(|bound| match bound {
                syn::TypeParamBound::Trait(bound) => bound.path.segments.last().map(|s| s.ident.to_string()),
                _ => None,
            })
            .collect();
        // A `mut` iterator may be advanced in place (`it.next()`) by each attempt.
        let consumes = |name: &String| {
            consuming.contains(&name.as_str()) && !(name == "Iterator" && ident.mutability.is_some())
        };
        if traits.is_empty() || !traits.iter().all(consumes) {
            continue;
        }
        let used = used.get_or_insert_with(|| {
            let mut names = std::collections::HashSet::new();
            crate::item::identifiers(body.clone(), &mut names);
            names
        });
        if !used.contains(&ident.ident.to_string()) {
            continue;
        }
        let shown_bounds = bounds.iter().map(crate::item::show).collect::<Vec<_>>().join(" + ");
        let instead = if shown_bounds.replace(' ', "") == "Into<String>" { "`&str`" } else { "a reference" };
        let clone = match param {
            None => format!("`{shown} + Clone`"),
            Some(param) => format!("`{param}: {shown_bounds} + Clone`"),
        };
        let name = &ident.ident;
        // A future runs once: what can run again is what makes it.
        let message = if item::boxed_fn(&typed.ty).is_some() {
            format!(
                "`{name}: {shown}` is taken by value and used up by the first attempt's call: take a \
                 `Box<dyn Fn(..)>` (or `impl Fn(..)`), which every attempt can call"
            )
        } else if traits.iter().any(|name| name == "Future" || name == "IntoFuture") {
            format!(
                "`{name}: {shown}` is taken by value and used up (awaited) by the first attempt: take what \
                 makes it instead (`make_{name}: impl Fn() -> F`, called by each attempt)"
            )
        } else {
            format!(
                "`{name}: {shown}` is taken by value and used up by the first attempt: clone it \
                 ({clone}, and each attempt gets its own copy), or take {instead}"
            )
        };
        errors.push(Error::custom(message).with_span(typed));
    }
}

/// Whether a body is what `#[retry]` or `#[retry_if_result]` made of one: it
/// calls `__private::events_of!` (the crate's private API, which a user's body
/// does not call). Its top level tells first, cheaply: the expansion binds
/// `__retry` or `__retry_policy` there.
fn already_retried(body: &proc_macro2::TokenStream) -> bool {
    made_by(body, &["__retry", "__retry_policy"], "events_of")
}

/// Whether a body is what `#[hedge]` made of one: it binds `__retry_hedging`
/// and calls `__private::Hedging` (as [`already_retried`]).
fn already_hedged(body: &proc_macro2::TokenStream) -> bool {
    made_by(body, &["__retry_hedging"], "Hedging")
}

/// Whether a body binds one of `bindings` at its top level and names
/// `__private::{item}` somewhere: what an expansion of this crate made of it.
fn made_by(body: &proc_macro2::TokenStream, bindings: &[&str], item: &str) -> bool {
    use proc_macro2::TokenTree;
    fn names(tokens: proc_macro2::TokenStream, item: &str) -> bool {
        let mut last: [Option<String>; 3] = [None, None, None];
        for tree in tokens {
            match tree {
                TokenTree::Group(group) => {
                    if names(group.stream(), item) {
                        return true;
                    }
                    last = [None, None, None];
                }
                TokenTree::Ident(ident) => {
                    let ident = ident.to_string();
                    if ident == item
                        && last.iter().map(Option::as_deref).eq([Some("__private"), Some(":"), Some(":")])
                    {
                        return true;
                    }
                    last = [last[1].take(), last[2].take(), Some(ident)];
                }
                TokenTree::Punct(punct) => {
                    last = [last[1].take(), last[2].take(), Some(punct.as_char().to_string())]
                }
                TokenTree::Literal(_) => last = [None, None, None],
            }
        }
        false
    }
    let binds = body.clone().into_iter().any(
        |tree| matches!(&tree, TokenTree::Ident(ident) if bindings.iter().any(|binding| ident == binding)),
    );
    binds && names(body.clone(), item)
}

/// The named lifetimes a type mentions, and whether it has an elided one (`&T`,
/// `'_`).
fn output_lifetimes(ty: &syn::Type) -> (Vec<String>, bool) {
    struct Find(Vec<String>, bool);
    impl syn::visit::Visit<'_> for Find {
        fn visit_type_reference(&mut self, reference: &syn::TypeReference) {
            if reference.lifetime.is_none() {
                self.1 = true;
            }
            syn::visit::visit_type_reference(self, reference);
        }
        fn visit_lifetime(&mut self, lifetime: &syn::Lifetime) {
            if lifetime.ident == "_" {
                self.1 = true;
            } else {
                self.0.push(lifetime.ident.to_string());
            }
        }
    }
    let mut find = Find(Vec::new(), false);
    syn::visit::Visit::visit_type(&mut find, ty);
    (find.0, find.1)
}

/// Every way `#[hedge]` cannot apply to this fn, or its arguments are wrong.
pub(crate) fn check_hedge(
    func: &RetryFn,
    args: Option<&HedgeArgs>,
    span: proc_macro2::Span,
    errors: &mut Accumulator,
) {
    let sig = &func.sig;
    let returns_future = matches!(&sig.output, syn::ReturnType::Type(_, ty) if future_output(ty).is_some());
    if matches!(func.shape, Shape::Sync) && !returns_future {
        errors.push(
            Error::custom(
                "#[hedge] runs several copies of the call at once, inside the caller's task, and returns \
                 the first to succeed: that needs an `async fn` (a sync call cannot run two copies without \
                 threads); make it `async`, or hedge its async caller",
            )
            .with_span(&sig.fn_token),
        );
    } else if returns_future {
        errors.push(
            Error::custom(
                "#[hedge] needs an `async fn`: write the fn as `async fn` instead of returning a future",
            )
            .with_span(&sig.output),
        );
    }
    crate::check::check_fn("#[hedge]", func, errors);
    // `#[hedge] #[again]` (`use retry::hedge as again;`): seen by the body the
    // one above made, as for `#[retry]`.
    if func.body.as_ref().is_some_and(already_hedged) {
        errors.push(Error::custom(
            "a #[hedge] above this one (under another name, as after `use retry::hedge as ..;`) already \
             hedges this fn: #[hedge] here would hedge each hedged copy; put all the keys in one attribute",
        ));
    }
    // `#[retry] #[again]` (`use retry::hedge as again;`): `#[retry]` cannot tell
    // `again` is a `#[hedge]`, so it ran first and left it on the retried fn,
    // where it would hedge the whole retried call instead of each attempt.
    if func.body.as_ref().is_some_and(already_retried) {
        errors.push(Error::custom(
            "#[retry] above cannot tell this is a #[hedge] under another name (`use retry::hedge as \
             ..;`), so it retried the fn first, and this would hedge the whole retried call; write \
             `#[hedge(..)]` under its own name, or put this attribute above #[retry] (either order \
             retries the hedged call)",
        ));
    }
    if !func.output.is_result() {
        let ty = func.output.ty();
        errors.push(
            Error::custom(format!(
                "#[hedge] returns the first copy that succeeds, so the fn must return a `Result`, not `{}`",
                item::show(ty)
            ))
            .with_span(ty),
        );
    }
    for input in &sig.inputs {
        let (shared_mut, by_value_impl, tokens) = match input {
            FnArg::Receiver(receiver) => {
                let kind = item::receiver_kind(sig);
                if kind == item::Receiver::Value {
                    errors.push(
                        Error::custom(
                            "hedged copies run at the same time, and each would need its own `self`: take \
                             `&self`, and clone inside the body what a copy needs to own",
                        )
                        .with_span(receiver),
                    );
                }
                let shared_mut = matches!(kind, item::Receiver::Mut | item::Receiver::PinMut);
                (shared_mut, false, receiver.to_token_stream())
            }
            FnArg::Typed(typed) => (
                matches!(&*typed.ty, Type::Reference(r) if r.mutability.is_some()),
                // `impl Trait + Clone` is cloned for each copy, as by `#[retry]`, and
                // so is one that may be `Clone` through its trait (the type checker
                // then says whether it is).
                item::lent(sig, &typed.ty, item::Mode::Hedge, || false) == Some(true)
                    && matches!(&*typed.ty, Type::ImplTrait(_)),
                typed.to_token_stream(),
            ),
        };
        if shared_mut {
            errors.push(
                Error::custom(
                    "hedged copies run at the same time, so they cannot share a `&mut`: take `&` (with \
                     interior mutability if needed) or an owned value that each copy clones",
                )
                .with_span(&tokens),
            );
        }
        if by_value_impl {
            errors.push(
                Error::custom(
                    "each hedged copy needs its own argument, and this `impl Trait` value is not `Clone`: \
                     add `+ Clone` to its bounds, or take it by reference (`&impl Trait`)",
                )
                .with_span(&tokens),
            );
        }
    }
    let Some(args) = args else { return };
    match &args.n {
        None => errors.push(
            Error::custom(
                "#[hedge] needs `n`, the most copies in flight, the first included: `#[hedge(n = 2)]`",
            )
            .with_span(&span),
        ),
        Some(n) => {
            if let Some(count) = dsl::literal_seconds(&n.0)
                && (count < 2.0 || count.fract() != 0.0)
            {
                errors.push(
                    Error::custom("`n` is a whole number of at least 2 (the call plus at least one hedge)")
                        .with_span(&n.0),
                );
            }
        }
    }
    if let Some(delay) = &args.delay
        && dsl::literal_seconds(&delay.0).is_some_and(|secs| secs < 0.0)
    {
        errors.push(Error::custom("a hedge delay cannot be negative").with_span(&delay.0));
    }
    if let Some(delay) = &args.delay
        && matches!(&delay.0, Expr::Call(call) if dsl::callee_name(call).as_deref() == Some("percentile"))
    {
        // The percentile's state is a `static` of the fn, made once: its
        // arguments cannot read the fn's.
        let mut used = HashSet::new();
        crate::item::identifiers(delay.0.to_token_stream(), &mut used);
        let mut arguments = HashSet::new();
        for input in &sig.inputs {
            if let FnArg::Typed(typed) = input {
                crate::item::identifiers(typed.pat.to_token_stream(), &mut arguments);
            }
        }
        if let Some(argument) = used.iter().find(|name| arguments.contains(*name)) {
            errors.push(
                Error::custom(format!(
                    "`percentile(..)` keeps this fn's recent latencies in a `static`, made once, so its \
                     arguments are constants and cannot read the fn's argument `{argument}`: write the \
                     value, or a `const`"
                ))
                .with_span(&delay.0),
            );
        }
    }
    // The values, and the patterns against the error type.
    for value in [&args.n, &args.delay, &args.when, &args.budget].into_iter().flatten() {
        dsl::validate(&value.0, sig, errors);
    }
    if let Some(on) = &args.on
        && let On::Patterns(patterns) = &**on
    {
        let err = match &func.output {
            Output::Result { err, .. } => err.as_deref(),
            Output::Value { .. } => None,
        };
        crate::shared::check_patterns(&patterns.0, err, &sig.generics, errors);
    }
}
