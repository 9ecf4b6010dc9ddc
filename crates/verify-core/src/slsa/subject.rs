//! The artifact must be a subject of the provenance.
//!
//! The expected digest is hex; its length says the algorithm (64 hex digits
//! is `sha256`, 128 is `sha512`), and anything shorter than 256 bits is
//! refused. Some subject must carry exactly that digest under that
//! algorithm; subject names are not compared (a file may be renamed).

use super::error::SlsaError;
use super::provenance::Subject;

/// Check that some subject has `expected_hex` (lowercase hex).
pub fn verify_digest(subjects: &[Subject], expected_hex: &str) -> Result<(), SlsaError> {
    let bits = expected_hex.len() * 4;
    if bits < 256 {
        return Err(SlsaError::InvalidHash {
            found: expected_hex.to_string(),
        });
    }
    let algorithm = format!("sha{bits}");
    if subjects
        .iter()
        .any(|s| s.digest.get(&algorithm).is_some_and(|d| d == expected_hex))
    {
        return Ok(());
    }
    Err(SlsaError::MismatchHash {
        expected: format!("{algorithm}:{expected_hex}"),
        found: subjects
            .iter()
            .filter_map(|s| {
                s.digest
                    .get(&algorithm)
                    .map(|d| format!("{} {algorithm}:{d}", s.name))
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject(name: &str, alg: &str, hex: &str) -> Subject {
        Subject {
            name: name.into(),
            digest: [(alg.to_string(), hex.to_string())].into(),
        }
    }

    #[test]
    fn any_subject_may_match() {
        let a = "a".repeat(64);
        let b = "b".repeat(64);
        let subjects = [subject("x", "sha256", &b), subject("y", "sha256", &a)];
        verify_digest(&subjects, &a).unwrap();
        let c = "c".repeat(64);
        assert!(matches!(
            verify_digest(&subjects, &c),
            Err(SlsaError::MismatchHash { found, .. }) if found.len() == 2
        ));
    }

    #[test]
    fn algorithm_follows_the_digest_length() {
        let long = "d".repeat(128);
        verify_digest(&[subject("x", "sha512", &long)], &long).unwrap();
        assert!(matches!(
            verify_digest(&[subject("x", "sha256", &long)], &long),
            Err(SlsaError::MismatchHash { .. })
        ));
        // Upper-case hex is another string.
        let upper = "A".repeat(64);
        assert!(matches!(
            verify_digest(&[subject("x", "sha256", &"a".repeat(64))], &upper),
            Err(SlsaError::MismatchHash { .. })
        ));
    }

    #[test]
    fn short_digests_are_refused() {
        assert!(matches!(
            verify_digest(&[subject("x", "sha1", &"e".repeat(40))], &"e".repeat(40)),
            Err(SlsaError::InvalidHash { .. })
        ));
    }
}
