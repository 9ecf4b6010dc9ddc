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

/// Check that some subject has one of `candidates` (lowercase hex, each
/// of its own algorithm, e.g. an artifact's SHA-256 and SHA-512). The error
/// is that of the first candidate whose algorithm the subjects use (else of
/// the first candidate), so it lists the subjects that could have matched.
pub fn verify_any_digest<'a>(
    subjects: &[Subject],
    candidates: &'a [String],
) -> Result<&'a str, SlsaError> {
    let mut first = None;
    let mut relevant = None;
    for hex in candidates {
        match verify_digest(subjects, hex) {
            Ok(()) => return Ok(hex),
            Err(e) => {
                let algorithm = format!("sha{}", hex.len() * 4);
                if relevant.is_none() && subjects.iter().any(|s| s.digest.contains_key(&algorithm))
                {
                    relevant = Some(e);
                } else if first.is_none() {
                    first = Some(e);
                }
            }
        }
    }
    Err(relevant
        .or(first)
        .unwrap_or_else(|| SlsaError::InvalidHash {
            found: String::new(),
        }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_candidate_algorithm_may_match() {
        let a256 = "a".repeat(64);
        let a512 = "b".repeat(128);
        let npm = [subject("pkg", "sha512", &a512)];
        let both = [a256.clone(), a512.clone()];
        assert_eq!(verify_any_digest(&npm, &both).unwrap(), a512);
        match verify_any_digest(&npm, &[a256.clone(), "c".repeat(128)]) {
            Err(SlsaError::MismatchHash { expected, found }) => {
                assert!(expected.starts_with("sha512:"), "{expected}");
                assert_eq!(found.len(), 1);
            }
            other => panic!("{other:?}"),
        }
        assert!(verify_any_digest(&[subject("x", "sha256", &a256)], &[a256, a512]).is_ok());
    }

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
