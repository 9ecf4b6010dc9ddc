//! Semantic versions exactly as Go's `golang.org/x/mod/semver` reads them,
//! because slsa-verifier decides `--source-versioned-tag` and builder tags
//! with that package and a different reading would accept other tags.
//!
//! The grammar: a leading `v`; a major number, optionally followed by
//! `.minor` and `.patch` (numbers without leading zeros); after a full
//! `vX.Y.Z` only, an optional `-prerelease` and an optional `+build` made of
//! dot-separated `[0-9A-Za-z-]` identifiers (no empty identifier, and no
//! numeric prerelease identifier with a leading zero). The shorthands `v1`
//! and `v1.2` are valid and stand for `v1.0.0` and `v1.2.0`.

/// A version split into its parts; `short` is what [`canonical`] appends to
/// a shorthand (`.0.0` or `.0`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Parsed<'a> {
    major: &'a str,
    short: &'static str,
    prerelease: &'a str,
    build: &'a str,
}

fn parse(v: &str) -> Option<Parsed<'_>> {
    let rest = v.strip_prefix('v')?;
    let mut p = Parsed::default();
    let (major, rest) = parse_int(rest)?;
    p.major = major;
    if rest.is_empty() {
        p.short = ".0.0";
        return Some(p);
    }
    let (_minor, rest) = parse_int(rest.strip_prefix('.')?)?;
    if rest.is_empty() {
        p.short = ".0";
        return Some(p);
    }
    let (_patch, mut rest) = parse_int(rest.strip_prefix('.')?)?;
    if rest.starts_with('-') {
        let (pre, r) = parse_prerelease(rest)?;
        p.prerelease = pre;
        rest = r;
    }
    if rest.starts_with('+') {
        let (build, r) = parse_build(rest)?;
        p.build = build;
        rest = r;
    }
    rest.is_empty().then_some(p)
}

/// A decimal number without a leading zero, and the rest.
fn parse_int(v: &str) -> Option<(&str, &str)> {
    let digits = v.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || (digits > 1 && v.starts_with('0')) {
        return None;
    }
    Some(v.split_at(digits))
}

fn is_ident_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-'
}

/// All digits, more than one, starting with `0`.
fn is_bad_num(v: &[u8]) -> bool {
    v.len() > 1 && v[0] == b'0' && v.iter().all(u8::is_ascii_digit)
}

fn parse_prerelease(v: &str) -> Option<(&str, &str)> {
    let b = v.as_bytes();
    let mut i = 1;
    let mut start = 1;
    while i < b.len() && b[i] != b'+' {
        if !is_ident_char(b[i]) && b[i] != b'.' {
            return None;
        }
        if b[i] == b'.' {
            if start == i || is_bad_num(&b[start..i]) {
                return None;
            }
            start = i + 1;
        }
        i += 1;
    }
    if start == i || is_bad_num(&b[start..i]) {
        return None;
    }
    Some(v.split_at(i))
}

fn parse_build(v: &str) -> Option<(&str, &str)> {
    let b = v.as_bytes();
    let mut i = 1;
    let mut start = 1;
    while i < b.len() {
        if !is_ident_char(b[i]) && b[i] != b'.' {
            return None;
        }
        if b[i] == b'.' {
            if start == i {
                return None;
            }
            start = i + 1;
        }
        i += 1;
    }
    if start == i {
        return None;
    }
    Some(v.split_at(i))
}

/// Whether `v` is a valid semantic version (`semver.IsValid`).
pub fn is_valid(v: &str) -> bool {
    parse(v).is_some()
}

/// The canonical form of `v` (`semver.Canonical`): shorthands filled in to
/// `vX.Y.Z`, the prerelease kept, the build dropped; `""` if `v` is invalid.
pub fn canonical(v: &str) -> String {
    match parse(v) {
        None => String::new(),
        Some(p) if !p.build.is_empty() => v[..v.len() - p.build.len()].to_string(),
        Some(p) => format!("{v}{}", p.short),
    }
}

/// The major version prefix, e.g. `v2` (`semver.Major`); `""` if invalid.
pub fn major(v: &str) -> &str {
    parse(v).map_or("", |p| &v[..1 + p.major.len()])
}

/// The prerelease suffix including its `-` (`semver.Prerelease`); `""` if
/// none or invalid.
pub fn prerelease(v: &str) -> &str {
    parse(v).map_or("", |p| p.prerelease)
}

/// The build suffix including its `+` (`semver.Build`); `""` if none or
/// invalid.
pub fn build(v: &str) -> &str {
    parse(v).map_or("", |p| p.build)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_and_invalid_versions() {
        for v in [
            "v1",
            "v1.2",
            "v1.2.3",
            "v0.0.0",
            "v10.20.30",
            "v1.2.3-rc.1",
            "v1.2.3-0",
            "v1.2.3-alpha-beta",
            "v1.2.3+build.5",
            "v1.2.3-rc.1+b",
            "v1.2.3-01a",
        ] {
            assert!(is_valid(v), "{v} should be valid");
        }
        for v in [
            "",
            "1.2.3",
            "v",
            "v01",
            "v1.02",
            "v1.2.03",
            "v1.2-rc",
            "v1+b",
            "v1.2.3-",
            "v1.2.3-rc..1",
            "v1.2.3-01",
            "v1.2.3+",
            "v1.2.3+b..c",
            "v1.2.3-rc_1",
            "v1.2.3.4",
            "V1.2.3",
            " v1",
        ] {
            assert!(!is_valid(v), "{v} should be invalid");
        }
    }

    #[test]
    fn canonical_forms() {
        assert_eq!(canonical("v1"), "v1.0.0");
        assert_eq!(canonical("v1.2"), "v1.2.0");
        assert_eq!(canonical("v1.2.3"), "v1.2.3");
        assert_eq!(canonical("v1.2.3-rc.1"), "v1.2.3-rc.1");
        assert_eq!(canonical("v1.2.3+b"), "v1.2.3");
        assert_eq!(canonical("v1.2.3-rc.1+b.2"), "v1.2.3-rc.1");
        assert_eq!(canonical("1.2.3"), "");
    }

    #[test]
    fn parts() {
        assert_eq!(major("v13.0.30"), "v13");
        assert_eq!(major("v2"), "v2");
        assert_eq!(major("x"), "");
        assert_eq!(prerelease("v1.2.3-rc.1+b"), "-rc.1");
        assert_eq!(build("v1.2.3-rc.1+b"), "+b");
        assert_eq!(prerelease("v1.2.3"), "");
        assert_eq!(build("v1.2"), "");
    }
}
