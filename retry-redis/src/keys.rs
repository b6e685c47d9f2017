//! Key names: escaped so no name reaches outside its namespace, hash-tagged by
//! name, versioned by the settings.

/// Bytes of a name kept as they are; a longer one is replaced by its digest.
const LONGEST: usize = 100;

/// `name` with every byte outside `[A-Za-z0-9_.-]` as `%XX` (so `{`, `}`, `:`,
/// `*` and `%` itself never appear), or `#` and its SHA-1 when long. The empty
/// name is `%` (which no other name escapes to): a hash tag is never empty, as
/// Redis Cluster ignores an empty one.
pub(crate) fn escape(name: &str) -> String {
    if name.is_empty() {
        return "%".to_owned();
    }
    if name.len() > LONGEST {
        return format!("#{}", sha1_smol::Sha1::from(name).digest());
    }
    let mut out = String::with_capacity(name.len());
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'.' | b'-') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A digest of the settings, for the key: twelve hex digits.
pub(crate) fn version(settings: &str) -> String {
    let digest = sha1_smol::Sha1::from(settings).digest().to_string();
    digest[..12].to_owned()
}

/// The prefix of every key of one shared breaker or budget:
/// `<namespace>:{<name>}:<kind>:<version>:`.
pub(crate) fn prefix(namespace: &str, name: &str, kind: &str, version: &str) -> String {
    format!("{}:{{{}}}:{kind}:{version}:", escape(namespace), escape(name))
}

/// A random owner id for leases: which replica holds one.
pub(crate) fn owner() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    hasher.write_u128(nanos);
    format!("r:{:016x}", hasher.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cannot_leave_their_namespace() {
        assert_eq!(escape("payments-v2.eu_1"), "payments-v2.eu_1");
        assert_eq!(escape("a}:{b*"), "a%7D%3A%7Bb%2A");
        assert_eq!(escape("100%"), "100%25");
        assert_eq!(escape("é"), "%C3%A9");
        assert_eq!(escape(""), "%");
        assert_eq!(escape("a\0b"), "a%00b");
        let long = "x".repeat(101);
        assert!(escape(&long).starts_with('#') && escape(&long).len() == 41);
        let prefix = prefix("ns:}", "p{x}", "b", "abc");
        assert_eq!(prefix, "ns%3A%7D:{p%7Bx%7D}:b:abc:");
        assert_eq!(prefix.matches('{').count(), 1);
        assert_eq!(prefix.matches('}').count(), 1);
    }

    #[test]
    fn versions_differ_with_settings() {
        assert_ne!(version("a"), version("b"));
        assert_eq!(version("a").len(), 12);
        assert_ne!(owner(), owner());
    }
}
