//! Every hash this project computes itself: SHA-256, SHA-384 and SHA-512, on
//! aws-lc-rs.
//!
//! One module so that, in the FIPS build (`--features fips`), every digest of
//! ours is computed inside the AWS-LC FIPS module, the same module that checks
//! the signatures; RustCrypto's `sha2` is outside it. aws-lc-rs is used in
//! both builds, not only the FIPS one: one code path, no behaviour that
//! differs between the builds. Both aws-lc and `sha2` use the CPU's SHA
//! extensions where present; `cargo bench -p verify-core --bench digest`
//! prints the ratio against `sha2` (not yet run on an unloaded machine).
//!
//! The surface is deliberately small: one-shot functions and one incremental
//! hasher per algorithm, returning fixed-size arrays.

use aws_lc_rs::digest;

/// SHA-256 of `data`.
pub fn sha256(data: impl AsRef<[u8]>) -> [u8; 32] {
    fixed(digest::digest(&digest::SHA256, data.as_ref()).as_ref())
}

/// SHA-384 of `data`.
pub fn sha384(data: impl AsRef<[u8]>) -> [u8; 48] {
    fixed(digest::digest(&digest::SHA384, data.as_ref()).as_ref())
}

/// SHA-512 of `data`.
pub fn sha512(data: impl AsRef<[u8]>) -> [u8; 64] {
    fixed(digest::digest(&digest::SHA512, data.as_ref()).as_ref())
}

fn fixed<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    // The algorithm fixes the length; a mismatch cannot happen.
    out.copy_from_slice(&bytes[..N]);
    out
}

macro_rules! hasher {
    ($(#[$doc:meta])* $name:ident, $alg:expr, $len:literal) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name(digest::Context);

        impl $name {
            /// A hasher over nothing yet.
            pub fn new() -> Self {
                Self(digest::Context::new(&$alg))
            }

            /// Feed `data`.
            pub fn update(&mut self, data: impl AsRef<[u8]>) {
                self.0.update(data.as_ref());
            }

            /// The digest of everything fed.
            pub fn finish(self) -> [u8; $len] {
                fixed(self.0.finish().as_ref())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(stringify!($name))
            }
        }

        impl std::io::Write for $name {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.update(buf);
                Ok(buf.len())
            }

            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
    };
}

hasher!(
    /// Incremental SHA-256.
    Sha256,
    digest::SHA256,
    32
);
hasher!(
    /// Incremental SHA-384.
    Sha384,
    digest::SHA384,
    48
);
hasher!(
    /// Incremental SHA-512.
    Sha512,
    digest::SHA512,
    64
);

#[cfg(test)]
mod tests {
    use super::*;

    /// FIPS 180-4's "abc" vectors, one-shot and incremental in pieces.
    #[test]
    fn known_answers() {
        assert_eq!(
            hex::encode(sha256(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hex::encode(sha384(b"abc")),
            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed\
             8086072ba1e7cc2358baeca134c825a7"
        );
        let expected512 = "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a\
                           2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f";
        assert_eq!(hex::encode(sha512(b"abc")), expected512);
        let mut h = Sha512::new();
        h.update(b"a");
        h.update(b"bc");
        assert_eq!(hex::encode(h.finish()), expected512);
        let mut h = Sha256::default();
        std::io::Write::write_all(&mut h, b"ab").unwrap();
        h.update(b"c");
        assert_eq!(h.finish(), sha256(b"abc"));
    }
}
