//! Remembering signatures already verified, so the same signature is not
//! checked twice.
//!
//! `sigstore-verify` re-verifies material that does not change between
//! bundles: a timestamp authority's certificate chain is validated on every
//! RFC 3161 token, and a Rekor SET is checked twice per bundle (once to trust
//! the integrated time, once with the other log evidence). With the trust
//! root loaded once, that repeated work dominates the cost of a fresh bundle.
//! The crate offers no hook to skip it, but it does route every signature
//! check through `sigstore-crypto`'s pluggable [`CryptoProvider`]; this module
//! extends the crate there rather than forking it.
//!
//! What is remembered is only that one exact signature verified: the key is
//! SHA-256 over (scheme, public key, signed message, signature). A success is
//! a pure fact about those bytes and can never become false, so a hit returns
//! exactly what a fresh check would. Failures are never remembered, and every
//! actual check is done by aws-lc-rs (through `sigstore-crypto`'s own
//! provider): no cryptography is reimplemented here.
//!
//! Each [`crate::Verifier`] owns its memo (bounded; oldest first out). The
//! provider installed into `sigstore-crypto` is a stateless dispatcher: it
//! consults the memo of the verifier that is running *on this thread*, which
//! [`enter`] sets for the duration of one verification. Outside a
//! verification (or if the host process installed another provider first)
//! checks go straight to aws-lc-rs, uncached.

use std::cell::RefCell;
use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use crate::digest::Sha256;
use sigstore_crypto::provider::{CryptoProvider, HashContext, SigningKeyPair};
use sigstore_crypto::{KeyAlgorithm, SigningScheme};
use sigstore_types::HashAlgorithm;

/// Messages larger than this are not remembered: hashing them again would
/// cost about as much as the check it saves, and they are never the
/// repeated trust-root material this cache exists for.
const MAX_MEMO_MESSAGE_BYTES: usize = 64 * 1024;

/// A bounded set of (scheme, key, message, signature) tuples known to verify.
pub struct SignatureMemo {
    inner: Mutex<MemoSet>,
    capacity: usize,
}

#[derive(Default)]
struct MemoSet {
    seen: HashSet<[u8; 32]>,
    order: VecDeque<[u8; 32]>,
}

impl SignatureMemo {
    /// A memo remembering at most `capacity` signatures.
    pub fn new(capacity: usize) -> Self {
        Self {
            inner: Mutex::default(),
            capacity: capacity.max(1),
        }
    }

    fn contains(&self, key: &[u8; 32]) -> bool {
        let set = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        set.seen.contains(key)
    }

    fn remember(&self, key: [u8; 32]) {
        let mut set = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if set.seen.insert(key) {
            set.order.push_back(key);
            while set.order.len() > self.capacity {
                if let Some(old) = set.order.pop_front() {
                    set.seen.remove(&old);
                }
            }
        }
    }
}

thread_local! {
    /// The memo of the verification running on this thread, if any.
    static ACTIVE: RefCell<Option<Arc<SignatureMemo>>> = const { RefCell::new(None) };
}

/// Restores the previously active memo when a verification ends.
pub(crate) struct Scope {
    previous: Option<Arc<SignatureMemo>>,
}

impl Drop for Scope {
    fn drop(&mut self) {
        let previous = self.previous.take();
        ACTIVE.with(|active| *active.borrow_mut() = previous);
    }
}

/// Make `memo` the active memo on this thread until the returned guard drops.
pub(crate) fn enter(memo: &Arc<SignatureMemo>) -> Scope {
    install();
    let previous = ACTIVE.with(|active| active.borrow_mut().replace(Arc::clone(memo)));
    Scope { previous }
}

/// Install the dispatcher into sigstore-crypto, once per process. If the host
/// installed its own provider first, that one stays and nothing is cached.
fn install() {
    static DISPATCHER: MemoDispatcher = MemoDispatcher;
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        if sigstore_crypto::provider::install_default_provider(&DISPATCHER).is_err() {
            // Another provider was installed by the host: leave it in charge.
        }
    });
}

fn memo_key(tag: &[u8], scheme: SigningScheme, key: &[u8], message: &[u8], sig: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(tag);
    h.update(scheme.name().as_bytes());
    for part in [key, message, sig] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    h.finish()
}

/// The provider installed into sigstore-crypto: aws-lc-rs for every
/// operation, with the active verifier's memo in front of signature checks.
#[derive(Debug)]
struct MemoDispatcher;

impl MemoDispatcher {
    fn check(
        tag: &'static [u8],
        scheme: SigningScheme,
        key: &[u8],
        message: &[u8],
        sig: &[u8],
        verify: impl FnOnce() -> sigstore_crypto::Result<()>,
    ) -> sigstore_crypto::Result<()> {
        let memo = if message.len() <= MAX_MEMO_MESSAGE_BYTES {
            ACTIVE.with(|active| active.borrow().clone())
        } else {
            None
        };
        let Some(memo) = memo else {
            return verify();
        };
        let id = memo_key(tag, scheme, key, message, sig);
        if memo.contains(&id) {
            return Ok(());
        }
        verify()?;
        memo.remember(id);
        Ok(())
    }
}

impl CryptoProvider for MemoDispatcher {
    fn hash(&self, algorithm: HashAlgorithm) -> sigstore_crypto::Result<Box<dyn HashContext>> {
        sigstore_crypto::aws_lc_provider().hash(algorithm)
    }

    fn sha256(&self, data: &[u8]) -> [u8; 32] {
        sigstore_crypto::aws_lc_provider().sha256(data)
    }

    fn sha384(&self, data: &[u8]) -> [u8; 48] {
        sigstore_crypto::aws_lc_provider().sha384(data)
    }

    fn sha512(&self, data: &[u8]) -> [u8; 64] {
        sigstore_crypto::aws_lc_provider().sha512(data)
    }

    fn verify_raw(
        &self,
        scheme: SigningScheme,
        key: &[u8],
        data: &[u8],
        signature: &[u8],
    ) -> sigstore_crypto::Result<()> {
        Self::check(b"raw", scheme, key, data, signature, || {
            sigstore_crypto::aws_lc_provider().verify_raw(scheme, key, data, signature)
        })
    }

    fn verify_prehashed(
        &self,
        scheme: SigningScheme,
        key: &[u8],
        digest: &[u8],
        signature: &[u8],
    ) -> sigstore_crypto::Result<()> {
        Self::check(b"prehashed", scheme, key, digest, signature, || {
            sigstore_crypto::aws_lc_provider().verify_prehashed(scheme, key, digest, signature)
        })
    }

    fn generate_key_pair(
        &self,
        algorithm: KeyAlgorithm,
    ) -> sigstore_crypto::Result<Box<dyn SigningKeyPair>> {
        sigstore_crypto::aws_lc_provider().generate_key_pair(algorithm)
    }

    fn key_pair_from_pkcs8_der(
        &self,
        pkcs8: &[u8],
    ) -> sigstore_crypto::Result<Box<dyn SigningKeyPair>> {
        sigstore_crypto::aws_lc_provider().key_pair_from_pkcs8_der(pkcs8)
    }
}
