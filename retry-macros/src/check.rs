//! Cross-checks between the arguments and the fn they are on.

use darling::Error;
use darling::error::Accumulator;
use syn::spanned::Spanned;

use crate::attr::{Kind, RetryArgs};
use crate::item::{Output, RetryFn, Shape, future_output};

/// Reports every way the attribute cannot apply to this fn.
pub(crate) fn check(kind: Kind, func: &RetryFn, args: Option<&RetryArgs>, errors: &mut Accumulator) {
    let attr = kind.attr_name();
    let sig = &func.sig;
    if let Some(constness) = &sig.constness {
        errors.push(
            Error::custom(format!(
                "{attr} cannot go on a `const fn`: retrying sleeps and runs hooks, which const evaluation cannot"
            ))
            .with_span(constness),
        );
    }
    if let Some(abi) = &sig.abi {
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
    let Some(args) = args else { return };
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
