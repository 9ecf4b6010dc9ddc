//! YAML (and JSON) documents to `serde_json::Value`s, remembering the line of
//! every node so findings can point at manifest lines.
//!
//! yaml-rust2's marked events carry positions; its `Yaml` tree does not, so
//! the tree is built here from the events. Scalars are resolved as Kubernetes
//! reads manifests (sigs.k8s.io/yaml, i.e. go-yaml v2's YAML 1.1 booleans
//! `yes`/`no`/`on`/`off` included), quoted scalars stay strings. Anchors and
//! aliases are expanded with a bound on the nodes produced (an alias bomb is
//! refused, not expanded), nesting is bounded too.

use std::collections::HashMap;

use serde_json::{Map, Number, Value};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// Most nodes (scalars, sequences, mappings, alias expansions included) one
/// input may produce.
pub const MAX_NODES: usize = 4_000_000;
/// Deepest nesting accepted.
pub const MAX_DEPTH: usize = 200;

/// Lines of the nodes of one document, by JSON pointer (`/spec/template`).
/// A mapping entry's line is its key's line.
pub type Positions = HashMap<String, usize>;

/// One parsed document.
#[derive(Debug)]
pub struct Document {
    /// The document's content.
    pub value: Value,
    /// Line (1-based) where the document's content starts.
    pub line: usize,
    /// Lines of its nodes.
    pub positions: Positions,
}

/// Why a YAML stream could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum YamlError {
    /// Not well-formed YAML.
    #[error("line {line} column {column}: {message}")]
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    /// Nested deeper than [`MAX_DEPTH`].
    #[error("line {line}: nested deeper than {limit} levels")]
    TooDeep { line: usize, limit: usize },
    /// Expands to more than [`MAX_NODES`] nodes (aliases included).
    #[error("line {line}: more than {limit} nodes (aliases expanded)")]
    TooManyNodes { line: usize, limit: usize },
    /// An alias to an anchor that was not defined before it.
    #[error("line {line}: alias to an unknown anchor")]
    UnknownAlias { line: usize },
    /// A mapping key given twice: Kubernetes' YAML readers refuse it, and
    /// which value a tool would take is ambiguous.
    #[error("line {line}: key {key:?} given twice")]
    DuplicateKey { line: usize, key: String },
    /// A `<<` merge of something that is not a mapping (or list of them).
    #[error("line {line}: a merge key needs a mapping or a list of mappings")]
    BadMerge { line: usize },
}

/// Parse every document of a YAML stream. Empty documents are dropped.
pub fn parse_documents(text: &str) -> Result<Vec<Document>, YamlError> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    parser
        .load(&mut builder, true)
        .map_err(|e| YamlError::Syntax {
            line: e.marker().line(),
            column: e.marker().col() + 1,
            message: e.info().to_string(),
        })?;
    if let Some(e) = builder.error {
        return Err(e);
    }
    Ok(builder.docs)
}

enum Frame {
    Seq {
        items: Vec<Value>,
        anchor: usize,
        pointer: String,
    },
    Map {
        map: Map<String, Value>,
        key: Option<String>,
        /// Values of `<<` merge keys, applied at the end (explicit keys win).
        merges: Vec<Value>,
        anchor: usize,
        pointer: String,
    },
}

#[derive(Default)]
struct Builder {
    docs: Vec<Document>,
    stack: Vec<Frame>,
    /// Anchored values with the number of nodes they hold.
    anchors: HashMap<usize, (Value, usize)>,
    /// Node counts of the open frames (for anchors on containers).
    counts: Vec<usize>,
    nodes: usize,
    doc_line: usize,
    positions: Positions,
    root: Option<Value>,
    error: Option<YamlError>,
}

/// Escape one JSON-pointer segment (RFC 6901).
pub fn escape_segment(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains(['~', '/']) {
        s.replace('~', "~0").replace('/', "~1").into()
    } else {
        s.into()
    }
}

impl Builder {
    fn fail(&mut self, e: YamlError) {
        if self.error.is_none() {
            self.error = Some(e);
        }
    }

