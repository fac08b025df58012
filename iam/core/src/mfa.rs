//! MFA devices: virtual TOTP devices (`CreateVirtualMFADevice`, `EnableMFADevice`,
//! `ResyncMFADevice`, `DeactivateMFADevice`, `DeleteVirtualMFADevice`, `ListMFADevices`,
//! `ListVirtualMFADevices`) and WebAuthn security keys (stored here as the credential the server's
//! WebAuthn ceremony produced), hardware TOTP tokens (registered by their serial number and the
//! seed from the vendor's seed file), plus the one-time check of a TOTP code at sign-in.
//!
//! TOTP follows AWS: RFC 6238, SHA-1, 6 digits, 30-second steps (totp-rs). Seeds are sealed with
//! the server's key. Enabling and resynchronising take two consecutive codes, searched within ten
//! steps either way of now; a code is accepted once: the device remembers its last accepted step
//! and the store accepts only later ones, atomically, so two servers cannot both accept a code.

use iam_policy::Arn;
use rand::RngCore as _;
use sqlx::Row as _;
use sqlx::any::AnyRow;
use totp_rs::{Builder, Secret, Totp};

use crate::Iam;
use crate::audit::{self, Event};
use crate::authz::Request;
use crate::caller::Caller;
use crate::clock::Timestamp;
use crate::entities::{self, EntityKind};
use crate::error::IamError;
use crate::names::IamPath;

/// MFA devices per user (AWS's quota).
pub const MAX_DEVICES_PER_USER: i64 = 8;
/// How many 30-second steps either way of now `EnableMFADevice` and `ResyncMFADevice` search.
pub const RESYNC_WINDOW: i64 = 10;
const STEP_SECONDS: i64 = 30;
const ISSUER: &str = "Portcullis";

/// A new virtual device: its seed and QR code are shown this once.
#[derive(Clone, PartialEq, Eq)]
pub struct NewVirtualDevice {
    pub serial_number: String,
    /// The seed, base32 without padding.
    pub base32_string_seed: String,
    /// A PNG of the `otpauth://` URI, base64-encoded, as AWS returns it.
    pub qr_code_png: String,
}

impl std::fmt::Debug for NewVirtualDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewVirtualDevice").field("serial_number", &self.serial_number).finish_non_exhaustive()
    }
}

/// A device as `ListMFADevices` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MfaDevice {
    pub user_name: String,
    pub serial_number: String,
    pub enable_date: Timestamp,
    /// `totp` (virtual), `hardware` (a hardware TOTP token) or `webauthn` (a security key).
    pub kind: String,
}

/// A virtual device as `ListVirtualMFADevices` shows it (never its seed).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct VirtualDevice {
    pub serial_number: String,
    /// The user it is enabled for (`<root_account>` for the root user), if any.
    pub user: Option<String>,
    pub enable_date: Option<Timestamp>,
}

/// `AssignmentStatus` of `ListVirtualMFADevices`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AssignmentStatus {
    Assigned,
    Unassigned,
    #[default]
    Any,
}

/// How a hardware token's seed is written in its vendor's seed file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeedEncoding {
    /// RFC 4648 base32, as authenticator apps show seeds (case, spaces, dashes and padding ignored).
    Base32,
    /// Hexadecimal, as many hardware-token seed files list them (case and spaces ignored).
    Hex,
}

/// The seed of a hardware TOTP token, at least 128 bits as RFC 4226 requires and at most 512.
/// Hand-written hex decoding: two characters a byte, no crate needed; base32 is totp-rs's.
pub fn parse_seed(text: &str, encoding: SeedEncoding) -> Result<Vec<u8>, IamError> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
    let seed = match encoding {
        SeedEncoding::Base32 => {
            let letters = compact.trim_end_matches('=').to_ascii_uppercase();
            Secret::try_from_base32(letters)
                .ok()
                .filter(|_| !compact.is_empty())
                .map(|s| s.as_bytes().to_vec())
                .ok_or_else(|| {
                    IamError::ValidationError(
                        "The seed is not base32: use the letters A-Z and the digits 2-7.".to_owned(),
                    )
                })?
        }
        SeedEncoding::Hex => {
            let not_hex = || {
                IamError::ValidationError(
                    "The seed is not hexadecimal: use the digits 0-9 and the letters A-F, two a byte.".to_owned(),
                )
            };
            if compact.is_empty() || !compact.len().is_multiple_of(2) || !compact.bytes().all(|b| b.is_ascii_hexdigit())
            {
                return Err(not_hex());
            }
            (0..compact.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&compact[i..i + 2], 16).map_err(|_| not_hex()))
                .collect::<Result<Vec<u8>, IamError>>()?
        }
    };
    if !(16..=64).contains(&seed.len()) {
        return Err(IamError::ValidationError(format!(
            "The seed is {} bits long; a TOTP seed must have 128 to 512 bits (RFC 4226).",
            seed.len() * 8
        )));
    }
    Ok(seed)
}

