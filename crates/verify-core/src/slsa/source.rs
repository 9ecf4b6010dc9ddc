//! The source repository: `--source-uri` against the certificate, then
//! against the provenance.
//!
//! `--source-uri` is accepted as `github.com/owner/repo`,
//! `git+https://github.com/owner/repo` or `https://github.com/owner/repo`
//! where slsa-verifier accepts them:
//!
//! 1. Against the certificate ([`verify_certificate_source`]), before the
//!    provenance is read: a leading `git+https://`, then `github.com/`, is
//!    removed and the rest must equal the certificate's repository
//!    (`owner/repo`) exactly. So `https://github.com/o/r` does *not* match
//!    here (slsa-verifier's behaviour, kept so the same flags give the same
//!    verdict).
//! 2. Against the provenance ([`verify_source_uri`]): the flag is normalised
//!    to `git+https://…` and must be on `github.com`; the trigger URI and the
//!    source material must both be that repository, both with a ref, and
//!    equal to each other (ref included), except that BYOB builds may build
//!    another commit than the trigger's and record no ref.

use super::error::SlsaError;
use super::provenance::Provenance;
use super::workflow::WorkflowIdentity;

/// `--source-uri` against the certificate's repository.
pub fn verify_certificate_source(
    identity: &WorkflowIdentity,
    source_uri: &str,
) -> Result<(), SlsaError> {
    let expected = source_uri
        .strip_prefix("git+https://")
        .unwrap_or(source_uri);
    let expected = expected.strip_prefix("github.com/").unwrap_or(expected);
    if expected != identity.source_repository {
        return Err(SlsaError::MismatchSource {
            what: "the certificate's source repository",
            expected: expected.to_string(),
            found: identity.source_repository.clone(),
        });
    }
    Ok(())
}

/// A git URI with the `git+` scheme prefix: `git+https://` is added to a
/// bare `host/path`, `git+` to a URL.
pub fn normalize_git_uri(uri: &str) -> String {
    if uri.starts_with("git+") {
        uri.to_string()
    } else if uri.contains("://") {
        format!("git+{uri}")
    } else {
        format!("git+https://{uri}")
    }
}

/// Split `git+…@ref` at its first `@` into the URI and the ref (`""` when
/// absent).
pub fn split_git_uri<'a>(
    uri: &'a str,
    what: &'static str,
) -> Result<(&'a str, &'a str), SlsaError> {
    if uri.is_empty() || !uri.starts_with("git+") {
        return Err(SlsaError::MalformedUri {
            what,
            expected: "a git URI (git+https://…)",
            found: uri.to_string(),
        });
    }
    Ok(uri.split_once('@').unwrap_or((uri, "")))
}

