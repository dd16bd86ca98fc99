//! Sign-In with Ethereum (ERC-4361): a strict parser of the message a wallet
//! signs, and every check a server must make before it believes one, each
//! failing with its own reason: the domain and scheme are ours, the URI is
//! on our origin, version 1, our chain id, issued-at neither in the future
//! nor too old, inside expiration and not-before, the nonce one we issued
//! (checked and spent by the caller), and an EIP-191 signature that
//! recovers to the message's address.
//!
//! Written here rather than taken from the `siwe` crate: its `verify()`
//! checks the domain and nonce only when given them and never the URI,
//! chain id or the age of issued-at, which are exactly the checks that
//! stop a message signed for another site or chain from being replayed.

use alloy::primitives::{Address, Signature};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The longest message accepted (the standard fields and a statement).
pub const MESSAGE_MAX_BYTES: usize = 2_048;
pub const STATEMENT_MAX_CHARS: usize = 200;
pub const FIELD_MAX_CHARS: usize = 200;
pub const RESOURCES_MAX: usize = 10;
/// A 65-byte signature in hex with its `0x`, and room for spaces around it.
pub const SIGNATURE_MAX_CHARS: usize = 140;
/// A server nonce: at least 96 bits, here 128 as 32 hex digits.
pub const NONCE_MIN_CHARS: usize = 8;
/// How old an issued-at may be.
pub const MAX_AGE_MS: i64 = 10 * 60_000;
/// Clock difference tolerated between the wallet and us.
pub const CLOCK_SKEW_MS: i64 = 60_000;

/// Why a message was refused; each has an error code of its own.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SiweError {
    #[error("the message is not a Sign-In with Ethereum message: {0}")]
    Malformed(&'static str),
    #[error("the message is for another site")]
    WrongDomain,
    #[error("the message is for another chain")]
    WrongChain,
    #[error("the message has expired or is not valid yet")]
    Expired,
    #[error("the message says it was issued in the future")]
    IssuedInFuture,
    #[error("the signature is not by the message's address")]
    BadSignature,
    #[error("this sign-in request is unknown, used or expired: start again")]
    Nonce,
}

impl SiweError {
    pub fn code(&self) -> payquest_types::ErrorCode {
        use payquest_types::ErrorCode;
        match self {
            SiweError::Malformed(_) => ErrorCode::SiweInvalid,
            SiweError::WrongDomain => ErrorCode::SiweWrongDomain,
            SiweError::WrongChain => ErrorCode::SiweWrongChain,
            SiweError::Expired => ErrorCode::SiweExpired,
            SiweError::IssuedInFuture => ErrorCode::SiweIssuedInFuture,
            SiweError::BadSignature => ErrorCode::SiweBadSignature,
            SiweError::Nonce => ErrorCode::SiweNonce,
        }
    }
}

/// The fields of a message, as signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiweMessage {
    pub scheme: Option<String>,
    pub domain: String,
    pub address: Address,
    pub statement: Option<String>,
    pub uri: String,
    pub version: String,
    pub chain_id: u64,
    pub nonce: String,
    pub issued_at_ms: i64,
    pub expiration_ms: Option<i64>,
    pub not_before_ms: Option<i64>,
    pub request_id: Option<String>,
    pub resources: Vec<String>,
}

const PREAMBLE: &str = " wants you to sign in with your Ethereum account:";

fn time_ms(raw: &str) -> Result<i64, SiweError> {
    if raw.len() > 40 {
        return Err(SiweError::Malformed("a time is too long"));
    }
    let t = OffsetDateTime::parse(raw, &Rfc3339)
        .map_err(|_| SiweError::Malformed("a time is not RFC 3339"))?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000)
        .map_err(|_| SiweError::Malformed("a time is out of range"))
}

fn plain(value: &str, max: usize, what: &'static str) -> Result<String, SiweError> {
    if value.is_empty() || value.chars().count() > max || value.chars().any(char::is_control) {
        return Err(SiweError::Malformed(what));
    }
    Ok(value.to_owned())
}

/// Reads `key: value` from the next line, if that line has the key.
fn tagged<'a>(
    lines: &mut std::iter::Peekable<std::str::Split<'a, char>>,
    key: &str,
) -> Option<&'a str> {
    let line = lines.peek()?;
    let value = line.strip_prefix(key)?.strip_prefix(": ")?;
    lines.next();
    Some(value)
}