/// A hardware token's serial number, as AWS's `SerialNumber` of `EnableMFADevice`: 9 to 256
/// characters of `[\w+=/:,.@-]`. An ARN is the serial of a virtual device or security key.
fn check_hardware_serial(serial: &str) -> Result<(), IamError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "_+=/:,.@-".contains(c);
    if !(9..=256).contains(&serial.len()) || !serial.chars().all(allowed) {
        return Err(IamError::ValidationError(
            "1 validation error detected: Value at 'serialNumber' failed to satisfy constraint: Member must satisfy \
             regular expression pattern: [\\w+=/:,.@-]+ and have length between 9 and 256"
                .to_owned(),
        ));
    }
    if serial.to_ascii_lowercase().starts_with("arn:") {
        return Err(IamError::ValidationError(
            "A hardware token's serial number is the one printed on it, not an ARN.".to_owned(),
        ));
    }
    Ok(())
}

fn totp(seed: &[u8]) -> Result<Totp, IamError> {
    Builder::new()
        .with_secret(Secret::from(seed.to_vec()))
        .with_account_name("device")
        .with_issuer(Some(ISSUER))
        .build()
        .map_err(|e| IamError::internal(&format!("TOTP: {e}")))
}

/// The code of `step` (a 30-second counter since the epoch).
fn code_at(totp: &Totp, step: i64) -> String {
    totp.generate(u64::try_from(step * STEP_SECONDS).unwrap_or_default()).to_string()
}

/// Whether `code` is six digits (what AWS accepts before checking).
fn check_code_shape(field: &str, code: &str) -> Result<(), IamError> {
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(IamError::ValidationError(format!(
            "1 validation error detected: Value at '{field}' failed to satisfy constraint: Member must satisfy \
             regular expression pattern: [\\d]+ and have length 6"
        )));
    }
    Ok(())
}

/// The step `n` within the window around `now` where `code1` is step `n`'s code and `code2` step
/// `n + 1`'s, later than `after`.
fn consecutive(seed: &[u8], now: Timestamp, code1: &str, code2: &str, after: i64) -> Result<Option<i64>, IamError> {
    let totp = totp(seed)?;
    let current = now.as_millis().div_euclid(1000) / STEP_SECONDS;
    Ok(((current - RESYNC_WINDOW)..=(current + RESYNC_WINDOW))
        .filter(|n| *n > after)
        .find(|n| subtle_eq(&code_at(&totp, *n), code1) && subtle_eq(&code_at(&totp, n + 1), code2)))
}

