//! Gamers are known by their EVM wallet. Addresses are stored in their EIP-55
//! checksummed form; a mixed-case address whose checksum is wrong is refused
//! (it is most likely a typo), an all-lower- or upper-case one is accepted.

use std::str::FromStr;

use alloy_primitives::Address;

use crate::DomainError;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WalletAddress(String);

impl WalletAddress {
    pub fn parse(raw: &str) -> Result<WalletAddress, DomainError> {
        let bad = |why: &str| DomainError::InvalidInput(format!("wallet: {why}"));
        let s = raw.trim();
        let hex = s
            .strip_prefix("0x")
            .ok_or_else(|| bad("must start with 0x"))?;
        if hex.len() != 40 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad("must be 0x followed by 40 hex digits"));
        }
        let mixed = hex.bytes().any(|b| b.is_ascii_lowercase())
            && hex.bytes().any(|b| b.is_ascii_uppercase());
        let address = if mixed {
            Address::parse_checksummed(s, None).map_err(|_| bad("the EIP-55 checksum is wrong"))?
        } else {
            Address::from_str(s).map_err(|_| bad("not an address"))?
        };
        if address == Address::ZERO {
            return Err(bad("the zero address cannot receive payouts"));
        }
        Ok(WalletAddress(address.to_checksum(None)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // EIP-55's own examples.
    const GOOD: &str = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";

    #[test]
    fn checksums_are_checked_and_normalised() {
        assert_eq!(
            WalletAddress::parse(GOOD).map(|w| w.0).ok().as_deref(),
            Some(GOOD)
        );
        assert_eq!(
            WalletAddress::parse(&GOOD.to_lowercase())
                .map(|w| w.0)
                .ok()
                .as_deref(),
            Some(GOOD)
        );
        let typo = GOOD.replace("aAeb", "aaEb");
        assert!(WalletAddress::parse(&typo).is_err());
        for bad in [
            "",
            "5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "0x123",
            "0xZZaeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        ] {
            assert!(WalletAddress::parse(bad).is_err(), "{bad}");
        }
        assert!(WalletAddress::parse("0x0000000000000000000000000000000000000000").is_err());
    }
}