impl SiweMessage {
    /// Parses the exact ERC-4361 text: lines separated by `\n`, the fields
    /// in the standard's order, nothing else.
    pub fn parse(text: &str) -> Result<SiweMessage, SiweError> {
        if text.len() > MESSAGE_MAX_BYTES {
            return Err(SiweError::Malformed("the message is too long"));
        }
        let mut lines = text.split('\n').peekable();
        let first = lines.next().ok_or(SiweError::Malformed("empty"))?;
        let origin = first
            .strip_suffix(PREAMBLE)
            .ok_or(SiweError::Malformed("the first line"))?;
        let (scheme, domain) = match origin.split_once("://") {
            Some((s, d)) => (Some(plain(s, 20, "the scheme")?), d),
            None => (None, origin),
        };
        let domain = plain(domain, FIELD_MAX_CHARS, "the domain")?;
        if domain.contains(char::is_whitespace) || domain.contains('/') {
            return Err(SiweError::Malformed("the domain"));
        }
        let address_line = lines.next().ok_or(SiweError::Malformed("no address"))?;
        if address_line.len() != 42 || !address_line.starts_with("0x") {
            return Err(SiweError::Malformed("the address"));
        }
        let address: Address = address_line
            .parse()
            .map_err(|_| SiweError::Malformed("the address"))?;
        // ERC-4361 requires the EIP-55 checksummed form.
        if address.to_checksum(None) != address_line {
            return Err(SiweError::Malformed(
                "the address is not EIP-55 checksummed",
            ));
        }
        if lines.next() != Some("") {
            return Err(SiweError::Malformed("a blank line after the address"));
        }
        let statement = match lines.next() {
            Some("") => None,
            Some(s) => {
                if lines.next() != Some("") {
                    return Err(SiweError::Malformed("a blank line after the statement"));
                }
                Some(plain(s, STATEMENT_MAX_CHARS, "the statement")?)
            }
            None => return Err(SiweError::Malformed("the message ends early")),
        };
        let uri = plain(
            tagged(&mut lines, "URI").ok_or(SiweError::Malformed("URI"))?,
            FIELD_MAX_CHARS,
            "URI",
        )?;
        let version = tagged(&mut lines, "Version").ok_or(SiweError::Malformed("Version"))?;
        if version != "1" {
            return Err(SiweError::Malformed("Version must be 1"));
        }
        let chain = tagged(&mut lines, "Chain ID").ok_or(SiweError::Malformed("Chain ID"))?;
        if chain.is_empty() || chain.len() > 20 || !chain.bytes().all(|b| b.is_ascii_digit()) {
            return Err(SiweError::Malformed("Chain ID"));
        }
        let chain_id: u64 = chain
            .parse()
            .map_err(|_| SiweError::Malformed("Chain ID"))?;
        let nonce = tagged(&mut lines, "Nonce").ok_or(SiweError::Malformed("Nonce"))?;
        if nonce.len() < NONCE_MIN_CHARS
            || nonce.len() > 64
            || !nonce.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(SiweError::Malformed("Nonce"));
        }
        let issued_at_ms =
            time_ms(tagged(&mut lines, "Issued At").ok_or(SiweError::Malformed("Issued At"))?)?;
        let expiration_ms = tagged(&mut lines, "Expiration Time")
            .map(time_ms)
            .transpose()?;
        let not_before_ms = tagged(&mut lines, "Not Before").map(time_ms).transpose()?;
        let request_id = tagged(&mut lines, "Request ID")
            .map(|r| plain(r, FIELD_MAX_CHARS, "Request ID"))
            .transpose()?;
        let mut resources = Vec::new();
        if lines.peek() == Some(&"Resources:") {
            lines.next();
            while let Some(r) = lines.peek().and_then(|l| l.strip_prefix("- ")) {
                if resources.len() == RESOURCES_MAX {
                    return Err(SiweError::Malformed("too many resources"));
                }
                resources.push(plain(r, FIELD_MAX_CHARS, "a resource")?);
                lines.next();
            }
        }
        if lines.next().is_some() {
            return Err(SiweError::Malformed("text after the last field"));
        }
        Ok(SiweMessage {
            scheme,
            domain,
            address,
            statement,
            uri,
            version: version.to_owned(),
            chain_id,
            nonce: nonce.to_owned(),
            issued_at_ms,
            expiration_ms,
            not_before_ms,
            request_id,
            resources,
        })
    }
}

