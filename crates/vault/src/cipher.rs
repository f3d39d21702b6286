//! The vault's cryptography: XChaCha20-Poly1305 with random 192-bit nonces, for sealing
//! fields under a person's data key and wrapping data keys under the master key.
//!
//! Associated data binds every ciphertext to where it belongs: a field's ciphertext to
//! its record id and field name, a wrapped key to its owner. A ciphertext copied to
//! another person or another field fails authentication instead of decrypting.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use datavow_policy::Field;
use datavow_store::{KeyOwner, PersonId};
use rand::RngCore;
use zeroize::{Zeroize, Zeroizing};

const VERSION: u8 = 1;
const NONCE_LEN: usize = 24;
/// Length of every symmetric key the vault uses.
pub const KEY_LEN: usize = 32;

/// A 256-bit symmetric key, wiped from memory on drop, never printable.
#[derive(Clone)]
pub struct SymmetricKey(Zeroizing<[u8; KEY_LEN]>);

impl std::fmt::Debug for SymmetricKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SymmetricKey(redacted)")
    }
}

/// Authentication failed: wrong key, moved or altered ciphertext.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("ciphertext failed authentication")]
pub struct Unauthentic;

impl SymmetricKey {
    /// A fresh random key from the operating system's generator.
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        rand::rngs::OsRng.fill_bytes(bytes.as_mut());
        SymmetricKey(bytes)
    }

    /// A key from exactly [`KEY_LEN`] bytes; the caller's copy should be wiped.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        if bytes.len() != KEY_LEN {
            return None;
        }
        key.copy_from_slice(bytes);
        Some(SymmetricKey(key))
    }

    pub(crate) fn expose(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// A 16-byte tag of `label` under this key (HMAC-SHA256, truncated): stable while
    /// the key exists, underivable once it is destroyed.
    pub(crate) fn tag(&self, label: &[u8]) -> [u8; 16] {
        use hmac::{Hmac, Mac};
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(self.expose())
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(label);
        let mut tag = [0u8; 16];
        tag.copy_from_slice(&mac.finalize().into_bytes()[..16]);
        tag
    }

    fn aead(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(self.0.as_ref().into())
    }

    /// Encrypts `plaintext` bound to `aad`: `version ‖ nonce ‖ ciphertext ‖ tag`.
    pub(crate) fn encrypt(&self, plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
        // Random 192-bit nonces never repeat in practice. `thread_rng` is a CSPRNG
        // (ChaCha12) seeded and periodically reseeded from the OS; keys still come
        // from `OsRng` directly.
        let mut nonce = [0u8; NONCE_LEN];
        rand::thread_rng().fill_bytes(&mut nonce);
        let sealed = self
            .aead()
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .unwrap_or_default(); // XChaCha20-Poly1305 encryption cannot fail for in-memory buffers.
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// Decrypts what [`SymmetricKey::encrypt`] made with the same `aad`.
    pub(crate) fn decrypt(
        &self,
        sealed: &[u8],
        aad: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, Unauthentic> {
        if sealed.len() < 1 + NONCE_LEN + 16 || sealed[0] != VERSION {
            return Err(Unauthentic);
        }
        let (nonce, body) = sealed[1..].split_at(NONCE_LEN);
        self.aead()
            .decrypt(XNonce::from_slice(nonce), Payload { msg: body, aad })
            .map(Zeroizing::new)
            .map_err(|_| Unauthentic)
    }

    /// A key derived from a secret that a client holds (such as an idempotency key):
    /// HMAC-SHA256 of `label` under the secret. The store keeps only what this key
    /// sealed and [`SymmetricKey::holder_digest`]; without the secret neither opens.
    pub fn from_holder_secret(secret: &[u8], label: &[u8]) -> Self {
        use hmac::{Hmac, Mac};
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(secret)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(b"datavow holder key\0");
        mac.update(label);
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        key.copy_from_slice(&mac.finalize().into_bytes());
        SymmetricKey(key)
    }

    /// A look-up digest of a holder's secret, independent of the key derived from it.
    pub fn holder_digest(secret: &[u8], label: &[u8]) -> [u8; 32] {
        use sha2::Digest;
        let mut hash = sha2::Sha256::new();
        hash.update(b"datavow holder digest\0");
        hash.update(label);
        hash.update([0]);
        hash.update(secret);
        hash.finalize().into()
    }

    /// Seals `plaintext` under this key, bound to `label`.
    pub fn seal(&self, label: &[u8], plaintext: &[u8]) -> Vec<u8> {
        self.encrypt(plaintext, label)
    }

    /// Opens what [`SymmetricKey::seal`] sealed with the same label.
    pub fn open(&self, label: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, Unauthentic> {
        self.decrypt(sealed, label)
    }

    /// Seals one personal field of `record` (a person id, or a record's own id).
    pub fn seal_field(&self, record: PersonId, field: Field, plaintext: &[u8]) -> Vec<u8> {
        self.encrypt(plaintext, &field_aad(record, field))
    }

    /// Opens a field sealed by [`SymmetricKey::seal_field`] for the same record and field.
    pub fn open_field(
        &self,
        record: PersonId,
        field: Field,
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, Unauthentic> {
        self.decrypt(sealed, &field_aad(record, field))
    }

    /// Wraps `key` (a data key) for `owner` under this key-encryption key.
    pub fn wrap(&self, owner: KeyOwner<'_>, key: &SymmetricKey) -> Vec<u8> {
        self.encrypt(key.expose(), &owner_aad(owner))
    }

    /// Unwraps a key wrapped for `owner` by [`SymmetricKey::wrap`].
    pub fn unwrap_key(
        &self,
        owner: KeyOwner<'_>,
        wrapped: &[u8],
    ) -> Result<SymmetricKey, Unauthentic> {
        let mut bytes = self.decrypt(wrapped, &owner_aad(owner))?;
        let key = SymmetricKey::from_bytes(&bytes).ok_or(Unauthentic);
        bytes.zeroize();
        key
    }
}

fn field_aad(record: PersonId, field: Field) -> Vec<u8> {
    let mut aad = b"datavow/field/v1\0".to_vec();
    aad.extend_from_slice(record.as_bytes());
    aad.push(0);
    aad.extend_from_slice(field.as_str().as_bytes());
    aad
}

fn owner_aad(owner: KeyOwner<'_>) -> Vec<u8> {
    let mut aad = b"datavow/key/v1\0".to_vec();
    match owner {
        KeyOwner::Person(id) => {
            aad.extend_from_slice(b"person\0");
            aad.extend_from_slice(id.as_bytes());
        }
        KeyOwner::Named(name) => {
            aad.extend_from_slice(b"named\0");
            aad.extend_from_slice(name.as_bytes());
        }
        KeyOwner::Class { owner, class } => {
            aad.extend_from_slice(b"class\0");
            aad.extend_from_slice(owner.as_bytes());
            aad.push(0);
            aad.extend_from_slice(class.as_bytes());
        }
    }
    aad
}

/// Associated data of a retained record: its id, owner, class and field, so a
/// ciphertext moved to another record, owner, class or field fails.
pub(crate) fn retained_aad(record: &datavow_store::RetainedRecord) -> Vec<u8> {
    let mut aad = b"datavow/retained/v1\0".to_vec();
    aad.extend_from_slice(record.id.as_bytes());
    aad.extend_from_slice(record.owner.as_bytes());
    aad.extend_from_slice(record.class.as_bytes());
    aad.push(0);
    aad.extend_from_slice(record.field.as_str().as_bytes());
    aad
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn a_field_sealed_for_one_person_does_not_open_for_another() {
        let key = SymmetricKey::generate();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let sealed = key.seal_field(a, Field::Email, b"anna@example.dk");
        assert_eq!(
            &key.open_field(a, Field::Email, &sealed).expect("opens")[..],
            b"anna@example.dk"
        );
        assert_eq!(key.open_field(b, Field::Email, &sealed), Err(Unauthentic));
        assert_eq!(key.open_field(a, Field::Phone, &sealed), Err(Unauthentic));
    }

    #[test]
    fn a_flipped_bit_or_truncation_fails_authentication() {
        let key = SymmetricKey::generate();
        let id = Uuid::new_v4();
        let sealed = key.seal_field(id, Field::Name, b"Zo\xc3\xab");
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x01;
            assert!(key.open_field(id, Field::Name, &bad).is_err(), "byte {i}");
        }
        assert!(key
            .open_field(id, Field::Name, &sealed[..sealed.len() - 1])
            .is_err());
        assert!(key.open_field(id, Field::Name, &[]).is_err());
    }

    #[test]
    fn the_same_value_sealed_twice_gives_different_ciphertexts() {
        let key = SymmetricKey::generate();
        let id = Uuid::new_v4();
        assert_ne!(
            key.seal_field(id, Field::Name, b"x"),
            key.seal_field(id, Field::Name, b"x")
        );
    }

    #[test]
    fn a_wrapped_key_only_unwraps_for_its_owner_under_its_master_key() {
        let (kek, other_kek, dek) = (
            SymmetricKey::generate(),
            SymmetricKey::generate(),
            SymmetricKey::generate(),
        );
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let wrapped = kek.wrap(KeyOwner::Person(a), &dek);
        let back = kek
            .unwrap_key(KeyOwner::Person(a), &wrapped)
            .expect("unwraps");
        assert_eq!(back.expose(), dek.expose());
        assert!(kek.unwrap_key(KeyOwner::Person(b), &wrapped).is_err());
        assert!(kek
            .unwrap_key(KeyOwner::Named("index:email"), &wrapped)
            .is_err());
        assert!(other_kek.unwrap_key(KeyOwner::Person(a), &wrapped).is_err());
    }

    #[test]
    fn keys_never_print_their_bytes() {
        assert_eq!(
            format!("{:?}", SymmetricKey::generate()),
            "SymmetricKey(redacted)"
        );
    }
}
