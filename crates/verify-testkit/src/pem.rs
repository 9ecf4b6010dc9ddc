//! PEM text encoding (RFC 7468) with LF line endings, as Fulcio, Rekor and
//! cosign write it.

use base64::{engine::general_purpose::STANDARD, Engine as _};

/// Encode `der` as a PEM block with the given label, 64 base64 characters a
/// line, each line (and the block) ending with `\n`.
pub fn encode(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        // base64 output is ASCII, so every chunk is valid UTF-8.
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn wraps_at_64_columns() {
        let pem = super::encode("PUBLIC KEY", &[7u8; 100]);
        let lines: Vec<&str> = pem.lines().collect();
        assert_eq!(lines.first(), Some(&"-----BEGIN PUBLIC KEY-----"));
        assert_eq!(lines.last(), Some(&"-----END PUBLIC KEY-----"));
        assert_eq!(lines[1].len(), 64);
        assert!(pem.ends_with("-----\n"));
        assert!(!pem.contains('\r'));
    }
}
