//! Money as integer minor units: 6 decimals, like USDT/USDC. Never floats.
//! Arithmetic is checked; a result that would overflow is an error, not a wrap.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Minor units per whole token (10^6).
pub const MINOR_PER_UNIT: i64 = 1_000_000;
pub const DECIMALS: u32 = 6;

/// An amount in minor units. Serialised as a plain integer of minor units.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Amount(i64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("amount overflows")]
    Overflow,
    #[error("amount must be positive")]
    NotPositive,
    #[error("`{0}` is not an amount (use digits and at most 6 decimals, e.g. 12.5)")]
    Unparseable(String),
}

impl Amount {
    pub const ZERO: Amount = Amount(0);

    pub const fn from_minor(minor: i64) -> Amount {
        Amount(minor)
    }

    pub const fn minor(self) -> i64 {
        self.0
    }

    /// A strictly positive amount, as every transfer, reservation and reward must be.
    pub fn positive(minor: i64) -> Result<Amount, AmountError> {
        if minor > 0 {
            Ok(Amount(minor))
        } else {
            Err(AmountError::NotPositive)
        }
    }

    pub fn checked_add(self, other: Amount) -> Result<Amount, AmountError> {
        self.0
            .checked_add(other.0)
            .map(Amount)
            .ok_or(AmountError::Overflow)
    }

    pub fn checked_sub(self, other: Amount) -> Result<Amount, AmountError> {
        self.0
            .checked_sub(other.0)
            .map(Amount)
            .ok_or(AmountError::Overflow)
    }

    pub fn is_positive(self) -> bool {
        self.0 > 0
    }
}

impl fmt::Display for Amount {
    /// `12.5` for 12_500_000 minor units; trailing zeros trimmed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let whole = abs / MINOR_PER_UNIT as u64;
        let frac = abs % MINOR_PER_UNIT as u64;
        if frac == 0 {
            write!(f, "{sign}{whole}")
        } else {
            let digits = format!("{frac:06}");
            write!(f, "{sign}{whole}.{}", digits.trim_end_matches('0'))
        }
    }
}

impl FromStr for Amount {
    type Err = AmountError;

    /// Parses a decimal like `12`, `12.5` or `0.000001`; at most 6 decimals.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || AmountError::Unparseable(s.chars().take(40).collect());
        let t = s.trim();
        let (neg, t) = match t.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, t),
        };
        let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
        if whole.is_empty() && frac.is_empty() {
            return Err(bad());
        }
        let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
        if !digits(whole) || !digits(frac) || frac.len() > DECIMALS as usize {
            return Err(bad());
        }
        let whole: i64 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| AmountError::Overflow)?
        };
        let frac_minor: i64 = format!("{frac:0<6}").parse().map_err(|_| bad())?;
        let minor = whole
            .checked_mul(MINOR_PER_UNIT)
            .and_then(|w| w.checked_add(frac_minor))
            .ok_or(AmountError::Overflow)?;
        Ok(Amount(if neg { -minor } else { minor }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_decimal_amounts() {
        for (text, minor) in [
            ("12", 12_000_000),
            ("12.5", 12_500_000),
            ("0.000001", 1),
            (".5", 500_000),
            ("-3.25", -3_250_000),
        ] {
            let a: Amount = text.parse().expect(text);
            assert_eq!(a.minor(), minor, "{text}");
        }
        assert_eq!(Amount::from_minor(12_500_000).to_string(), "12.5");
        assert_eq!(Amount::from_minor(1).to_string(), "0.000001");
        assert_eq!(Amount::from_minor(-7_000_000).to_string(), "-7");
        for bad in [
            "",
            ".",
            "1.2345678",
            "1e3",
            "12,5",
            "abc",
            "99999999999999999",
        ] {
            assert!(bad.parse::<Amount>().is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn arithmetic_is_checked() {
        assert_eq!(
            Amount::from_minor(i64::MAX).checked_add(Amount::from_minor(1)),
            Err(AmountError::Overflow)
        );
        assert_eq!(Amount::positive(0), Err(AmountError::NotPositive));
        let a = Amount::from_minor(5)
            .checked_sub(Amount::from_minor(7))
            .expect("sub");
        assert_eq!(a.minor(), -2);
    }

    #[test]
    fn display_and_parse_round_trip() {
        for minor in [0, 1, 10, 999_999, 1_000_000, 123_456_789, i64::MAX / 2] {
            let a = Amount::from_minor(minor);
            assert_eq!(a.to_string().parse::<Amount>(), Ok(a));
        }
    }
}
