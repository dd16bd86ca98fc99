//! A wrapper for values that must never reach a log or a page by accident.

use std::fmt;

#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    pub fn new(value: T) -> Self {
        Self(value)
    }
    /// The only way to read the value: greppable on purpose.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> From<T> for Secret<T> {
    fn from(value: T) -> Self {
        Self(value)
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl<T> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for Secret<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::deserialize(d).map(Secret)
    }
}

/// A URL that may carry an API key (an RPC provider's `/v3/<key>`, a
/// webhook's token, a password): readable in full by the code, redacted by
/// `Debug` and `Display` (see `redact_url`).
#[derive(Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(transparent)]
pub struct KeyedUrl(String);

impl KeyedUrl {
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for KeyedUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyedUrl({})", redact_url(&self.0))
    }
}

impl fmt::Display for KeyedUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact_url(&self.0))
    }
}

/// A path segment this long of key-like characters is taken for a key.
const KEY_LIKE_CHARS: usize = 16;

fn key_like(segment: &str) -> bool {
    segment.len() >= KEY_LIKE_CHARS
        && segment
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// The URL as logs may show it: scheme, host and port kept; user and
/// password, the query, the fragment and key-like path segments replaced.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "[redacted]".into();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let mut out = format!("{scheme}://");
    if authority.contains('@') {
        out.push_str("[redacted]@");
    }
    out.push_str(host);
    let path_end = tail.find(['?', '#']).unwrap_or(tail.len());
    let (path, after) = tail.split_at(path_end);
    let path: Vec<&str> = path
        .split('/')
        .map(|seg| if key_like(seg) { "[redacted]" } else { seg })
        .collect();
    out.push_str(&path.join("/"));
    if !after.is_empty() {
        out.push_str(if after.starts_with('?') {
            "?[redacted]"
        } else {
            "#[redacted]"
        });
    }
    out
}

/// `text` with every URL in it redacted (error messages of HTTP clients
/// name the URL they failed on).
pub fn redact_urls_in(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = ["http://", "https://", "ws://", "wss://"]
        .iter()
        .filter_map(|p| rest.find(p))
        .min()
    {
        out.push_str(&rest[..at]);
        let url_len = rest[at..]
            .find(|c: char| c.is_whitespace() || matches!(c, ')' | '"' | '\'' | '>' | ','))
            .unwrap_or(rest.len() - at);
        out.push_str(&redact_url(&rest[at..at + url_len]));
        rest = &rest[at + url_len..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_keep_their_host_and_lose_their_keys() {
        assert_eq!(
            redact_url("https://mainnet.infura.io/v3/0123456789abcdef0123456789abcdef"),
            "https://mainnet.infura.io/v3/[redacted]"
        );
        assert_eq!(
            redact_url("https://user:pw@rpc.example:8545/?apikey=s3cret#x"),
            "https://[redacted]@rpc.example:8545/?[redacted]"
        );
        assert_eq!(redact_url("http://127.0.0.1:8545"), "http://127.0.0.1:8545");
        assert_eq!(redact_url("not a url"), "[redacted]");
        let text = "error sending request for url (https://eth.example/v2/AbCdEfGhIjKlMnOpQrSt?k=1): timed out";
        let clean = redact_urls_in(text);
        assert!(
            !clean.contains("AbCdEfGhIjKlMnOpQrSt") && !clean.contains("k=1"),
            "{clean}"
        );
        assert!(
            clean.starts_with("error sending request for url (https://eth.example/v2/[redacted]")
        );
        let k = KeyedUrl::new("https://hooks.example/T0/B0/abcdefghijklmnopqrstuvwx");
        assert!(!format!("{k:?}{k}").contains("abcdefghijklmnopqrstuvwx"));
        assert_eq!(
            k.as_str(),
            "https://hooks.example/T0/B0/abcdefghijklmnopqrstuvwx"
        );
    }

    #[test]
    fn debug_and_display_never_show_the_value() {
        let s = Secret::new("hunter2hunter2".to_string());
        assert!(!format!("{s:?}").contains("hunter2"));
        assert!(!format!("{s}").contains("hunter2"));
        assert_eq!(s.expose(), "hunter2hunter2");
    }
}
