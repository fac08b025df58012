//! Passwords: the rules a new password must meet, and Argon2id hashing.
//!
//! Hashing costs tens of milliseconds and 19 MiB, so it runs on tokio's blocking pool behind a
//! semaphore that bounds how many run at once. Verification of an unknown principal still runs a
//! full hash against a dummy PHC string, so every sign-in failure takes the same time.

use std::fmt;
use std::sync::Arc;

use argon2::password_hash::{self, Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
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
pub const SYMBOLS: &str = "!@#$%^&*()_+-=[]{}|'";

/// How long a generated password is at least: 20 characters of 77 are about 125 bits.
const GENERATED_LENGTH: usize = 20;

/// A random password of `min_length` characters or [`GENERATED_LENGTH`], whichever is more, with
/// at least one character of each class (upper, lower, digit, AWS's symbols), so it meets any
/// password policy. From the operating system's random source; the classes' places are shuffled.
pub fn generate(min_length: usize) -> Password {
    use rand::Rng as _;
    use rand::seq::SliceRandom as _;
    const UPPER: &str = "ABCDEFGHJKLMNPQRSTUVWXYZ";
    const LOWER: &str = "abcdefghijkmnopqrstuvwxyz";
    const DIGITS: &str = "23456789";
    let classes: [&[u8]; 4] = [UPPER.as_bytes(), LOWER.as_bytes(), DIGITS.as_bytes(), SYMBOLS.as_bytes()];
    let every: Vec<u8> = classes.iter().flat_map(|c| c.iter().copied()).collect();
    let mut rng = rand::rngs::OsRng;
    let length = min_length.clamp(GENERATED_LENGTH, 128);
    let mut chars: Vec<u8> = classes.iter().filter_map(|class| class.choose(&mut rng).copied()).collect();
    while chars.len() < length {
        chars.push(every.get(rng.gen_range(0..every.len())).copied().unwrap_or(b'x'));
    }
    chars.shuffle(&mut rng);
    // It starts with a letter or digit: a spreadsheet opening the `.csv` file the console offers
    // would take a leading `=`, `+`, `-` or `@` for a formula.
    if let Some(at) = chars.iter().position(u8::is_ascii_alphanumeric) {
        chars.swap(0, at);
    }
    Password(chars.into_iter().map(char::from).collect())
}

/// The rules AWS applies when an account has no custom password policy: 8 to 128 characters and
/// at least three of the four character classes; and ours, for every password: not a common or
/// easily guessed one.
pub fn check_default_rules(password: &Password) -> Result<(), IamError> {
    let unmet = default_rules_unmet(password, &[]);
    if unmet.is_empty() { Ok(()) } else { Err(refusal(&unmet)) }
}

/// AWS's default rules that `password` does not meet, in plain words, then ours.
pub fn default_rules_unmet(password: &Password, user_inputs: &[&str]) -> Vec<String> {
    default_rules_unmet_rated(password, &strength(password, user_inputs))
}

/// [`default_rules_unmet`], with zxcvbn's estimate already made (it is the costly part).
pub(crate) fn default_rules_unmet_rated(password: &Password, rated: &Strength) -> Vec<String> {
    let p = password.expose();
    let mut unmet = Vec::new();
    if p.chars().count() < 8 {
        unmet.push("at least 8 characters".to_owned());
    }
    let classes = [
        p.chars().any(|c| c.is_ascii_uppercase()),
        p.chars().any(|c| c.is_ascii_lowercase()),
        p.chars().any(|c| c.is_ascii_digit()),
        p.chars().any(|c| SYMBOLS.contains(c)),
    ];
    if classes.iter().filter(|&&present| present).count() < 3 {
        unmet.push(
            "at least three of: uppercase letters, lowercase letters, numbers, symbols (! @ # $ % ^ & * ( ) _ + - = [ ] \
             { } | ')"
                .to_owned(),
        );
    }
    unmet.extend(guessable(password, rated));
    unmet
}

/// The refusal of a password that does not meet `unmet`.
pub(crate) fn refusal(unmet: &[String]) -> IamError {
    IamError::PasswordPolicyViolation(format!(
        "Password does not conform to the account password policy: it needs {}.",
        unmet.join(", ")
    ))
}

/// How strong a password is, as the console's meter shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Strength {
    /// zxcvbn's score: 0 (guessed within a thousand guesses) to 4 (beyond 10^10).
    pub score: u8,
    /// What makes it weak, if anything: zxcvbn's warning.
    pub warning: Option<String>,
    pub suggestions: Vec<String>,
    /// zxcvbn matched it to its lists of common passwords (whatever the score).
    pub common: bool,
}

