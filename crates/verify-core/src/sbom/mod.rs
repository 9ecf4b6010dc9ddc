//! SPDX 2.2/2.3 SBOMs: read leniently, validated, reported.
//!
//! [`read`] streams a JSON document (or an in-toto statement carrying one)
//! from any reader into the lean models of [`model`]: the input is never
//! held in memory as text or as a JSON tree, and only the fields the
//! validation reads are kept, so a 100 MB SBOM costs a fraction of its size.
//! The input is bounded ([`SbomLimits`]). A malformed input is a
//! [`SbomError::Malformed`] naming the JSON path, line and column of the
//! offending value.
//!
//! [`validate::validate`] then reports what is wrong, where, without failing
//! on the first problem (see [`mod@validate`] for the rules), and whether the
//! NTIA minimum elements are present.
//!
//! | concern | module |
//! |---|---|
//! | lenient document models, streaming | [`model`] |
//! | license expressions (the `spdx` crate) | `license` (private) |
//! | SPDX rules, NTIA minimum elements, the report | [`mod@validate`] |
//! | unreadable or unparseable input | [`error`] |

pub mod error;
pub(crate) mod license;
pub mod model;
mod ntia;
pub mod validate;

use std::cell::Cell;
use std::io::{Read, Seek, SeekFrom};

use serde::Deserialize;
use std::path::Path;

pub use error::SbomError;
pub use validate::{validate, Finding, NtiaReport, SbomReport, Severity};

use model::{Document, Input};

/// The SPDX predicate type of in-toto SBOM attestations.
pub const SPDX_PREDICATE_TYPE: &str = "https://spdx.dev/Document";
/// The SPDX versions read here.
pub const SPDX_VERSIONS: [&str; 2] = ["SPDX-2.2", "SPDX-2.3"];

/// Bounds on SBOM input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SbomLimits {
    /// Largest input accepted, in bytes.
    pub max_bytes: u64,
}

impl Default for SbomLimits {
    /// 1 GiB: ten times the largest real SBOMs seen (tens of MB).
    fn default() -> Self {
        Self { max_bytes: 1 << 30 }
    }
}

/// One SBOM input to read: [`read`] streams it, [`read_seekable`] may read
/// it twice to name the JSON path of an error.
#[derive(Debug, Clone, Copy)]
pub struct SbomRequest<'a, R> {
    /// The input: an SPDX JSON document, or an in-toto statement whose
    /// predicate is one.
    pub reader: R,
    /// What the input is (a path, a layer digest), to name it in errors.
    pub what: &'a str,
    /// Bounds on the input ([`SbomLimits::default`] for 1 GiB).
    pub limits: SbomLimits,
}

/// A parsed SBOM.
#[derive(Debug)]
pub struct Sbom {
    /// The document.
    pub document: Document,
    /// Its `spdxVersion`.
    pub spdx_version: String,
    /// Whether it came inside an in-toto statement.
    pub in_toto_statement: bool,
}

impl Sbom {
    /// Validate the document.
    pub fn validate(&self) -> SbomReport {
        validate(&self.document, &self.spdx_version, self.in_toto_statement)
    }
}

/// A reader that counts what it reads (into a cell the caller keeps) and
/// stops one byte after the limit.
struct Bounded<'a, R> {
    inner: R,
    read: &'a Cell<u64>,
    limit: u64,
}

impl<R: Read> Read for Bounded<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let read = self.read.get();
        if read > self.limit {
            return Ok(0);
        }
        // Read at most one byte past the limit, to notice it.
        let room = usize::try_from(self.limit + 1 - read).unwrap_or(usize::MAX);
        let len = buf.len().min(room);
        let n = self.inner.read(&mut buf[..len])?;
        self.read.set(read + n as u64);
        Ok(n)
    }
}

/// Whether to track the JSON path while parsing. Tracking allocates every
/// key it passes, so the fast path parses without it and, only when that
/// fails and the input can be read again, parses again with it to name the
/// path of the error.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Track {
    Paths,
    Nothing,
}