fn subtle_eq(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq as _;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// What a sealed TOTP seed is bound to: its purpose, account, owner (`-` while unassigned) and
/// device. A seed whose row is given to another owner (root, say) by someone who can write the
/// database no longer opens; enabling and deactivating re-seal it for the new owner.
pub(crate) fn seal_context(account_id: &str, owner_id: Option<&str>, serial: &str) -> String {
    format!("mfa-seed:v2:{account_id}:{}:{serial}", owner_id.unwrap_or("-"))
}

/// The context seeds were sealed with before they were bound to their owner (re-sealed once).
pub(crate) fn legacy_seal_context(serial: &str) -> String {
    format!("mfa-seed:{serial}")
}

/// Whether `owner` may be given one more MFA device, under the account's write lock: the user still
/// exists (it may have been deleted since it was looked up; the root user cannot be), and has
/// fewer than AWS's 8 devices of any kind.
async fn may_take_device(conn: &mut sqlx::AnyConnection, owner: &entities::CredentialOwner) -> Result<(), IamError> {
    if !owner.is_root && !crate::access_keys::user_exists(&mut *conn, &owner.id).await? {
        return Err(EntityKind::User.no_such(&owner.name));
    }
    let count: i64 = sqlx::query("SELECT COUNT(*) AS n FROM mfa_devices WHERE owner_id = $1")
        .bind(&owner.id)
        .fetch_one(&mut *conn)
        .await?
        .try_get("n")?;
    if count >= MAX_DEVICES_PER_USER {
        return Err(IamError::LimitExceeded(format!(
            "Cannot exceed quota for MFADevicesPerUser: {MAX_DEVICES_PER_USER}"
        )));
    }
    Ok(())
}

fn invalid_codes() -> IamError {
    IamError::InvalidAuthenticationCode("Authentication code for device is not valid.".to_owned())
}

fn no_such_device(serial: &str) -> IamError {
    IamError::NoSuchEntity(format!("MFA Device with serial number {serial} does not exist."))
}

impl Iam {
    /// `iam:CreateVirtualMFADevice`: a new, unassigned device with a fresh 160-bit seed.
    pub async fn create_virtual_mfa_device(
        &self,
        caller: &Caller,
        name: &str,
        path: Option<&str>,
    ) -> Result<NewVirtualDevice, IamError> {
        self.record_failures(caller, async move {
            let device_name = crate::names::MfaDeviceName::parse(name)?.to_string();
            let path = path.map(IamPath::parse).transpose()?.unwrap_or_default();
            let account_id = caller.account_id().to_owned();
            let serial = Arn::iam(&account_id, format!("mfa{path}{device_name}")).to_string();
            let parameters = || serde_json::json!({ "VirtualMFADeviceName": device_name, "Path": path.as_str() });
            self.authorize_or_record(
                caller,
                Request::new("iam:CreateVirtualMFADevice", &serial, &account_id).creating(),
                parameters,
            )
            .await?;
            let mut seed = [0u8; 20];
            rand::rngs::OsRng.fill_bytes(&mut seed);
            let device = Builder::new()
                .with_secret(Secret::from(seed.to_vec()))
                .with_account_name(device_name.clone())
                .with_issuer(Some(ISSUER))
                .build()
                .map_err(|e| IamError::internal(&format!("TOTP: {e}")))?;
            let qr_code_png = device.to_qr_base64().map_err(|e| IamError::internal(&format!("QR code: {e}")))?;
            let base32_string_seed = Secret::from(seed.to_vec()).to_base32();
            let sealed = self.secret_key().seal(&seal_context(&account_id, None, &serial), &seed);
            let now = self.now();
            let mut tx = self.begin_write(&account_id).await?;
            let inserted = sqlx::query(
                "INSERT INTO mfa_devices (serial_number, account_id, name_key, kind, seed_sealed, created_at) \
             VALUES ($1, $2, $3, 'totp', $4, $5)",
            )
            .bind(&serial)
            .bind(&account_id)
            .bind(format!("{}{}", path.as_str(), device_name.to_ascii_lowercase()))
            .bind(&sealed)
            .bind(now.as_millis())
            .execute(&mut *tx)
            .await;
            match inserted {
                Err(e) if crate::error::is_unique_violation(&e) => {
                    return Err(IamError::EntityAlreadyExists(
                        "MFADevice entity at the same path and name already exists.".to_owned(),
                    ));
                }
                other => other?,
            };
            let event = Event {
                action: "iam:CreateVirtualMFADevice",
                target: Some(&serial),
                parameters: parameters(),
                outcome: "Success",
            };
            audit::append(&mut tx, caller, now, &event).await?;
            tx.commit().await?;
            Ok(NewVirtualDevice { serial_number: serial, base32_string_seed, qr_code_png })
        })
        .await
    }

    /// `iam:EnableMFADevice`: assigns a virtual device to a user (or to the root user, when the
    /// root user calls without a user name), given two consecutive codes from it.
    pub async fn enable_mfa_device(
        &self,
        caller: &Caller,
        user_name: Option<&str>,
        serial_number: &str,
        code1: &str,
        code2: &str,
    ) -> Result<(), IamError> {
        self.record_failures(caller, async move {
            check_code_shape("authenticationCode1", code1)?;
            check_code_shape("authenticationCode2", code2)?;
            let parameters = || serde_json::json!({ "UserName": user_name, "SerialNumber": serial_number });
            let owner = self.credential_owner(caller, user_name, "iam:EnableMFADevice", parameters).await?;
            let account_id = caller.account_id().to_owned();
            let now = self.now();
            let mut tx = self.begin_write(&account_id).await?;
            let device = sqlx::query(
                "SELECT account_id, owner_id, kind, seed_sealed FROM mfa_devices \
                 WHERE serial_number = $1 AND account_id = $2",
            )
            .bind(serial_number)
            .bind(&account_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| no_such_device(serial_number))?;
            if device.try_get::<Option<String>, _>("owner_id")?.is_some() {
                return Err(IamError::EntityAlreadyExists("MFA Device is already in use.".to_owned()));
            }
            may_take_device(&mut tx, &owner).await?;
            let seed = self.open_seed(serial_number, &device)?;
            let step = consecutive(&seed, now, code1, code2, i64::MIN)?.ok_or_else(invalid_codes)?;
            let sealed = self.secret_key().seal(&seal_context(&account_id, Some(&owner.id), serial_number), &seed);
            sqlx::query(
                "UPDATE mfa_devices SET owner_id = $2, enabled_at = $3, last_step = $4, seed_sealed = $5 \
                 WHERE serial_number = $1 AND account_id = $6",
            )
            .bind(serial_number)
            .bind(&owner.id)
            .bind(now.as_millis())
            .bind(step + 1)
            .bind(&sealed)
            .bind(&account_id)
            .execute(&mut *tx)
            .await?;
            let event = Event {
                action: "iam:EnableMFADevice",
                target: Some(&owner.arn),
                parameters: parameters(),
                outcome: "Success",
            };
            audit::append(&mut tx, caller, now, &event).await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    /// `iam:ResyncMFADevice`: accepts two consecutive codes again, after the device's clock drifted.
    pub async fn resync_mfa_device(
        &self,
        caller: &Caller,
        user_name: Option<&str>,
        serial_number: &str,
        code1: &str,
        code2: &str,
    ) -> Result<(), IamError> {
        self.record_failures(caller, async move {
            check_code_shape("authenticationCode1", code1)?;
            check_code_shape("authenticationCode2", code2)?;
            let parameters = || serde_json::json!({ "UserName": user_name, "SerialNumber": serial_number });
            let owner = self.credential_owner(caller, user_name, "iam:ResyncMFADevice", parameters).await?;
            let account_id = caller.account_id().to_owned();
            let now = self.now();
            let mut tx = self.begin_write(&account_id).await?;
            let device = self.owned_totp_device(&mut tx, serial_number, &owner.id).await?;
            let seed = self.open_seed(serial_number, &device)?;
            let last: i64 = device.try_get("last_step")?;
            let step = consecutive(&seed, now, code1, code2, last)?.ok_or_else(invalid_codes)?;
            sqlx::query("UPDATE mfa_devices SET last_step = $2 WHERE serial_number = $1 AND owner_id = $3")
                .bind(serial_number)
                .bind(step + 1)
                .bind(&owner.id)
                .execute(&mut *tx)
                .await?;
            let event = Event {
                action: "iam:ResyncMFADevice",
                target: Some(&owner.arn),
                parameters: parameters(),
                outcome: "Success",
            };
            audit::append(&mut tx, caller, now, &event).await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    /// `iam:EnableMFADevice` for a hardware TOTP token (RFC 6238, SHA-1, six digits, 30-second
    /// steps). AWS knows its tokens' seeds from their vendors; Portcullis learns one from the
    /// token's owner: the serial number printed on the token and the seed from the vendor's seed
    /// file, proven with two consecutive codes. The seed is sealed and never shown again, and
    /// deactivating the token forgets it. The audit records the serial number, never the seed.
    pub async fn enable_hardware_mfa_device(
        &self,
        caller: &Caller,
        user_name: Option<&str>,
        serial_number: &str,
        seed: &[u8],
        code1: &str,
        code2: &str,
    ) -> Result<(), IamError> {
        self.record_failures(caller, async move {
            check_hardware_serial(serial_number)?;
            check_code_shape("authenticationCode1", code1)?;
            check_code_shape("authenticationCode2", code2)?;
            if !(16..=64).contains(&seed.len()) {
                return Err(IamError::ValidationError("A TOTP seed must have 128 to 512 bits (RFC 4226).".to_owned()));
            }
            // A seed of one repeated byte (all zeros, say) is a misread or placeholder seed file.
            if seed.windows(2).all(|w| w.first() == w.get(1)) {
                return Err(IamError::ValidationError(
                    "This seed repeats one byte: it is not a real token's seed. Check the seed file.".to_owned(),
                ));
            }
            let parameters = || serde_json::json!({ "UserName": user_name, "SerialNumber": serial_number });
            let owner = self.credential_owner(caller, user_name, "iam:EnableMFADevice", parameters).await?;
            let account_id = caller.account_id().to_owned();
            let now = self.now();
            let step = consecutive(seed, now, code1, code2, i64::MIN)?.ok_or_else(invalid_codes)?;
            let mut tx = self.begin_write(&account_id).await?;
            may_take_device(&mut tx, &owner).await?;
            let sealed = self.secret_key().seal(&seal_context(&account_id, Some(&owner.id), serial_number), seed);
            let inserted = sqlx::query(
                "INSERT INTO mfa_devices (serial_number, account_id, name_key, owner_id, kind, seed_sealed, last_step, \
                 created_at, enabled_at) VALUES ($1, $2, $3, $4, 'hardware', $5, $6, $7, $7)",
            )
            .bind(serial_number)
            .bind(&account_id)
            .bind(format!("hardware:{}", serial_number.to_ascii_lowercase()))
            .bind(&owner.id)
            .bind(&sealed)
            .bind(step + 1)
            .bind(now.as_millis())
            .execute(&mut *tx)
            .await;
            // A serial is unique within its account only (the table's key is the account and the
            // serial). AWS keeps a token's serial unique across AWS because it knows each token's
            // seed from the vendor; here the seed is the caller's, so a global key would let anyone
            // who may enable their own device learn that a serial is taken in another account, or
            // take it first.
            match inserted {
                Err(e) if crate::error::is_unique_violation(&e) => {
                    return Err(IamError::EntityAlreadyExists("MFA Device is already in use.".to_owned()));
                }
                other => other?,
            };
            let event = Event {
                action: "iam:EnableMFADevice",
                target: Some(&owner.arn),
                parameters: parameters(),
                outcome: "Success",
            };
            audit::append(&mut tx, caller, now, &event).await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    /// `iam:DeactivateMFADevice`: unassigns a virtual device (which stays, unassigned), or removes
    /// a security key or a hardware token (its seed forgotten).
    pub async fn deactivate_mfa_device(
        &self,
        caller: &Caller,
        user_name: Option<&str>,
        serial_number: &str,
    ) -> Result<(), IamError> {
        self.take_mfa_device(caller, user_name, serial_number, false).await
    }

    /// The console's "Remove" of an MFA device, as AWS's console does it: `DeactivateMFADevice`
    /// and, for a virtual device, `DeleteVirtualMFADevice`, all or nothing. Both are authorized
    /// before either is done, so a caller allowed one and not the other changes nothing (the two
    /// actions one after the other could leave a virtual device unassigned but not deleted).
    pub async fn remove_mfa_device(
        &self,
        caller: &Caller,
        user_name: Option<&str>,
        serial_number: &str,
    ) -> Result<(), IamError> {
        self.take_mfa_device(caller, user_name, serial_number, true).await
    }

    /// Deactivates a device and, with `delete_virtual`, deletes it if it is a virtual one.
    async fn take_mfa_device(
        &self,
        caller: &Caller,
        user_name: Option<&str>,
        serial_number: &str,
        delete_virtual: bool,
    ) -> Result<(), IamError> {
        self.record_failures(caller, async move {
            let parameters = || serde_json::json!({ "UserName": user_name, "SerialNumber": serial_number });
            let owner = self.credential_owner(caller, user_name, "iam:DeactivateMFADevice", parameters).await?;
            let account_id = caller.account_id().to_owned();
            let mut tx = self.begin_write(&account_id).await?;
            let device = sqlx::query(
                "SELECT account_id, owner_id, kind, seed_sealed FROM mfa_devices \
                 WHERE serial_number = $1 AND owner_id = $2",
            )
            .bind(serial_number)
            .bind(&owner.id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| no_such_device(serial_number))?;
            let is_virtual = delete_virtual && device.try_get::<String, _>("kind")? == "totp";
            let only_serial = || serde_json::json!({ "SerialNumber": serial_number });
            if is_virtual {
                let request = Request::new("iam:DeleteVirtualMFADevice", serial_number, &account_id);
                tx = self.authorize_holding(tx, caller, request, only_serial).await?;
            }
            let now = self.now();
            self.unassign_mfa_device(&mut tx, serial_number, &device).await?;
            let event = Event {
                action: "iam:DeactivateMFADevice",
                target: Some(&owner.arn),
                parameters: parameters(),
                outcome: "Success",
            };
            audit::append(&mut tx, caller, now, &event).await?;
            if is_virtual {
                sqlx::query("DELETE FROM tags WHERE entity_id = $1").bind(serial_number).execute(&mut *tx).await?;
                sqlx::query("DELETE FROM mfa_devices WHERE serial_number = $1 AND account_id = $2")
                    .bind(serial_number)
                    .bind(&account_id)
                    .execute(&mut *tx)
                    .await?;
                let event = Event {
                    action: "iam:DeleteVirtualMFADevice",
                    target: Some(serial_number),
                    parameters: only_serial(),
                    outcome: "Success",
                };
                audit::append(&mut tx, caller, now, &event).await?;
            }
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    /// `iam:DeleteVirtualMFADevice`: only once it is no longer assigned.
    pub async fn delete_virtual_mfa_device(&self, caller: &Caller, serial_number: &str) -> Result<(), IamError> {
        self.record_failures(caller, async move {
            let account_id = caller.account_id().to_owned();
            let parameters = || serde_json::json!({ "SerialNumber": serial_number });
            let tx = self.begin_write(&account_id).await?;
            let request = Request::new("iam:DeleteVirtualMFADevice", serial_number, &account_id);
            let mut tx = self.authorize_holding(tx, caller, request, parameters).await?;
            let device = sqlx::query(
                "SELECT owner_id FROM mfa_devices WHERE serial_number = $1 AND account_id = $2 AND kind = 'totp'",
            )
            .bind(serial_number)
            .bind(&account_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| no_such_device(serial_number))?;
            if device.try_get::<Option<String>, _>("owner_id")?.is_some() {
                return Err(IamError::DeleteConflict("MFA device is still in use.".to_owned()));
            }
            sqlx::query("DELETE FROM tags WHERE entity_id = $1").bind(serial_number).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM mfa_devices WHERE serial_number = $1 AND account_id = $2")
                .bind(serial_number)
                .bind(&account_id)
                .execute(&mut *tx)
                .await?;
            let event = Event {
                action: "iam:DeleteVirtualMFADevice",
                target: Some(serial_number),
                parameters: parameters(),
                outcome: "Success",
            };
            audit::append(&mut tx, caller, self.now(), &event).await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    /// `iam:ListMFADevices`: a user's (or the caller's own) enabled devices.
    pub async fn list_mfa_devices(&self, caller: &Caller, user_name: Option<&str>) -> Result<Vec<MfaDevice>, IamError> {
        let parameters = || serde_json::json!({ "UserName": user_name });
        let owner = self.credential_owner(caller, user_name, "iam:ListMFADevices", parameters).await?;
        let rows = sqlx::query(
            "SELECT serial_number, enabled_at, kind FROM mfa_devices WHERE owner_id = $1 AND enabled_at IS NOT NULL \
             ORDER BY enabled_at, serial_number",
        )
        .bind(&owner.id)
        .fetch_all(self.store().pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(MfaDevice {
                    user_name: owner.name.clone(),
                    serial_number: r.try_get("serial_number")?,
                    enable_date: Timestamp::from_millis(r.try_get("enabled_at")?),
                    kind: r.try_get("kind")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(IamError::from)
    }

    /// `iam:ListVirtualMFADevices`, by assignment.
    pub async fn list_virtual_mfa_devices(
        &self,
        caller: &Caller,
        status: AssignmentStatus,
    ) -> Result<Vec<VirtualDevice>, IamError> {
        let account_id = caller.account_id();
        self.authorize_or_record(
            caller,
            Request::new("iam:ListVirtualMFADevices", "*", account_id),
            || serde_json::json!({ "AssignmentStatus": format!("{status:?}") }),
        )
        .await?;
        let rows = sqlx::query(
            "SELECT d.serial_number, d.owner_id, d.enabled_at, u.user_name FROM mfa_devices d \
             LEFT JOIN users u ON u.user_id = d.owner_id WHERE d.account_id = $1 AND d.kind = 'totp' \
             ORDER BY d.serial_number",
        )
        .bind(account_id)
        .fetch_all(self.store().pool())
        .await?;
        let mut out = Vec::new();
        for r in &rows {
            let owner: Option<String> = r.try_get("owner_id")?;
            let wanted = match status {
                AssignmentStatus::Any => true,
                AssignmentStatus::Assigned => owner.is_some(),
                AssignmentStatus::Unassigned => owner.is_none(),
            };
            if !wanted {
                continue;
            }
            let user = match (&owner, r.try_get::<Option<String>, _>("user_name")?) {
                (Some(_), Some(name)) => Some(name),
                (Some(_), None) => Some(entities::ROOT_ACCOUNT_NAME.to_owned()),
                (None, _) => None,
            };
            out.push(VirtualDevice {
                serial_number: r.try_get("serial_number")?,
                user,
                enable_date: r.try_get::<Option<i64>, _>("enabled_at")?.map(Timestamp::from_millis),
            });
        }
        Ok(out)
    }

    /// Checks a TOTP code from one of `owner_id`'s devices (a user id, or the account id for the
    /// root user), as sign-in does: the code of the current step or one either side, each step at
    /// most once. Answers which device matched.
    pub async fn verify_totp(&self, owner_id: &str, code: &str) -> Result<Option<String>, IamError> {
        if check_code_shape("code", code).is_err() {
            return Ok(None);
        }
        let rows = sqlx::query(
            "SELECT serial_number, account_id, owner_id, kind, seed_sealed, last_step FROM mfa_devices \
             WHERE owner_id = $1 AND kind IN ('totp', 'hardware') AND enabled_at IS NOT NULL",
        )
        .bind(owner_id)
        .fetch_all(self.store().pool())
        .await?;
        let current = self.now().as_millis().div_euclid(1000) / STEP_SECONDS;
        for row in &rows {
            let serial: String = row.try_get("serial_number")?;
            let seed = self.open_seed(&serial, row)?;
            let totp = totp(&seed)?;
            let last: i64 = row.try_get("last_step")?;
            let Some(step) =
                ((current - 1)..=(current + 1)).find(|n| *n > last && subtle_eq(&code_at(&totp, *n), code))
            else {
                continue;
            };
            // Only a later step than the last accepted: a replayed code, even racing on another
            // server, updates nothing.
            let accepted = sqlx::query(
                "UPDATE mfa_devices SET last_step = $2 WHERE serial_number = $1 AND owner_id = $3 AND last_step < $2",
            )
            .bind(&serial)
            .bind(step)
            .bind(owner_id)
            .execute(self.store().pool())
            .await?;
            return Ok((accepted.rows_affected() == 1).then_some(serial));
        }
        Ok(None)
    }

    /// Records a WebAuthn security key the server's registration ceremony verified, for a user or
    /// (with `user_name` absent and a root caller) the root user. `credential` is the serialized
    /// credential; `credential_id` its id, which no other device may have.
    pub async fn register_security_key(
        &self,
        caller: &Caller,
        user_name: Option<&str>,
        name: &str,
        credential_id: &str,
        credential: &str,
    ) -> Result<String, IamError> {
        self.record_failures(caller, async move {
            let key_name = EntityKind::User.parse_name(name)?;
            let parameters = || serde_json::json!({ "UserName": user_name, "Name": key_name });
            let owner = self.credential_owner(caller, user_name, "iam:EnableMFADevice", parameters).await?;
            let account_id = caller.account_id().to_owned();
            let serial =
                Arn::iam(&account_id, format!("u2f/{}/{key_name}", if owner.is_root { "root" } else { &owner.name }))
                    .to_string();
            let now = self.now();
            let mut tx = self.begin_write(&account_id).await?;
            may_take_device(&mut tx, &owner).await?;
            let inserted = sqlx::query(
            "INSERT INTO mfa_devices (serial_number, account_id, name_key, owner_id, kind, credential, credential_id, \
             created_at, enabled_at) VALUES ($1, $2, $3, $4, 'webauthn', $5, $6, $7, $7)",
        )
        .bind(&serial)
        .bind(&account_id)
        .bind(serial.to_ascii_lowercase())
        .bind(&owner.id)
        .bind(credential)
        .bind(credential_id)
        .bind(now.as_millis())
        .execute(&mut *tx)
        .await;
            match inserted {
                Err(e) if crate::error::is_unique_violation(&e) => {
                    return Err(IamError::EntityAlreadyExists(
                        "This security key is already registered, or a device of this name exists.".to_owned(),
                    ));
                }
                other => other?,
            };
            let event = Event {
                action: "iam:EnableMFADevice",
                target: Some(&owner.arn),
                parameters: parameters(),
                outcome: "Success",
            };
            audit::append(&mut tx, caller, now, &event).await?;
            tx.commit().await?;
            Ok(serial)
        })
        .await
    }

    /// The serialized WebAuthn credentials of `owner_id`, with their serial numbers, for an
    /// authentication ceremony.
    pub async fn security_keys(&self, owner_id: &str) -> Result<Vec<(String, String)>, IamError> {
        let rows = sqlx::query(
            "SELECT serial_number, credential FROM mfa_devices WHERE owner_id = $1 AND kind = 'webauthn' ORDER BY created_at",
        )
        .bind(owner_id)
        .fetch_all(self.store().pool())
        .await?;
        Ok(rows
            .iter()
            .map(|r| Ok((r.try_get("serial_number")?, r.try_get("credential")?)))
            .collect::<Result<_, sqlx::Error>>()?)
    }

    /// Saves a security key's credential after an authentication (its signature counter moved),
    /// if it is still `previous`: a compare-and-swap, so that two sign-ins racing with one counter
    /// value (what a copied key does) cannot both save it. Answers whether it was saved.
    pub async fn update_security_key(
        &self,
        serial_number: &str,
        previous: &str,
        credential: &str,
    ) -> Result<bool, IamError> {
        let saved = sqlx::query(
            "UPDATE mfa_devices SET credential = $2 WHERE serial_number = $1 AND kind = 'webauthn' AND credential = $3",
        )
        .bind(serial_number)
        .bind(credential)
        .bind(previous)
        .execute(self.store().pool())
        .await?;
        Ok(saved.rows_affected() == 1)
    }

    async fn owned_totp_device(
        &self,
        conn: &mut sqlx::AnyConnection,
        serial_number: &str,
        owner_id: &str,
    ) -> Result<AnyRow, IamError> {
        sqlx::query(
            "SELECT account_id, owner_id, seed_sealed, last_step FROM mfa_devices \
             WHERE serial_number = $1 AND owner_id = $2 AND kind IN ('totp', 'hardware')",
        )
        .bind(serial_number)
        .bind(owner_id)
        .fetch_optional(conn)
        .await?
        .ok_or_else(|| no_such_device(serial_number))
    }

    /// Takes a device from its owner (a row with `account_id`, `owner_id`, `kind`, `seed_sealed`):
    /// a security key or hardware token is removed; a virtual device stays, unassigned, its seed
    /// re-sealed for no owner.
    pub(crate) async fn unassign_mfa_device(
        &self,
        conn: &mut sqlx::AnyConnection,
        serial_number: &str,
        device: &AnyRow,
    ) -> Result<(), IamError> {
        let account_id: String = device.try_get("account_id")?;
        if device.try_get::<String, _>("kind")? != "totp" {
            // No tags to remove: only virtual devices take tags (TagMFADevice).
            sqlx::query("DELETE FROM mfa_devices WHERE serial_number = $1 AND account_id = $2")
                .bind(serial_number)
                .bind(&account_id)
                .execute(&mut *conn)
                .await?;
            return Ok(());
        }
        let seed = self.open_seed(serial_number, device)?;
        let sealed = self.secret_key().seal(&seal_context(&account_id, None, serial_number), &seed);
        sqlx::query(
            "UPDATE mfa_devices SET owner_id = NULL, enabled_at = NULL, seed_sealed = $2 \
             WHERE serial_number = $1 AND account_id = $3",
        )
        .bind(serial_number)
        .bind(&sealed)
        .bind(&account_id)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// Opens the seed of a device row (with its `account_id`, `owner_id` and `seed_sealed`).
    fn open_seed(&self, serial_number: &str, row: &AnyRow) -> Result<Vec<u8>, IamError> {
        let sealed: Option<String> = row.try_get("seed_sealed")?;
        let sealed = sealed.ok_or_else(|| IamError::internal(&format!("device {serial_number} has no seed")))?;
        let account_id: String = row.try_get("account_id")?;
        let owner_id: Option<String> = row.try_get("owner_id")?;
        let context = seal_context(&account_id, owner_id.as_deref(), serial_number);
        self.secret_key().open(&context, &sealed).map_err(|_| {
            IamError::internal(&format!("the seed of {serial_number} does not open with this server's key"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B, SHA-1, with AWS's six digits (the last six of the eight published).
    #[test]
    fn codes_match_the_rfc_vectors() {
        let seed = b"12345678901234567890";
        let t = totp(seed).unwrap();
        for (time, eight) in [(59, "94287082"), (1_111_111_109, "07081804"), (2_000_000_000, "69279037")] {
            assert_eq!(code_at(&t, time / STEP_SECONDS), eight[2..], "T={time}");
        }
    }

    #[test]
    fn two_consecutive_codes_find_their_step() {
        let seed = b"12345678901234567890";
        let t = totp(seed).unwrap();
        let now = Timestamp::from_millis(1_795_856_400_000);
        let current = 1_795_856_400 / STEP_SECONDS;
        let (c1, c2) = (code_at(&t, current - 3), code_at(&t, current - 2));
        assert_eq!(consecutive(seed, now, &c1, &c2, i64::MIN).unwrap(), Some(current - 3));
        assert_eq!(consecutive(seed, now, &c2, &c1, i64::MIN).unwrap(), None, "order matters");
        assert_eq!(consecutive(seed, now, &c1, &c2, current - 3).unwrap(), None, "not again");
        let far = code_at(&t, current - 20);
        assert_eq!(consecutive(seed, now, &far, &code_at(&t, current - 19), i64::MIN).unwrap(), None);
        assert!(check_code_shape("c", "12345").is_err() && check_code_shape("c", "12a456").is_err());
    }
}
