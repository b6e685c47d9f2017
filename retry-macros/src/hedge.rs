//! `#[hedge(...)]`: the hedged body (its arguments are parsed in `attr`, checked
//! in `check`).
//!
//! The body becomes `Hedging::new(n)...call(|| { per-copy arguments; async move { body } })`.
//! Under `#[retry]` (in either order) the hedged call is what each attempt runs.

use std::collections::HashSet;

use darling::Error;
use darling::util::SpannedValue;
use proc_macro2::TokenStream;
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Expr, FnArg};

use crate::attr::{HedgeArgs, On, Value};
use crate::dsl;
use crate::item::{self, Output, RetryFn, Shape};
use crate::shared::{matcher, value};

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
    // Parse.
    let mut errors = Error::accumulator();
    let mut mentioned = HashSet::new();
    item::identifiers(args.clone(), &mut mentioned);
    let span = args.span();
    let args = crate::attr::parse_hedge(args, &mut errors);
    let mut func = match RetryFn::parse(item.clone()) {
        Ok(func) => func,
        Err(error) => {
            errors.push(error.into());
            let errors = errors.into_inner().into_iter().map(Error::write_errors);
            return quote!(#item #(#errors)*);
        }
    };
    func.output.settle(false);
    // Validate.
    crate::check::check_hedge(&func, args.as_ref(), span, &mut errors);
    let errors = errors.into_inner();
    let Some(args) = args.filter(|_| errors.is_empty()) else {
        let errors = errors.into_iter().map(Error::write_errors);
        return quote!(#item #(#errors)*);
    };
    // Generate.
    let (body, inputs) = hedged_body(args, &func, &mentioned);
    emit(func, body, inputs)
}

/// The fn's arguments as the hedged body expects them.
pub(crate) type Inputs = syn::punctuated::Punctuated<FnArg, syn::Token![,]>;

/// The hedged body (statements) and the fn's new arguments, for arguments the
/// validation pass (`check::check_hedge`) found right.
pub(crate) fn hedged_body(
    args: HedgeArgs,
    func: &RetryFn,
    mentioned: &HashSet<String>,
) -> (TokenStream, Inputs) {
    let n = args
        .n
        .unwrap_or_else(|| SpannedValue::new(Value(syn::parse_quote!(2)), proc_macro2::Span::call_site()));
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
    let n = value(n, &mut scope);
    let mut prelude = TokenStream::new();
    let mut chain = quote_spanned!(n_span=> #private::Hedging::new(#n));
    // The delay: a fixed duration, or a percentile kept in a `static` of this fn.
    let delay = args.delay.map(|spanned| {
        let span = spanned.span();
        let mut expr = spanned.into_inner().0;
        let adaptive =
            matches!(&expr, Expr::Call(call) if dsl::callee_name(call).as_deref() == Some("percentile"));
        dsl::rewrite(&mut expr, &mut scope);
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
                let matcher = matcher(patterns.0, err.as_ref(), &func.sig.generics, &private);
                quote_spanned!(span=> #matcher)
            }
        }
    });
    let when = args.when.map(|when| value(when, &mut scope));
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
        let tokens = value(budget, &mut scope);
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

    // Validation reports a missing body.
    let body = func.body.clone().unwrap_or_default();
    let arguments = item::arguments(&func.sig, &krate, mentioned, item::Mode::Hedge, &body);
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
    let typed = item::typed_output(func.output.ty(), &private);
    let body = quote! {
        #prelude
        #[allow(clippy::unneeded_struct_pattern)]
        let #hedging = { #clash_check #chain };
        #hedging.call #types (|| {
            #rebinds
            async move { #typed #body }
        }).await
    };
    (body, arguments.inputs)
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
