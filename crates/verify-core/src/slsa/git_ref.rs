//! Git refs, and the `--source-branch`, `--source-tag` and
//! `--source-versioned-tag` rules.
//!
//! A ref is `refs/<type>/<name>`: a branch is `refs/heads/<name>`, a tag
//! `refs/tags/<name>`. A rule that needs a tag refuses a branch build with
//! [`SlsaError::InvalidRef`] (not a tag mismatch: there is no tag to
//! compare), and the same for branches.
//!
//! `--source-tag` compares the tag exactly: `v1.2` does not match `v1.2.3`.
//! `--source-versioned-tag` compares semantic versions (Go semver): the
//! major version must be equal; the minor only if the user gave one; the
//! patch (with any prerelease, which sticks to it) only if the user gave
//! one. The provenance tag is canonicalised first (`v14` is `v14.0.0`, a
//! `+build` suffix is dropped), so `v1` matches any `v1.x.y`, `v1.2`
//! matches `v1.2.x`, and `v14.2` in the provenance does not match `v14.2.1`.

use super::error::SlsaError;
use super::semver;

/// Split `refs/<type>/<name>` into its type and name; anything else has no
/// type and is all name.
pub fn parse_ref(r: &str) -> (&str, &str) {
    let mut parts = r.splitn(3, '/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("refs"), Some(kind), Some(name)) => (kind, name),
        _ => ("", r),
    }
}

fn name_of_kind<'a>(
    r: &'a str,
    kind: &str,
    what: &'static str,
    expected: &'static str,
) -> Result<&'a str, SlsaError> {
    match parse_ref(r) {
        (k, name) if k == kind && !name.is_empty() => Ok(name),
        _ => Err(SlsaError::InvalidRef {
            what,
            expected,
            found: r.to_string(),
        }),
    }
}

/// The tag name of `refs/tags/<name>`.
pub fn tag_from_ref<'a>(r: &'a str, what: &'static str) -> Result<&'a str, SlsaError> {
    name_of_kind(r, "tags", what, "a tag ref (refs/tags/<name>)")
}

/// The branch name of `refs/heads/<name>`.
pub fn branch_from_ref<'a>(r: &'a str, what: &'static str) -> Result<&'a str, SlsaError> {
    name_of_kind(r, "heads", what, "a branch ref (refs/heads/<name>)")
}

/// `--source-branch`: the provenance's branch ref must name `expected`.
pub fn verify_branch(branch_ref: &str, expected: &str) -> Result<(), SlsaError> {
    let branch = branch_from_ref(branch_ref, "provenance source branch")?;
    if branch != expected {
        return Err(SlsaError::MismatchBranch {
            expected: expected.to_string(),
            found: branch.to_string(),
        });
    }
    Ok(())
}

/// `--source-tag`: the provenance's tag ref must name exactly `expected`.
pub fn verify_tag(tag_ref: &str, expected: &str) -> Result<(), SlsaError> {
    let tag = tag_from_ref(tag_ref, "provenance source tag")?;
    if tag != expected {
        return Err(SlsaError::MismatchTag {
            expected: expected.to_string(),
            found: tag.to_string(),
        });
    }
    Ok(())
}

/// `--source-versioned-tag`: the provenance's tag ref must be a version
/// that `expected` names (see the module docs).
pub fn verify_versioned_tag(tag_ref: &str, expected: &str) -> Result<(), SlsaError> {
    let tag = tag_from_ref(tag_ref, "provenance source tag")?;
    versioned_tag_matches(tag, expected)
}

