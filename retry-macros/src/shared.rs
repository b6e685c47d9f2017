//! Generation shared by `#[retry]` (`expand`) and `#[hedge]` (`hedge`): the
//! attribute's values, the `on = [..]` matchers, the default name. Neither of
//! those modules imports the other's generation: both import this.

use darling::Error;
use darling::error::Accumulator;
use darling::util::SpannedValue;
use proc_macro2::{Ident, Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Pat, Type};

use crate::attr::Value;
use crate::dsl;
use crate::item;

/// A DSL value, rewritten (see [`dsl`]), at the span of its tokens.
pub(crate) fn value(spanned: SpannedValue<Value>, scope: &mut dsl::Scope) -> TokenStream {
    let span = spanned.span();
    let mut expr = spanned.into_inner().0;
    dsl::rewrite(&mut expr, scope);
    quote_spanned!(span=> #expr)
}

/// The default `name`: the fn's path. A method's (a fn with `self`, or whose
/// signature names `Self`) includes its type, `module::Type::method`, read off
/// `Self` when the call is made (the macro sees no `impl` around the fn).
pub(crate) fn default_name(sig: &syn::Signature, private: &TokenStream) -> TokenStream {
    let ident = sig.ident.to_string();
    if sig.receiver().is_some() || item::names_self_type(sig) {
        let cache = Ident::new("__RETRY_NAME", Span::mixed_site());
        quote_spanned! {Span::mixed_site()=>
            {
                static #cache: #private::MethodName = #private::MethodName::new();
                #cache.of::<Self>(#ident)
            }
        }
    } else {
        quote!(#private::fn_path!(#ident))
    }
}

/// `|e| matches!(e, E::A { .. } | E::B(..))` for `on = [A, B(..)]`.
pub(crate) fn matcher(
    patterns: Vec<Pat>,
    err: Option<&Type>,
    generics: &syn::Generics,
    private: &TokenStream,
) -> TokenStream {
    let patterns = qualify_all(patterns, err, generics, None);
    // `on = [Timeout]` matches `Timeout { .. }`, whatever the variant's shape
    // (clippy's `unneeded_struct_pattern` is allowed on the statement that makes
    // the policy, which holds this).
    quote_spanned! {Span::mixed_site()=>
        |__retry_error: &_| #private::core::matches!(__retry_error, #(#patterns)|*)
    }
}

/// Reports the patterns whose bare names cannot be read as variants of the
/// error type (the validation pass; [`matcher`] then qualifies them unfailingly).
pub(crate) fn check_patterns(
    patterns: &[Pat],
    err: Option<&Type>,
    generics: &syn::Generics,
    errors: &mut Accumulator,
) {
    qualify_all(patterns.to_vec(), err, generics, Some(errors));
}

/// Each pattern with its leading single segment read as a variant of the error
/// type; the ones that cannot be are reported to `errors` when given.
fn qualify_all(
    patterns: Vec<Pat>,
    err: Option<&Type>,
    generics: &syn::Generics,
    mut errors: Option<&mut Accumulator>,
) -> Vec<Pat> {
    // A type parameter (`E`, `S::Error`, `Self::Error`) has no variants a pattern
    // can name: only a full path (`MyError::Timeout`) can match through it.
    let generic = err.is_some_and(|ty| match ty {
        Type::Path(path) => {
            path.qself.is_some()
                || path.path.segments.first().is_some_and(|first| {
                    first.ident == "Self" || generics.type_params().any(|param| param.ident == first.ident)
                })
        }
        _ => false,
    });
    // A type with no variants to name: a box or a trait object, or a well-known
    // struct error. (Any other struct is reported by rustc, at the variant.)
    let opaque = err.is_some_and(|ty| match ty {
        Type::TraitObject(_) => true,
        Type::Path(path) => {
            let names: Vec<String> = path.path.segments.iter().map(|s| s.ident.to_string()).collect();
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            matches!(
                names.as_slice(),
                [.., "Box" | "Arc" | "Rc"] | [.., "io", "Error"] | ["anyhow", "Error"] | ["eyre", "Report"]
            )
        }
        _ => false,
    });
    let generic = generic || opaque;
    let err_path = err.filter(|_| !generic).and_then(|ty| match ty {
        Type::Path(path) if path.qself.is_none() => Some(expression_path(&path.path)),
        _ => None,
    });
    let kind = match (opaque, generic) {
        (true, _) => ErrorKind::Opaque,
        (false, true) => ErrorKind::Generic,
        (false, false) => ErrorKind::Named,
    };
    patterns.into_iter().map(|p| qualify(p, err_path.as_ref(), err, kind, errors.as_deref_mut())).collect()
}

/// What the error type is, for what a bare variant name can mean.
#[derive(Clone, Copy)]
enum ErrorKind {
    /// A named type: `Timeout` is its variant.
    Named,
    /// A type parameter or an associated type.
    Generic,
    /// A type with no variants (`Box<dyn Error>`, `io::Error`, `anyhow::Error`).
    Opaque,
}

/// `MyError<T>` → `MyError::<T>` (a path usable in patterns).
fn expression_path(path: &syn::Path) -> syn::Path {
    let mut path = path.clone();
    for segment in &mut path.segments {
        if let syn::PathArguments::AngleBracketed(args) = &mut segment.arguments {
            args.colon2_token.get_or_insert_with(Default::default);
        }
    }
    path
}

/// Reads a pattern whose leading path is one segment as a variant of the error type.
fn qualify(
    pat: Pat,
    err_path: Option<&syn::Path>,
    err: Option<&Type>,
    kind: ErrorKind,
    mut errors: Option<&mut Accumulator>,
) -> Pat {
    let checking = errors.is_some();
    let mut prefix = |path: &mut syn::Path, span: proc_macro2::Span| -> bool {
        if path.leading_colon.is_some() || path.segments.len() != 1 {
            return true;
        }
        match err_path {
            // Validation: nothing to build.
            Some(_) if checking => true,
            Some(err_path) => {
                let mut full = err_path.clone();
                full.segments.push(path.segments[0].clone());
                // At the variant's tokens: an error about the path (a struct
                // error type has no `Timeout`) points there, not into the fn.
                crate::dsl::respan_path(&mut full, span);
                *path = full;
                true
            }
            None => {
                let variant = &path.segments[0].ident;
                let message = match err {
                    Some(err) if matches!(kind, ErrorKind::Opaque) => format!(
                        "error patterns need an enum error type, and `{}` has no variants to match `{variant}` \
                         against: use `when = |e| ..`",
                        crate::item::show(err)
                    ),
                    Some(err) if matches!(kind, ErrorKind::Generic) => format!(
                        "`{}` is a type parameter (or an associated type), so `{variant}` cannot be read as one \
                         of its variants: write the pattern's full path (`MyError::{variant}`), or use \
                         `when = |e| ..`",
                        crate::item::show(err)
                    ),
                    Some(err) => format!(
                        "cannot read `{variant}` as a variant of `{}`: write the pattern's full path",
                        err.to_token_stream()
                    ),
                    None => format!(
                        "cannot tell this fn's error type from its return type (an alias such as \
                         `io::Result<T>`?), so `{variant}` cannot be read as one of its variants: write \
                         the full path, e.g. `MyError::{variant}`"
                    ),
                };
                if let Some(errors) = errors.as_deref_mut() {
                    errors.push(Error::custom(message).with_span(&span));
                }
                false
            }
        }
    };
    match pat {
        Pat::Ident(ident)
            if ident.by_ref.is_none() && ident.mutability.is_none() && ident.subpat.is_none() =>
        {
            let span = ident.ident.span();
            let mut path = syn::Path::from(ident.ident);
            if prefix(&mut path, span) {
                // Tokens, not a parsed pattern: they are only printed back.
                Pat::Verbatim(quote_spanned!(span=> #path { .. }))
            } else {
                Pat::Verbatim(quote!(_))
            }
        }
        Pat::TupleStruct(mut p) => {
            let span = p.path.span();
            if prefix(&mut p.path, span) { Pat::TupleStruct(p) } else { Pat::Verbatim(quote!(_)) }
        }
        Pat::Struct(mut p) => {
            let span = p.path.span();
            if prefix(&mut p.path, span) { Pat::Struct(p) } else { Pat::Verbatim(quote!(_)) }
        }
        Pat::Path(mut p) if p.qself.is_none() => {
            let span = p.path.span();
            if prefix(&mut p.path, span) {
                let path = &p.path;
                Pat::Verbatim(quote_spanned!(span=> #path { .. }))
            } else {
                Pat::Verbatim(quote!(_))
            }
        }
        Pat::Or(mut or) => {
            or.cases = or
                .cases
                .into_iter()
                .map(|case| qualify(case, err_path, err, kind, errors.as_deref_mut()))
                .collect();
            Pat::Or(or)
        }
        Pat::Paren(mut paren) => {
            *paren.pat = qualify(*paren.pat, err_path, err, kind, errors);
            Pat::Paren(paren)
        }
        other => other,
    }
}
