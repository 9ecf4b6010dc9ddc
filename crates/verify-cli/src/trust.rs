//! Loading the trust material every command starts from.
//!
//! In order: `--trusted-root FILE` (or `SIGSTORE_ROOT_FILE`); else the
//! TUF-verified trust root in the cache, when `verify initialize` made one
//! (verified again against the cached TUF metadata, never read blindly, and
//! without the network); else the built-in public-good root. Which one was
//! used is reported by [`source`] (`trust_root_source` in JSON output).

use std::path::Path;
use std::sync::OnceLock;

use verify_core::{Limits, TrustRoot, Verifier, VerifyError};

static SOURCE: OnceLock<&'static str> = OnceLock::new();

/// A cached root older than this is still used, with a note on stderr.
const STALE_NOTE_AFTER: std::time::Duration = std::time::Duration::from_secs(7 * 86_400);

/// Where the trust root of this run came from: `file`, `tuf-cache` or
/// `built-in` (`None` before one was loaded).
pub fn source() -> Option<&'static str> {
    SOURCE.get().copied()
}

/// A verifier for `--trusted-root FILE` (or `SIGSTORE_ROOT_FILE`), else the
/// cached TUF-verified root, else the built-in public-good root.
pub fn load_verifier(
    trusted_root: Option<&Path>,
    limits: &Limits,
) -> Result<Verifier, VerifyError> {
    let (root, source) = match trusted_root {
        Some(path) => (TrustRoot::from_file(path, limits)?, "file"),
        None => match cached_root(limits) {
            Some(root) => (root, "tuf-cache"),
            None => (TrustRoot::production()?, "built-in"),
        },
    };
    let _ = SOURCE.set(source);
    Ok(Verifier::new(root)?.with_limits(*limits))
}

/// A current-thread runtime for `verify initialize`'s network futures.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// The cached root, verified; `None` (with a warning when a cache exists but
/// is refused) otherwise. Never touches the network.
fn cached_root(limits: &Limits) -> Option<TrustRoot> {
    let dir = verify_tuf::default_cache_dir()?;
    let options = match verify_tuf::initialized_options(&dir) {
        Ok(Some(options)) => options.limits(*limits),
        Ok(None) => return None,
        Err(e) => {
            warn_fallback(&dir, &e);
            return None;
        }
    };
    // Loading the cache reads files only (the offline updater has no
    // transport, and nothing here waits on a timer or a socket), so its
    // future is driven to completion on this thread without a runtime: this
    // works the same from a synchronous command and from inside an async one.
    let loaded = verify_tuf::TrustRootUpdater::offline(options)
        .and_then(|updater| futures_executor::block_on(updater.load_cached()));
    match loaded {
        Ok(state) => {
            if let Some(age) = state.age_at(jiff::Timestamp::now()) {
                if age > STALE_NOTE_AFTER {
                    eprintln!(
                        "note: the TUF-verified trust root in {} was last refreshed {} days ago; run `verify initialize` to refresh it.",
                        dir.display(),
                        age.as_secs() / 86_400
                    );
                }
            }
            Some(state.root.clone())
        }
        Err(e) => {
            warn_fallback(&dir, &e);
            None
        }
    }
}

fn warn_fallback(dir: &Path, error: &verify_tuf::TufError) {
    eprintln!(
        "warning: the TUF cache at {} was not used ({error} [{}]); using the built-in trust root. Run `verify initialize` to refresh it.",
        dir.display(),
        error.code()
    );
}
