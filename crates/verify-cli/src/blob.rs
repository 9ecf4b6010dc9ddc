//! `verify blob`: a file or digest against a Sigstore bundle.

use std::fs::File;
use std::process::ExitCode;

use verify_core::bundle::{read_bounded, ReadError};
use verify_core::identity::{GithubWorkflowPolicy, IdentityPolicy, KeyPolicy, StringMatcher};
use verify_core::{Artifact, Limits, Policy, TypedDigest, Verifier, VerifyError};

use crate::cli::{BlobArgs, SignerArgs};
use crate::output;

/// Files up to this size are read into memory (any key type works); larger
/// ones are streamed through the hasher in constant memory.
const IN_MEMORY_ARTIFACT_BYTES: u64 = 64 * 1024 * 1024;

pub fn run(args: &BlobArgs) -> ExitCode {
    let format = args.output;
    let limits = Limits::default();
    let policy = match build_policy(&args.signer, &limits) {
        Ok(p) => p,
        Err(Usage(msg)) => return output::usage(format, &msg),
    };
    let verifier = match crate::trust::load_verifier(args.signer.trusted_root.as_deref(), &limits) {
        Ok(v) => v,
        Err(e) => return output::failure(format, &e),
    };
    let bundle = match verify_core::bundle::read_file(&args.bundle, limits.max_bundle_bytes) {
        Ok(b) => b,
        Err(e) => return output::failure(format, &e.into()),
    };
    let result = if looks_like_digest(&args.artifact) {
        match TypedDigest::parse(&args.artifact) {
            Ok(d) => match d.as_sha256() {
                Some(sha256) => verifier.verify_bundle(&bundle, Artifact::Digest(sha256), &policy),
                None => verifier.verify_bundle(&bundle, Artifact::TypedDigest(d), &policy),
            },
            Err(e) => Err(e.into()),
        }
    } else {
        verify_file(&verifier, &bundle, &args.artifact, &policy)
    };
    match result {
        Ok(v) => output::success(format, &v),
        Err(e) => output::failure(format, &e),
    }
}

/// Whether the artifact argument is a digest (`<algorithm>:<hex>`) rather
/// than a path: it starts with `sha256:`, `sha384:` or `sha512:` (then a
/// malformed value is a bad digest), or it is not an existing file and is
/// an algorithm name, a colon and hex digits, so that `md5:...` is refused
/// as an unsupported algorithm, not as an unreadable file.
fn looks_like_digest(arg: &str) -> bool {
    if ["sha256:", "sha384:", "sha512:"]
        .iter()
        .any(|p| arg.starts_with(p))
    {
        return true;
    }
    if std::path::Path::new(arg).exists() {
        return false;
    }
    arg.split_once(':').is_some_and(|(alg, hex)| {
        !alg.is_empty()
            && alg
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            && hex.chars().all(|c| c.is_ascii_hexdigit())
    })
}

fn verify_file(
    verifier: &Verifier,
    bundle: &[u8],
    path: &str,
    policy: &Policy,
) -> Result<std::sync::Arc<verify_core::Verified>, VerifyError> {
    let mut file = File::open(path).map_err(VerifyError::ArtifactRead)?;
    let len = file.metadata().map_err(VerifyError::ArtifactRead)?.len();
    if len <= IN_MEMORY_ARTIFACT_BYTES {
        let bytes = match read_bounded(path.as_ref(), IN_MEMORY_ARTIFACT_BYTES as usize) {
            Ok(b) => b,
            Err(ReadError::Io(e)) => return Err(VerifyError::ArtifactRead(e)),
            Err(ReadError::TooLarge { .. }) => {
                return verifier.verify_bundle(bundle, Artifact::Reader(&mut file), policy)
            }
        };
        verifier.verify_bundle(bundle, Artifact::Bytes(&bytes), policy)
    } else {
        verifier.verify_bundle(bundle, Artifact::Reader(&mut file), policy)
    }
}

/// A usage problem: exit status 2.
pub struct Usage(pub String);

/// Build the signer policy from the flags (cosign's rules: a key, or both an
/// identity and an issuer).
pub fn build_policy(signer: &SignerArgs, limits: &Limits) -> Result<Policy, Usage> {
    if let Some(key_path) = &signer.key {
        let pem = read_bounded(key_path, limits.max_key_bytes).map_err(|e| {
            Usage(format!(
                "cannot read --key {}: {}",
                key_path.display(),
                match e {
                    ReadError::Io(e) => e.to_string(),
                    ReadError::TooLarge { limit, .. } => format!("larger than {limit} bytes"),
                }
            ))
        })?;
        let pem = String::from_utf8(pem)
            .map_err(|_| Usage(format!("--key {}: not a PEM file", key_path.display())))?;
        let mut key = KeyPolicy::from_pem(&pem)
            .map_err(|e| Usage(format!("--key {}: {e}", key_path.display())))?;
        key.insecure_ignore_tlog = signer.insecure_ignore_tlog;
        return Ok(Policy::Key(key));
    }
    let identity = match (
        &signer.certificate_identity,
        &signer.certificate_identity_regexp,
    ) {
        (Some(exact), None) => StringMatcher::exact(exact),
        (None, Some(re)) => StringMatcher::regex("certificate-identity-regexp", re)
            .map_err(|e| Usage(e.to_string()))?,
        _ => {
            return Err(Usage(
                "give --certificate-identity or --certificate-identity-regexp (or --key)".into(),
            ))
        }
    };
    let issuer = match (
        &signer.certificate_oidc_issuer,
        &signer.certificate_oidc_issuer_regexp,
    ) {
        (Some(exact), None) => StringMatcher::exact(exact),
        (None, Some(re)) => StringMatcher::regex("certificate-oidc-issuer-regexp", re)
            .map_err(|e| Usage(e.to_string()))?,
        _ => {
            return Err(Usage(
                "give --certificate-oidc-issuer or --certificate-oidc-issuer-regexp (or --key)"
                    .into(),
            ))
        }
    };
    let mut policy = IdentityPolicy::new(identity, issuer);
    policy.github = GithubWorkflowPolicy {
        trigger: signer.certificate_github_workflow_trigger.clone(),
        sha: signer.certificate_github_workflow_sha.clone(),
        name: signer.certificate_github_workflow_name.clone(),
        repository: signer.certificate_github_workflow_repository.clone(),
        git_ref: signer.certificate_github_workflow_ref.clone(),
    };
    policy.insecure_ignore_tlog = signer.insecure_ignore_tlog;
    policy.insecure_ignore_sct = signer.insecure_ignore_sct;
    Ok(Policy::Identity(policy))
}