/// What the server expects of a message: its own origin and chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expectations {
    /// `https` or `http`, from `PAYQUEST_PUBLIC_URL`.
    pub scheme: String,
    /// `host[:port]`, from `PAYQUEST_PUBLIC_URL`.
    pub domain: String,
    pub chain_id: u64,
}

impl Expectations {
    /// From the public URL the app is reached at, e.g. `https://play.example`.
    pub fn from_public_url(public_url: &str, chain_id: u64) -> Option<Expectations> {
        let url = reqwest::Url::parse(public_url).ok()?;
        let host = url.host_str()?;
        let domain = match url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_owned(),
        };
        Some(Expectations {
            scheme: url.scheme().to_owned(),
            domain,
            chain_id,
        })
    }
}

/// The message a wallet is asked to sign: our origin and chain, the
/// wallet's address (a checked `WalletAddress`, so EIP-55), a statement,
/// the nonce, and an expiration `MAX_AGE_MS` after `issued_at_ms`.
pub fn message_for(
    expect: &Expectations,
    address: &crate::gamers::WalletAddress,
    statement: &str,
    nonce: &str,
    issued_at_ms: i64,
) -> String {
    let at = |ms: i64| crate::clock::format_ms(ms);
    format!(
        "{domain} wants you to sign in with your Ethereum account:\n{address}\n\n{statement}\n\n\
         URI: {scheme}://{domain}/\nVersion: 1\nChain ID: {chain}\nNonce: {nonce}\n\
         Issued At: {issued}\nExpiration Time: {expires}",
        domain = expect.domain,
        address = address.as_str(),
        scheme = expect.scheme,
        chain = expect.chain_id,
        issued = at(issued_at_ms),
        expires = at(issued_at_ms + MAX_AGE_MS),
    )
}

