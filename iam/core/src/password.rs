//! Passwords: the rules a new password must meet, and Argon2id hashing.
//!
//! Hashing costs tens of milliseconds and 19 MiB, so it runs on tokio's blocking pool behind a
//! semaphore that bounds how many run at once. Verification of an unknown principal still runs a
//! full hash against a dummy PHC string, so every sign-in failure takes the same time.

use std::fmt;
use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::error::IamError;

/// A password in memory. It never prints: `Debug` shows a placeholder.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub fn new(value: impl Into<String>) -> Password {
        Password(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// AWS's symbols for password rules.
pub const SYMBOLS: &str = "!@#$%^&*()_+-=[]{}|'<>";

/// The rules AWS applies when an account has no custom password policy: 8 to 128 characters and
/// at least three of the four character classes.
pub fn check_default_rules(password: &Password) -> Result<(), IamError> {
    let p = password.expose();
    let len = p.chars().count();
    let classes = [
        p.chars().any(|c| c.is_ascii_uppercase()),
        p.chars().any(|c| c.is_ascii_lowercase()),
        p.chars().any(|c| c.is_ascii_digit()),
        p.chars().any(|c| SYMBOLS.contains(c)),
    ];
    let class_count = classes.iter().filter(|&&present| present).count();
    if !(8..=128).contains(&len) || class_count < 3 {
        return Err(IamError::PasswordPolicyViolation(
            "Password does not meet the password requirements: it must be 8 to 128 characters \
             long and contain at least three of: uppercase letters, lowercase letters, numbers, \
             and symbols (! @ # $ % ^ & * ( ) _ + - = [ ] { } | ' < >)."
                .to_owned(),
        ));
    }
    Ok(())
}

/// Argon2id with OWASP's parameters (m = 19456 KiB, t = 2, p = 1): argon2's defaults.
fn argon2() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::DEFAULT)
}

/// The outcome of checking a password against a stored hash.
#[derive(Debug, PartialEq, Eq)]
pub enum Verified {
    No,
    /// The password matched. `rehash` holds a new PHC string when the stored one used other
    /// parameters than today's, to be saved by the caller.
    Yes {
        rehash: Option<String>,
    },
}

/// Hashes and verifies passwords on the blocking pool, a bounded number at a time.
#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    dummy: Arc<str>,
}

impl PasswordHasher {
    /// `concurrency` bounds simultaneous hashes (each holds 19 MiB for its duration).
    pub fn new(concurrency: usize) -> Result<PasswordHasher, IamError> {
        let salt = SaltString::generate(&mut rand::thread_rng());
        let dummy = argon2()
            .hash_password(b"portcullis-dummy-password", &salt)
            .map_err(|e| IamError::internal(&e))?
            .to_string();
        Ok(PasswordHasher { permits: Arc::new(Semaphore::new(concurrency.max(1))), dummy: dummy.into() })
    }

    pub async fn hash(&self, password: &Password) -> Result<String, IamError> {
        let password = password.clone();
        self.blocking(move || {
            let salt = SaltString::generate(&mut rand::thread_rng());
            argon2()
                .hash_password(password.expose().as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| IamError::internal(&e))
        })
        .await
    }

    /// Checks `password` against `phc`; with `None` (no such principal) it checks against a dummy
    /// hash and answers `No`, taking the same time as a real check.
    pub async fn verify(&self, password: &Password, phc: Option<&str>) -> Result<Verified, IamError> {
        let known = phc.is_some();
        let phc: Arc<str> = phc.map(Arc::from).unwrap_or_else(|| self.dummy.clone());
        let password = password.clone();
        self.blocking(move || {
            let parsed = PasswordHash::new(&phc).map_err(|e| IamError::internal(&e))?;
            let matches = argon2().verify_password(password.expose().as_bytes(), &parsed).is_ok();
            if !(matches && known) {
                return Ok(Verified::No);
            }
            let current = Params::try_from(&parsed).ok();
            let outdated = parsed.algorithm.as_str() != "argon2id"
                || current.is_none_or(|p| {
                    p.m_cost() != Params::DEFAULT_M_COST
                        || p.t_cost() != Params::DEFAULT_T_COST
                        || p.p_cost() != Params::DEFAULT_P_COST
                });
            let rehash = if outdated {
                let salt = SaltString::generate(&mut rand::thread_rng());
                argon2().hash_password(password.expose().as_bytes(), &salt).ok().map(|h| h.to_string())
            } else {
                None
            };
            Ok(Verified::Yes { rehash })
        })
        .await
    }

    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, IamError> + Send + 'static,
    ) -> Result<T, IamError> {
        let _permit = self.permits.acquire().await.map_err(|e| IamError::internal(&e))?;
        tokio::task::spawn_blocking(work).await.map_err(|e| IamError::internal(&e))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_rules_need_length_and_three_classes() {
        let ok = |p: &str| check_default_rules(&Password::new(p)).is_ok();
        assert!(ok("Abcdefg1"));
        assert!(ok("abcdef1!"));
        assert!(ok("ABCDEF1!"));
        assert!(!ok("Abcdef1"), "7 characters");
        assert!(!ok("abcdefgh1"), "two classes");
        assert!(!ok("abcdefgh"), "one class");
        assert!(ok(&format!("Aa1{}", "x".repeat(125))));
        assert!(!ok(&format!("Aa1{}", "x".repeat(126))), "129 characters");
        let err = check_default_rules(&Password::new("short")).unwrap_err();
        assert_eq!(err.code(), "PasswordPolicyViolation");
    }

    #[test]
    fn passwords_never_print() {
        assert_eq!(format!("{:?}", Password::new("hunter2")), "Password(***)");
    }

    #[tokio::test]
    async fn hashes_verify_and_unknown_principals_never_match() {
        let hasher = PasswordHasher::new(2).unwrap();
        let password = Password::new("Correct-horse-1");
        let phc = hasher.hash(&password).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert_eq!(hasher.verify(&password, Some(&phc)).await.unwrap(), Verified::Yes { rehash: None });
        assert_eq!(hasher.verify(&Password::new("wrong"), Some(&phc)).await.unwrap(), Verified::No);
        // The dummy hash is of a fixed string; even that string must not match "no principal".
        let dummy_password = Password::new("portcullis-dummy-password");
        assert_eq!(hasher.verify(&dummy_password, None).await.unwrap(), Verified::No);
    }

    #[tokio::test]
    async fn outdated_parameters_are_rehashed() {
        let hasher = PasswordHasher::new(1).unwrap();
        let password = Password::new("Correct-horse-1");
        let weak = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(8, 1, 1, None).unwrap());
        let salt = SaltString::generate(&mut rand::thread_rng());
        let old = weak.hash_password(password.expose().as_bytes(), &salt).unwrap().to_string();
        match hasher.verify(&password, Some(&old)).await.unwrap() {
            Verified::Yes { rehash: Some(new) } => assert!(new.contains("m=19456,t=2,p=1")),
            other => panic!("expected a rehash, got {other:?}"),
        }
    }
}
