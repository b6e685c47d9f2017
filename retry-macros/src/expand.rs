//! Code generation: the fn becomes a call to `Retrying` with the body as the
//! per-attempt closure.

use std::collections::HashSet;

use darling::Error;
use darling::util::SpannedValue;
use proc_macro2::{Ident, Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::FnArg;
use syn::spanned::Spanned;

use crate::attr::{self, Kind, On, RetryArgs, Unless, Value};
use crate::check;
use crate::dsl;
use crate::item::respanned;
use crate::item::{self, Mode, Output, Receiver, RetryFn, Shape};
use crate::shared::{default_name, matcher, value};

/// Expands `#[retry(args)] item` (or `#[retry_if_result]`). Never panics; on any
/// error it returns the fn unchanged together with every error found.
pub fn expand(kind: Kind, args: TokenStream, item: TokenStream) -> TokenStream {
    // Parse.
    let mut errors = Error::accumulator();
    let mut mentioned = HashSet::new();
    item::identifiers(args.clone(), &mut mentioned);
    let args = match kind {
        Kind::Retry => attr::parse_retry(args, &mut errors),
        Kind::RetryIfResult => attr::parse_retry_if_result(args, &mut errors),
    };
    let mut func = match RetryFn::parse(item.clone()) {
        Ok(func) => func,
        Err(error) => {
            errors.push(error.into());
            return unchanged(item, errors.into_inner());
        }
    };
    // `#[retry] #[hedge]`: each attempt runs the hedged call (the hedge is applied
    // here, inside, rather than around the retried fn).
    let hedge = func.outer_attrs.iter().position(crate::hedge::is_hedge).map(|index| {
        let attr = func.outer_attrs.remove(index);
        let tokens = crate::hedge::attr_args(&attr);
        item::identifiers(tokens.clone(), &mut mentioned);
        let span = tokens.span();
        (attr::parse_hedge(tokens, &mut errors), span)
    });
    func.output.settle(args.as_ref().is_some_and(|args| args.if_result.is_some()));
    // Validate: every error, at once.
    if let Some((hedge_args, span)) = &hedge {
        check::check_hedge(&func, hedge_args.as_ref(), *span, &mut errors);
    }
    check::check(kind, &func, args.as_ref(), &mut errors);
    let errors = errors.into_inner();
    let Some(args) = args.filter(|_| errors.is_empty()) else { return unchanged(item, errors) };
    // Generate: nothing here can fail.
    if let Some((Some(hedge_args), _)) = hedge {
        let (body, inputs) = crate::hedge::hedged_body(hedge_args, &func, &mentioned);
        func.body = Some(body);
        func.sig.inputs = inputs;
    }
    let policy = policy(kind, &func, args);
    generate(func, policy, &mentioned)
}

/// The fn as it was, with the errors: the rest of the crate still type-checks.
fn unchanged(item: TokenStream, errors: Vec<Error>) -> TokenStream {
    let errors = errors.into_iter().map(Error::write_errors);
    quote!(#item #(#errors)*)
}

/// The policy under its own name.
struct Policy {
    krate: TokenStream,
    /// `let` statements evaluated before the policy (the limits).
    prelude: TokenStream,
    tokens: TokenStream,
    /// `Some` when attempts are cut (`timeout`, or `deadline` on an async fn
    /// returning `Result`): the `limit` call's two arguments.
    limits: Option<(TokenStream, TokenStream, proc_macro2::Span)>,
}

/// The `Retrying` builder chain for the arguments.
fn policy(kind: Kind, func: &RetryFn, args: RetryArgs) -> Policy {
    let krate = match &args.krate {
        Some(path) => path.to_token_stream(),
        None => quote!(::retry),
    };
    let private = quote!(#krate::__private);
    let (ok, err) = match &func.output {
        Output::Result { ok, err, .. } => (ok.as_deref().cloned(), err.as_deref().cloned()),
        Output::Value { ty } => {
            (Some(ty.clone()), Some(syn::parse_quote!(#private::core::convert::Infallible)))
        }
    };
    let types = match (&ok, &err) {
        (Some(ok), Some(err)) if !item::mentions_impl(ok) && !item::mentions_impl(err) => Some((ok, err)),
        _ => None,
    };
    let name = match &args.name {
        Some(name) => name.0.to_token_stream(),
        None => default_name(&func.sig, &private),
    };
    // The name, stop, wait and first error condition go to one call that makes
    // the policy (`policy`, `policy_when`, `policy_matching`, `polling_policy`);
    // the other keys are setters on its result, appended here.
    let mut setters = TokenStream::new();
    // Items the chain refers to (the `on`/`unless` predicates), at the top of its block.
    let mut scope = dsl::Scope::new(&private, &func.sig);
    // A closure value of a fn whose `T` and `E` are known: checked (and typed)
    // where it is written, then passed on through `Typed`, which puts a no-op in
    // place of a wrong one, so the policy it goes into is not reported again.
    let guarded = |kind: Closure, tokens: TokenStream, span: proc_macro2::Span| -> TokenStream {
        let Some((ok, err)) = types else { return tokens };
        let check = respanned(&private, span);
        let (checker, generics, method, right, wrong) = match kind {
            Closure::ErrorPredicate => (
                "error_predicate",
                quote!(#err,),
                "error_predicate",
                "RightErrorPredicate",
                "WrongErrorPredicate",
            ),
            Closure::ValuePredicate => (
                "value_predicate",
                quote!(#ok,),
                "value_predicate",
                "RightValuePredicate",
                "WrongValuePredicate",
            ),
            Closure::DelayHint => {
                ("delay_hint", quote!(#err,), "delay_hint", "RightDelayHint", "WrongDelayHint")
            }
            Closure::Hook => ("hook", quote!(#ok, #err,), "hook", "RightHook", "WrongHook"),
        };
        let [checker, method, right, wrong] =
            [checker, method, right, wrong].map(|name| Ident::new(name, span));
        quote_spanned! {span=>
            {
                #[allow(unused_imports)]
                use #check::{#right as _, #wrong as _};
                #check::Typed::<_, #ok, #err>::new(#check::#checker::<#generics _>(#tokens)).#method()
            }
        }
    };
    let mut setter = |method: &str, tokens: TokenStream, span: proc_macro2::Span| {
        let method = syn::Ident::new(method, span);
        // Appended in place: re-quoting the chain for each call would copy it each time.
        setters.extend(quote_spanned!(span=> .#method(#tokens)));
    };

    // `deadline` is a stop (no sleep that would end past it) and, on async fns, a
    // cut of the running attempt; `timeout` only the cut.
    let mut prelude = TokenStream::new();
    let mut limit = |name: &str, spanned: Option<SpannedValue<Value>>| match spanned {
        Some(spanned) => {
            let span = spanned.span();
            let tokens = value(spanned, &mut scope);
            let local = syn::Ident::new(&format!("__retry_{name}"), span.resolved_at(Span::mixed_site()));
            prelude.extend(quote_spanned!(span=> let #local = #private::limit_duration(#tokens);));
            Some(quote!(::core::option::Option::Some(#local)))
        }
        None => None,
    };
    let limit_span = args.timeout.as_ref().or(args.deadline.as_ref()).map(|v| v.span());
    let timeout = limit("timeout", args.timeout);
    let deadline = limit("deadline", args.deadline);
    let has_deadline = deadline.is_some();
    let cuts = func.output.is_result() && !matches!(func.shape, Shape::Sync);
    let limits = (cuts && (timeout.is_some() || has_deadline)).then(|| {
        let none = quote!(::core::option::Option::None);
        let span = limit_span.unwrap_or_else(proc_macro2::Span::call_site);
        (timeout.unwrap_or_else(|| none.clone()), deadline.unwrap_or(none), span)
    });
    // Each value given is checked by a call of its own, spanned at it, so that a
    // wrong one is reported there.
    let stop = args.stop.map(|spanned| {
        let span = spanned.span();
        let tokens = value(spanned, &mut scope);
        let check = respanned(&private, span);
        // Checked at the value, then through `Checked`: a wrong one is reported
        // there alone, not again where the policy is used.
        let checked = quote_spanned!(span=> #check::Checked(#check::stop_policy(#tokens)).stop());
        (checked, span)
    });
    let deadline_local = syn::Ident::new("__retry_deadline", Span::mixed_site());
    let stop = match (stop, has_deadline) {
        (Some((stop, span)), true) => {
            quote_spanned!(span=> #private::stop::Either(#stop, #private::dsl::before_elapsed(#deadline_local)))
        }
        (None, true) => {
            quote!(#private::stop::Either(#private::default_stop(), #private::dsl::before_elapsed(#deadline_local)))
        }
        (Some((stop, _)), false) => stop,
        (None, false) => quote!(#private::default_stop()),
    };
    let wait = match args.wait {
        Some(spanned) => {
            let span = spanned.span();
            let tokens = value(spanned, &mut scope);
            let check = respanned(&private, span);
            quote_spanned!(span=> #check::Checked(#check::wait_policy(#tokens)).wait())
        }
        None => quote!(#private::default_wait()),
    };
    // The first error condition: `on`, else `when`; with whether it is a `fn`
    // (the patterns' item, or `transient`), which a sync fn takes as a pointer.
    let mut first_when = None;
    let retry_after_given = args.retry_after.is_some();
    if let Some(on) = args.on {
        let span = on.span();
        match on.into_inner() {
            On::Transient(span) => {
                // Spanned at `transient`: an error type that is not `Transient` is
                // reported there (and again where the policy is used).
                let private = respanned(&private, span);
                first_when = Some((quote_spanned!(span=> #private::condition::transient), span, Made::Fn));
                match (&err, retry_after_given) {
                    (_, true) => {}
                    // A named error type: its hint through a probe, so a type that
                    // is not `Transient` is reported once (by the condition).
                    (Some(err), false) if !item::mentions_impl(err) => {
                        let hint = quote_spanned! {span=>
                            {
                                #[allow(unused_imports)]
                                use #private::{NoHint as _, TransientHint as _};
                                (&#private::Probe::<#err>::new()).hint()
                            }
                        };
                        setter("retry_after", hint, span);
                    }
                    (_, false) => {
                        setter("retry_after", quote_spanned!(span=> #private::transient_retry_after), span)
                    }
                }
            }
            On::Patterns(patterns) => {
                let matcher = matcher(patterns.0, err.as_ref(), &func.sig.generics, &private);
                first_when = Some((matcher, span, Made::Pattern));
            }
        }
    }
    if let Some(when) = args.when {
        let span = when.span();
        let tokens = value(when, &mut scope);
        match first_when {
            Some(_) => setter("when", guarded(Closure::ErrorPredicate, tokens, span), span),
            None => first_when = Some((tokens, span, Made::Closure)),
        }
    }
    if let Some(unless) = args.unless {
        let span = unless.span();
        let tokens = match unless.into_inner() {
            Unless::Patterns(patterns) => matcher(patterns.0, err.as_ref(), &func.sig.generics, &private),
            Unless::Predicate(expr) => guarded(
                Closure::ErrorPredicate,
                value(SpannedValue::new(Value(expr), span), &mut scope),
                span,
            ),
        };
        setter("unless", tokens, span);
    }
    for (key, spanned) in [
        ("if_result", args.if_result),
        ("retry_after", args.retry_after),
        ("before", args.before),
        ("after", args.after),
        ("before_sleep", args.before_sleep),
        ("on_success", args.on_success),
        ("on_giveup", args.on_giveup),
        ("clock", args.clock),
    ] {
        if let Some(spanned) = spanned {
            let span = spanned.span();
            let tokens = value(spanned, &mut scope);
            let tokens = match key {
                "if_result" => guarded(Closure::ValuePredicate, tokens, span),
                "retry_after" => guarded(Closure::DelayHint, tokens, span),
                "clock" => tokens,
                _ => guarded(Closure::Hook, tokens, span),
            };
            setter(key, tokens, span);
        }
    }
    // Which errors count against the breaker: `breaker_counts`, else every error.
    let counts = args.breaker_counts.map(|counts| {
        let span = counts.span();
        let predicate = match counts.into_inner() {
            Unless::Patterns(patterns) => matcher(patterns.0, err.as_ref(), &func.sig.generics, &private),
            Unless::Predicate(expr) if types.is_some() => {
                return guarded(
                    Closure::ErrorPredicate,
                    value(SpannedValue::new(Value(expr), span), &mut scope),
                    span,
                );
            }
            Unless::Predicate(expr) => value(SpannedValue::new(Value(expr), span), &mut scope),
        };
        let check = respanned(&private, span);
        let err = types.map(|(_, err)| quote_spanned!(span=> ::<#err, _>));
        quote_spanned!(span=> #check::error_predicate #err(#predicate))
    });
    // Bound first, so a temporary (`Arc::clone(&b)`) lives as long as the call.
    for (key, spanned) in [("breaker", args.breaker), ("budget", args.budget)] {
        if let Some(spanned) = spanned {
            let span = spanned.span();
            let tokens = value(spanned, &mut scope);
            let local = syn::Ident::new(&format!("__retry_{key}"), span.resolved_at(Span::mixed_site()));
            prelude.extend(quote_spanned!(span=> let #local = &(#tokens);));
            match (key, &counts) {
                ("breaker", Some(counts)) => setter("breaker_counting", quote!(#local, #counts), span),
                _ => setter(key, local.to_token_stream(), span),
            }
        }
    }
    // Events (feature `tracing` of the runtime; nothing without it): at `observe = ..`
    // or DEBUG, the error shown by `Display` when its type has it.
    // Validation reported an `observe` that is not a level.
    let level: u8 = args.observe.as_ref().and_then(|spanned| attr::event_level(&spanned.0)).unwrap_or(2);
    if let Some(sleep) = args.sleep {
        // Checked here, on the value, for the kind of fn it is on.
        let span = sleep.span();
        let tokens = value(sleep, &mut scope);
        let (check, right) = if matches!(func.shape, Shape::Sync) {
            (quote_spanned!(span=> sleeper), quote_spanned!(span=> RightSleeper))
        } else {
            (quote_spanned!(span=> async_sleeper), quote_spanned!(span=> RightAsyncSleeper))
        };
        let checker = if matches!(func.shape, Shape::Sync) {
            quote_spanned!(span=> sync_sleeper)
        } else {
            quote_spanned!(span=> async_sleeper)
        };
        // Through `Checked`: a wrong sleeper is reported at the value alone.
        let checked = quote_spanned! {span=>
            {
                #[allow(unused_imports)]
                use #private::{#right as _, WrongSleeper as _};
                #private::Checked(#private::#checker(#tokens)).#check()
            }
        };
        setter("sleep", checked, span);
    }
    if let Some(fallback) = args.fallback {
        let span = fallback.span();
        let mut tokens = value(fallback, &mut scope);
        if !func.output.is_result() {
            tokens = quote_spanned!(span=> #private::value_fallback(#tokens));
        }
        setter("fallback", tokens, span);
    }
    // A sync fn takes the patterns' closure (or `transient`) as a `fn` pointer
    // (`policy_matching`), which rustc checks for less than a generic predicate
    // through `policy_when`; an async fn keeps the zero-sized closure, which adds
    // nothing to its future.
    let sync = matches!(func.shape, Shape::Sync);
    let (make, generics) = match (&first_when, kind) {
        (Some((_, _, Made::Fn | Made::Pattern)), _) if sync => ("policy_matching", quote!(_, _)),
        (Some(_), _) => ("policy_when", quote!(_, _, _)),
        (None, Kind::Retry) => ("policy", quote!(_, _)),
        (None, Kind::RetryIfResult) => ("polling_policy", quote!(_, _)),
    };
    let when = first_when.map(|(when, span, made)| {
        // The patterns' item is right by construction; a sync fn's pointer is
        // checked where it is coerced, at the value's span.
        if sync && matches!(made, Made::Fn | Made::Pattern) {
            return quote!(, #when);
        }
        if matches!(made, Made::Closure) && types.is_some() {
            let when = guarded(Closure::ErrorPredicate, when, span);
            return quote!(, #when);
        }
        let check = respanned(&private, span);
        let err = types.map(|(_, err)| quote_spanned!(span=> ::<#err, _>));
        quote_spanned!(span=> , #check::error_predicate #err(#when))
    });
    let types = types.map(|(ok, err)| quote!(::<#ok, #err, #generics>));
    let make = syn::Ident::new(make, proc_macro2::Span::call_site());
    let mut chain = quote!(#private::#make #types(#name, #stop, #wait #when));
    chain.extend(setters);
    // Expanded by `macro_rules!` in the runtime: with neither `tracing` nor
    // `metrics` on, to the chain as it is (nothing more to type-check).
    let chain = match (&err, &ok) {
        (Some(err), Some(ok)) if !item::mentions_impl(err) && !item::mentions_impl(ok) => {
            quote!(#private::events_of!(#chain, #level, #err, #ok))
        }
        (Some(err), _) if !item::mentions_impl(err) => quote!(#private::events_of!(#chain, #level, #err)),
        _ => quote!(#private::events_of!(#chain, #level)),
    };
    let clash_check = scope.clash_check();
    let tokens = quote! {{
        #clash_check
        #chain
    }};
    Policy { krate, prelude, tokens, limits }
}

/// What a closure value is, for how [`policy`] checks it (`Typed`).
#[derive(Clone, Copy)]
enum Closure {
    /// `Fn(&E) -> bool`: `when`, `unless`.
    ErrorPredicate,
    /// `Fn(&T) -> bool`: `if_result`.
    ValuePredicate,
    /// `Fn(&E) -> Option<Duration>`: `retry_after`.
    DelayHint,
    /// `FnMut(&Attempt<T, E>)`: `before`, `after`, `before_sleep`, `on_success`, `on_giveup`.
    Hook,
}

/// What the first error condition is, for how the policy takes it.
enum Made {
    /// The patterns' closure, made here: it captures nothing, so a sync fn takes
    /// it as a `fn` pointer. (A closure, not a `fn` item: an item could not name
    /// an error type that mentions the fn's or its impl's generic parameters.)
    Pattern,
    /// A `fn` of the runtime (`transient`), generic over the error type.
    Fn,
    /// A closure, or any value the user wrote.
    Closure,
}

/// The expanded fn. Every name it introduces is hygienic (`Span::mixed_site()`),
/// so no argument or local of the user's can collide with one; and each starts
/// with `__retry`, as hygiene does not cover items: a binding named like a
/// constant or unit struct in scope (`const delay: u32`) would be read as a
/// pattern matching it.
fn generate(func: RetryFn, policy: Policy, mentioned: &HashSet<String>) -> TokenStream {
    let RetryFn { outer_attrs, inner_attrs, vis, defaultness, mut sig, body, brace_span, shape, output } =
        func;
    // Validation reports a missing body before generation.
    let body = body.unwrap_or_default();
    let mode = if matches!(shape, Shape::Sync) { Mode::Sync } else { Mode::Async };
    let arguments = item::arguments(&sig, &policy.krate, mentioned, mode, &body);
    let self_token = sig.receiver().map(|receiver| receiver.self_token);
    sig.inputs = arguments.inputs;
    let per_attempt = arguments.per_attempt;
    let prologue = arguments.prologue;
    let borrows = arguments.borrows;
    // A `#[tracing::instrument]` above: its wrapper borrows what the attempt lends.
    let body = if arguments.lends { item::unmove_instrument(body, &borrows) } else { body };
    // A lent `&mut self` that the body moves (`let me = self;`) is reborrowed
    // there instead, so the next attempt still has it.
    let body = match item::reborrow_moved_self(&body, arguments.receiver) {
        Some(body) => {
            if let Some(FnArg::Receiver(receiver)) = sig.inputs.first_mut()
                && arguments.receiver == Receiver::PinMut
            {
                // `Pin::as_mut(&mut self)` borrows the binding.
                receiver.mutability.get_or_insert_with(Default::default);
            }
            body
        }
        None => body,
    };
    // A by-value `self` is moved to a hidden original once the policy (which
    // may read it) is built; each attempt assigns its own copy to `self`.
    let keep_original = match (arguments.receiver, self_token) {
        (Receiver::Value, Some(self_token)) => {
            let original = item::original_self();
            quote!(let #original = #self_token;)
        }
        _ => TokenStream::new(),
    };
    let h = Span::mixed_site();
    let retry = Ident::new("__retry", h);
    let out_ty = output.ty();
    // The closure's return type is the fn's (its `impl Trait`s left to inference),
    // so the body's `Ok(..)`, `Err(..)` and `return`s coerce as in the plain fn.
    let erased = item::erase_impl(out_ty);
    let annotation = quote!(-> #erased);
    let policy_tokens = policy.tokens;
    let prelude = policy.prelude;
    let is_result = output.is_result();
    let krate = &policy.krate;
    let private = quote_spanned!(h=> #krate::__private);
    // A return type taken for an alias of `Result` goes through `Outcome` (by
    // the kind the type turns out to be): identity for a `Result`; for anything
    // else, a value, so the expansion type-checks and the only error is the one
    // that says it is not a `Result`.
    let kind = Ident::new("__retry_kind", h);
    let alias = matches!(&output, Output::Result { ty, alias: true, .. } if !item::mentions_impl(ty));
    let find_kind = if alias {
        let ty = out_ty;
        quote_spanned! {h=>
            let #kind = {
                #[allow(unused_imports)]
                use #private::{ProbeResult as _, ProbeValue as _};
                (&#private::Probe::<#ty>::new()).outcome()
            };
        }
    } else {
        TokenStream::new()
    };
    let output_of = |result: TokenStream| match (is_result, alias) {
        (true, false) => result,
        (true, true) => quote_spanned!(h=> #private::join(#kind, #result)),
        (false, _) => quote_spanned!(h=> #private::into_value(#result)),
    };
    // What follows an attempt: the call's result, or the delay before the next.
    let result = output_of(quote_spanned!(h=> __retry_result));
    // The sleep goes in slices (one, unless a `signal` stop is watched), and
    // the last outcome is kept across it to give up with if the signal fires.
    let decide = quote_spanned! {h=>
        match #retry.step(__retry_outcome) {
            #private::Step::Done(__retry_result) => break #result,
            #private::Step::Retry(__retry_left, __retry_last) => (__retry_left, __retry_last),
        }
    };
    let interrupted = quote_spanned! {h=>
        if let #private::core::option::Option::Some(__retry_result) = #retry.interrupted(__retry_last, __retry_left) {
            break #result;
        }
    };
    let inner = match mode {
        Mode::Sync if arguments.receiver != Receiver::Value => {
            let call = if is_result { quote!(call) } else { quote!(call_value) };
            let run = if alias {
                let joined = output_of(quote_spanned! {h=>
                    __retry_policy.call(|| #private::split(#kind, (|| #annotation { #per_attempt #body })()))
                });
                quote_spanned!(h=> #find_kind #joined)
            } else {
                quote_spanned!(h=> __retry_policy.#call(|| #annotation { #per_attempt #body }))
            };
            quote_spanned! {h=>
                #prelude
                // `on = [Timeout]` matches `Timeout { .. }`, whatever the variant's shape.
                #[allow(clippy::unneeded_struct_pattern)]
                let __retry_policy = #policy_tokens;
                #run
            }
        }
        Mode::Sync => {
            // Each attempt owns its `self`, which it may move: the loop is in the
            // fn, and each attempt a closure called once.
            let attempt = if alias {
                quote_spanned!(h=> #retry.attempt_sync(|| #private::split(#kind, (|| #annotation { #body })())))
            } else if is_result {
                quote_spanned!(h=> #retry.attempt_sync(|| #annotation { #body }))
            } else {
                quote_spanned!(h=> #retry.attempt_sync(|| #private::core::result::Result::Ok((|| #annotation { #body })())))
            };
            quote_spanned! {h=>
                #prelude
                #[allow(clippy::unneeded_struct_pattern)]
                let mut #retry = #private::start_sync(#policy_tokens);
                #find_kind
                #keep_original
                loop {
                    let __retry_outcome = {
                        #per_attempt
                        #attempt
                    };
                    let (mut __retry_left, __retry_last) = #decide;
                    while let #private::core::option::Option::Some(__retry_slice) = #retry.slice(&mut __retry_left) {
                        #retry.sleep_sync(__retry_slice);
                    }
                    #interrupted
                }
            }
        }
        Mode::Async | Mode::Hedge => {
            // Each attempt is an `async` block awaited in place: `return` and `?`
            // end the attempt, and the fn's future stays one state machine.
            let typed = item::typed_output(out_ty, &private);
            let block = quote_spanned!(h=> async { #typed #prologue #borrows #body });
            let block = if alias { quote_spanned!(h=> #private::split_future(#kind, #block)) } else { block };
            let attempt_future = match &policy.limits {
                Some((timeout, deadline, span)) => {
                    let limit = Ident::new("limit", *span);
                    quote_spanned!(h=> #retry.#limit(#block, #timeout, #deadline))
                }
                None => block,
            };
            let attempt = if is_result { quote!(attempt_in_fn) } else { quote!(attempt_value) };
            let driver = quote_spanned!(h=> #private::start_async(#policy_tokens));
            quote_spanned! {h=>
                #prelude
                #[allow(clippy::unneeded_struct_pattern)]
                let mut #retry = #driver;
                #find_kind
                #keep_original
                loop {
                    let __retry_outcome = {
                        #per_attempt
                        #retry.#attempt(#attempt_future).await
                    };
                    let (mut __retry_left, __retry_last) = #decide;
                    while let #private::core::option::Option::Some(__retry_slice) = #retry.slice(&mut __retry_left) {
                        #retry.sleep(__retry_slice).await;
                    }
                    #interrupted
                }
            }
        }
    };
    // A return type taken for an alias of `Result` is checked to be one, at the
    // type, before anything else reports a mismatch.
    let is_result_check = match &output {
        Output::Result { ty, alias: true, .. } if !item::mentions_impl(ty) => match shape {
            // A sync fn's may be a future (`BoxFuture<..>`), which is told apart.
            Shape::Sync => {
                let private = respanned(&private, ty.span());
                quote_spanned! {ty.span()=>
                    {
                        #[allow(unused_imports)]
                        use #private::{ProbeFuture as _, ProbeOther as _};
                        #private::sync_returns_result::<#ty, _>((&#private::Probe::<#ty>::new()).kind());
                    }
                }
            }
            _ => quote_spanned!(ty.span()=> #private::returns_result::<#ty>();),
        },
        _ => TokenStream::new(),
    };
    let contents = match &shape {
        Shape::AsyncTrait { pin, .. } => quote!(#inner_attrs #is_result_check #pin(async move { #inner })),
        _ => quote!(#inner_attrs #is_result_check #inner),
    };
    let mut block = proc_macro2::Group::new(proc_macro2::Delimiter::Brace, contents);
    block.set_span(brace_span);
    quote! {
        #(#outer_attrs)* #vis #defaultness #sig #block
    }
}