/// Parse `reader` into an [`Input`], bounded by `limits`.
fn parse(
    reader: impl Read,
    limits: &SbomLimits,
    what: &str,
    track: Track,
) -> Result<Input, SbomError> {
    // The buffer sits outside the bound, and is handed over by value: serde_json
    // reads byte by byte, and std reads bytes from a `BufReader` (not from a
    // `&mut BufReader`) straight out of its buffer.
    let read = Cell::new(0);
    let buffered = std::io::BufReader::with_capacity(
        256 * 1024,
        Bounded {
            inner: reader,
            read: &read,
            limit: limits.max_bytes,
        },
    );
    let result = {
        let mut de = serde_json::Deserializer::from_reader(buffered);
        let parsed = match track {
            Track::Paths => serde_path_to_error::deserialize::<_, Input>(&mut de).map_err(|e| {
                let path = json_path(&e.path().to_string());
                (Some(path), e.into_inner())
            }),
            Track::Nothing => Input::deserialize(&mut de).map_err(|e| (None, e)),
        };
        parsed.and_then(|input| de.end().map(|()| input).map_err(|e| (Some("$".into()), e)))
    };
    if read.get() > limits.max_bytes {
        return Err(SbomError::TooLarge {
            limit: limits.max_bytes,
            found: read.get(),
        });
    }
    result.map_err(|(path, e)| match e.classify() {
        serde_json::error::Category::Io => SbomError::Read {
            what: what.to_string(),
            source: std::io::Error::other(e.to_string()),
        },
        _ => SbomError::Malformed {
            path: path.unwrap_or_default(),
            line: e.line(),
            column: e.column(),
            detail: strip_position(&e.to_string()),
        },
    })
}

/// Stream an SPDX JSON document, or an in-toto statement whose predicate is
/// one, from `request.reader`, refusing more than `request.limits.max_bytes`
/// and tracking JSON paths for errors as it goes (a stream cannot be read
/// twice).
pub fn read<R: Read>(request: SbomRequest<'_, R>) -> Result<Sbom, SbomError> {
    let SbomRequest {
        reader,
        what,
        limits,
    } = request;
    into_sbom(parse(reader, &limits, what, Track::Paths)?)
}

/// Read an SBOM from a seekable source (a file, a buffer): parsed once
/// without path tracking, and again from the start with it only if the
/// first parse fails, so the error names its JSON path. Bounded as [`read`].
pub fn read_seekable<R: Read + Seek>(request: SbomRequest<'_, R>) -> Result<Sbom, SbomError> {
    let SbomRequest {
        mut reader,
        what,
        limits,
    } = request;
    let start = reader.stream_position().map_err(|source| SbomError::Read {
        what: what.to_string(),
        source,
    })?;
    match parse(&mut reader, &limits, what, Track::Nothing) {
        Ok(input) => into_sbom(input),
        Err(SbomError::Malformed { .. }) => {
            reader
                .seek(SeekFrom::Start(start))
                .map_err(|source| SbomError::Read {
                    what: what.to_string(),
                    source,
                })?;
            read(SbomRequest {
                reader,
                what,
                limits,
            })
        }
        Err(e) => Err(e),
    }
}

/// Read an SBOM file, refusing one larger than the limit before reading it.
pub fn read_file(path: &Path, limits: &SbomLimits) -> Result<Sbom, SbomError> {
    let what = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|source| SbomError::Read {
        what: what.clone(),
        source,
    })?;
    if let Ok(meta) = file.metadata() {
        if meta.is_file() && meta.len() > limits.max_bytes {
            return Err(SbomError::TooLarge {
                limit: limits.max_bytes,
                found: meta.len(),
            });
        }
    }
    read_seekable(SbomRequest {
        reader: file,
        what: &what,
        limits: *limits,
    })
}

fn into_sbom(input: Input) -> Result<Sbom, SbomError> {
    let (document, in_toto_statement) = match (input.predicate_type, input.predicate) {
        (Some(t), Some(doc)) if t == SPDX_PREDICATE_TYPE => (doc, true),
        (Some(t), None) if t == SPDX_PREDICATE_TYPE => {
            return Err(SbomError::NotSpdx {
                expected: "an in-toto statement with an SPDX document as its predicate",
                found: "no predicate".into(),
            })
        }
        (Some(t), _) => {
            return Err(SbomError::NotSpdx {
                expected: "an in-toto predicate type https://spdx.dev/Document",
                found: format!("predicate type {t:?}"),
            })
        }
        (None, _) => (input.document, false),
    };
    let Some(version) = document.spdx_version.clone() else {
        return Err(SbomError::NotSpdx {
            expected: "an spdxVersion field",
            found: "none".into(),
        });
    };
    if !SPDX_VERSIONS.contains(&version.as_str()) {
        return Err(SbomError::UnsupportedVersion { found: version });
    }
    Ok(Sbom {
        document,
        spdx_version: version,
        in_toto_statement,
    })
}

