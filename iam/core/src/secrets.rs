//! The key that encrypts secrets at rest (access key secrets, TOTP seeds), and the AEAD around it.
//!
//! The key lives outside the database: a 32-byte file, created with mode 0600 on first start, so a
//! copy of the database alone reveals no secret. Each sealed value is bound to what it belongs to
//! (`context`, for example an access key id), so a ciphertext moved to another row fails to open.

use std::fmt;
use std::io::Write as _;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore as _;

const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 24;
/// Prefix of every sealed value, naming the scheme so that it can change later.
const SCHEME: &str = "v1:";
const KEY_CHECK_CONTEXT: &str = "portcullis:key-check";
const KEY_CHECK_TEXT: &[u8] = b"the secrets of this database are sealed with this key";

#[derive(Debug, thiserror::Error)]
pub enum SecretKeyError {
    #[error("cannot read or create the secret key file {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("the secret key file {path} must hold exactly 32 bytes (it holds {len})")]
    BadLength { path: String, len: usize },
    #[error("the secret key file {path} is readable by others (mode {mode:o}); run chmod 600 on it")]
    TooOpen { path: String, mode: u32 },
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a sealed secret could not be opened")]
pub struct OpenError;

/// The server's secret key. It never prints.
#[derive(Clone)]
pub struct SecretKey([u8; KEY_LEN]);

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(***)")
    }
}

impl SecretKey {
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> SecretKey {
        SecretKey(bytes)
    }

    pub fn generate() -> SecretKey {
        let mut bytes = [0u8; KEY_LEN];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        SecretKey(bytes)
    }

    /// Reads the key at `path`, or creates it there (mode 0600, never overwriting) if absent.
    /// A server with a database should use [`SecretKey::load`] and create a key only where the
    /// database has none on record (see `crate::sealing`).
    pub fn load_or_create(path: &Path) -> Result<SecretKey, SecretKeyError> {
        match SecretKey::load(path)? {
            Some(key) => Ok(key),
            None => SecretKey::create(path),
        }
    }

    /// Reads the key at `path`; `None` when there is no file.
    pub fn load(path: &Path) -> Result<Option<SecretKey>, SecretKeyError> {
        let shown = path.display().to_string();
        let io = |source| SecretKeyError::Io { path: shown.clone(), source };
        match std::fs::read(path) {
            Ok(bytes) => {
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt as _;
                    let mode = std::fs::metadata(path).map_err(io)?.permissions().mode() & 0o777;
                    if mode & 0o077 != 0 {
                        return Err(SecretKeyError::TooOpen { path: shown, mode });
                    }
                }
                let key: [u8; KEY_LEN] = bytes
                    .as_slice()
                    .try_into()
                    .map_err(|_| SecretKeyError::BadLength { path: shown.clone(), len: bytes.len() })?;
                Ok(Some(SecretKey(key)))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(e)),
        }
    }

    /// Creates a new key file at `path` (mode 0600); fails if one exists.
    pub fn create(path: &Path) -> Result<SecretKey, SecretKeyError> {
        let shown = path.display().to_string();
        let io = |source| SecretKeyError::Io { path: shown.clone(), source };
        let key = SecretKey::generate();
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let mut file = options.open(path).map_err(io)?;
        file.write_all(&key.0).map_err(io)?;
        file.sync_all().map_err(io)?;
        // The new name must survive a crash too.
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;
        }
        Ok(key)
    }

    /// A value the database keeps to recognise this key later: a sealed constant, which opens
    /// with this key only and tells nothing of it.
    pub fn check_value(&self) -> String {
        self.seal(KEY_CHECK_CONTEXT, KEY_CHECK_TEXT)
    }

    /// Whether `check` (from [`SecretKey::check_value`]) was made with this key.
    pub fn matches_check(&self, check: &str) -> bool {
        self.open(KEY_CHECK_CONTEXT, check).is_ok_and(|text| text == KEY_CHECK_TEXT)
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new((&self.0).into())
    }

    /// Encrypts `plaintext` bound to `context`; the result is text, safe to store in any column.
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let payload = Payload { msg: plaintext, aad: context.as_bytes() };
        // Encryption with a valid key and nonce cannot fail for inputs below 256 GiB.
        let ciphertext = self.cipher().encrypt(XNonce::from_slice(&nonce), payload).unwrap_or_default();
        let mut out = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        format!("{SCHEME}{}", STANDARD.encode(out))
    }

    pub fn open(&self, context: &str, sealed: &str) -> Result<Vec<u8>, OpenError> {
        let encoded = sealed.strip_prefix(SCHEME).ok_or(OpenError)?;
        let bytes = STANDARD.decode(encoded).map_err(|_| OpenError)?;
        if bytes.len() < NONCE_LEN {
            return Err(OpenError);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let payload = Payload { msg: ciphertext, aad: context.as_bytes() };
        self.cipher().decrypt(XNonce::from_slice(nonce), payload).map_err(|_| OpenError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_with_their_key_and_context() {
        let key = SecretKey::generate();
        let sealed = key.seal("AKIAEXAMPLE", b"secret");
        assert!(!sealed.contains("secret"));
        assert_eq!(key.open("AKIAEXAMPLE", &sealed).unwrap(), b"secret");
        assert_eq!(key.open("AKIAOTHER", &sealed), Err(OpenError));
        assert_eq!(SecretKey::generate().open("AKIAEXAMPLE", &sealed), Err(OpenError));
        assert_eq!(key.open("AKIAEXAMPLE", "v1:AAAA"), Err(OpenError));
        assert_eq!(key.open("AKIAEXAMPLE", "garbage"), Err(OpenError));
        assert_ne!(key.seal("c", b"x"), key.seal("c", b"x"), "nonces must differ");
    }

    #[test]
    fn a_key_check_value_recognises_its_key_only() {
        let key = SecretKey::generate();
        let check = key.check_value();
        assert!(key.matches_check(&check));
        assert!(!SecretKey::generate().matches_check(&check));
        assert!(!key.matches_check("v1:garbage"));
        assert!(!key.matches_check(&key.seal("another-context", KEY_CHECK_TEXT)));
    }

    #[test]
    fn the_key_file_is_created_private_and_read_back() {
        let dir = std::env::temp_dir().join(format!("portcullis-key-{}", crate::ids::reference_id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("secret.key");
        let first = SecretKey::load_or_create(&path).unwrap();
        let again = SecretKey::load_or_create(&path).unwrap();
        assert_eq!(first.0, again.0);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert!(matches!(SecretKey::load_or_create(&path), Err(SecretKeyError::TooOpen { .. })));
        }
        std::fs::write(dir.join("short.key"), [1u8; 5]).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(dir.join("short.key"), std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        assert!(matches!(
            SecretKey::load_or_create(&dir.join("short.key")),
            Err(SecretKeyError::BadLength { len: 5, .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