    /// Count `n` nodes; false (and an error) when over the bound.
    fn count(&mut self, n: usize, mark: Marker) -> bool {
        self.nodes = self.nodes.saturating_add(n);
        for c in &mut self.counts {
            *c = c.saturating_add(n);
        }
        if self.nodes > MAX_NODES {
            self.fail(YamlError::TooManyNodes {
                line: mark.line(),
                limit: MAX_NODES,
            });
            return false;
        }
        true
    }

    /// The pointer of the node starting now, recording its line when it is a
    /// sequence item (mapping values are recorded at their key).
    fn child_pointer(&mut self, mark: Marker) -> String {
        match self.stack.last() {
            None => String::new(),
            Some(Frame::Map {
                key: Some(k),
                pointer,
                ..
            }) => format!("{pointer}/{}", escape_segment(k)),
            // A complex (non-scalar) key: not addressable.
            Some(Frame::Map { pointer, .. }) => format!("{pointer}/?"),
            Some(Frame::Seq { items, pointer, .. }) => {
                let p = format!("{pointer}/{}", items.len());
                self.positions.insert(p.clone(), mark.line());
                p
            }
        }
    }

    fn complete(&mut self, value: Value, anchor: usize, nodes: usize, mark: Marker) {
        if anchor > 0 {
            self.anchors.insert(anchor, (value.clone(), nodes));
        }
        match self.stack.last_mut() {
            None => self.root = Some(value),
            Some(Frame::Seq { items, .. }) => items.push(value),
            Some(Frame::Map {
                map,
                key,
                merges,
                pointer,
                ..
            }) => match key.take() {
                None => {
                    let k = match value {
                        Value::String(s) => s,
                        Value::Null => String::new(),
                        other => other.to_string(),
                    };
                    if map.contains_key(&k) {
                        let line = mark.line();
                        self.fail(YamlError::DuplicateKey { line, key: k });
                        return;
                    }
                    let p = format!("{pointer}/{}", escape_segment(&k));
                    self.positions.insert(p, mark.line());
                    *key = Some(k);
                }
                Some(k) if k == "<<" => merges.push(value),
                Some(k) => {
                    map.insert(k, value);
                }
            },
        }
    }

    fn open(&mut self, frame_of: impl FnOnce(String) -> Frame, mark: Marker) {
        if self.stack.len() >= MAX_DEPTH {
            self.fail(YamlError::TooDeep {
                line: mark.line(),
                limit: MAX_DEPTH,
            });
            return;
        }
        if !self.count(1, mark) {
            return;
        }
        let pointer = self.child_pointer(mark);
        if pointer.is_empty() {
            self.doc_line = mark.line();
        }
        self.stack.push(frame_of(pointer));
        self.counts.push(1);
    }

