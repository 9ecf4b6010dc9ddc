//! npm's registry public keys, which sign npm's publish attestations.
//!
//! Two formats are read:
//!
//! - Sigstore's TUF target `registry.npmjs.org/keys.json`, which is what
//!   slsa-verifier reads: `{"keys": [{"keyId", "keyUsage", "publicKey":
//!   {"rawBytes", "keyDetails", "validFor": {"start"}}}]}`; a key signs
//!   attestations when its `keyUsage` is `npm:attestations`;
//! - the registry's own `https://registry.npmjs.org/-/npm/v1/keys`:
//!   `{"keys": [{"keyid", "keytype", "scheme", "key", "expires"}]}`, whose
//!   keys have no usage field; npm uses them for attestations, so they count
//!   as `npm:attestations` keys.
//!
//! A key is found by the key ID the attestation bundle names in its
//! `publicKey.hint` (`SHA256:<base64>`); that hint is untrusted until a key
//! with the same ID is found here, and the signature is then checked with
//! that key. As in slsa-verifier, `validFor` and `expires` are not checked
//! (slsa-verifier issue 757).

use base64::Engine as _;
use serde::Deserialize;

use crate::identity::KeyPolicy;

use super::npm::NpmError;

/// The key usage of npm's attestation keys.
pub(crate) const ATTESTATION_KEY_USAGE: &str = "npm:attestations";

/// At most this many keys are read from a keys file.
const MAX_KEYS: usize = 256;

/// npm's registry keys.
#[derive(Debug, Clone, Default)]
pub struct NpmRegistryKeys {
    keys: Vec<RegistryKey>,
}

#[derive(Debug, Clone)]
struct RegistryKey {
    key_id: String,
    key_usage: String,
    /// The SubjectPublicKeyInfo, DER.
    der: Vec<u8>,
}

#[derive(Deserialize)]
struct KeysFile {
    keys: Vec<KeyEntry>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum KeyEntry {
    /// Sigstore's TUF target.
    Tuf {
        #[serde(rename = "keyId")]
        key_id: String,
        #[serde(rename = "keyUsage")]
        key_usage: String,
        #[serde(rename = "publicKey")]
        public_key: TufPublicKey,
    },
    /// The registry's keys endpoint.
    Registry { keyid: String, key: String },
}

#[derive(Deserialize)]
struct TufPublicKey {
    #[serde(rename = "rawBytes")]
    raw_bytes: String,
}

impl NpmRegistryKeys {
    /// Read a keys file in either format.
    pub fn parse(json: &[u8]) -> Result<Self, NpmError> {
        let file: KeysFile =
            serde_json::from_slice(json).map_err(|e| NpmError::InvalidRegistryKeys {
                expected: "{\"keys\": [...]} as Sigstore's registry.npmjs.org/keys.json or npm's /-/npm/v1/keys",
                found: e.to_string(),
            })?;
        if file.keys.len() > MAX_KEYS {
            return Err(NpmError::InvalidRegistryKeys {
                expected: "at most 256 keys",
                found: file.keys.len().to_string(),
            });
        }
        let keys = file
            .keys
            .into_iter()
            .map(|entry| {
                let (key_id, key_usage, b64) = match entry {
                    KeyEntry::Tuf {
                        key_id,
                        key_usage,
                        public_key,
                    } => (key_id, key_usage, public_key.raw_bytes),
                    KeyEntry::Registry { keyid, key } => {
                        (keyid, ATTESTATION_KEY_USAGE.to_string(), key)
                    }
                };
                let der = base64::engine::general_purpose::STANDARD
                    .decode(b64.as_bytes())
                    .map_err(|e| NpmError::InvalidRegistryKeys {
                        expected: "base64 DER public keys",
                        found: format!("key {key_id:?}: {e}"),
                    })?;
                Ok(RegistryKey {
                    key_id,
                    key_usage,
                    der,
                })
            })
            .collect::<Result<_, NpmError>>()?;
        Ok(Self { keys })
    }

    /// Whether there are no keys.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The attestation key with `key_id`, as a key policy.
    pub(super) fn attestation_key(&self, key_id: &str) -> Result<KeyPolicy, NpmError> {
        let key = self
            .keys
            .iter()
            .find(|k| k.key_id == key_id && k.key_usage == ATTESTATION_KEY_USAGE)
            .ok_or_else(|| NpmError::MissingRegistryKey {
                key_id: key_id.to_string(),
                key_usage: ATTESTATION_KEY_USAGE,
            })?;
        let pem = pem_public_key(&key.der);
        KeyPolicy::from_pem(&pem).map_err(|e| NpmError::InvalidRegistryKeys {
            expected: "ECDSA, Ed25519 or RSA public keys",
            found: format!("key {:?}: {e}", key.key_id),
        })
    }
}

/// `-----BEGIN PUBLIC KEY-----` around the base64 DER, 64 columns wide.
fn pem_public_key(der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut pem = String::from("-----BEGIN PUBLIC KEY-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(chunk));
        pem.push('\n');
    }
    pem.push_str("-----END PUBLIC KEY-----\n");
    pem
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A P-256 SubjectPublicKeyInfo (the generator point as the key).
    const P256_SPKI: &str = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEaxfR8uEsQkf4vOblY6RA8ncDfYEt6zOg9KE5RdiYwpZP40Li/hp/m47n60p8D54WK84zV2sxXs7LtkBoN79R9Q==";

    #[test]
    fn reads_both_formats() {
        let tuf = format!(
            r#"{{"keys":[{{"keyId":"SHA256:a","keyUsage":"npm:attestations","publicKey":{{"rawBytes":"{P256_SPKI}","keyDetails":"PKIX_ECDSA_P256_SHA_256","validFor":{{"start":"2022-12-01T00:00:00.000Z"}}}}}},
            {{"keyId":"SHA256:b","keyUsage":"npm:signatures","publicKey":{{"rawBytes":"{P256_SPKI}"}}}}]}}"#
        );
        let keys = NpmRegistryKeys::parse(tuf.as_bytes()).unwrap();
        keys.attestation_key("SHA256:a").unwrap();
        assert!(matches!(
            keys.attestation_key("SHA256:b"),
            Err(NpmError::MissingRegistryKey { .. })
        ));
        let registry = format!(
            r#"{{"keys":[{{"expires":null,"keyid":"SHA256:c","keytype":"ecdsa-sha2-nistp256","scheme":"ecdsa-sha2-nistp256","key":"{P256_SPKI}"}}]}}"#
        );
        let keys = NpmRegistryKeys::parse(registry.as_bytes()).unwrap();
        keys.attestation_key("SHA256:c").unwrap();
        for bad in [
            &br#"{"keys": 1}"#[..],
            br#"{"keys":[{"keyid":"x","key":"!!"}]}"#,
            br#"{"keys":[{"other":1}]}"#,
        ] {
            let e = NpmRegistryKeys::parse(bad).unwrap_err();
            assert_eq!(e.code(), "npm-invalid-registry-keys");
        }
        let not_a_key = NpmRegistryKeys::parse(br#"{"keys":[{"keyid":"x","key":"AAAA"}]}"#)
            .unwrap()
            .attestation_key("x")
            .unwrap_err();
        assert_eq!(not_a_key.code(), "npm-invalid-registry-keys");
    }
}
