//! Node tokens: shown once when a node is enrolled, stored by the server only
//! as a SHA-256 hash, presented by the agent in its hello.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::error::{ProtocolError, Result};

/// Random bytes in a token.
const TOKEN_BYTES: usize = 32;

/// A node's secret token, `pilot_nt_` followed by 64 hex digits. `Debug` and
/// `Display` print a mask; [`NodeToken::expose`] gives the value.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct NodeToken(String);

impl NodeToken {
    /// What every token starts with.
    pub const PREFIX: &'static str = "pilot_nt_";

    /// A new token from 32 random bytes of the operating system's generator.
    pub fn generate() -> Self {
        let mut bytes = [0u8; TOKEN_BYTES];
        rand::fill(&mut bytes);
        NodeToken(format!("{}{}", Self::PREFIX, hex::encode(bytes)))
    }

    /// Checks the shape of a token given by a user or a peer.
    pub fn parse(text: &str) -> Result<Self> {
        let digits = text
            .strip_prefix(Self::PREFIX)
            .ok_or(ProtocolError::InvalidToken {
                reason: "it does not start with `pilot_nt_`",
            })?;
        if digits.len() != TOKEN_BYTES * 2 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ProtocolError::InvalidToken {
                reason: "`pilot_nt_` must be followed by exactly 64 hex digits",
            });
        }
        Ok(NodeToken(text.to_ascii_lowercase()))
    }

    /// The token itself, to show once or to send in the hello.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The SHA-256 of the token: what the server stores.
    pub fn hash(&self) -> TokenHash {
        TokenHash(Sha256::digest(self.0.as_bytes()).into())
    }

    /// Whether this token is the one `stored` was computed from (constant time).
    pub fn verify(&self, stored: &TokenHash) -> bool {
        self.hash().matches(stored)
    }
}

impl FromStr for NodeToken {
    type Err = ProtocolError;

    fn from_str(text: &str) -> Result<Self> {
        NodeToken::parse(text)
    }
}

impl TryFrom<String> for NodeToken {
    type Error = ProtocolError;

    fn try_from(text: String) -> Result<Self> {
        NodeToken::parse(&text)
    }
}

impl From<NodeToken> for String {
    fn from(token: NodeToken) -> Self {
        token.0
    }
}

impl fmt::Debug for NodeToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NodeToken(********)")
    }
}

impl fmt::Display for NodeToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("********")
    }
}

/// The SHA-256 of a [`NodeToken`]; `Display` gives 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    /// Reads a hash stored as 64 hex digits.
    pub fn from_hex(text: &str) -> Result<Self> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text, &mut bytes).map_err(|_| ProtocolError::InvalidTokenHash {
            hash: text.to_owned(),
        })?;
        Ok(TokenHash(bytes))
    }

    /// The hash as 64 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Compares two hashes in time independent of where they differ.
    pub fn matches(&self, other: &TokenHash) -> bool {
        constant_time_eq(&self.0, &other.0)
    }
}

impl fmt::Display for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenHash({})", self.to_hex())
    }
}

/// Byte-wise equality that looks at every byte whatever the first difference.
pub(crate) fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let diff = a
        .iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_are_prefixed_hex_and_distinct() {
        let a = NodeToken::generate();
        let b = NodeToken::generate();
        assert_ne!(a, b);
        assert!(a.expose().starts_with("pilot_nt_"));
        assert_eq!(a.expose().len(), "pilot_nt_".len() + 64);
        assert_eq!(NodeToken::parse(a.expose()).expect("parse"), a);
    }

    #[test]
    fn constant_time_eq_compares_every_byte() {
        let a = [7u8; 32];
        let mut b = a;
        assert!(constant_time_eq(&a, &b));
        b[31] ^= 1;
        assert!(!constant_time_eq(&a, &b));
    }
}
