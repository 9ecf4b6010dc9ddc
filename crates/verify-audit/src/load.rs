//! Reading manifests: YAML or JSON, multi-document files, directories,
//! standard input, and `List` objects (`kubectl get ... -o yaml`), each
//! object remembering where it came from.
//!
//! Every read is bounded ([`MAX_FILE_BYTES`] per file, [`MAX_FILES`] per
//! directory walk). What is not a Kubernetes object (a document that is not a
//! mapping, or has no `kind`) is skipped, never an error: only unreadable or
//! malformed input is.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use crate::yaml::{self, escape_segment, Positions, YamlError};

/// Largest file (or standard input) read.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;
/// Most files one directory walk reads.
pub const MAX_FILES: usize = 10_000;

/// Why manifests could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file or directory could not be read.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// Larger than [`MAX_FILE_BYTES`].
    #[error("{path}: larger than {limit} bytes")]
    TooLarge { path: String, limit: u64 },
    /// A directory holds more than [`MAX_FILES`] manifest files.
    #[error("{path}: more than {limit} manifest files")]
    TooManyFiles { path: String, limit: usize },
    /// Not UTF-8 text.
    #[error("{path}: not UTF-8 text")]
    NotText { path: String },
    /// Neither well-formed YAML nor JSON.
    #[error("{path}: {source}")]
    Syntax {
        path: String,
        #[source]
        source: YamlError,
    },
}

impl LoadError {
    /// A stable reason code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Io { .. } => "unreadable",
            Self::TooLarge { .. } => "too-large",
            Self::TooManyFiles { .. } => "too-many-files",
            Self::NotText { .. } => "not-text",
            Self::Syntax { .. } => "malformed",
        }
    }
}

/// Where an object was read from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Origin {
    /// The file (as named on the command line or found in a directory), or `-`.
    pub file: String,
    /// Index of the document in the file (0-based).
    pub document: usize,
    /// Line (1-based) where the object starts.
    pub line: usize,
}

/// One Kubernetes object and where it came from.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The object.
    pub object: Value,
    /// Its file and line, when read from a file.
    pub origin: Option<Origin>,
    positions: Option<Arc<Positions>>,
    /// Pointer of this object inside its document (`/items/3` in a `List`).
    base: String,
}

impl Manifest {
    /// An object with no file behind it (e.g. from an admission request).
    pub fn from_value(object: Value) -> Self {
        Self {
            object,
            origin: None,
            positions: None,
            base: String::new(),
        }
    }

    /// The line of the node at `pointer` (relative to this object), or of
    /// its nearest ancestor that has one.
    pub fn line_of(&self, pointer: &str) -> Option<usize> {
        let positions = self.positions.as_ref()?;
        let mut p = format!("{}{pointer}", self.base);
        loop {
            if let Some(line) = positions.get(&p) {
                return Some(*line);
            }
            match p.rfind('/') {
                Some(i) if p.len() > self.base.len() => p.truncate(i),
                _ => return self.origin.as_ref().map(|o| o.line),
            }
        }
    }
}

/// Parse one stream of manifests; `name` is used in origins and errors.
pub fn parse_str(name: &str, text: &str) -> Result<Vec<Manifest>, LoadError> {
    let docs = match yaml::parse_documents(text) {
        Ok(docs) => docs,
        Err(yaml_err) => match parse_json_stream(text) {
            Some(values) => values
                .into_iter()
                .map(|value| yaml::Document {
                    value,
                    line: 1,
                    positions: Positions::new(),
                })
                .collect(),
            None => {
                return Err(LoadError::Syntax {
                    path: name.to_string(),
                    source: yaml_err,
                })
            }
        },
    };
    let mut out = Vec::new();
    for (index, doc) in docs.into_iter().enumerate() {
        let positions = Arc::new(doc.positions);
        let origin = Origin {
            file: name.to_string(),
            document: index,
            line: doc.line,
        };
        flatten(doc.value, String::new(), &origin, &positions, &mut out);
    }
    Ok(out)
}

/// JSON that YAML would not take (e.g. `\/` escapes, tabs): a stream of
/// JSON values, if the text is one.
fn parse_json_stream(text: &str) -> Option<Vec<Value>> {
    let trimmed = text.trim_start();
    if !(trimmed.starts_with('{') || trimmed.starts_with('[')) {
        return None;
    }
    serde_json::Deserializer::from_str(text)
        .into_iter::<Value>()
        .collect::<Result<Vec<_>, _>>()
        .ok()
}

