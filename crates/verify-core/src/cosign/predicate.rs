//! `--type`: the predicate an attestation must carry, named as cosign names
//! them or given as a URI.

/// The predicate type URI for a `--type` value: one of cosign's names, or
/// an absolute URI taken as it is.
pub fn predicate_type_uri(name: &str) -> Result<String, String> {
    let uri = match name {
        "custom" => "https://cosign.sigstore.dev/attestation/v1",
        "slsaprovenance" | "slsaprovenance02" => crate::intoto::SLSA_PROVENANCE_V02,
        "slsaprovenance1" => crate::intoto::SLSA_PROVENANCE_V1,
        "spdx" | "spdxjson" => "https://spdx.dev/Document",
        "cyclonedx" => "https://cyclonedx.org/bom",
        "link" => "https://in-toto.io/Link/v1",
        "vuln" => "https://cosign.sigstore.dev/attestation/vuln/v1",
        "openvex" => "https://openvex.dev/ns",
        uri if is_absolute_uri(uri) => uri,
        other => {
            return Err(format!(
                "--type {other:?}: expected slsaprovenance, slsaprovenance02, slsaprovenance1, spdx, spdxjson, cyclonedx, link, vuln, openvex, custom, or a predicate type URI"
            ))
        }
    };
    Ok(uri.to_string())
}

/// `scheme:rest` with an RFC 3986 scheme and no whitespace.
fn is_absolute_uri(text: &str) -> bool {
    let Some((scheme, rest)) = text.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        && !rest.is_empty()
        && !text.chars().any(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_uris() {
        assert_eq!(
            predicate_type_uri("slsaprovenance").unwrap(),
            "https://slsa.dev/provenance/v0.2"
        );
        assert_eq!(
            predicate_type_uri("slsaprovenance1").unwrap(),
            "https://slsa.dev/provenance/v1"
        );
        assert_eq!(
            predicate_type_uri("https://example.com/p/v1").unwrap(),
            "https://example.com/p/v1"
        );
        assert!(predicate_type_uri("slsa").is_err());
        assert!(predicate_type_uri("1http://x").is_err());
    }
}
