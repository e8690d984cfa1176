//! Randomness, digests and comparisons for every secret the service handles.
//! Codes, session tokens and API keys come from the OS-seeded CSPRNG (`rand::rng()`, ChaCha);
//! only SHA-256 digests of tokens and keys are stored; comparisons are constant-time.

use rand::Rng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The 56 code symbols: A–Z a–z 2–9 without the look-alikes I O l o (and no 0 or 1).
pub const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789";
pub const CODE_LEN: usize = 8;

/// A fresh login code (8 symbols, ≈ 46 bits).
pub fn new_code() -> String {
    let mut rng = rand::rng();
    (0..CODE_LEN).map(|_| CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())] as char).collect()
}

/// `n` random bytes as lowercase hex.
pub fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::rng().fill(&mut bytes[..]);
    hex::encode(bytes)
}

/// A 256-bit session token (64 hex characters).
pub fn new_session_token() -> String {
    random_hex(32)
}

/// A new API key with its prefix (`hbot_` for bots, `ppub_` for the public key), 256 bits.
pub fn new_api_key(prefix: &str) -> String {
    format!("{prefix}{}", random_hex(32))
}

/// SHA-256 of a secret as lowercase hex: the only form in which keys and tokens are stored.
pub fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Constant-time equality for secrets and their digests.
pub fn ct_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_use_the_alphabet() {
        assert_eq!(CODE_ALPHABET.len(), 56);
        for b in b"IOlo01" {
            assert!(!CODE_ALPHABET.contains(b));
        }
        let codes: HashSet<String> = (0..2000).map(|_| new_code()).collect();
        assert!(codes.len() > 1990, "codes repeat too often");
        for c in &codes {
            assert_eq!(c.len(), 8);
            assert!(c.bytes().all(|b| CODE_ALPHABET.contains(&b)));
        }
        // every symbol shows up: the draw covers the whole alphabet
        let seen: HashSet<u8> = codes.iter().flat_map(|c| c.bytes()).collect();
        assert_eq!(seen.len(), 56);
    }

    #[test]
    fn digests_and_tokens() {
        assert_eq!(digest("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(new_session_token().len(), 64);
        let k = new_api_key("hbot_");
        assert!(k.starts_with("hbot_") && k.len() == 69);
        assert!(ct_eq("abc", "abc") && !ct_eq("abc", "abd") && !ct_eq("abc", "ab"));
    }
}
