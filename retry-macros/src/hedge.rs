//! `#[hedge(...)]`: its arguments, its checks, and the hedged body.
//!
//! The body becomes `Hedging::new(n)...call(|| { per-copy arguments; async move { body } })`.
//! Under `#[retry]` (in either order) the hedged call is what each attempt runs.

use std::collections::HashSet;

use darling::error::Accumulator;
use darling::util::SpannedValue;
use darling::{Error, FromMeta};
use proc_macro2::TokenStream;
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Expr, FnArg, Type};

use crate::attr::{Name, On, Value};
use crate::dsl;
use crate::item::{self, Output, RetryFn, Shape, future_output};
use crate::shared::{matcher, value};

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
    pub krate: Option<crate::attr::CratePath>,
}

/// The keys [`HedgeArgs`] knows.
const HEDGE_KEYS: &[&str] = &["n", "delay", "on", "when", "budget", "name", "crate"];

/// Whether an attribute is `#[hedge(..)]` (or `#[retry::hedge(..)]`).
pub(crate) fn is_hedge(attr: &syn::Attribute) -> bool {
    attr.path().segments.last().is_some_and(|segment| segment.ident == "hedge")
}

/// The arguments of a `#[hedge(..)]` attribute, as tokens.
pub(crate) fn attr_args(attr: &syn::Attribute) -> TokenStream {
    match &attr.meta {
        syn::Meta::List(list) => list.tokens.clone(),
        _ => TokenStream::new(),
    }
}