/// The lowest zxcvbn score accepted: 2, beyond a million guesses. Scores 0 and 1 are names, dates,
/// keyboard walks, repeats and words with the usual capitals, digits and symbols added; a password
/// zxcvbn finds in (or close to one in) its lists of common passwords is refused whatever its score.
pub const MINIMUM_SCORE: u8 = 2;

/// zxcvbn's estimate of `password`, knowing `user_inputs` (user name, email, account alias) as
/// words an attacker would try first.
pub fn strength(password: &Password, user_inputs: &[&str]) -> Strength {
    // zxcvbn's matching grows with the square of the length, times its l33t substitutions: the
    // estimate looks at the first 64 characters (past those a password is long enough, whatever
    // it is), so that no input costs the server much.
    let text: String = password.expose().chars().take(64).collect();
    let estimate = zxcvbn::zxcvbn(&text, user_inputs);
    let feedback = estimate.feedback();
    let warning = feedback.and_then(|f| f.warning());
    use zxcvbn::feedback::Warning as W;
    let common = matches!(
        warning,
        Some(
            W::ThisIsATop10Password
                | W::ThisIsATop100Password
                | W::ThisIsACommonPassword
                | W::ThisIsSimilarToACommonlyUsedPassword
        )
    );
    Strength {
        common,
        score: u8::from(estimate.score()),
        warning: warning.map(|w| w.to_string()),
        suggestions: feedback.map(|f| f.suggestions().iter().map(|s| s.to_string()).collect()).unwrap_or_default(),
    }
}

/// How the rule against guessable passwords is named, first in its refusal.
pub const HARD_TO_GUESS: &str = "to be harder to guess";

/// The rule a guessable password breaks, if it is one, from its estimate.
pub(crate) fn guessable(password: &Password, strength: &Strength) -> Option<String> {
    ((strength.score < MINIMUM_SCORE || strength.common) && !password.expose().is_empty()).then(|| {
        match &strength.warning {
            Some(w) => format!("{HARD_TO_GUESS} ({})", w.trim_end_matches('.').to_lowercase()),
            None => format!("{HARD_TO_GUESS} (it is a common password, or close to one)"),
        }
    })
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

/// Hashes and verifies passwords on the blocking pool, a bounded number at a time, each in one of
/// `concurrency` memory areas allocated once and reused.
///
/// Reuse is what bounds memory: with a fresh 19 MiB area per hash (what `argon2`'s
/// `hash_password`/`verify_password` allocate), glibc kept those areas in one arena per blocking
/// thread, and the sign-in benchmark saw the process grow by 340 MiB after 16 hashes two at a
/// time. The argon2 crate offers hashing into caller memory (`hash_password_into_with_memory`);
/// the PHC strings around it are built and read with its `password_hash` types.
#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    concurrency: usize,
    memory: Arc<std::sync::Mutex<Vec<Vec<Block>>>>,
    dummy: Arc<str>,
}

impl PasswordHasher {
    /// `concurrency` bounds simultaneous hashes (each holds 19 MiB for its duration).
    pub fn new(concurrency: usize) -> Result<PasswordHasher, IamError> {
        let concurrency = concurrency.max(1);
        let memory = Arc::new(std::sync::Mutex::new(Vec::with_capacity(concurrency)));
        let mut hasher = PasswordHasher {
            permits: Arc::new(Semaphore::new(concurrency)),
            concurrency,
            memory,
            dummy: Arc::from(""),
        };
        hasher.dummy = hasher.hash_now(&Password::new("portcullis-dummy-password"))?.into();
        Ok(hasher)
    }

