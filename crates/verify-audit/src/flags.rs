//! A controller container's start-up flags, read as the Flux controllers'
//! flag parser (spf13/pflag) reads them.
//!
//! What matters for an audit, and what a `grep` gets wrong:
//! - a boolean flag takes a value only after `=`: `--flag` and `--flag true`
//!   both set it to true, and so does `--flag false` (the `false` is left as
//!   a stray argument); `--flag=false` sets it to false;
//! - boolean values are Go's `strconv.ParseBool` (`1`, `t`, `TRUE`, ...);
//! - a string flag takes `--flag=value` or the next argument (`--flag value`);
//! - the last occurrence wins; `--` ends the flags;
//! - the arguments are the container's `command` (after the executable) and
//!   then its `args`, as Kubernetes runs them, with `$(VAR)` replaced from the
//!   container's literal `env` values as Kubernetes does.
//!
//! Flags this module does not know are skipped (never an error): when they
//! have no `=value` they are taken to be boolean if the next argument is a
//! flag, and to take the next argument otherwise.

use std::collections::HashMap;

use serde_json::Value;

/// Boolean flags of the Flux controllers that the rules read or that are
/// commonly set, so `--flag value` is parsed as pflag does.
const BOOL_FLAGS: &[&str] = &[
    "insecure-kubeconfig-exec",
    "insecure-kubeconfig-tls",
    "no-remote-bases",
    "no-cross-namespace-refs",
    "watch-all-namespaces",
    "enable-leader-election",
    "log-stacktrace",
    "oci-skip-registry-validation",
    "helm-cache-purge",
    "disable-chart-digest-tracking",
];

/// One flag as found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Occurrence {
    /// The value (`true` for a bare boolean flag).
    pub value: String,
    /// The argument(s) as written, e.g. `--flag=true` or `--flag value`.
    pub written: String,
    /// JSON pointer of the argument, relative to the container.
    pub pointer: String,
}

/// A boolean flag's effective setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BoolFlag {
    /// Not given: the controller's default applies.
    Absent,
    /// Set, to this value.
    Set(bool, Occurrence),
    /// Given with a value `strconv.ParseBool` refuses (the controller would
    /// not start).
    Invalid(Occurrence),
}

/// The parsed flags of one container.
#[derive(Debug, Default)]
pub struct Flags {
    last: HashMap<String, Occurrence>,
}

impl Flags {
    /// Parse a container (`command`, `args`, `env`).
    pub fn of_container(container: &Value) -> Self {
        let env = literal_env(container);
        let mut tokens: Vec<(String, String)> = Vec::new();
        if let Some(cmd) = container.get("command").and_then(Value::as_array) {
            for (i, t) in cmd.iter().enumerate() {
                let Some(s) = t.as_str() else { continue };
                // The executable itself is not a flag.
                if i == 0 && !s.starts_with('-') {
                    continue;
                }
                tokens.push((expand(s, &env), format!("/command/{i}")));
            }
        }
        if let Some(args) = container.get("args").and_then(Value::as_array) {
            for (i, t) in args.iter().enumerate() {
                if let Some(s) = t.as_str() {
                    tokens.push((expand(s, &env), format!("/args/{i}")));
                }
            }
        }
        Self::parse(&tokens)
    }

    /// Parse `(argument, pointer)` pairs.
    pub fn parse(tokens: &[(String, String)]) -> Self {
        let mut last = HashMap::new();
        let mut i = 0;
        while i < tokens.len() {
            let (tok, ptr) = &tokens[i];
            i += 1;
            if tok == "--" {
                break;
            }
            let Some(body) = tok.strip_prefix("--") else {
                // Shorthands and stray arguments: nothing the rules read.
                continue;
            };
            let (name, value, written) = match body.split_once('=') {
                Some((n, v)) => (n, v.to_string(), tok.clone()),
                None => {
                    let next = tokens.get(i).map(|(t, _)| t.as_str());
                    let boolean = BOOL_FLAGS.contains(&body)
                        || (!is_known_string(body) && next.is_none_or(|n| n.starts_with('-')));
                    match next {
                        Some(next) if !boolean => {
                            i += 1;
                            (body, next.to_string(), format!("{tok} {next}"))
                        }
                        _ => {
                            let written = match next {
                                Some(n) if is_bool_word(n) => format!("{tok} {n}"),
                                _ => tok.clone(),
                            };
                            (body, "true".to_string(), written)
                        }
                    }
                }
            };
            if name.is_empty() {
                continue;
            }
            last.insert(
                name.to_string(),
                Occurrence {
                    value,
                    written,
                    pointer: ptr.clone(),
                },
            );
        }
        Self { last }
    }

    /// A string flag's last occurrence.
    pub fn get(&self, name: &str) -> Option<&Occurrence> {
        self.last.get(name)
    }