/// The semver comparison of [`verify_versioned_tag`] on a bare tag.
pub fn versioned_tag_matches(tag: &str, expected: &str) -> Result<(), SlsaError> {
    if !semver::is_valid(expected) {
        return Err(SlsaError::InvalidSemver {
            what: "--source-versioned-tag",
            found: expected.to_string(),
        });
    }
    let canonical = semver::canonical(tag);
    if !semver::is_valid(&canonical) {
        return Err(SlsaError::InvalidSemver {
            what: "provenance source tag",
            found: tag.to_string(),
        });
    }
    let mismatch = |part: &'static str, e: &str, f: &str| SlsaError::MismatchVersionedTag {
        part,
        expected: e.to_string(),
        found: f.to_string(),
        tag: tag.to_string(),
    };
    let (expected_major, major) = (semver::major(expected), semver::major(&canonical));
    if expected_major != major {
        return Err(mismatch("major", expected_major, major));
    }
    // Parts are split on every '.', as slsa-verifier does: a prerelease's
    // own dots make further parts, and the patch part keeps its prerelease.
    let expected_parts: Vec<&str> = expected.split('.').collect();
    let parts: Vec<&str> = canonical.split('.').collect();
    if let Some(expected_minor) = expected_parts.get(1) {
        let minor = parts.get(1).copied().unwrap_or_default();
        if *expected_minor != minor {
            return Err(mismatch("minor", expected_minor, minor));
        }
    }
    if let Some(expected_patch) = expected_parts.get(2) {
        let expected_patch = expected_patch
            .strip_suffix(semver::build(expected))
            .unwrap_or(expected_patch);
        let patch = parts.get(2).copied().unwrap_or_default();
        if expected_patch != patch {
            return Err(mismatch("patch", expected_patch, patch));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs_parse() {
        assert_eq!(parse_ref("refs/heads/main"), ("heads", "main"));
        assert_eq!(parse_ref("refs/heads/feat/x"), ("heads", "feat/x"));
        assert_eq!(parse_ref("refs/tags/v1"), ("tags", "v1"));
        assert_eq!(parse_ref("main"), ("", "main"));
        assert_eq!(parse_ref("refs/heads"), ("", "refs/heads"));
        assert_eq!(tag_from_ref("refs/tags/v1", "x").unwrap(), "v1");
        assert!(matches!(
            tag_from_ref("refs/tags/", "x"),
            Err(SlsaError::InvalidRef { .. })
        ));
        assert!(matches!(
            tag_from_ref("", "x"),
            Err(SlsaError::InvalidRef { .. })
        ));
        assert!(matches!(
            branch_from_ref("refs/tags/v1", "x"),
            Err(SlsaError::InvalidRef { .. })
        ));
    }

    #[test]
    fn branch_rule() {
        verify_branch("refs/heads/main", "main").unwrap();
        assert!(matches!(
            verify_branch("refs/heads/main", "master"),
            Err(SlsaError::MismatchBranch { expected, found }) if expected == "master" && found == "main"
        ));
        // A tag build with no known base branch: there is no branch.
        assert!(matches!(
            verify_branch("", "main"),
            Err(SlsaError::InvalidRef { .. })
        ));
        // An explicitly empty expectation still counts, and fails.
        assert!(matches!(
            verify_branch("refs/heads/main", ""),
            Err(SlsaError::MismatchBranch { .. })
        ));
    }

    #[test]
    fn tag_rule_is_exact() {
        verify_tag("refs/tags/v13.0.30", "v13.0.30").unwrap();
        for other in ["v13.0.29", "v13.0", "v13", "", "13.0.30"] {
            assert!(
                matches!(
                    verify_tag("refs/tags/v13.0.30", other),
                    Err(SlsaError::MismatchTag { .. })
                ),
                "{other}"
            );
        }
        // A branch build has no tag.
        assert!(matches!(
            verify_tag("", "v1.2.3"),
            Err(SlsaError::InvalidRef { .. })
        ));
    }

    fn versioned(tag: &str, expected: &str) -> Result<(), SlsaError> {
        verify_versioned_tag(&format!("refs/tags/{tag}"), expected)
    }

    fn part_of(r: Result<(), SlsaError>) -> &'static str {
        match r {
            Ok(()) => "ok",
            Err(SlsaError::MismatchVersionedTag { part, .. }) => part,
            Err(SlsaError::InvalidSemver { .. }) => "invalid",
            Err(e) => panic!("unexpected {e}"),
        }
    }

    #[test]
    fn versioned_tag_semantics() {
        let cases = [
            // (provenance tag, expected, outcome)
            ("v13.0.30", "v13.0.30", "ok"),
            ("v13.0.30", "v13.0", "ok"),
            ("v13.0.30", "v13", "ok"),
            ("v13.0.30", "v2", "major"),
            ("v13.0.30", "v0", "major"),
            ("v13.0.30", "v13.1", "minor"),
            ("v13.0.30", "v12.9", "major"),
            ("v13.0.30", "v13.0.29", "patch"),
            ("v13.0.30", "v13.0.31", "patch"),
            // Shorthand provenance tags are canonicalised.
            ("v14", "v14", "ok"),
            ("v14", "v14.0", "ok"),
            ("v14", "v14.0.0", "ok"),
            ("v14", "v14.1", "minor"),
            ("v14.2", "v14.2", "ok"),
            ("v14.2", "v14", "ok"),
            ("v14.2", "v14.2.1", "patch"),
            ("v14.2", "v14.1.1", "minor"),
            // Prereleases stick to the patch.
            ("v1.2.3-rc.1", "v1.2", "ok"),
            ("v1.2.3-rc.1", "v1.2.3", "patch"),
            ("v1.2.3", "v1.2.3-rc.1", "patch"),
            ("v1.2.3-rc.1", "v1.2.3-rc.1", "ok"),
            // Build metadata: dropped from the provenance tag, trimmed from
            // the user's patch when it has no dot.
            ("v1.2.3+build.7", "v1.2.3", "ok"),
            ("v1.2.3", "v1.2.3+b", "ok"),
            ("v1.2.3", "v1.2.3+b.5", "patch"),
            // Invalid versions.
            ("v1.2.3", "1.2.3", "invalid"),
            ("v1.2.3", "v1.2-rc", "invalid"),
            ("v1.2.3", "", "invalid"),
            ("release-1", "v1", "invalid"),
            ("v01.2.3", "v1", "invalid"),
        ];
        for (tag, expected, outcome) in cases {
            assert_eq!(
                part_of(versioned(tag, expected)),
                outcome,
                "{tag} vs {expected}"
            );
        }
    }

    #[test]
    fn versioned_tag_needs_a_tag() {
        assert!(matches!(
            verify_versioned_tag("refs/heads/main", "v1"),
            Err(SlsaError::InvalidRef { .. })
        ));
        assert!(matches!(
            verify_versioned_tag("", "v1"),
            Err(SlsaError::InvalidRef { .. })
        ));
    }
}
