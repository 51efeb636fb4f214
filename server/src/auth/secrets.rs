//! Passwords, session secrets and API-token secrets.
//!
//! Passwords are hashed with argon2id (slow on purpose). Session and API-token
//! secrets are 256 random bits, so a plain SHA-256 of them is enough to keep
//! the database useless to a thief while staying cheap to check per request.

use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::sync::LazyLock;

/// Prefix of API token secrets, so that leaked ones are easy to recognise
/// (and to scan for).
pub const API_TOKEN_PREFIX: &str = "odk_";

/// Hashes a password into an argon2id PHC string.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| anyhow::anyhow!("hashing a password failed: {e}"))
}

/// A valid hash of a password nobody knows, checked when the email is unknown
/// so that a failed sign-in takes as long either way.
static DECOY_HASH: LazyLock<String> =
    LazyLock::new(|| hash_password("decoy password nobody has").expect("argon2 with default parameters"));

/// Checks `password` against a stored hash; `None` (unknown user, or one
/// without a password) runs the decoy check and fails.
pub fn verify_password(stored: Option<&str>, password: &str) -> bool {
    let check = |hash: &str| {
        PasswordHash::new(hash)
            .map(|hash| Argon2::default().verify_password(password.as_bytes(), &hash).is_ok())
            .unwrap_or(false)
    };
    match stored {
        Some(hash) => check(hash),
        None => {
            let _ = check(&DECOY_HASH);
            false
        }
    }
}

/// 256 random bits as lowercase hex.
fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    to_hex(&bytes)
}

/// Bytes as lowercase hex.
pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut out, byte| {
        let _ = write!(out, "{byte:02x}");
        out
    })
}

/// The SHA-256 of a secret, as stored in the database.
pub fn secret_hash(secret: &str) -> String {
    to_hex(&Sha256::digest(secret.as_bytes()))
}

/// A new session secret and its hash.
pub fn new_session_secret() -> (String, String) {
    let secret = random_hex();
    let hash = secret_hash(&secret);
    (secret, hash)
}

/// A new API token secret (`odk_` + 64 hex digits) and its hash.
pub fn new_api_token_secret() -> (String, String) {
    let secret = format!("{API_TOKEN_PREFIX}{}", random_hex());
    let hash = secret_hash(&secret);
    (secret, hash)
}

/// A password for generated accounts (the demo admin): 20 characters from an
/// alphabet without look-alikes.
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 20];
    OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_against_their_hash() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password(Some(&hash), "correct horse battery"));
        assert!(!verify_password(Some(&hash), "wrong horse battery"));
        assert!(!verify_password(None, "decoy password nobody has"));
        assert!(!verify_password(Some("not a phc string"), "x"));
    }

    #[test]
    fn secrets_are_random_and_hashed() {
        let (a, a_hash) = new_api_token_secret();
        let (b, _) = new_api_token_secret();
        assert_ne!(a, b);
        assert!(a.starts_with(API_TOKEN_PREFIX) && a.len() == API_TOKEN_PREFIX.len() + 64);
        assert_eq!(a_hash, secret_hash(&a));
        assert_ne!(a_hash, a);
        assert_eq!(generate_password().len(), 20);
    }
}
