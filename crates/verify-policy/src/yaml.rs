//! A strict walk over an untyped YAML tree that records every problem with
//! its path instead of stopping at the first.
//!
//! serde's `deny_unknown_fields` stops at the first unknown field and names
//! neither the file nor the document; a policy author fixing a file wants
//! all of them at once, each with a path such as
//! `spec.authorities[0].keyless.ca-cert`. So documents are read into a
//! [`Value`] and each object is checked against the fields it may have
//! ([`Walker::object`]): fields of policy-controller that this crate does
//! not implement get their own message, so that a policy is never enforced
//! with part of it silently ignored.

use serde_yaml_ng::{Mapping, Value};

use crate::set::LintError;

/// Collects the errors of one document.
pub(crate) struct Walker<'a> {
    pub file: &'a str,
    pub document: usize,
    pub errors: Vec<LintError>,
}

/// `parent.field`, or `field` at the top.
pub(crate) fn join(parent: &str, field: &str) -> String {
    if parent.is_empty() {
        field.to_string()
    } else {
        format!("{parent}.{field}")
    }
}

/// `parent[index]`.
pub(crate) fn index(parent: &str, i: usize) -> String {
    format!("{parent}[{i}]")
}

/// The YAML type of a value, for messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

impl<'a> Walker<'a> {
    pub fn new(file: &'a str, document: usize) -> Self {
        Self {
            file,
            document,
            errors: Vec::new(),
        }
    }

    /// Record an error at `path`.
    pub fn error(&mut self, path: &str, message: impl Into<String>) {
        self.errors.push(LintError {
            file: self.file.to_string(),
            document: self.document,
            path: path.to_string(),
            message: message.into(),
        });
    }

    /// `value` as a mapping whose keys are all in `known` (`unsupported`:
    /// policy-controller fields this crate refuses, with why). Every other
    /// key is an error at its own path.
    pub fn object<'v>(
        &mut self,
        path: &str,
        value: &'v Value,
        known: &[&str],
        unsupported: &[(&str, &str)],
    ) -> Option<&'v Mapping> {
        let Value::Mapping(map) = value else {
            self.error(path, format!("expected a mapping, found {}", kind(value)));
            return None;
        };
        for key in map.keys() {
            let Value::String(key) = key else {
                self.error(path, format!("expected string keys, found {}", kind(key)));
                continue;
            };
            let at = join(path, key);
            if let Some((_, why)) = unsupported.iter().find(|(name, _)| name == key) {
                self.error(&at, format!("not supported by verify-policy: {why}"));
            } else if !known.contains(&key.as_str()) {
                self.error(
                    &at,
                    format!("unknown field; expected one of: {}", known.join(", ")),
                );
            }
        }
        Some(map)
    }

    /// An optional string field; `null` counts as absent.
    pub fn string(&mut self, path: &str, map: &Mapping, field: &str) -> Option<String> {
        match map.get(field) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => {
                self.error(
                    &join(path, field),
                    format!("expected a string, found {}", kind(other)),
                );
                None
            }
        }
    }

    /// A string field that must be present and non-empty.
    pub fn required_string(&mut self, path: &str, map: &Mapping, field: &str) -> Option<String> {
        let present = matches!(map.get(field), Some(v) if !v.is_null());
        match self.string(path, map, field) {
            Some(s) if !s.is_empty() => Some(s),
            Some(_) => {
                self.error(&join(path, field), "must not be empty");
                None
            }
            None => {
                if !present {
                    self.error(&join(path, field), "missing required field");
                }
                None
            }
        }
    }

    /// An optional boolean field.
    pub fn boolean(&mut self, path: &str, map: &Mapping, field: &str) -> Option<bool> {
        match map.get(field) {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(other) => {
                self.error(
                    &join(path, field),
                    format!("expected true or false, found {}", kind(other)),
                );
                None
            }
        }
    }

    /// An optional list field; absent or `null` is empty.
    pub fn list<'v>(&mut self, path: &str, map: &'v Mapping, field: &str) -> &'v [Value] {
        match map.get(field) {
            None | Some(Value::Null) => &[],
            Some(Value::Sequence(items)) => items,
            Some(other) => {
                self.error(
                    &join(path, field),
                    format!("expected a list, found {}", kind(other)),
                );
                &[]
            }
        }
    }

    /// An optional mapping field (its value; fields are checked by the
    /// caller with [`Self::object`]).
    pub fn field<'v>(&self, map: &'v Mapping, field: &str) -> Option<&'v Value> {
        map.get(field).filter(|v| !v.is_null())
    }
}

/// Deepest flow-collection nesting (`[`, `{`) a policy file may have.
pub(crate) const MAX_FLOW_DEPTH: usize = 64;

/// Whether `text` nests flow collections deeper than `limit`, ignoring
/// brackets in quoted scalars and comments.
///
/// The YAML parser refuses deep nesting only after scanning the whole
/// document, in time quadratic in the depth (a 200 KB file of `[` takes
/// seconds), so a file is refused before it is parsed. No policy comes near
/// the limit.
pub(crate) fn flow_too_deep(text: &str, limit: usize) -> bool {
    let mut depth = 0usize;
    let mut chars = text.chars().peekable();
    let mut prev = '\n';
    while let Some(c) = chars.next() {
        let token_start = prev.is_whitespace() || matches!(prev, '[' | '{' | ',' | ':');
        match c {
            '#' if prev.is_whitespace() => {
                for n in chars.by_ref() {
                    if n == '\n' {
                        break;
                    }
                }
                prev = '\n';
                continue;
            }
            '"' if token_start => {
                while let Some(n) = chars.next() {
                    match n {
                        '\\' => {
                            chars.next();
                        }
                        '"' => break,
                        _ => {}
                    }
                }
            }
            '\'' if token_start => {
                while let Some(n) = chars.next() {
                    if n == '\'' {
                        if chars.peek() == Some(&'\'') {
                            chars.next();
                        } else {
                            break;
                        }
                    }
                }
            }
            '[' | '{' => {
                depth += 1;
                if depth > limit {
                    return true;
                }
            }
            ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        prev = c;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flow_depth_ignores_quotes_and_comments() {
        assert!(!flow_too_deep("a: [1, {b: [2]}]\n", 3));
        assert!(flow_too_deep("a: [[[[x]]]]\n", 3));
        assert!(!flow_too_deep("a: \"[[[[\"\nb: '[[[[ '' [[['\n# [[[[\n", 3));
        assert!(!flow_too_deep("subjectRegExp: ^https://x/[a-z]+$\n", 3));
    }
}
