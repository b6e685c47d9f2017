//! The fn under the attribute: its shape, its output, and how its arguments reach
//! each attempt.

use std::collections::HashSet;

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{
    Attribute, Block, Expr, FnArg, GenericArgument, Ident, Pat, PathArguments, ReceiverKind, ReturnType,
    Signature, Stmt, Type, TypeParamBound, Visibility,
};

/// How the fn runs.
pub(crate) enum Shape {
    Sync,
    Async,
    /// The output of `#[async_trait]`: a sync fn returning
    /// `Pin<Box<dyn Future<Output = R> + ..>>` whose body is `Box::pin(async move { .. })`.
    AsyncTrait {
        pin: TokenStream,
    },
}

/// What the fn returns, as far as the attribute can tell from the tokens.
///
/// The tokens cannot tell whether a named type is a `Result` (`type Fallible<T> =
/// Result<T, E>` is; `struct SearchResult` is not), so the rule is by what the fn
/// asks for: a path named `Result` is one; any other path is taken for one unless
/// the attribute retries on values (`if_result`), and the expansion then checks it
/// by trait (`IsResult`), with an error that says what to write when it is not.
pub(crate) enum Output {
    /// `Result<T, E>` (a path whose last segment is `Result`), or any other path
    /// taken for an alias of one (`alias`). `ok`/`err` are known when the path is
    /// `Result` with two generic arguments; not for `io::Result<T>` or aliases.
    Result { ty: Type, ok: Option<Box<Type>>, err: Option<Box<Type>>, alias: bool },
    /// Anything else (only with `if_result`).
    Value { ty: Type },
}

impl Output {
    pub(crate) fn ty(&self) -> &Type {
        match self {
            Output::Result { ty, .. } | Output::Value { ty } => ty,
        }
    }

    pub(crate) fn is_result(&self) -> bool {
        matches!(self, Output::Result { .. })
    }

    /// Settles a path that is not named `Result`: taken for an alias of one unless
    /// the attribute retries on values (see [`Output`]).
    pub(crate) fn settle(&mut self, on_values: bool) {
        if let Output::Value { ty } = self
            && !on_values
            && !surely_not_result(ty)
            && future_output(ty).is_none()
        {
            *self = Output::Result { ty: ty.clone(), ok: None, err: None, alias: true };
        }
    }
}

/// The fn, taken apart. The body stays raw tokens unless the attribute has to look
/// inside it (an `#[async_trait]` body, a `#[tracing::instrument]` wrapper around
/// it): parsing and re-printing every body would make each `cargo check` pay for
/// it.
pub(crate) struct RetryFn {
    pub outer_attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub defaultness: Option<syn::Token![default]>,
    pub sig: Signature,
    /// The body's inner attributes (`#![allow(..)]`), kept at the top of the fn.
    pub inner_attrs: TokenStream,
    /// The body's statements; `None` for a trait method without a default body.
    pub body: Option<TokenStream>,
    /// The span of the body's braces, given to the expanded body so the fn keeps
    /// the user's span (lints such as `dead_code` skip items spanning an expansion).
    pub brace_span: Span,
    pub shape: Shape,
    pub output: Output,
}

impl RetryFn {
    /// Parses a free fn, a method, or a trait method.
    pub(crate) fn parse(item: TokenStream) -> syn::Result<Self> {
        let parser = |input: syn::parse::ParseStream<'_>| {
            let outer_attrs = input.call(Attribute::parse_outer)?;
            let vis: Visibility = input.parse()?;
            let defaultness: Option<syn::Token![default]> = input.parse()?;
            let sig: Signature = input.parse()?;
            let (body, brace_span) = if input.peek(syn::Token![;]) {
                let semi = input.parse::<syn::Token![;]>()?;
                (None, semi.span)
            } else {
                let content;
                let brace = syn::braced!(content in input);
                (Some(content.parse::<TokenStream>()?), brace.span.join())
            };
            Ok((outer_attrs, vis, defaultness, sig, body, brace_span))
        };
        let (outer_attrs, vis, defaultness, sig, body, brace_span) = syn::parse::Parser::parse2(parser, item)
            .map_err(|error| {
                syn::Error::new(
                    error.span(),
                    format!("the retry attributes go on a fn (free, method or trait method): {error}"),
                )
            })?;
        let (inner_attrs, body) = match body {
            Some(body) => {
                let (inner, rest) = split_inner_attributes(body);
                (inner, Some(rest))
            }
            None => (TokenStream::new(), None),
        };
        let (shape, body, out_ty) = match (&sig.asyncness, body) {
            (Some(_), body) => (Shape::Async, body, return_type(&sig.output)),
            (None, Some(body)) => match async_trait_parts(&sig.output, &body, receiver_kind(&sig)) {
                Some((output, pin, inner)) => (Shape::AsyncTrait { pin }, Some(inner), output),
                None => (Shape::Sync, Some(body), return_type(&sig.output)),
            },
            (None, None) => (Shape::Sync, None, return_type(&sig.output)),
        };
        let output = classify(out_ty);
        Ok(RetryFn { outer_attrs, vis, defaultness, sig, inner_attrs, body, brace_span, shape, output })
    }
}

/// Splits `#![..]` attributes off the start of a body.
fn split_inner_attributes(body: TokenStream) -> (TokenStream, TokenStream) {
    // Most bodies have none: leave their tokens as they are (each token walked is a
    // call into the compiler).
    if !matches!(body.clone().into_iter().next(), Some(TokenTree::Punct(hash)) if hash.as_char() == '#') {
        return (TokenStream::new(), body);
    }
    let mut trees: Vec<TokenTree> = body.into_iter().collect();
    let mut cut = 0;
    while let (Some(TokenTree::Punct(hash)), Some(TokenTree::Punct(bang)), Some(TokenTree::Group(group))) =
        (trees.get(cut), trees.get(cut + 1), trees.get(cut + 2))
    {
        if hash.as_char() != '#'
            || bang.as_char() != '!'
            || group.delimiter() != proc_macro2::Delimiter::Bracket
        {
            break;
        }
        cut += 3;
    }
    let rest = trees.split_off(cut);
    (trees.into_iter().collect(), rest.into_iter().collect())
}