    /// A boolean flag's effective setting.
    pub fn boolean(&self, name: &str) -> BoolFlag {
        match self.last.get(name) {
            None => BoolFlag::Absent,
            Some(o) => match parse_bool(&o.value) {
                Some(b) => BoolFlag::Set(b, o.clone()),
                None => BoolFlag::Invalid(o.clone()),
            },
        }
    }
}

/// String-valued flags the rules read.
fn is_known_string(name: &str) -> bool {
    matches!(
        name,
        "default-service-account"
            | "default-decryption-service-account"
            | "default-kubeconfig-service-account"
            | "watch-label-selector"
            | "events-addr"
            | "log-level"
            | "log-encoding"
            | "storage-path"
            | "storage-adv-addr"
            | "metrics-addr"
            | "health-addr"
            | "concurrent"
            | "feature-gates"
            | "sops-age-secret"
    )
}

fn is_bool_word(s: &str) -> bool {
    parse_bool(s).is_some()
}

/// Go's `strconv.ParseBool`.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// The container's `env` entries with a literal `value` (later ones win).
fn literal_env(container: &Value) -> HashMap<String, String> {
    let mut env = HashMap::new();
    for e in container
        .get("env")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let (Some(name), Some(value)) = (
            e.get("name").and_then(Value::as_str),
            e.get("value").and_then(Value::as_str),
        ) {
            env.insert(name.to_string(), value.to_string());
        }
    }
    env
}

/// Kubernetes' `$(VAR)` expansion: `$$` escapes `$`; unknown variables and
/// unterminated references stay as written.
fn expand(s: &str, env: &HashMap<String, String>) -> String {
    if !s.contains('$') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(r) = after.strip_prefix('$') {
            out.push('$');
            rest = r;
        } else if let Some(r) = after.strip_prefix('(') {
            match r.find(')') {
                Some(j) => {
                    let name = &r[..j];
                    match env.get(name) {
                        Some(v) => out.push_str(v),
                        None => {
                            out.push_str("$(");
                            out.push_str(name);
                            out.push(')');
                        }
                    }
                    rest = &r[j + 1..];
                }
                None => {
                    out.push_str("$(");
                    rest = r;
                }
            }
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn flags(args: &[&str]) -> Flags {
        Flags::of_container(&json!({ "args": args }))
    }

    #[test]
    fn boolean_syntaxes() {
        for args in [
            &["--no-remote-bases"][..],
            &["--no-remote-bases=true"],
            &["--no-remote-bases", "true"],
            &["--no-remote-bases=1"],
        ] {
            assert!(
                matches!(
                    flags(args).boolean("no-remote-bases"),
                    BoolFlag::Set(true, _)
                ),
                "{args:?}"
            );
        }
        assert!(matches!(
            flags(&["--no-remote-bases=false"]).boolean("no-remote-bases"),
            BoolFlag::Set(false, _)
        ));
        // pflag: a bare boolean flag is true; "false" is a stray argument.
        match flags(&["--no-remote-bases", "false"]).boolean("no-remote-bases") {
            BoolFlag::Set(true, o) => assert_eq!(o.written, "--no-remote-bases false"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            flags(&["--no-remote-bases=yes"]).boolean("no-remote-bases"),
            BoolFlag::Invalid(_)
        ));
        assert_eq!(flags(&[]).boolean("no-remote-bases"), BoolFlag::Absent);
        // Last wins; `--` ends flags.
        assert!(matches!(
            flags(&["--no-remote-bases=true", "--no-remote-bases=false"])
                .boolean("no-remote-bases"),
            BoolFlag::Set(false, _)
        ));
        assert_eq!(
            flags(&["--", "--no-remote-bases"]).boolean("no-remote-bases"),
            BoolFlag::Absent
        );
    }

    #[test]
    fn string_flags_and_unknown_ones() {
        let f = flags(&[
            "--default-service-account",
            "--watch-label-selector=a=b",
            "--unknown",
            "--x",
            "v",
            "--y",
        ]);
        // A string flag takes the next argument, even one that looks like a flag (pflag).
        assert_eq!(
            f.get("default-service-account").unwrap().value,
            "--watch-label-selector=a=b"
        );
        assert!(f.get("watch-label-selector").is_none());
        assert_eq!(f.get("x").unwrap().value, "v");
        assert_eq!(f.get("y").unwrap().value, "true");
        assert_eq!(f.get("unknown").unwrap().value, "true");
    }

    #[test]
    fn command_and_env_expansion() {
        let c = json!({
            "command": ["/manager", "--no-cross-namespace-refs=$(NCR)"],
            "args": ["--default-service-account=$(SA)", "--x=$$(SA)"],
            "env": [{"name": "NCR", "value": "true"}, {"name": "SA", "value": "tenant"}]
        });
        let f = Flags::of_container(&c);
        match f.boolean("no-cross-namespace-refs") {
            BoolFlag::Set(true, o) => assert_eq!(o.pointer, "/command/1"),
            other => panic!("{other:?}"),
        }
        assert_eq!(f.get("default-service-account").unwrap().value, "tenant");
        assert_eq!(f.get("x").unwrap().value, "$(SA)");
    }
}
