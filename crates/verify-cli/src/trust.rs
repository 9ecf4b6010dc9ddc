//! Loading the trust material every command starts from.

use std::path::Path;

use verify_core::{Limits, TrustRoot, Verifier, VerifyError};

/// A verifier for `--trusted-root FILE` (or `SIGSTORE_ROOT_FILE`), or for the
/// built-in public-good root when none is given.
pub fn load_verifier(
    trusted_root: Option<&Path>,
    limits: &Limits,
) -> Result<Verifier, VerifyError> {
    let root = match trusted_root {
        Some(path) => TrustRoot::from_file(path, limits)?,
        None => TrustRoot::production()?,
    };
    Ok(Verifier::new(root)?.with_limits(*limits))
}