fn return_type(output: &ReturnType) -> Type {
    match output {
        ReturnType::Default => syn::parse_quote!(()),
        ReturnType::Type(_, ty) => (**ty).clone(),
    }
}

/// Reads `Result<T, E>` off a type.
fn classify(ty: Type) -> Output {
    let mut inner = &ty;
    while let Type::Paren(p) = inner {
        inner = &p.elem;
    }
    if let Type::Path(path) = inner
        && path.qself.is_none()
        && let Some(last) = path.path.segments.last()
        && last.ident == "Result"
    {
        let types: Vec<&Type> = match &last.arguments {
            PathArguments::AngleBracketed(args) => args
                .args
                .iter()
                .filter_map(|arg| match arg {
                    GenericArgument::Type(ty) => Some(ty),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        let (ok, err) = match types.as_slice() {
            [ok, err] => (Some(Box::new((*ok).clone())), Some(Box::new((*err).clone()))),
            [ok] => (Some(Box::new((*ok).clone())), None),
            _ => (None, None),
        };
        return Output::Result { ty, ok, err, alias: false };
    }
    Output::Value { ty }
}

/// Whether a type is certainly not a `Result`: not a path (a tuple, a reference,
/// `()`, ...), or a primitive or a well-known type of `std` that is not one.
pub(crate) fn surely_not_result(ty: &Type) -> bool {
    const NOT_RESULTS: &[&str] = &[
        "bool", "char", "str", "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128",
        "isize", "f32", "f64", "String", "Vec", "Option", "Box", "HashMap", "BTreeMap", "HashSet", "Cow",
    ];
    match ty {
        Type::Paren(p) => surely_not_result(&p.elem),
        Type::Group(g) => surely_not_result(&g.elem),
        Type::Path(path) => {
            path.qself.is_none()
                && path
                    .path
                    .segments
                    .last()
                    .is_some_and(|last| NOT_RESULTS.iter().any(|name| last.ident == name))
        }
        Type::ImplTrait(_) | Type::Macro(_) | Type::Verbatim(_) => false,
        _ => true,
    }
}

/// `R` of `Pin<Box<dyn Future<Output = R> + ..>>` or `impl Future<Output = R>`.
pub(crate) fn future_output(ty: &Type) -> Option<Type> {
    let bounds = match ty {
        Type::ImplTrait(ty) => &ty.bounds,
        Type::Path(path) => {
            let pin = path.path.segments.last().filter(|s| s.ident == "Pin")?;
            let boxed = first_type_arg(&pin.arguments)?;
            let Type::Path(boxed) = boxed else { return None };
            let boxed = boxed.path.segments.last().filter(|s| s.ident == "Box")?;
            match first_type_arg(&boxed.arguments)? {
                Type::TraitObject(object) => &object.bounds,
                _ => return None,
            }
        }
        _ => return None,
    };
    bounds.iter().find_map(|bound| {
        let TypeParamBound::Trait(bound) = bound else { return None };
        let future = bound.path.segments.last().filter(|s| s.ident == "Future")?;
        let PathArguments::AngleBracketed(args) = &future.arguments else { return None };
        args.args.iter().find_map(|arg| match arg {
            GenericArgument::AssocType(assoc) if assoc.ident == "Output" => Some(assoc.ty.clone()),
            _ => None,
        })
    })
}

fn first_type_arg(args: &PathArguments) -> Option<&Type> {
    let PathArguments::AngleBracketed(args) = args else { return None };
    args.args.iter().find_map(|arg| match arg {
        GenericArgument::Type(ty) => Some(ty),
        _ => None,
    })
}

/// For `#[async_trait]` output: the future's output, the `Box::pin` path, and the
/// async block's contents. The body is parsed only when the return type has the shape.
///
/// `#[async_trait]` moves `self` into its block (`let __self = self;`); run once
/// per attempt, that move would leave later attempts without it, so a `&mut`
/// receiver is reborrowed there instead (`&mut *self`, `self.as_mut()`).
fn async_trait_parts(
    output: &ReturnType,
    body: &TokenStream,
    receiver: Receiver,
) -> Option<(Type, TokenStream, TokenStream)> {
    let ReturnType::Type(_, ty) = output else { return None };
    let output = future_output(ty).filter(|_| matches!(**ty, Type::Path(_)))?;
    let block = syn::parse::Parser::parse2(Block::parse_within, body.clone()).ok()?;
    let [Stmt::Expr(Expr::Call(call), None)] = block.as_slice() else { return None };
    let [Expr::Async(block)] = call.args.iter().collect::<Vec<_>>().as_slice() else { return None };
    block.capture?;
    let mut stmts = block.block.stmts.clone();
    for stmt in &mut stmts {
        let Stmt::Local(local) = stmt else { continue };
        let Pat::Ident(binding) = &local.pat else { continue };
        let Some(init) = &mut local.init else { continue };
        let Expr::Path(path) = &*init.expr else { continue };
        if binding.ident != "__self" || !path.path.is_ident("self") {
            continue;
        }
        let self_token = &path.path.segments[0].ident;
        match receiver {
            Receiver::Mut => *init.expr = syn::parse_quote!(&mut *#self_token),
            Receiver::PinMut => *init.expr = syn::parse_quote!(#self_token.as_mut()),
            _ => {}
        }
    }
    Some((output, call.func.to_token_stream(), quote!(#(#stmts)*)))
}

/// How the fn takes `self`, for how each attempt gets it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Receiver {
    /// No `self`.
    None,
    /// `&self`, `self: &Self`, `self: Pin<&Self>`: shared as it is.
    Shared,
    /// `&mut self`, `self: &mut Self`: lent to each attempt in turn.
    Mut,
    /// `self: Pin<&mut Self>`: lent to each attempt in turn (the body reborrows it
    /// with `self.as_mut()`).
    PinMut,
    /// `self`, `self: Box<Self>`, `Arc<Self>`, ...: each attempt gets its own copy,
    /// assigned to `self` itself, so every `self` token in the body (format
    /// strings included) means the attempt's copy.
    Value,
}

/// What an attempt of the expansion is: a sync closure, an `async` block, or a
/// hedged copy (an `async move` block made once per copy).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    Sync,
    Async,
    Hedge,
}

/// How the arguments reach each attempt.
pub(crate) struct Arguments {
    /// The fn's inputs for the outer signature (a pattern over `&mut` renamed,
    /// `mut` where an attempt lends or clones from the binding).
    pub inputs: syn::punctuated::Punctuated<FnArg, syn::Token![,]>,
    pub receiver: Receiver,
    /// Statements run before each attempt, outside its closure or block: the
    /// per-attempt copies and reborrows (and `self = copy` for a by-value `self`).
    pub per_attempt: TokenStream,
    /// Statements at the top of an async attempt's block. They move the
    /// per-attempt values in and borrow `self` (and `impl Trait` values) uniquely,
    /// so the block holds `T` or `&mut T`, never `&T` of a value the plain fn
    /// owns: the future is `Send` exactly when the plain fn's is.
    pub prologue: TokenStream,
    /// Statements at the top of an async attempt's block that borrow `self`, the
    /// `&mut` arguments and lent `impl Trait` values uniquely (see `prologue`).
    pub borrows: TokenStream,
    /// Whether an attempt borrows something of the fn's uniquely (`&mut self`,
    /// a `&mut` argument, a lent `impl Trait` value).
    pub lends: bool,
}

/// The hidden name of a by-value `self`'s original, which each attempt copies.
pub(crate) fn original_self() -> Ident {
    Ident::new("__retry_self", Span::mixed_site())
}

/// The receiver's kind.
pub(crate) fn receiver_kind(sig: &Signature) -> Receiver {
    let Some(FnArg::Receiver(receiver)) = sig.inputs.first() else { return Receiver::None };
    match &receiver.kind {
        ReceiverKind::Reference(_, _, Some(_)) => Receiver::Mut,
        ReceiverKind::Reference(_, _, None) => Receiver::Shared,
        ReceiverKind::Typed(_, ty) => match &**ty {
            Type::Reference(r) if r.mutability.is_some() => Receiver::Mut,
            Type::Reference(_) => Receiver::Shared,
            ty => match pinned_reference(ty) {
                Some(true) => Receiver::PinMut,
                Some(false) => Receiver::Shared,
                None => Receiver::Value,
            },
        },
        _ => Receiver::Value,
    }
}

/// `Some(mutable)` for `Pin<&T>` / `Pin<&mut T>`.
fn pinned_reference(ty: &Type) -> Option<bool> {
    let Type::Path(path) = ty else { return None };
    let pin = path.path.segments.last().filter(|s| s.ident == "Pin")?;
    match first_type_arg(&pin.arguments)? {
        Type::Reference(r) => Some(r.mutability.is_some()),
        _ => None,
    }
}

/// Whether a type is `Pin<&mut T>`, which each attempt reborrows with `as_mut()`.
fn pin_mut(ty: &Type) -> bool {
    let Type::Path(path) = ty else { return false };
    path.qself.is_none() && path.path.segments.last().is_some_and(|pin| {
        pin.ident == "Pin"
            && matches!(first_type_arg(&pin.arguments), Some(Type::Reference(r)) if r.mutability.is_some())
    })
}

/// `Fn`, `FnMut` or `FnOnce` for `Box<dyn Fn(..) -> R + ..>`: never `Clone` (no
/// crate can implement `Clone` for it), so lent to each attempt like an `impl
/// Fn(..)` that is not `Clone`.
pub(crate) fn boxed_fn(ty: &Type) -> Option<String> {
    let Type::Path(path) = ty else { return None };
    let boxed = path.path.segments.last().filter(|s| s.ident == "Box" && path.qself.is_none())?;
    let Some(Type::TraitObject(object)) = first_type_arg(&boxed.arguments) else { return None };
    object.bounds.iter().find_map(|bound| match bound {
        TypeParamBound::Trait(bound) => bound
            .path
            .segments
            .last()
            .map(|s| s.ident.to_string())
            .filter(|name| matches!(name.as_str(), "Fn" | "FnMut" | "FnOnce")),
        _ => None,
    })
}

/// Whether an `impl Trait` type promises `Clone` (then each attempt clones it).
pub(crate) fn impl_clone(ty: &Type) -> bool {
    let Type::ImplTrait(ty) = ty else { return false };
    ty.bounds.iter().any(|bound| {
        matches!(bound, TypeParamBound::Trait(t) if t.path.segments.last().is_some_and(|s| s.ident == "Clone"))
    })
}

/// Whether `ty` is a type parameter of the fn (`f: F`) bound by neither `Clone`
/// nor `Copy`: like an `impl Trait` argument, it cannot be copied, and is lent.
pub(crate) fn unclonable_param(sig: &Signature, ty: &Type) -> bool {
    let Type::Path(path) = ty else { return false };
    let Some(ident) = path.path.get_ident().filter(|_| path.qself.is_none()) else { return false };
    let Some(param) = sig.generics.type_params().find(|param| param.ident == *ident) else { return false };
    let copies = |bounds: &syn::punctuated::Punctuated<TypeParamBound, syn::Token![+]>| {
        bounds.iter().any(|bound| {
            matches!(bound, TypeParamBound::Trait(t)
                if t.path.segments.last().is_some_and(|s| s.ident == "Clone" || s.ident == "Copy"))
        })
    };
    let in_where = sig.generics.where_clause.iter().flat_map(|w| &w.predicates).any(|predicate| {
        matches!(predicate, syn::WherePredicate::Type(p)
            if matches!(&p.bounded_ty, Type::Path(b) if b.path.is_ident(ident)) && copies(&p.bounds))
    });
    !copies(&param.bounds) && !in_where
}

/// Works out the per-attempt handling of each argument: references as
/// they are, `&mut` and `Pin<&mut T>` reborrowed, by-value arguments cloned
/// (each name of a pattern on its own), `impl Trait` values, boxed closures and
/// unbounded type parameters (not `Clone`) lent. The body's tokens are never
/// renamed.
///
/// A by-value argument the body never names is not copied: the attribute's
/// values (`stop = attempts(max)`) read it before the attempts, and an argument
/// nothing reads still warns, at the parameter, as without the attribute.
pub(crate) fn arguments(
    sig: &Signature,
    krate: &TokenStream,
    mentioned: &HashSet<String>,
    mode: Mode,
    body: &TokenStream,
) -> Arguments {
    // Whether the body may use an argument: an argument it never names is not
    // borrowed by the attempt, so rustc reports it unused as without the
    // attribute (and the attempt holds nothing of it). Inline format arguments
    // (`"{buf}"`) count as a use.
    let mut body_names: Option<(HashSet<String>, Vec<String>)> = None;
    let mut uses = |name: &Ident| {
        let (names, literals) = body_names.get_or_insert_with(|| {
            let mut names = HashSet::new();
            let mut literals = Vec::new();
            body_identifiers(body.clone(), &mut names, &mut literals);
            (names, literals)
        });
        let name = name.to_string();
        names.contains(&name) || literals.iter().any(|literal| literal.contains(&name))
    };
    let hidden = Span::mixed_site();
    let mut inputs = sig.inputs.clone();
    let mut per_attempt = TokenStream::new();
    let mut prologue = TokenStream::new();
    let mut borrows = TokenStream::new();
    let receiver = receiver_kind(sig);
    let clone_arg = if mode == Mode::Hedge {
        quote_spanned!(hidden=> #krate::__private::clone_copy)
    } else {
        quote_spanned!(hidden=> #krate::__private::clone_arg)
    };
    let clone_arg_mut = quote_spanned!(hidden=> #krate::__private::clone_arg_mut);
    let clone_moved = quote_spanned!(hidden=> #krate::__private::clone_moved);
    let clone_moved_mut = quote_spanned!(hidden=> #krate::__private::clone_moved_mut);
    for (index, arg) in inputs.iter_mut().enumerate() {
        match arg {
            FnArg::Receiver(recv) => {
                let self_token = recv.self_token;
                match receiver {
                    Receiver::Mut if mode == Mode::Async => {
                        borrows.extend(quote!(let _ = &mut *#self_token;));
                    }
                    Receiver::PinMut if mode == Mode::Async => {
                        recv.mutability = Some(Default::default());
                        borrows.extend(quote!(let _ = &mut #self_token;));
                    }
                    Receiver::Value if mode != Mode::Hedge => {
                        recv.mutability = Some(Default::default());
                        // Spanned at the receiver, hygienic: a `self` that is not
                        // `Clone` is reported there, with a message about `self`.
                        let at = self_token.span.resolved_at(hidden);
                        let original = Ident::new(&original_self().to_string(), at);
                        let clone_self = quote_spanned!(at=> #krate::__private::clone_self);
                        per_attempt.extend(quote_spanned! {at=>
                            #self_token = #clone_self(&#original);
                        });
                        if mode == Mode::Async {
                            borrows.extend(quote!(let _ = &mut #self_token;));
                        }
                    }
                    _ => {}
                }
            }
            FnArg::Typed(typed) => {
                let ty = &*typed.ty;
                let reference = match ty {
                    Type::Reference(r) => Some(r.mutability.is_some()),
                    _ => None,
                };
                // (Hedged copies run at once: a generic value is cloned for each,
                // with the error that says so when it cannot be.)
                let how = match &*typed.pat {
                    Pat::Ident(ident) => lent(sig, ty, mode, || moves_by_name(body, &ident.ident)),
                    _ => lent(sig, ty, mode, || true),
                };
                let lent = how == Some(true);
                // Cloned though its type does not say `Clone` (see [`lent`]).
                let through = how == Some(false) && mode != Mode::Hedge;
                match &mut *typed.pat {
                    Pat::Wild(_) => {}
                    Pat::Ident(ident) if ident.by_ref.is_none() && ident.subpat.is_none() => {
                        let name = ident.ident.clone();
                        let allow =
                            mentioned.contains(&name.to_string()).then(|| quote!(#[allow(unused_variables)]));
                        if lent {
                            // Used in place (an `impl Trait` value cannot be copied);
                            // an async attempt borrows it uniquely.
                            if mode == Mode::Async && uses(&name) {
                                ident.mutability = Some(Default::default());
                                borrows.extend(quote!(let _ = &mut #name;));
                            }
                            continue;
                        }
                        // A by-value argument the body never names needs no copy
                        // per attempt (the policy, which may read it, is built
                        // before them): it is left as it is, `Clone` or not.
                        if reference.is_none() && !uses(&name) {
                            continue;
                        }
                        // `Pin<&mut T>`: reborrowed for each attempt through
                        // `as_mut()`, as a `self: Pin<&mut Self>` is.
                        if mode != Mode::Hedge && pin_mut(ty) {
                            if uses(&name) {
                                let mutability = ident.mutability.replace(Default::default());
                                per_attempt.extend(quote_spanned!(name.span()=>
                                    #[allow(unused_mut)]
                                    let #mutability #name = #name.as_mut();
                                ));
                            }
                            continue;
                        }
                        let mutability = ident.mutability.take();
                        if reference == Some(false) && mutability.is_none() {
                            continue;
                        }
                        match (mode, reference) {
                            // Reborrowed for each attempt, as a sync attempt's
                            // closure does: a body that moves the reference
                            // (`write_to(buf)`, `let b = buf;`) moves the
                            // attempt's reborrow, and the next attempt has its own.
                            // Made before the block, which captures it uniquely
                            // (or moves it) and keeps no other copy: one word in
                            // the future, as the plain fn's.
                            (Mode::Async, Some(true)) if mutability.is_none() => {
                                if uses(&name) {
                                    per_attempt
                                        .extend(quote_spanned!(name.span()=> let #name = &mut *#name;));
                                    borrows.extend(quote!(let _ = &mut *#name;));
                                }
                            }
                            (Mode::Async, None) => {
                                // Cloned inside the block from a unique borrow: the
                                // future holds `&mut T` and the copy, never `&T`.
                                ident.mutability = Some(Default::default());
                                let clone = if through { &clone_moved_mut } else { &clone_arg_mut };
                                prologue.extend(quote_spanned! {name.span()=>
                                    #allow let #mutability #name = #clone(&mut #name);
                                });
                            }
                            (_, reference) => {
                                let fresh = match reference {
                                    Some(true) => quote_spanned!(name.span()=> &mut *#name),
                                    Some(false) => quote!(#name),
                                    None if through => quote_spanned!(name.span()=> #clone_moved(&#name)),
                                    None => quote_spanned!(name.span()=> #clone_arg(&#name)),
                                };
                                let rebind = quote!(#allow let #mutability #name = #fresh;);
                                if mode == Mode::Async {
                                    prologue.extend(rebind)
                                } else {
                                    per_attempt.extend(rebind)
                                }
                            }
                        }
                    }
                    // A pattern over a shared reference binds references and
                    // `Copy` values: every attempt uses them as they are.
                    _ if reference == Some(false) => {}
                    // A pattern over a value stays in the signature (rustdoc
                    // shows it, and the attribute's values can read its names);
                    // each name the body uses is cloned for each attempt.
                    pat if reference.is_none() && clones_by_name(pat) => {
                        let mut bindings = Vec::new();
                        pattern_bindings(pat, &mut bindings);
                        for binding in bindings {
                            let name = binding.ident.clone();
                            if !uses(&name) {
                                continue;
                            }
                            let by_ref = binding.by_ref.is_some();
                            let mutability = if by_ref { None } else { binding.mutability.take() };
                            let fresh = match mode {
                                // As for a named argument: cloned from a unique
                                // borrow, so the future never holds `&T`.
                                Mode::Async if !by_ref => {
                                    binding.mutability = Some(Default::default());
                                    quote_spanned!(name.span()=> #clone_arg_mut(&mut #name))
                                }
                                _ => quote_spanned!(name.span()=> #clone_arg(&#name)),
                            };
                            let rebind = quote!(let #mutability #name = #fresh;);
                            if mode == Mode::Async {
                                prologue.extend(rebind)
                            } else {
                                per_attempt.extend(rebind)
                            }
                        }
                    }
                    pat => {
                        let outer = Ident::new(&format!("__retry_arg{index}"), hidden);
                        let inner = std::mem::replace(
                            pat,
                            Pat::Ident(syn::PatIdent {
                                attrs: Vec::new(),
                                by_ref: None,
                                mutability: None,
                                ident: outer.clone(),
                                subpat: None,
                            }),
                        );
                        let fresh = match (mode, reference) {
                            (_, Some(true)) => quote!(&mut *#outer),
                            (_, Some(false)) => quote!(#outer),
                            (Mode::Async, None) => {
                                if let Pat::Ident(outer) = pat {
                                    outer.mutability = Some(Default::default());
                                }
                                quote_spanned!(inner.span()=> #clone_arg_mut(&mut #outer))
                            }
                            (_, None) => quote_spanned!(inner.span()=> #clone_arg(&#outer)),
                        };
                        let rebind = quote!(let #inner = #fresh;);
                        if mode == Mode::Async { prologue.extend(rebind) } else { per_attempt.extend(rebind) }
                    }
                }
            }
        }
    }
    let lends = matches!(receiver, Receiver::Mut | Receiver::PinMut)
        || sig.inputs.iter().any(|input| match input {
            FnArg::Typed(typed) => match &*typed.ty {
                Type::Reference(reference) => reference.mutability.is_some(),
                ty => {
                    pin_mut(ty)
                        || match &*typed.pat {
                            Pat::Ident(ident) => lent(sig, ty, mode, || moves_by_name(body, &ident.ident)),
                            _ => lent(sig, ty, mode, || true),
                        } == Some(true)
                }
            },
            FnArg::Receiver(_) => false,
        });
    Arguments { inputs, receiver, per_attempt, prologue, borrows, lends }
}

/// Whether each name a pattern binds can be cloned for each attempt on its own:
/// no `ref mut` (a unique borrow of the argument), no `name @ subpattern` (two
/// bindings of one value), no `|` (a name bound in each case).
fn clones_by_name(pat: &Pat) -> bool {
    let mut or = false;
    syn::visit::Visit::visit_pat(&mut FindOr(&mut or), pat);
    let mut pat = pat.clone();
    let mut bindings = Vec::new();
    pattern_bindings(&mut pat, &mut bindings);
    struct FindOr<'a>(&'a mut bool);
    impl syn::visit::Visit<'_> for FindOr<'_> {
        fn visit_pat_or(&mut self, _: &syn::PatOr) {
            *self.0 = true;
        }
    }
    !or && bindings.iter().all(|binding| {
        binding.subpat.is_none() && !(binding.by_ref.is_some() && binding.mutability.is_some())
    })
}

/// The names a pattern binds (`a`, `b` of `(a, P { b, .. })`), to edit in place.
fn pattern_bindings<'a>(pat: &'a mut Pat, into: &mut Vec<&'a mut syn::PatIdent>) {
    match pat {
        Pat::Ident(ident) => into.push(ident),
        Pat::Tuple(tuple) => tuple.elems.iter_mut().for_each(|elem| pattern_bindings(elem, into)),
        Pat::TupleStruct(tuple) => tuple.elems.iter_mut().for_each(|elem| pattern_bindings(elem, into)),
        Pat::Struct(strukt) => {
            strukt.fields.iter_mut().for_each(|field| pattern_bindings(&mut field.pat, into))
        }
        Pat::Slice(slice) => slice.elems.iter_mut().for_each(|elem| pattern_bindings(elem, into)),
        Pat::Reference(reference) => pattern_bindings(&mut reference.pat, into),
        Pat::Paren(paren) => pattern_bindings(&mut paren.pat, into),
        Pat::Type(typed) => pattern_bindings(&mut typed.pat, into),
        _ => {}
    }
}

/// Every identifier of a body, and the text of its literals.
fn body_identifiers(tokens: TokenStream, names: &mut HashSet<String>, literals: &mut Vec<String>) {
    for tree in tokens {
        match tree {
            TokenTree::Ident(ident) => {
                names.insert(ident.to_string());
            }
            TokenTree::Group(group) => body_identifiers(group.stream(), names, literals),
            TokenTree::Literal(literal) => {
                let text = literal.to_string();
                if text.contains('{') {
                    literals.push(text);
                }
            }
            TokenTree::Punct(_) => {}
        }
    }
}

/// Whether a type mentions `impl Trait` (which a closure's return type cannot name).
pub(crate) fn mentions_impl(ty: &Type) -> bool {
    struct Find(bool);
    impl syn::visit::Visit<'_> for Find {
        fn visit_type_impl_trait(&mut self, _: &syn::TypeImplTrait) {
            self.0 = true;
        }
    }
    let mut find = Find(false);
    syn::visit::Visit::visit_type(&mut find, ty);
    find.0
}

/// The type with each `impl Trait` in it made `_`: what an attempt's closure or
/// block can be told of a return type such as `Result<impl Display, E>` (the
/// rest, here `E`, still types its `Err(..)` and `return`s).
pub(crate) fn erase_impl(ty: &Type) -> Type {
    struct Erase;
    impl syn::visit_mut::VisitMut for Erase {
        fn visit_type_mut(&mut self, ty: &mut Type) {
            if let Type::ImplTrait(impl_trait) = ty {
                *ty = Type::Infer(syn::TypeInfer {
                    attrs: Vec::new(),
                    underscore_token: syn::Token![_](impl_trait.impl_token.span),
                });
            } else {
                syn::visit_mut::visit_type_mut(self, ty);
            }
        }
    }
    let mut ty = ty.clone();
    syn::visit_mut::VisitMut::visit_type_mut(&mut Erase, &mut ty);
    ty
}

/// The first statement of an attempt's `async` block: it gives the block the
/// fn's return type (`ty`) before the body is checked, so `Ok(..)`, `Err(..)` and
/// `return` in the body coerce to it as they do in the plain fn (rustc takes an
/// `async` block's output from its first `return` or its tail, never from where
/// the block goes). Never run.
pub(crate) fn typed_output(ty: &Type, private: &TokenStream) -> TokenStream {
    let ty = erase_impl(ty);
    quote_spanned! {Span::mixed_site()=>
        if false {
            return #private::output::<#ty>();
        }
    }
}

/// Every identifier in a token stream, and `?` if it holds one: which arguments
/// the attribute uses, and whether its values fit in a closure.
pub(crate) fn identifiers(tokens: TokenStream, into: &mut HashSet<String>) {
    for tree in tokens {
        match tree {
            TokenTree::Ident(ident) => {
                into.insert(ident.to_string());
            }
            TokenTree::Group(group) => identifiers(group.stream(), into),
            // For `has_control_flow`.
            TokenTree::Punct(punct) if punct.as_char() == '?' => {
                into.insert("?".to_owned());
            }
            _ => {}
        }
    }
}

/// The names the fn's arguments bind (`x` of `x: u32`, `a` and `b` of
/// `(a, b): (u32, u32)`), read off the syntax tree (no tokens are made).
pub(crate) fn argument_names(sig: &Signature) -> HashSet<String> {
    struct Bound(HashSet<String>);
    impl syn::visit::Visit<'_> for Bound {
        fn visit_pat_ident(&mut self, pat: &syn::PatIdent) {
            self.0.insert(pat.ident.to_string());
            syn::visit::visit_pat_ident(self, pat);
        }
    }
    let mut bound = Bound(HashSet::new());
    for input in &sig.inputs {
        if let FnArg::Typed(typed) = input {
            syn::visit::Visit::visit_pat(&mut bound, &typed.pat);
        }
    }
    bound.0
}

/// Whether a signature names `Self` (read off the syntax tree).
pub(crate) fn names_self_type(sig: &Signature) -> bool {
    struct Find(bool);
    impl syn::visit::Visit<'_> for Find {
        fn visit_ident(&mut self, ident: &Ident) {
            if ident == "Self" {
                self.0 = true;
            }
        }
    }
    let mut find = Find(false);
    syn::visit::Visit::visit_signature(&mut find, sig);
    find.0
}

/// Tokens as a user would write them, for messages (`Result<u32, E>`, not `Result < u32 , E >`).
pub(crate) fn show(tokens: &impl ToTokens) -> String {
    let text = tokens.to_token_stream().to_string();
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ' ' {
            let next = chars.peek().copied().unwrap_or(' ');
            let prev = out.chars().last().unwrap_or(' ');
            let tight_before = matches!(next, '<' | '>' | ',' | ':' | ')' | ']' | '.' | '(');
            let tight_after = matches!(prev, '<' | '(' | '[' | '&' | ':' | '.');
            if tight_before || tight_after {
                continue;
            }
        }
        out.push(c);
    }
    out
}

/// `#[tracing::instrument]` above `#[retry]` wraps the body in `async move { .. }`
/// (or, on a sync fn with `err`/`ret`, `(move || { .. })()`) before `#[retry]`
/// sees it. Run once per attempt, that `move` would take `&mut self` (or a `&mut`
/// argument) from every later attempt; without it, the wrapper borrows them for
/// one attempt. `borrows` (the attempt's unique borrows) start each block again,
/// so the wrapper's future holds `&mut T` as the attempt's does.
pub(crate) fn unmove_instrument(body: TokenStream, borrows: &TokenStream) -> TokenStream {
    // Its statements come first: a glance at the top level tells.
    let instrumented = body.clone().into_iter().take(16).any(|tree| {
        matches!(&tree, TokenTree::Ident(ident) if ident == "__tracing_attr_span" || ident == "__tracing_attr_guard")
    });
    if !instrumented {
        return body;
    }
    let Ok(mut stmts) = syn::parse::Parser::parse2(Block::parse_within, body.clone()) else { return body };
    let borrows: Vec<Stmt> =
        syn::parse::Parser::parse2(Block::parse_within, borrows.clone()).unwrap_or_default();
    fn unmove_async(expr: &mut Expr, borrows: &[Stmt], depth: u8) {
        match expr {
            Expr::Async(block) => {
                block.capture = None;
                if depth == 0 {
                    // The wrapper's own statements: `match async move { body }.await`,
                    // `let x = async move { body }.await`.
                    for stmt in &mut block.block.stmts {
                        match stmt {
                            Stmt::Local(local) => {
                                if let Some(init) = &mut local.init {
                                    unmove_async(&mut init.expr, borrows, 1);
                                }
                            }
                            Stmt::Expr(Expr::Match(m), _) => unmove_async(&mut m.expr, borrows, 1),
                            _ => {}
                        }
                    }
                }
                let mut stmts = borrows.to_vec();
                stmts.append(&mut block.block.stmts);
                block.block.stmts = stmts;
            }
            Expr::Await(awaited) if depth == 1 => unmove_async(&mut awaited.base, borrows, 2),
            _ => {}
        }
    }
    fn unmove_closure(expr: &mut Expr) {
        if let Expr::Call(call) = expr
            && let Expr::Paren(paren) = &mut *call.func
            && let Expr::Closure(closure) = &mut *paren.expr
        {
            closure.capture = None;
        }
    }
    for stmt in &mut stmts {
        match stmt {
            Stmt::Local(local) => {
                let Some(init) = &mut local.init else { continue };
                match &local.pat {
                    Pat::Ident(ident) if ident.ident == "__tracing_instrument_future" => {
                        unmove_async(&mut init.expr, &borrows, 0)
                    }
                    _ => unmove_closure(&mut init.expr),
                }
            }
            Stmt::Expr(Expr::Match(m), _) => unmove_closure(&mut m.expr),
            _ => {}
        }
    }
    quote!(#(#stmts)*)
}

/// `tokens` (a path) with every token at `span`: a call through it is then
/// reported at the value it checks, not at the whole attribute.
pub(crate) fn respanned(tokens: &TokenStream, span: proc_macro2::Span) -> TokenStream {
    tokens
        .clone()
        .into_iter()
        .map(|mut token| {
            token.set_span(span);
            token
        })
        .collect()
}

/// A body whose `let name = self;` (at any depth) reborrow a lent `&mut self`
/// (`&mut *self`) or `self: Pin<&mut Self>` (`Pin::as_mut(&mut self)`) instead
/// of moving it, so every attempt has its own: the binding has the same type and
/// the same referent as in the plain fn, where the move and the reborrow mean the
/// same. (`self` is a keyword, so the expansion cannot rebind it per attempt as it
/// does `&mut` arguments.) `None` when the body moves it nowhere, so a body that
/// need not change is not rebuilt.
pub(crate) fn reborrow_moved_self(body: &TokenStream, receiver: Receiver) -> Option<TokenStream> {
    if !matches!(receiver, Receiver::Mut | Receiver::PinMut) || !moves_self(body.clone()) {
        return None;
    }
    Some(reborrow_self(body.clone(), receiver))
}

/// Whether `let [mut] name = self;` is in the tokens, outside nested items (see
/// [`self_moves`]).
fn moves_self(tokens: TokenStream) -> bool {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    !self_moves(&trees).is_empty() || nested_groups(&trees).any(|group| moves_self(group.stream()))
}

/// The indices of the `self` tokens of `let [mut] name = self;` at this level.
/// (`let me: &mut Self = self;` reborrows already.)
fn self_moves(trees: &[TokenTree]) -> Vec<usize> {
    let mut found = Vec::new();
    for (i, tree) in trees.iter().enumerate() {
        let TokenTree::Ident(keyword) = tree else { continue };
        if keyword != "let" {
            continue;
        }
        let mut at = i + 1;
        if matches!(trees.get(at), Some(TokenTree::Ident(m)) if m == "mut") {
            at += 1;
        }
        if let (
            Some(TokenTree::Ident(_)),
            Some(TokenTree::Punct(eq)),
            Some(TokenTree::Ident(this)),
            Some(TokenTree::Punct(semi)),
        ) = (trees.get(at), trees.get(at + 1), trees.get(at + 2), trees.get(at + 3))
            && eq.as_char() == '='
            && eq.spacing() == proc_macro2::Spacing::Alone
            && this == "self"
            && semi.as_char() == ';'
        {
            found.push(at + 2);
        }
    }
    found
}

/// The groups of a level that belong to the fn's body: not the body of an item
/// declared in it (`fn`, `impl`, `trait`, `mod`), whose `self` is another.
fn nested_groups(trees: &[TokenTree]) -> impl Iterator<Item = &proc_macro2::Group> {
    let mut in_item = false;
    trees.iter().filter_map(move |tree| match tree {
        TokenTree::Ident(ident) if ident == "fn" || ident == "impl" || ident == "trait" || ident == "mod" => {
            in_item = true;
            None
        }
        TokenTree::Group(group) if group.delimiter() == proc_macro2::Delimiter::Brace && in_item => {
            in_item = false;
            None
        }
        TokenTree::Punct(punct) if punct.as_char() == ';' => {
            in_item = false;
            None
        }
        TokenTree::Group(group) => Some(group),
        _ => None,
    })
}

fn reborrow_self(tokens: TokenStream, receiver: Receiver) -> TokenStream {
    let mut trees: Vec<TokenTree> = tokens.into_iter().collect();
    let moves = self_moves(&trees);
    let mut in_item = false;
    let mut out = TokenStream::new();
    for (i, tree) in trees.drain(..).enumerate() {
        match tree {
            TokenTree::Ident(this) if moves.contains(&i) => {
                let span = this.span();
                out.extend(match receiver {
                    Receiver::PinMut => quote_spanned!(span=> ::core::pin::Pin::as_mut(&mut #this)),
                    _ => quote_spanned!(span=> &mut *#this),
                });
            }
            TokenTree::Ident(ident) => {
                if ident == "fn" || ident == "impl" || ident == "trait" || ident == "mod" {
                    in_item = true;
                }
                out.extend([TokenTree::Ident(ident)]);
            }
            TokenTree::Group(group) if group.delimiter() == proc_macro2::Delimiter::Brace && in_item => {
                in_item = false;
                out.extend([TokenTree::Group(group)]);
            }
            TokenTree::Group(group) if moves_self(group.stream()) => {
                let mut rebuilt =
                    proc_macro2::Group::new(group.delimiter(), reborrow_self(group.stream(), receiver));
                rebuilt.set_span(group.span());
                out.extend([TokenTree::Group(rebuilt)]);
            }
            tree => {
                if matches!(&tree, TokenTree::Punct(p) if p.as_char() == ';') {
                    in_item = false;
                }
                out.extend([tree]);
            }
        }
    }
    out
}

/// Traits that do not have `Clone` as a supertrait: an argument bound only by
/// these (and lifetimes) is not `Clone` unless its bounds say so.
const NOT_CLONE: &[&str] = &[
    "Fn",
    "FnMut",
    "FnOnce",
    "AsyncFn",
    "AsyncFnMut",
    "AsyncFnOnce",
    "Future",
    "IntoFuture",
    "Iterator",
    "IntoIterator",
    "DoubleEndedIterator",
    "ExactSizeIterator",
    "Into",
    "TryInto",
    "From",
    "TryFrom",
    "AsRef",
    "AsMut",
    "Borrow",
    "BorrowMut",
    "Display",
    "Debug",
    "Read",
    "Write",
    "BufRead",
    "Seek",
    "Error",
    "Send",
    "Sync",
    "Unpin",
    "Sized",
    "Any",
    "Hash",
    "Hasher",
    "PartialEq",
    "Eq",
    "PartialOrd",
    "Ord",
    "Default",
    "ToString",
    "Deref",
    "DerefMut",
    "Stream",
    "Sink",
    "AsyncRead",
    "AsyncWrite",
    "AsyncBufRead",
    "AsyncSeek",
    "Serialize",
    "Deserialize",
    "Extend",
    "FromIterator",
    "FromStr",
    "ToSocketAddrs",
    "Termination",
];

/// The trait bounds of an `impl Trait` type, or of a type parameter of the fn
/// (in its list and its `where` clause).
fn argument_bounds<'a>(sig: &'a Signature, ty: &'a Type) -> Vec<&'a TypeParamBound> {
    match ty {
        Type::ImplTrait(impl_trait) => impl_trait.bounds.iter().collect(),
        Type::Path(path) => {
            let Some(name) = path.path.get_ident().filter(|_| path.qself.is_none()) else {
                return Vec::new();
            };
            let mut bounds: Vec<&TypeParamBound> = Vec::new();
            for param in sig.generics.type_params().filter(|param| param.ident == *name) {
                bounds.extend(param.bounds.iter());
            }
            for predicate in sig.generics.where_clause.iter().flat_map(|w| &w.predicates) {
                if let syn::WherePredicate::Type(predicate) = predicate
                    && matches!(&predicate.bounded_ty, Type::Path(b) if b.path.is_ident(name))
                {
                    bounds.extend(predicate.bounds.iter());
                }
            }
            bounds
        }
        _ => Vec::new(),
    }
}

/// Whether an argument whose bounds do not say `Clone` may still be `Clone`
/// through one of its traits (`trait Conn: Clone`), which the tokens cannot tell:
/// a bound on a trait not known to lack it.
fn may_be_clone(sig: &Signature, ty: &Type) -> bool {
    argument_bounds(sig, ty).iter().any(|bound| {
        matches!(bound, TypeParamBound::Trait(t)
            if t.path.segments.last().is_some_and(|s| !NOT_CLONE.iter().any(|name| s.ident == name)))
    })
}

/// How an argument taken by value reaches each attempt when its type does not
/// say `Clone`: `None` when it does (or it is not such an argument: cloned or
/// handled as it is), `Some(true)` when it is lent (used in place by each
/// attempt: an `impl Trait` value, a boxed closure, a type parameter of the fn),
/// `Some(false)` when it is cloned all the same, as `#[hedge]` does any value
/// that may be `Clone`, and `#[retry]` one the body moves (`let c = conn;`,
/// `f(conn)`: a lent value would be gone for the next attempt): through a trait
/// (`trait Conn: Clone`) it is, and otherwise the error names the fix.
pub(crate) fn lent(sig: &Signature, ty: &Type, mode: Mode, moved: impl FnOnce() -> bool) -> Option<bool> {
    let lendable = (matches!(ty, Type::ImplTrait(_)) && !impl_clone(ty))
        || (mode != Mode::Hedge && (unclonable_param(sig, ty) || boxed_fn(ty).is_some()));
    if !lendable {
        return None;
    }
    if boxed_fn(ty).is_some() || !may_be_clone(sig, ty) {
        return Some(true);
    }
    Some(mode != Mode::Hedge && !moved())
}

/// Whether the body may move the argument `name` by naming it alone as a value:
/// `let x = name;`, `f(name)`, `Some(name)`, `(a, name)`, `return name`. A guess
/// on tokens, made only for arguments that may be `Clone` through a trait (see
/// [`lent`]); macro arguments (`println!("{}", name)`) are not read, as the
/// common ones borrow.
pub(crate) fn moves_by_name(body: &TokenStream, name: &Ident) -> bool {
    fn scan(tokens: TokenStream, name: &Ident) -> bool {
        let trees: Vec<TokenTree> = tokens.into_iter().collect();
        for (i, tree) in trees.iter().enumerate() {
            match tree {
                TokenTree::Group(group) => {
                    let is_macro =
                        i > 0 && matches!(&trees[i - 1], TokenTree::Punct(p) if p.as_char() == '!');
                    if !is_macro && scan(group.stream(), name) {
                        return true;
                    }
                }
                TokenTree::Ident(ident) if ident == name => {
                    let before = match i.checked_sub(1).map(|j| &trees[j]) {
                        None => true,
                        Some(TokenTree::Punct(p)) => {
                            // `=` but not `==`, `+=`, ...; `=>` (an arm's value).
                            let joined = i >= 2
                                && matches!(&trees[i - 2], TokenTree::Punct(q)
                                    if q.spacing() == proc_macro2::Spacing::Joint);
                            let arrow =
                                joined && matches!(&trees[i - 2], TokenTree::Punct(q) if q.as_char() == '=');
                            match p.as_char() {
                                '=' => !joined,
                                '>' => arrow,
                                ',' | ';' => true,
                                _ => false,
                            }
                        }
                        Some(TokenTree::Ident(keyword)) => keyword == "return" || keyword == "break",
                        _ => false,
                    };
                    let after = match trees.get(i + 1) {
                        None => true,
                        Some(TokenTree::Punct(p)) => p.as_char() == ';' || p.as_char() == ',',
                        _ => false,
                    };
                    if before && after {
                        return true;
                    }
                }
                _ => {}
            }
        }
        false
    }
    scan(body.clone(), name)
}