/// Expands `#[hedge(args)] item`. Never panics; on any error it returns the fn
/// unchanged together with every error found.
pub fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Error::accumulator();
    let mut mentioned = HashSet::new();
    item::identifiers(args.clone(), &mut mentioned);
    let func = match RetryFn::parse(item.clone()) {
        Ok(func) => func,
        Err(error) => {
            errors.push(error.into());
            let errors = errors.finish().err().map(Error::write_errors);
            return quote!(#item #errors);
        }
    };
    let mut func = func;
    func.output.settle(false);
    let hedged = hedged_body(args, &func, &mentioned, &mut errors);
    match (errors.finish(), hedged) {
        (Ok(()), Some((body, inputs))) => emit(func, body, inputs),
        (Err(errors), _) => {
            let errors = errors.write_errors();
            quote!(#item #errors)
        }
        (Ok(()), None) => item,
    }
}

/// The fn's arguments as the hedged body expects them.
pub(crate) type Inputs = syn::punctuated::Punctuated<FnArg, syn::Token![,]>;

/// Parses and checks the arguments against the fn; the hedged body (statements)
/// and the fn's new arguments when all is well.
pub(crate) fn hedged_body(
    args: TokenStream,
    func: &RetryFn,
    mentioned: &HashSet<String>,
    errors: &mut Accumulator,
) -> Option<(TokenStream, Inputs)> {
    let span = args.span();
    let args = crate::attr::parse_list(args, "#[hedge]", HEDGE_KEYS, errors)
        .and_then(|items| errors.handle(HedgeArgs::from_list(&items)));
    check(func, args.as_ref(), span, errors);
    let args = args?;
    let n = args.n.as_ref()?;
    let krate = match &args.krate {
        Some(path) => path.to_token_stream(),
        None => quote!(::retry),
    };
    let private = quote!(#krate::__private);
    let err = match &func.output {
        Output::Result { err, .. } => err.as_deref().cloned(),
        Output::Value { .. } => None,
    };

    let n_span = n.span();
    let mut scope = dsl::Scope::new(&private, &func.sig);
    let n = value(n.clone(), &mut scope, errors);
    let mut prelude = TokenStream::new();
    let mut chain = quote_spanned!(n_span=> #private::Hedging::new(#n));
    // The delay: a fixed duration, or a percentile kept in a `static` of this fn.
    let delay = args.delay.map(|spanned| {
        let span = spanned.span();
        let mut expr = spanned.into_inner().0;
        let adaptive =
            matches!(&expr, Expr::Call(call) if dsl::callee_name(call).as_deref() == Some("percentile"));
        if adaptive {
            // The percentile's state is a `static` of the fn, made once: its
            // arguments cannot read the fn's.
            let mut used = HashSet::new();
            item::identifiers(expr.to_token_stream(), &mut used);
            let mut arguments = HashSet::new();
            for input in &func.sig.inputs {
                if let FnArg::Typed(typed) = input {
                    item::identifiers(typed.pat.to_token_stream(), &mut arguments);
                }
            }
            if let Some(argument) = used.iter().find(|name| arguments.contains(*name)) {
                errors.push(
                    Error::custom(format!(
                        "`percentile(..)` keeps this fn's recent latencies in a `static`, made once, so its \
                         arguments are constants and cannot read the fn's argument `{argument}`: write the \
                         value, or a `const`"
                    ))
                    .with_span(&expr),
                );
            }
        }
        dsl::rewrite(&mut expr, &mut scope, errors);
        (expr, adaptive, span)
    });
    match delay {
        Some((expr, false, span)) => {
            chain.extend(quote_spanned!(span=> .delay(#private::limit_duration(#expr))));
        }
        adaptive => {
            let (expr, span) = match adaptive {
                Some((expr, _, span)) => (expr.to_token_stream(), span),
                None => (quote!(#private::dsl::percentile(0.95)), proc_macro2::Span::call_site()),
            };
            prelude.extend(quote_spanned! {span=>
                static __RETRY_LATENCIES: #private::Latencies = #expr;
            });
            chain.extend(quote_spanned!(span=> .delay_percentile(&__RETRY_LATENCIES)));
        }
    }
    let on = args.on.map(|on| {
        let span = on.span();
        match on.into_inner() {
            On::Transient(span) => quote_spanned!(span=> #private::condition::transient),
            On::Patterns(patterns) => {
                let matcher = matcher(patterns.0, err.as_ref(), &func.sig.generics, &private, errors);
                quote_spanned!(span=> #matcher)
            }
        }
    });
    let when = args.when.map(|when| value(when, &mut scope, errors));
    let non_fatal = match (on, when) {
        (Some(on), Some(when)) => Some(quote! {
            {
                let (__retry_on, __retry_when) = (#on, #when);
                move |__retry_error: &_| __retry_on(__retry_error) || __retry_when(__retry_error)
            }
        }),
        (on, when) => on.or(when),
    };
    if let Some(non_fatal) = non_fatal {
        chain.extend(quote!(.when(#non_fatal)));
    }
    if let Some(budget) = args.budget {
        let span = budget.span();
        let tokens = value(budget, &mut scope, errors);
        let local =
            syn::Ident::new("__retry_hedge_budget", span.resolved_at(proc_macro2::Span::mixed_site()));
        prelude.extend(quote_spanned!(span=> let #local = &(#tokens);));
        chain.extend(quote_spanned!(span=> .budget(#local)));
    }
    // `name` labels the metrics; by default the fn's path.
    let name = match &args.name {
        Some(name) => name.0.to_token_stream(),
        None => crate::shared::default_name(&func.sig, &private),
    };
    chain.extend(quote!(.name(#name)));

    let body = func.body.as_ref()?;
    let arguments = item::arguments(&func.sig, &krate, mentioned, item::Mode::Hedge);
    let rebinds = arguments.per_attempt;
    let types = match (&func.output, &err) {
        (Output::Result { ok: Some(ok), .. }, Some(err))
            if !item::mentions_impl(ok) && !item::mentions_impl(err) =>
        {
            quote!(::<#ok, #err, _, _>)
        }
        _ => quote!(),
    };
    let hedging = syn::Ident::new("__retry_hedging", proc_macro2::Span::mixed_site());
    let clash_check = scope.clash_check();
    let body = quote! {
        #prelude
        #[allow(clippy::unneeded_struct_pattern)]
        let #hedging = { #clash_check #chain };
        #hedging.call #types (|| {
            #rebinds
            async move { #body }
        }).await
    };
    Some((body, arguments.inputs))
}

/// Every way `#[hedge]` cannot apply to this fn, or its arguments are wrong.
fn check(func: &RetryFn, args: Option<&HedgeArgs>, span: proc_macro2::Span, errors: &mut Accumulator) {
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
                             `&self` (or `self: Arc<Self>` and clone what each copy needs)",
                        )
                        .with_span(receiver),
                    );
                }
                let shared_mut = matches!(kind, item::Receiver::Mut | item::Receiver::PinMut);
                (shared_mut, false, receiver.to_token_stream())
            }
            FnArg::Typed(typed) => (
                matches!(&*typed.ty, Type::Reference(r) if r.mutability.is_some()),
                matches!(&*typed.ty, Type::ImplTrait(_)),
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
                    "each hedged copy needs its own argument, and an `impl Trait` value cannot be cloned \
                     here: take it by reference (`&impl Trait`) or as a generic `T: Clone`",
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
}

/// The expanded fn.
fn emit(func: RetryFn, body: TokenStream, inputs: Inputs) -> TokenStream {
    let RetryFn { outer_attrs, inner_attrs, vis, defaultness, mut sig, brace_span, shape, .. } = func;
    sig.inputs = inputs;
    let contents = match &shape {
        Shape::AsyncTrait { pin, .. } => quote!(#inner_attrs #pin(async move { #body })),
        _ => quote!(#inner_attrs #body),
    };
    let mut block = proc_macro2::Group::new(proc_macro2::Delimiter::Brace, contents);
    block.set_span(brace_span);
    quote! {
        #(#outer_attrs)* #vis #defaultness #sig #block
    }
}
