//! License expressions, read with the `spdx` crate and reported, never
//! fatal: an SBOM with an odd license string still says what is inside.
//!
//! A value is one of:
//!
//! - `NONE` or `NOASSERTION`: allowed by SPDX;
//! - a valid SPDX expression (`MIT OR Apache-2.0`, `LicenseRef-foo`);
//! - an expression only the lax reading accepts (lowercase operators, `/`
//!   for `OR`, imprecise names such as `Apache 2`, `GPL-2.0+`): a warning;
//! - anything else: a warning with the parser's reason.
//!
//! A `LicenseRef-…` must also be defined in `hasExtractedLicensingInfos`
//! (unless it names another document with `DocumentRef-…:`).

use std::collections::{HashMap, HashSet};

use spdx::{Expression, LicenseItem, ParseMode};

/// What a license string is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LicenseVerdict {
    /// `NONE` or `NOASSERTION`.
    NoAssertion,
    /// A valid SPDX expression; the `LicenseRef-`s it uses that the
    /// document does not define.
    Valid {
        /// Undefined `LicenseRef-…` identifiers.
        undefined_refs: Vec<String>,
    },
    /// Not valid SPDX, but readable leniently.
    Lax {
        /// The parser's reason the strict reading failed.
        reason: String,
    },
    /// Not a license expression.
    Invalid {
        /// The parser's reason.
        reason: String,
    },
}

/// Checks license strings, remembering each distinct string's verdict
/// (real SBOMs repeat a few licenses across thousands of packages).
#[derive(Debug, Default)]
pub(crate) struct LicenseChecker {
    defined: HashSet<String>,
    cache: HashMap<String, LicenseVerdict>,
}

impl LicenseChecker {
    /// A checker for a document defining `defined` (`LicenseRef-…` ids).
    pub fn new<'a>(defined: impl IntoIterator<Item = &'a str>) -> Self {
        Self {
            defined: defined.into_iter().map(str::to_string).collect(),
            cache: HashMap::new(),
        }
    }

    /// The verdict on `value`.
    pub fn check(&mut self, value: &str) -> &LicenseVerdict {
        if !self.cache.contains_key(value) {
            let verdict = self.judge(value);
            self.cache.insert(value.to_string(), verdict);
        }
        &self.cache[value]
    }

    fn judge(&self, value: &str) -> LicenseVerdict {
        let trimmed = value.trim();
        if trimmed == "NONE" || trimmed == "NOASSERTION" {
            return LicenseVerdict::NoAssertion;
        }
        match Expression::parse(trimmed) {
            Ok(expr) => {
                let mut undefined_refs: Vec<String> = expr
                    .requirements()
                    .filter_map(|r| match &r.req.license {
                        LicenseItem::Other {
                            doc_ref: None,
                            lic_ref,
                        } => {
                            let id = format!("LicenseRef-{lic_ref}");
                            (!self.defined.contains(&id)).then_some(id)
                        }
                        _ => None,
                    })
                    .collect();
                undefined_refs.dedup();
                LicenseVerdict::Valid { undefined_refs }
            }
            Err(strict) => {
                let reason = strict.reason.to_string();
                match Expression::parse_mode(trimmed, ParseMode::LAX) {
                    Ok(_) => LicenseVerdict::Lax { reason },
                    Err(_) => LicenseVerdict::Invalid { reason },
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts() {
        let mut c = LicenseChecker::new(["LicenseRef-defined"]);
        assert_eq!(*c.check("NOASSERTION"), LicenseVerdict::NoAssertion);
        assert_eq!(*c.check("NONE"), LicenseVerdict::NoAssertion);
        assert_eq!(
            *c.check("MIT OR Apache-2.0"),
            LicenseVerdict::Valid {
                undefined_refs: vec![]
            }
        );
        assert_eq!(
            *c.check("GPL-2.0-only WITH Classpath-exception-2.0"),
            LicenseVerdict::Valid {
                undefined_refs: vec![]
            }
        );
        assert_eq!(
            *c.check("LicenseRef-defined AND LicenseRef-other"),
            LicenseVerdict::Valid {
                undefined_refs: vec!["LicenseRef-other".into()]
            }
        );
        assert!(matches!(
            c.check("DocumentRef-x:LicenseRef-y"),
            LicenseVerdict::Valid { undefined_refs } if undefined_refs.is_empty()
        ));
        assert!(matches!(
            c.check("MIT/Apache-2.0"),
            LicenseVerdict::Lax { .. }
        ));
        assert!(matches!(
            c.check("MIT or Apache-2.0"),
            LicenseVerdict::Lax { .. }
        ));
        assert!(matches!(c.check("BSD"), LicenseVerdict::Lax { .. }));
        assert!(matches!(
            c.check("see LICENSE file"),
            LicenseVerdict::Invalid { .. }
        ));
        assert!(matches!(c.check("MIT AND"), LicenseVerdict::Invalid { .. }));
        assert!(matches!(c.check(""), LicenseVerdict::Invalid { .. }));
    }
}