/// `packages[3].name` → `$.packages[3].name`; the root `.` → `$`.
fn json_path(tracked: &str) -> String {
    match tracked {
        "" | "." => "$".into(),
        p if p.starts_with('[') => format!("${p}"),
        p => format!("$.{p}"),
    }
}

/// serde_json appends " at line L column C", which the error reports apart.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<Sbom, SbomError> {
        read(SbomRequest {
            reader: json.as_bytes(),
            what: "test",
            limits: SbomLimits::default(),
        })
    }

    #[test]
    fn malformed_input_names_the_json_path() {
        let err = parse(
            r#"{"spdxVersion":"SPDX-2.3","packages":[{"name":"a"},{"name":"b","versionInfo":7}]}"#,
        )
        .unwrap_err();
        match err {
            SbomError::Malformed {
                path, line, detail, ..
            } => {
                assert_eq!(path, "$.packages[1].versionInfo");
                assert_eq!(line, 1);
                assert!(detail.contains("expected a string"), "{detail}");
            }
            other => panic!("unexpected {other}"),
        }
        assert!(matches!(
            parse(r#"{"spdxVersion":"SPDX-2.3","packages":[{"name":"a"}"#),
            Err(SbomError::Malformed { .. })
        ));
        assert!(matches!(
            parse(r#"{"spdxVersion":"SPDX-2.3"} trailing"#),
            Err(SbomError::Malformed { .. })
        ));
        assert!(matches!(parse("[]"), Err(SbomError::Malformed { .. })));
    }

    #[test]
    fn seekable_input_parses_fast_and_still_names_the_path() {
        let bad = r#"{"spdxVersion":"SPDX-2.3","creationInfo":{"creators":["Tool: x", 3]}}"#;
        let err = read_seekable(SbomRequest {
            reader: std::io::Cursor::new(bad.as_bytes()),
            what: "t",
            limits: SbomLimits::default(),
        })
        .unwrap_err();
        assert!(
            matches!(&err, SbomError::Malformed { path, .. } if path == "$.creationInfo.creators[1]"),
            "{err}"
        );
        let good = r#"{"spdxVersion":"SPDX-2.2","name":"n"}"#;
        let sbom = read_seekable(SbomRequest {
            reader: std::io::Cursor::new(good.as_bytes()),
            what: "t",
            limits: SbomLimits::default(),
        })
        .unwrap();
        assert_eq!(sbom.spdx_version, "SPDX-2.2");
    }

    #[test]
    fn versions_and_shapes() {
        assert!(matches!(
            parse(r#"{"spdxVersion":"SPDX-2.1"}"#),
            Err(SbomError::UnsupportedVersion { found }) if found == "SPDX-2.1"
        ));
        assert!(matches!(
            parse(r#"{"bomFormat":"CycloneDX"}"#),
            Err(SbomError::NotSpdx { .. })
        ));
        assert!(matches!(
            parse(r#"{"predicateType":"https://slsa.dev/provenance/v0.2","predicate":{}}"#),
            Err(SbomError::NotSpdx { .. })
        ));
        assert!(matches!(
            parse(r#"{"predicateType":"https://spdx.dev/Document"}"#),
            Err(SbomError::NotSpdx { found, .. }) if found == "no predicate"
        ));
        let wrapped = parse(
            r#"{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://spdx.dev/Document","subject":[],"predicate":{"spdxVersion":"SPDX-2.3","name":"x"}}"#,
        )
        .unwrap();
        assert!(wrapped.in_toto_statement);
        assert_eq!(wrapped.document.name.as_deref(), Some("x"));
    }

    #[test]
    fn size_is_bounded() {
        let json = format!(
            r#"{{"spdxVersion":"SPDX-2.3","name":"{}"}}"#,
            "x".repeat(1000)
        );
        let bounded = |max_bytes| {
            read(SbomRequest {
                reader: json.as_bytes(),
                what: "t",
                limits: SbomLimits { max_bytes },
            })
        };
        assert!(matches!(
            bounded(100),
            Err(SbomError::TooLarge { limit: 100, .. })
        ));
        bounded(json.len() as u64).unwrap();
    }
}
