//! Parse-don't-validate newtypes for what a person types at sign-in.

use crate::limits::{EMAIL_MAX_CHARS, PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS};
use crate::secret::Secret;
use crate::DomainError;

/// A lower-cased, trimmed email address of plausible shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let s = raw.trim().to_lowercase();
        let bad = || DomainError::InvalidInput("enter a valid email address".into());
        if s.is_empty() || s.chars().count() > EMAIL_MAX_CHARS {
            return Err(bad());
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad());
        }
        let (local, domain) = s.split_once('@').ok_or_else(bad)?;
        if local.is_empty() || domain.is_empty() || domain.contains('@') || !domain.contains('.') {
            return Err(bad());
        }
        if domain.starts_with('.') || domain.ends_with('.') {
            return Err(bad());
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password someone typed. Its length is bounded before it reaches argon2,
/// so a megabyte "password" costs nothing.
#[derive(Debug, Clone)]
pub struct Password(Secret<String>);

impl Password {
    /// For checking a sign-in: any length up to the maximum.
    pub fn for_sign_in(raw: String) -> Result<Self, DomainError> {
        if raw.chars().count() > PASSWORD_MAX_CHARS {
            return Err(DomainError::InvalidCredentials);
        }
        Ok(Self(Secret::new(raw)))
    }

    /// For choosing a new password: the policy applies.
    pub fn new_choice(raw: String) -> Result<Self, DomainError> {
        let n = raw.chars().count();
        if n < PASSWORD_MIN_CHARS {
            return Err(DomainError::InvalidInput(format!(
                "choose a password of at least {PASSWORD_MIN_CHARS} characters"
            )));
        }
        if n > PASSWORD_MAX_CHARS {
            return Err(DomainError::InvalidInput(format!(
                "choose a password of at most {PASSWORD_MAX_CHARS} characters"
            )));
        }
        Ok(Self(Secret::new(raw)))
    }

    pub fn expose(&self) -> &str {
        self.0.expose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse("  Ada@Example.COM ")
                .map(|e| e.as_str().to_owned())
                .ok(),
            Some("ada@example.com".to_owned())
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "a b@example.com",
            "a@b@c.com",
            "a@localhost",
            "a@.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad} should be refused");
        }
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(250))).is_err());
    }

    #[test]
    fn new_passwords_follow_the_length_policy() {
        assert!(Password::new_choice("short".into()).is_err());
        assert!(Password::new_choice("long enough pass".into()).is_ok());
        assert!(Password::new_choice("x".repeat(PASSWORD_MAX_CHARS + 1)).is_err());
        assert!(Password::for_sign_in("x".repeat(PASSWORD_MAX_CHARS + 1)).is_err());
    }
}