/// `--source-uri` against the provenance's trigger and source material.
pub fn verify_source_uri(provenance: &Provenance, source_uri: &str) -> Result<(), SlsaError> {
    let source = normalize_git_uri(source_uri);
    if !source.starts_with("git+https://github.com/") {
        return Err(SlsaError::MalformedUri {
            what: "--source-uri",
            expected: "a repository on github.com",
            found: source_uri.to_string(),
        });
    }

    let full_trigger = provenance.trigger_uri()?;
    let (trigger, trigger_ref) = split_git_uri(&full_trigger, "provenance trigger URI")?;
    if trigger != source {
        return Err(SlsaError::MismatchSource {
            what: "the provenance's trigger",
            expected: source,
            found: full_trigger.clone(),
        });
    }
    if trigger_ref.is_empty() {
        return Err(SlsaError::MalformedUri {
            what: "provenance trigger URI",
            expected: "a git URI with its ref (…@ref)",
            found: full_trigger.clone(),
        });
    }

    let full_source = provenance.source_uri()?;
    let (material, material_ref) = split_git_uri(full_source, "provenance source URI")?;
    if material != source {
        return Err(SlsaError::MismatchSource {
            what: "the provenance's source material",
            expected: source,
            found: full_source.to_string(),
        });
    }
    if material_ref.is_empty() {
        if provenance.source_ref_optional() {
            return Ok(());
        }
        return Err(SlsaError::MalformedUri {
            what: "provenance source URI",
            expected: "a git URI with its ref (…@ref)",
            found: full_source.to_string(),
        });
    }
    if full_trigger != full_source {
        return Err(SlsaError::InvalidDssePayload {
            expected: format!("the source material to be the trigger {full_trigger:?}"),
            found: format!("{full_source:?}"),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::builder::GENERIC_GENERATOR;
    use super::super::provenance::{GENERIC_BUILD_TYPE, IN_TOTO_PAYLOAD_TYPE, SLSA_V02};
    use super::*;

    fn identity(repo: &str) -> WorkflowIdentity {
        WorkflowIdentity {
            issuer: String::new(),
            subject_workflow: String::new(),
            source_repository: repo.into(),
            source_sha1: String::new(),
            build_trigger: String::new(),
            source_ref: None,
            build_config_path: None,
        }
    }

    #[test]
    fn certificate_source_forms() {
        let id = identity("acme/app");
        for ok in [
            "github.com/acme/app",
            "git+https://github.com/acme/app",
            "acme/app",
        ] {
            verify_certificate_source(&id, ok).unwrap();
        }
        for bad in [
            "https://github.com/acme/app",
            "Agithub.com/acme/app",
            "github.com/acme/appA",
            "github.com/Acme/app",
            "github.com/acme",
            "",
        ] {
            assert!(
                matches!(
                    verify_certificate_source(&id, bad),
                    Err(SlsaError::MismatchSource { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn normalisation() {
        assert_eq!(
            normalize_git_uri("github.com/o/r"),
            "git+https://github.com/o/r"
        );
        assert_eq!(
            normalize_git_uri("https://github.com/o/r"),
            "git+https://github.com/o/r"
        );
        assert_eq!(
            normalize_git_uri("git+https://github.com/o/r"),
            "git+https://github.com/o/r"
        );
        assert_eq!(
            split_git_uri("git+https://x@a@b", "x").unwrap(),
            ("git+https://x", "a@b")
        );
        assert!(matches!(
            split_git_uri("https://x", "x"),
            Err(SlsaError::MalformedUri { .. })
        ));
    }

    fn provenance(trigger: &str, material: &str) -> Provenance {
        let v = json!({
            "_type": "x", "predicateType": SLSA_V02,
            "subject": [{"name": "a", "digest": {"sha256": "00"}}],
            "predicate": {
                "builder": {"id": "b"}, "buildType": GENERIC_BUILD_TYPE,
                "invocation": {"configSource": {"uri": trigger}},
                "materials": [{"uri": material}],
            },
        });
        Provenance::from_envelope(
            GENERIC_GENERATOR,
            IN_TOTO_PAYLOAD_TYPE,
            &serde_json::to_vec(&v).unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn provenance_source() {
        let uri = "git+https://github.com/acme/app@refs/tags/v1";
        let p = provenance(uri, uri);
        for ok in [
            "github.com/acme/app",
            "https://github.com/acme/app",
            "git+https://github.com/acme/app",
        ] {
            verify_source_uri(&p, ok).unwrap();
        }
        assert!(matches!(
            verify_source_uri(&p, "gitlab.com/acme/app"),
            Err(SlsaError::MalformedUri {
                what: "--source-uri",
                ..
            })
        ));
        assert!(matches!(
            verify_source_uri(&p, "github.com/acme/other"),
            Err(SlsaError::MismatchSource {
                what: "the provenance's trigger",
                ..
            })
        ));
        let p = provenance(uri, "git+https://github.com/acme/other@refs/tags/v1");
        assert!(matches!(
            verify_source_uri(&p, "github.com/acme/app"),
            Err(SlsaError::MismatchSource {
                what: "the provenance's source material",
                ..
            })
        ));
        let p = provenance("git+https://github.com/acme/app", uri);
        assert!(matches!(
            verify_source_uri(&p, "github.com/acme/app"),
            Err(SlsaError::MalformedUri {
                what: "provenance trigger URI",
                ..
            })
        ));
        let p = provenance(uri, "git+https://github.com/acme/app");
        assert!(matches!(
            verify_source_uri(&p, "github.com/acme/app"),
            Err(SlsaError::MalformedUri {
                what: "provenance source URI",
                ..
            })
        ));
        let p = provenance(uri, "git+https://github.com/acme/app@refs/tags/v2");
        assert!(matches!(
            verify_source_uri(&p, "github.com/acme/app"),
            Err(SlsaError::InvalidDssePayload { .. })
        ));
        let p = provenance("https://github.com/acme/app@refs/tags/v1", uri);
        assert!(matches!(
            verify_source_uri(&p, "github.com/acme/app"),
            Err(SlsaError::MalformedUri { .. })
        ));
    }
}