/// Push `value`, or the items of a `List`, as manifests.
fn flatten(
    value: Value,
    base: String,
    origin: &Origin,
    positions: &Arc<Positions>,
    out: &mut Vec<Manifest>,
) {
    let Value::Object(mut map) = value else {
        return;
    };
    let kind = map.get("kind").and_then(Value::as_str).unwrap_or_default();
    if kind.ends_with("List") && map.get("items").is_some_and(Value::is_array) {
        // `kind: List` holds any objects; `DeploymentList` items may omit
        // their kind and apiVersion, which the list implies.
        let item_kind = kind.strip_suffix("List").unwrap_or_default().to_string();
        let api_version = map.get("apiVersion").cloned();
        let Some(Value::Array(items)) = map.remove("items") else {
            return;
        };
        for (i, mut item) in items.into_iter().enumerate() {
            if let (Value::Object(obj), false) = (&mut item, item_kind.is_empty()) {
                obj.entry("kind")
                    .or_insert_with(|| Value::String(item_kind.clone()));
                if let Some(v) = &api_version {
                    obj.entry("apiVersion").or_insert_with(|| v.clone());
                }
            }
            let base = format!("{base}/items/{i}");
            let line = positions.get(&base).copied().unwrap_or(origin.line);
            let origin = Origin {
                line,
                ..origin.clone()
            };
            flatten(item, base, &origin, positions, out);
        }
        return;
    }
    if kind.is_empty() {
        return;
    }
    out.push(Manifest {
        object: Value::Object(map),
        origin: Some(origin.clone()),
        positions: Some(Arc::clone(positions)),
        base,
    });
}

/// Read a file, or every `.yaml`/`.yml`/`.json` file under a directory
/// (sorted, hidden entries skipped), or standard input for `-`.
pub fn load_path(path: &Path) -> Result<Vec<Manifest>, LoadError> {
    if path == Path::new("-") {
        return load_reader("-", std::io::stdin().lock());
    }
    let meta = std::fs::metadata(path).map_err(|source| LoadError::Io {
        path: path.display().to_string(),
        source,
    })?;
    if !meta.is_dir() {
        return load_file(path);
    }
    let mut files = Vec::new();
    walk(path, path, &mut files)?;
    files.sort();
    let mut out = Vec::new();
    for file in files {
        out.extend(load_file(&file)?);
    }
    Ok(out)
}

fn walk(root: &Path, dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), LoadError> {
    let io = |source| LoadError::Io {
        path: dir.display().to_string(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        let kind = entry.file_type().map_err(io)?;
        if kind.is_dir() {
            walk(root, &path, files)?;
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml" | "json")
        ) {
            if files.len() >= MAX_FILES {
                return Err(LoadError::TooManyFiles {
                    path: root.display().to_string(),
                    limit: MAX_FILES,
                });
            }
            files.push(path);
        }
    }
    Ok(())
}

fn load_file(path: &Path) -> Result<Vec<Manifest>, LoadError> {
    let name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|source| LoadError::Io {
        path: name.clone(),
        source,
    })?;
    load_reader(&name, file)
}

/// Read one stream (bounded) and parse it.
pub fn load_reader(name: &str, reader: impl Read) -> Result<Vec<Manifest>, LoadError> {
    let mut bytes = Vec::new();
    reader
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| LoadError::Io {
            path: name.to_string(),
            source,
        })?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(LoadError::TooLarge {
            path: name.to_string(),
            limit: MAX_FILE_BYTES,
        });
    }
    let text = String::from_utf8(bytes).map_err(|_| LoadError::NotText {
        path: name.to_string(),
    })?;
    // A UTF-8 byte-order mark is not content.
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    parse_str(name, text)
}

/// The JSON pointer of `segments` under `prefix`.
pub(crate) fn pointer(prefix: &str, segments: &[&str]) -> String {
    let mut p = prefix.to_string();
    for s in segments {
        p.push('/');
        p.push_str(&escape_segment(s));
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_flattened_with_lines() {
        let text = "apiVersion: apps/v1\nkind: DeploymentList\nitems:\n- metadata:\n    name: a\n- metadata:\n    name: b\n  spec: {}\n";
        let m = parse_str("f.yaml", text).unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[1].object["kind"], "Deployment");
        assert_eq!(m[1].object["apiVersion"], "apps/v1");
        assert_eq!(m[1].origin.as_ref().unwrap().line, 6);
        assert_eq!(m[1].line_of("/spec"), Some(8));
        assert_eq!(m[1].line_of("/spec/template/x"), Some(8));
    }

    #[test]
    fn json_and_non_objects() {
        let m = parse_str(
            "-",
            r#"{"kind":"List","apiVersion":"v1","items":[{"kind":"Secret","apiVersion":"v1"}, 3]}"#,
        )
        .unwrap();
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].object["kind"], "Secret");
        let m = parse_str("-", "just a string\n---\n- 1\n---\nfoo: bar\n").unwrap();
        assert!(m.is_empty());
        // JSON YAML refuses (an escaped slash) still loads.
        let m = parse_str("-", "{\"kind\": \"A\\/B\", \"x\":\t1}").unwrap();
        assert_eq!(m[0].object["kind"], "A/B");
    }

    #[test]
    fn malformed_is_an_error() {
        let e = parse_str("bad.yaml", "kind: [a\n").unwrap_err();
        assert_eq!(e.code(), "malformed");
        assert!(e.to_string().starts_with("bad.yaml: line"));
    }
}
