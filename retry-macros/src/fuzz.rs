//! `expand` never panics, whatever tokens it is given: random token streams, and
//! valid attributes and fns with random tokens deleted, inserted or replaced.

use std::str::FromStr;

use proc_macro2::{Delimiter, Group, TokenStream, TokenTree};
use proptest::prelude::*;

use crate::attr::Kind;
use crate::expand::expand;

const ATOMS: &[&str] = &[
    "fn",
    "async",
    "const",
    "unsafe",
    "extern",
    "\"C\"",
    "pub",
    "self",
    "Self",
    "mut",
    "&",
    "'a",
    "impl",
    "dyn",
    "Result",
    "Option",
    "Pin",
    "Box",
    "Future",
    "Output",
    "u32",
    "E",
    "x",
    "->",
    "=",
    "==",
    ",",
    ";",
    ":",
    "::",
    "|",
    "||",
    "-",
    "+",
    "*",
    "<",
    ">",
    "..",
    "..=",
    "_",
    "@",
    "#",
    "!",
    "?",
    ".",
    "stop",
    "wait",
    "on",
    "when",
    "unless",
    "if_result",
    "retry_after",
    "before",
    "after",
    "fallback",
    "sleep",
    "name",
    "crate",
    "transient",
    "attempts",
    "expo",
    "chain",
    "random",
    "fixed",
    "max",
    "min",
    "base",
    "0",
    "1",
    "1.5",
    "2s",
    "250ms",
    "5sec",
    "1e400s",
    "99999999999999999999999h",
    "-1s",
    "\"n\"",
    "true",
    "where",
    "T",
    "Clone",
    "return",
    "await",
];

const SEEDS: &[(&str, &str)] = &[
    (
        "stop = attempts(3), wait = expo(1, max = 10), on = [Timeout, Connect(_)]",
        "async fn fetch(&self, url: &str, mut n: u32) -> Result<u32, MyError> { Ok(n) }",
    ),
    (
        "wait = chain(fixed(1), fixed(2)), unless = [MyError::Fatal { .. }], name = \"x\"",
        "pub fn f<T: Clone>((a, b): (T, T), v: Vec<u8>) -> io::Result<T> where T: Send { Ok(a) }",
    ),
    (
        "|v: &u32| *v == 0, stop = elapsed(1.5s) | attempts(2), fallback = |v| v",
        "fn poll(self: Arc<Self>) -> u32 { self.x }",
    ),
    (
        "on = transient, before = |a| println!(\"{}\", a.attempt()), crate = my::retry",
        "fn f() -> Pin<Box<dyn Future<Output = Result<(), E>> + Send>> { Box::pin(async move { Ok(()) }) }",
    ),
];

fn atom() -> impl Strategy<Value = TokenStream> {
    prop::sample::select(ATOMS).prop_map(|s| TokenStream::from_str(s).unwrap())
}

fn group(inner: TokenStream, delimiter: u8) -> TokenStream {
    let delimiter = match delimiter % 3 {
        0 => Delimiter::Parenthesis,
        1 => Delimiter::Bracket,
        _ => Delimiter::Brace,
    };
    TokenTree::Group(Group::new(delimiter, inner)).into()
}

/// Random, balanced token streams built from the vocabulary above.
fn tokens() -> impl Strategy<Value = TokenStream> {
    atom().prop_recursive(4, 48, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(|parts| parts.into_iter().collect()),
            (prop::collection::vec(inner, 0..6), any::<u8>())
                .prop_map(|(parts, d)| group(parts.into_iter().collect(), d)),
        ]
    })
}

/// A seed with one token, at any depth, deleted, replaced or followed by another.
fn mutate(stream: TokenStream, mut at: usize, edit: u8, with: &TokenStream) -> TokenStream {
    fn walk(stream: TokenStream, at: &mut usize, edit: u8, with: &TokenStream) -> TokenStream {
        let mut out = Vec::new();
        for tree in stream {
            let here = *at == 0;
            *at = at.wrapping_sub(1);
            let tree = match tree {
                TokenTree::Group(g) if !here => {
                    let mut copy = Group::new(g.delimiter(), walk(g.stream(), at, edit, with));
                    copy.set_span(g.span());
                    TokenTree::Group(copy)
                }
                other => other,
            };
            if here {
                match edit % 3 {
                    0 => {}
                    1 => out.extend(with.clone()),
                    _ => {
                        out.push(tree);
                        out.extend(with.clone());
                    }
                }
            } else {
                out.push(tree);
            }
        }
        out.into_iter().collect()
    }
    walk(stream, &mut at, edit, with)
}

fn kind(flag: bool) -> Kind {
    if flag { Kind::Retry } else { Kind::RetryIfResult }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_tokens_never_panic(args in tokens(), item in tokens(), retry in any::<bool>()) {
        let _ = expand(kind(retry), args.clone(), item.clone());
        let _ = crate::hedge::expand(args, item);
    }

    #[test]
    fn mutated_seeds_never_panic(
        seed in 0..SEEDS.len(),
        in_args in any::<bool>(),
        at in 0usize..64,
        edit in any::<u8>(),
        with in tokens(),
        retry in any::<bool>(),
    ) {
        let (args, item) = SEEDS[seed];
        let (mut args, mut item) = (TokenStream::from_str(args).unwrap(), TokenStream::from_str(item).unwrap());
        if in_args { args = mutate(args, at, edit, &with) } else { item = mutate(item, at, edit, &with) }
        let _ = crate::hedge::expand(args.clone(), item.clone());
        let _ = expand(kind(retry), args, item);
    }
}

#[test]
fn seeds_expand_without_errors() {
    for (args, item) in SEEDS {
        let kind = if args.starts_with('|') { Kind::RetryIfResult } else { Kind::Retry };
        let out = expand(kind, TokenStream::from_str(args).unwrap(), TokenStream::from_str(item).unwrap());
        let text = out.to_string();
        assert!(!text.contains("compile_error"), "{args}: {text}");
    }
}
