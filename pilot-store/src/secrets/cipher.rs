//! AES-256-GCM sealing of one secret value. The associated data binds the
//! ciphertext to its row (project, node, name): a value copied or swapped
//! into another row fails authentication.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use pilot_core::SecretValue;
use zeroize::Zeroizing;

use super::key::MasterKey;
use crate::error::{Error, Result};

/// Length of a GCM nonce.
const NONCE_LEN: usize = 12;

/// Where a secret lives; its fields form the associated data.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SecretRow<'a> {
    /// The project.
    pub project: &'a str,
    /// The node of an override, `""` for the project-wide value.
    pub node: &'a str,
    /// The secret's name.
    pub name: &'a str,
}

impl SecretRow<'_> {
    /// Length-prefixed fields, so that no two rows share associated data.
    fn associated_data(&self) -> Vec<u8> {
        let mut aad = b"pilot-secret-v1".to_vec();
        for field in [self.project, self.node, self.name] {
            let len = u32::try_from(field.len()).unwrap_or(u32::MAX);
            aad.extend_from_slice(&len.to_be_bytes());
            aad.extend_from_slice(field.as_bytes());
        }
        aad
    }

    /// "project shop" or "project shop on node n1", for messages.
    pub fn scope_text(&self) -> String {
        if self.node.is_empty() {
            format!("project {}", self.project)
        } else {
            format!("project {} on node {}", self.project, self.node)
        }
    }
}

fn cipher(key: &MasterKey) -> Aes256Gcm {
    Aes256Gcm::new(&Key::<Aes256Gcm>::from(*key.bytes()))
}

/// Encrypts a value with a fresh random nonce; returns (nonce, ciphertext).
pub(crate) fn seal(
    key: &MasterKey,
    row: SecretRow<'_>,
    value: &SecretValue,
) -> Result<(Vec<u8>, Vec<u8>)> {
    let mut nonce = [0u8; NONCE_LEN];
    rand::fill(&mut nonce);
    let aad = row.associated_data();
    let ciphertext = cipher(key)
        .encrypt(
            &Nonce::from(nonce),
            Payload {
                msg: value.expose().as_bytes(),
                aad: &aad,
            },
        )
        .map_err(|_| {
            Error::invalid(
                "secret value",
                format!(
                    "{} of {} could not be encrypted",
                    row.name,
                    row.scope_text()
                ),
            )
        })?;
    Ok((nonce.to_vec(), ciphertext))
}

/// Decrypts and authenticates a stored value.
pub(crate) fn open(
    key: &MasterKey,
    row: SecretRow<'_>,
    key_id: &str,
    nonce: &[u8],
    ciphertext: &[u8],
) -> Result<SecretValue> {
    if key_id != key.id() {
        return Err(Error::WrongKey {
            scope: row.scope_text(),
            name: row.name.to_string(),
            stored_key: key_id.to_string(),
            loaded_key: key.id().to_string(),
        });
    }
    let tampered = || Error::Tampered {
        scope: row.scope_text(),
        name: row.name.to_string(),
    };
    let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| tampered())?;
    let aad = row.associated_data();
    let plain = Zeroizing::new(
        cipher(key)
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad: &aad,
                },
            )
            .map_err(|_| tampered())?,
    );
    let text = std::str::from_utf8(&plain).map_err(|_| tampered())?;
    Ok(SecretValue::new(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROW: SecretRow<'static> = SecretRow {
        project: "shop",
        node: "",
        name: "DB",
    };

    #[test]
    fn round_trip_with_fresh_nonces() {
        let key = MasterKey::generate();
        let value = SecretValue::new("postgres://u:p@h/db");
        let (n1, c1) = seal(&key, ROW, &value).unwrap();
        let (n2, c2) = seal(&key, ROW, &value).unwrap();
        assert_ne!(n1, n2);
        assert_ne!(c1, c2);
        assert_eq!(open(&key, ROW, key.id(), &n1, &c1).unwrap(), value);
    }

    #[test]
    fn another_row_cannot_open_it() {
        let key = MasterKey::generate();
        let (n, c) = seal(&key, ROW, &SecretValue::new("v")).unwrap();
        for other in [
            SecretRow { name: "DB2", ..ROW },
            SecretRow {
                project: "shop2",
                ..ROW
            },
            SecretRow { node: "n1", ..ROW },
        ] {
            let err = open(&key, other, key.id(), &n, &c).unwrap_err();
            assert!(matches!(err, Error::Tampered { .. }), "{err}");
        }
    }

    #[test]
    fn field_boundaries_are_unambiguous() {
        let a = SecretRow {
            project: "ab",
            node: "",
            name: "c",
        };
        let b = SecretRow {
            project: "a",
            node: "",
            name: "bc",
        };
        assert_ne!(a.associated_data(), b.associated_data());
    }
}