/// Every check but the nonce's (which the caller spends from its store):
/// returns the signer's address when the message holds.
pub fn verify(
    text: &str,
    signature_hex: &str,
    expect: &Expectations,
    now_ms: i64,
) -> Result<SiweMessage, SiweError> {
    let message = SiweMessage::parse(text)?;
    if message.domain != expect.domain
        || message
            .scheme
            .as_deref()
            .is_some_and(|s| s != expect.scheme)
    {
        return Err(SiweError::WrongDomain);
    }
    let uri = reqwest::Url::parse(&message.uri).map_err(|_| SiweError::Malformed("URI"))?;
    let uri_domain = match (uri.host_str(), uri.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_owned(),
        _ => String::new(),
    };
    if uri.scheme() != expect.scheme || uri_domain != expect.domain {
        return Err(SiweError::WrongDomain);
    }
    if message.chain_id != expect.chain_id {
        return Err(SiweError::WrongChain);
    }
    if message.issued_at_ms > now_ms + CLOCK_SKEW_MS {
        return Err(SiweError::IssuedInFuture);
    }
    if message.issued_at_ms < now_ms - MAX_AGE_MS
        || message.expiration_ms.is_some_and(|e| e <= now_ms)
        || message
            .not_before_ms
            .is_some_and(|n| n > now_ms + CLOCK_SKEW_MS)
    {
        return Err(SiweError::Expired);
    }
    if signature_hex.len() > SIGNATURE_MAX_CHARS {
        return Err(SiweError::BadSignature);
    }
    let signature: Signature = signature_hex
        .trim()
        .parse()
        .map_err(|_| SiweError::BadSignature)?;
    let signer = signature
        .recover_address_from_msg(text.as_bytes())
        .map_err(|_| SiweError::BadSignature)?;
    if signer != message.address {
        return Err(SiweError::BadSignature);
    }
    Ok(message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::signers::local::PrivateKeySigner;
    use alloy::signers::SignerSync;

    const NOW: i64 = 1_796_156_100_000; // 2026-12-01T20:15:00Z

    fn expect() -> Expectations {
        Expectations::from_public_url("https://play.example", 31_337).expect("url")
    }

    fn message(address: Address, domain: &str, chain: u64, issued: &str, extra: &str) -> String {
        format!(
            "{domain} wants you to sign in with your Ethereum account:\n{}\n\nSign in to PayQuest.\n\n\
             URI: https://{domain}/\nVersion: 1\nChain ID: {chain}\nNonce: 0123456789abcdef0123\n\
             Issued At: {issued}{extra}",
            address.to_checksum(None)
        )
    }

    fn signed(key: &PrivateKeySigner, text: &str) -> String {
        let sig = key.sign_message_sync(text.as_bytes()).expect("sign");
        format!("0x{}", hex::encode(sig.as_bytes()))
    }

    #[test]
    fn a_good_message_verifies_to_its_signer() {
        let key = PrivateKeySigner::random();
        let text = message(
            key.address(),
            "play.example",
            31_337,
            "2026-12-01T20:14:00Z",
            "",
        );
        let m = verify(&text, &signed(&key, &text), &expect(), NOW).expect("verifies");
        assert_eq!(m.address, key.address());
        assert_eq!(m.nonce, "0123456789abcdef0123");
        assert_eq!(m.statement.as_deref(), Some("Sign in to PayQuest."));
    }

    #[test]
    fn the_message_we_ask_for_verifies() {
        let key = PrivateKeySigner::random();
        let wallet =
            crate::gamers::WalletAddress::parse(&format!("{:#x}", key.address())).expect("wallet");
        let text = message_for(
            &expect(),
            &wallet,
            "Sign in.",
            "0123456789abcdef",
            NOW - 1_000,
        );
        let m = verify(&text, &signed(&key, &text), &expect(), NOW).expect("verifies");
        assert_eq!(m.expiration_ms, Some(NOW - 1_000 + MAX_AGE_MS));
        assert_eq!(m.uri, "https://play.example/");
    }

    #[test]
    fn each_wrong_part_has_its_own_reason() {
        let key = PrivateKeySigner::random();
        let other = PrivateKeySigner::random();
        let case =
            |text: String, by: &PrivateKeySigner| verify(&text, &signed(by, &text), &expect(), NOW);
        let at = "2026-12-01T20:14:00Z";
        assert_eq!(
            case(message(key.address(), "evil.example", 31_337, at, ""), &key),
            Err(SiweError::WrongDomain)
        );
        assert_eq!(
            case(message(key.address(), "play.example", 1, at, ""), &key),
            Err(SiweError::WrongChain)
        );
        assert_eq!(
            case(
                message(
                    key.address(),
                    "play.example",
                    31_337,
                    "2026-12-01T20:30:00Z",
                    ""
                ),
                &key
            ),
            Err(SiweError::IssuedInFuture)
        );
        assert_eq!(
            case(
                message(
                    key.address(),
                    "play.example",
                    31_337,
                    "2026-12-01T19:00:00Z",
                    ""
                ),
                &key
            ),
            Err(SiweError::Expired)
        );
        assert_eq!(
            case(
                message(
                    key.address(),
                    "play.example",
                    31_337,
                    at,
                    "\nExpiration Time: 2026-12-01T20:14:30Z"
                ),
                &key
            ),
            Err(SiweError::Expired)
        );
        assert_eq!(
            case(
                message(key.address(), "play.example", 31_337, at, ""),
                &other
            ),
            Err(SiweError::BadSignature)
        );
        let text = message(key.address(), "play.example", 31_337, at, "");
        assert_eq!(
            verify(&text, &"0".repeat(SIGNATURE_MAX_CHARS + 1), &expect(), NOW),
            Err(SiweError::BadSignature),
            "an oversize signature is refused before it is parsed"
        );
        let tampered = text.replace("Sign in to PayQuest.", "Sign in to PayQuest!");
        assert_eq!(
            verify(&tampered, &signed(&key, &text), &expect(), NOW),
            Err(SiweError::BadSignature)
        );
    }

    #[test]
    fn the_text_is_parsed_strictly() {
        let key = PrivateKeySigner::random();
        let good = message(
            key.address(),
            "play.example",
            31_337,
            "2026-12-01T20:14:00Z",
            "",
        );
        assert!(SiweMessage::parse(&good).is_ok());
        let lower = good.replace(
            &key.address().to_checksum(None),
            &format!("{:#x}", key.address()),
        );
        for bad in [
            String::new(),
            good.replace("Version: 1", "Version: 2"),
            good.replace("\n\nURI", "\nURI"),
            format!("{good}\nsomething else"),
            good.replace("Nonce: 0123456789abcdef0123", "Nonce: short"),
            good.replace("Chain ID: 31337", "Chain ID: -1"),
            good.replace("2026-12-01T20:14:00Z", "yesterday"),
            format!("{good}{}", "x".repeat(MESSAGE_MAX_BYTES)),
        ] {
            assert!(
                matches!(SiweMessage::parse(&bad), Err(SiweError::Malformed(_))),
                "{bad:?}"
            );
        }
        if lower != good {
            assert!(
                SiweMessage::parse(&lower).is_err(),
                "the address must be checksummed"
            );
        }
    }
}