    pub async fn hash(&self, password: &Password) -> Result<String, IamError> {
        let (this, password) = (self.clone(), password.clone());
        self.blocking(move || this.hash_now(&password)).await
    }

    /// Checks `password` against `phc`; with `None` (no such principal) it checks against a dummy
    /// hash and answers `No`, taking the same time as a real check.
    pub async fn verify(&self, password: &Password, phc: Option<&str>) -> Result<Verified, IamError> {
        let known = phc.is_some();
        let phc: Arc<str> = phc.map(Arc::from).unwrap_or_else(|| self.dummy.clone());
        let (this, password) = (self.clone(), password.clone());
        self.blocking(move || {
            let parsed = PasswordHash::new(&phc).map_err(|e| IamError::internal(&e))?;
            let matches = this.matches(&password, &parsed)?;
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
            let rehash = if outdated { this.hash_now(&password).ok() } else { None };
            Ok(Verified::Yes { rehash })
        })
        .await
    }

    /// Hashes with today's parameters into a PHC string (on the calling thread).
    fn hash_now(&self, password: &Password) -> Result<String, IamError> {
        let salt = SaltString::generate(&mut rand::thread_rng());
        let salt = salt.as_salt();
        let mut salt_buf = [0u8; 64];
        let salt_bytes = salt.decode_b64(&mut salt_buf).map_err(|e| IamError::internal(&e))?;
        let params = Params::DEFAULT;
        let output = Output::init_with(Params::DEFAULT_OUTPUT_LEN, |out| {
            self.with_memory(params.block_count(), |memory| {
                argon2().hash_password_into_with_memory(password.expose().as_bytes(), salt_bytes, out, memory)
            })
            .map_err(password_hash::Error::from)
        })
        .map_err(|e| IamError::internal(&e))?;
        let phc = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&params).map_err(|e| IamError::internal(&e))?,
            salt: Some(salt),
            hash: Some(output),
        };
        Ok(phc.to_string())
    }

    /// Whether `password` hashes to `parsed` with its own algorithm, version and parameters.
    fn matches(&self, password: &Password, parsed: &PasswordHash<'_>) -> Result<bool, IamError> {
        let internal = |e: &dyn std::fmt::Display| IamError::internal(&e);
        let algorithm = Algorithm::try_from(parsed.algorithm).map_err(|e| internal(&e))?;
        let version = parsed.version.map(Version::try_from).transpose().map_err(|e| internal(&e))?.unwrap_or_default();
        let params = Params::try_from(parsed).map_err(|e| internal(&e))?;
        let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
            return Err(internal(&"a stored password hash has no salt or no hash"));
        };
        let mut salt_buf = [0u8; 64];
        let salt_bytes = salt.decode_b64(&mut salt_buf).map_err(|e| internal(&e))?;
        let mut out = vec![0u8; expected.len()];
        let hasher = Argon2::new(algorithm, version, params.clone());
        self.with_memory(params.block_count(), |memory| {
            hasher.hash_password_into_with_memory(password.expose().as_bytes(), salt_bytes, &mut out, memory)
        })
        .map_err(|e| internal(&e))?;
        Ok(bool::from(subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), out.as_slice())))
    }

    /// Runs `work` in a memory area of `blocks` blocks: a pooled one (there is one per permit, so
    /// one is always free to a permit holder) when it has today's size, else a fresh one.
    fn with_memory<T>(&self, blocks: usize, work: impl FnOnce(&mut [Block]) -> T) -> T {
        let pooled = self.memory.lock().ok().and_then(|mut pool| pool.pop());
        let mut memory = pooled.filter(|m| m.len() == blocks).unwrap_or_else(|| vec![Block::default(); blocks]);
        let result = work(&mut memory);
        if blocks == Params::DEFAULT.block_count()
            && let Ok(mut pool) = self.memory.lock()
            && pool.len() < self.concurrency
        {
            pool.push(memory);
        }
        result
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
        assert!(ok("Vbmkqtz7"));
        assert!(ok("vbmkqt7!"));
        assert!(ok("VBMKQT7!"));
        assert!(!ok("Vbmkqt7"), "7 characters");
        assert!(!ok("vbmkqtzw7"), "two classes");
        assert!(!ok("vbmkqtzw"), "one class");
        let err = check_default_rules(&Password::new("short")).unwrap_err();
        assert_eq!(err.code(), "PasswordPolicyViolation");
        assert!(err.message().contains("at least 8 characters, at least three of"), "{err}");
    }

    #[test]
    fn generated_passwords_have_every_class_and_the_length_asked() {
        let mut seen = std::collections::HashSet::new();
        for min in [0, 8, 20, 21, 64, 128, 500] {
            let password = generate(min);
            let p = password.expose();
            assert_eq!(p.chars().count(), min.clamp(20, 128), "{min}");
            assert!(p.chars().any(|c| c.is_ascii_uppercase()), "{p}");
            assert!(p.chars().any(|c| c.is_ascii_lowercase()), "{p}");
            assert!(p.chars().any(|c| c.is_ascii_digit()), "{p}");
            assert!(p.chars().any(|c| SYMBOLS.contains(c)), "{p}");
            assert!(check_default_rules(&password).is_ok(), "{p}");
            assert!(p.starts_with(|c: char| c.is_ascii_alphanumeric()), "{p}");
            assert!(seen.insert(p.to_owned()), "a repeat: {p}");
        }
    }

    #[test]
    fn the_costliest_inputs_are_cut_short() {
        // Every l33t symbol zxcvbn knows, over and over: the most substitutions to try.
        let worst: String = "4@8({[<3691!|7 0$5+%2".chars().cycle().take(128).collect();
        let started = std::time::Instant::now();
        let rated = strength(&Password::new(worst), &[]);
        eprintln!("zxcvbn on 128 l33t symbols (64 looked at): {:?}, score {}", started.elapsed(), rated.score);
    }

    #[test]
    fn common_and_personal_passwords_are_refused() {
        for common in ["Password1!", "P@ssw0rd", "Qwerty123!", "Iloveyou1", "Welcome2024!", "Summer2024!"] {
            let err = check_default_rules(&Password::new(common)).unwrap_err();
            assert!(err.message().contains("harder to guess"), "{common}: {err}");
        }
        let own_name = default_rules_unmet(&Password::new("Wonderland-alice-1"), &["wonderland-alice"]);
        assert!(own_name.iter().any(|r| r.contains("harder to guess")), "{own_name:?}");
        assert!(check_default_rules(&Password::new("Correct-horse-battery-9")).is_ok());
        let meter = strength(&Password::new("Correct-horse-battery-9"), &[]);
        assert!(meter.score >= MINIMUM_SCORE && meter.warning.is_none(), "{meter:?}");
        assert_eq!(strength(&Password::new("password"), &[]).score, 0);
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
    async fn hashes_read_and_written_as_the_argon2_crate_does() {
        use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
        let hasher = PasswordHasher::new(1).unwrap();
        let password = Password::new("Correct-horse-1");
        // Stored before the memory pool: made by argon2's own API.
        let salt = SaltString::generate(&mut rand::thread_rng());
        let theirs = argon2().hash_password(password.expose().as_bytes(), &salt).unwrap().to_string();
        assert_eq!(hasher.verify(&password, Some(&theirs)).await.unwrap(), Verified::Yes { rehash: None });
        assert_eq!(hasher.verify(&Password::new("correct-horse-1"), Some(&theirs)).await.unwrap(), Verified::No);
        // Ours: read by argon2's own API.
        let ours = hasher.hash(&password).await.unwrap();
        assert!(argon2().verify_password(password.expose().as_bytes(), &PasswordHash::new(&ours).unwrap()).is_ok());
        // The pool holds at most one area per permitted hash, however many hashes ran.
        for _ in 0..4 {
            hasher.hash(&password).await.unwrap();
        }
        assert_eq!(hasher.memory.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn outdated_parameters_are_rehashed() {
        use argon2::password_hash::PasswordHasher as _;
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