    fn close(&mut self, mark: Marker) {
        let (Some(frame), Some(nodes)) = (self.stack.pop(), self.counts.pop()) else {
            return;
        };
        let (value, anchor) = match frame {
            Frame::Seq { items, anchor, .. } => (Value::Array(items), anchor),
            Frame::Map {
                mut map,
                merges,
                anchor,
                ..
            } => {
                for merge in merges {
                    let sources = match merge {
                        Value::Object(m) => vec![m],
                        Value::Array(items) => {
                            let mut maps = Vec::new();
                            for item in items {
                                match item {
                                    Value::Object(m) => maps.push(m),
                                    _ => {
                                        return self.fail(YamlError::BadMerge { line: mark.line() })
                                    }
                                }
                            }
                            maps
                        }
                        _ => return self.fail(YamlError::BadMerge { line: mark.line() }),
                    };
                    // Earlier sources win over later ones, explicit keys over all.
                    for source in sources {
                        for (k, v) in source {
                            map.entry(k).or_insert(v);
                        }
                    }
                }
                (Value::Object(map), anchor)
            }
        };
        self.complete(value, anchor, nodes, mark);
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        match ev {
            Event::DocumentStart => {
                self.stack.clear();
                self.counts.clear();
                self.positions = Positions::new();
                self.root = None;
                self.doc_line = mark.line();
            }
            Event::DocumentEnd => {
                if let Some(value) = self.root.take() {
                    if !value.is_null() {
                        self.docs.push(Document {
                            value,
                            line: self.doc_line,
                            positions: std::mem::take(&mut self.positions),
                        });
                    }
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                if !self.count(1, mark) {
                    return;
                }
                if self.stack.is_empty() {
                    self.doc_line = mark.line();
                } else if matches!(self.stack.last(), Some(Frame::Seq { .. })) {
                    self.child_pointer(mark);
                }
                let value = resolve(text, style, tag.as_ref());
                self.complete(value, anchor, 1, mark);
            }
            Event::Alias(id) => {
                let Some((value, nodes)) = self.anchors.get(&id).map(|(v, n)| (v.clone(), *n))
                else {
                    self.fail(YamlError::UnknownAlias { line: mark.line() });
                    return;
                };
                if !self.count(nodes, mark) {
                    return;
                }
                if matches!(self.stack.last(), Some(Frame::Seq { .. })) {
                    self.child_pointer(mark);
                }
                self.complete(value, 0, nodes, mark);
            }
            Event::SequenceStart(anchor, _) => self.open(
                |pointer| Frame::Seq {
                    items: Vec::new(),
                    anchor,
                    pointer,
                },
                mark,
            ),
            Event::MappingStart(anchor, _) => self.open(
                |pointer| Frame::Map {
                    map: Map::new(),
                    key: None,
                    merges: Vec::new(),
                    anchor,
                    pointer,
                },
                mark,
            ),
            Event::SequenceEnd | Event::MappingEnd => self.close(mark),
            Event::StreamStart | Event::StreamEnd | Event::Nothing => {}
        }
    }
}

/// A scalar's JSON value.
fn resolve(text: String, style: TScalarStyle, tag: Option<&Tag>) -> Value {
    if style != TScalarStyle::Plain {
        return Value::String(text);
    }
    if let Some(tag) = tag {
        if tag.suffix == "str" || tag.suffix == "tag:yaml.org,2002:str" {
            return Value::String(text);
        }
    }
    match text.as_str() {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Value::Bool(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Value::Bool(false)
        }
        _ => {}
    }
    if let Ok(i) = text.parse::<i64>() {
        return Value::Number(i.into());
    }
    let numeric = text.bytes().any(|b| b.is_ascii_digit())
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'));
    if numeric {
        if let Some(n) = text.parse::<f64>().ok().and_then(Number::from_f64) {
            return Value::Number(n);
        }
    }
    Value::String(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_values_and_lines() {
        let docs = parse_documents(
            "a: 1\n---\n# c\nkind: X\nlist:\n  - --x=true\n  - \"yes\"\n  - yes\nq: '1'\n---\n",
        )
        .unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].value, serde_json::json!({"a": 1}));
        let d = &docs[1];
        assert_eq!(
            d.value,
            serde_json::json!({"kind": "X", "list": ["--x=true", "yes", true], "q": "1"})
        );
        assert_eq!(d.positions["/kind"], 4);
        assert_eq!(d.positions["/list/0"], 6);
        assert_eq!(d.positions["/list/2"], 8);
        assert_eq!(d.line, 4);
    }

    #[test]
    fn alias_bomb_is_refused() {
        let mut s = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        let mut prev = 'a';
        for c in 'b'..='k' {
            s.push_str(&format!(
                "{c}: &{c} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
            ));
            prev = c;
        }
        assert!(matches!(
            parse_documents(&s),
            Err(YamlError::TooManyNodes { .. })
        ));
    }

    #[test]
    fn syntax_error_has_a_line() {
        match parse_documents("a: [1, 2\nb: c\n") {
            Err(YamlError::Syntax { line, .. }) => assert!(line >= 1),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn duplicate_keys_are_refused_and_merges_applied() {
        assert!(matches!(
            parse_documents("args: [--no-remote-bases]\nargs: []\n"),
            Err(YamlError::DuplicateKey { line: 2, .. })
        ));
        let docs = parse_documents(
            "base: &b {runAsNonRoot: true, readOnlyRootFilesystem: false}\nsc:\n  <<: *b\n  readOnlyRootFilesystem: true\n",
        )
        .unwrap();
        assert_eq!(
            docs[0].value["sc"],
            serde_json::json!({"runAsNonRoot": true, "readOnlyRootFilesystem": true})
        );
        assert!(matches!(
            parse_documents("a:\n  <<: 3\n"),
            Err(YamlError::BadMerge { .. })
        ));
    }

    #[test]
    fn deep_nesting_is_refused() {
        let s = "[".repeat(MAX_DEPTH + 5);
        assert!(parse_documents(&s).is_err());
    }
}
