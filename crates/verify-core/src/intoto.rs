//! in-toto statements: the one place their constants and subjects are read.
//!
//! Every path that binds an attestation to what it describes (blob bundles,
//! image attestations, cosign's referrer bundles, BuildKit's in-index
//! attestations, SLSA provenance) reads the statement's `subject` list here,
//! leniently: a subject whose digest map is not an object of strings is
//! skipped, never fatal, because the strict reading belongs to the rules that
//! need it (SLSA's). Digest algorithm names are compared as in-toto writes
//! them (`sha256`, `sha384`, `sha512`); hex values case-insensitively.

use std::collections::BTreeMap;

/// DSSE payload type of in-toto statements.
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// The SLSA provenance v0.2 predicate type.
pub const SLSA_PROVENANCE_V02: &str = "https://slsa.dev/provenance/v0.2";
/// The SLSA provenance v1 predicate type.
pub const SLSA_PROVENANCE_V1: &str = "https://slsa.dev/provenance/v1";

/// One subject of a statement: its name and its digests by algorithm, with
/// hex values as written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Subject {
    pub(crate) name: String,
    pub(crate) digest: BTreeMap<String, String>,
    /// The subject's `annotations` object, if any (cosign's claims).
    pub(crate) annotations: Option<serde_json::Map<String, serde_json::Value>>,
}

impl Subject {
    /// Whether this subject carries `hex` under `algorithm`.
    pub(crate) fn has(&self, algorithm: &str, hex: &str) -> bool {
        self.digest
            .get(algorithm)
            .is_some_and(|d| d.eq_ignore_ascii_case(hex))
    }

    /// `name algorithm:hex` for each digest of this subject under
    /// `algorithm`, for error messages.
    pub(crate) fn describe(&self, algorithm: &str) -> Option<String> {
        self.digest
            .get(algorithm)
            .map(|d| format!("{} {algorithm}:{}", self.name, d.to_ascii_lowercase()))
    }
}

/// The subjects of a statement given as JSON.
pub(crate) fn subjects(statement: &serde_json::Value) -> Vec<Subject> {
    statement
        .get("subject")
        .map(subject_list)
        .unwrap_or_default()
}

/// The subjects in a statement's `subject` value.
pub(crate) fn subject_list(list: &serde_json::Value) -> Vec<Subject> {
    let Some(list) = list.as_array() else {
        return Vec::new();
    };
    list.iter()
        .map(|s| Subject {
            name: s
                .get("name")
                .and_then(|n| n.as_str())
                .unwrap_or_default()
                .to_string(),
            digest: s
                .get("digest")
                .and_then(|d| d.as_object())
                .map(|d| {
                    d.iter()
                        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                        .collect()
                })
                .unwrap_or_default(),
            annotations: s.get("annotations").and_then(|a| a.as_object()).cloned(),
        })
        .collect()
}

/// The subjects of a statement given as payload bytes; none when the bytes
/// are not JSON.
pub(crate) fn subjects_of_payload(payload: &[u8]) -> Vec<Subject> {
    serde_json::from_slice::<serde_json::Value>(payload)
        .map(|v| subjects(&v))
        .unwrap_or_default()
}

/// The first subject carrying `hex` under `algorithm`.
pub(crate) fn find<'a>(subjects: &'a [Subject], algorithm: &str, hex: &str) -> Option<&'a Subject> {
    subjects.iter().find(|s| s.has(algorithm, hex))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_read_leniently_and_matched_by_algorithm() {
        let statement = serde_json::json!({"subject": [
            {"name": "a", "digest": {"sha512": "AB", "sha256": "cd"}, "annotations": {"k": "v"}},
            {"name": "b", "digest": "not a map"},
            {"digest": {"sha384": "ef", "bad": 1}},
        ]});
        let s = subjects(&statement);
        assert_eq!(s.len(), 3);
        assert!(s[0].has("sha512", "ab"));
        assert!(!s[0].has("sha384", "ab"));
        assert!(s[1].digest.is_empty());
        assert_eq!(s[2].digest.len(), 1);
        assert_eq!(find(&s, "sha384", "EF").map(|s| s.name.as_str()), Some(""));
        assert_eq!(s[0].describe("sha512").as_deref(), Some("a sha512:ab"));
        assert!(s[0].annotations.is_some());
        assert!(subjects_of_payload(b"not json").is_empty());
        assert!(subjects(&serde_json::json!({"subject": 1})).is_empty());
    }
}
