//! `sharding/watch-label-selector`: instances of one controller type must
//! watch disjoint sets of objects.
//!
//! An instance watches the objects matching its `--watch-label-selector`
//! (all objects when absent or empty) in all namespaces, or only in its own
//! namespace with `--watch-all-namespaces=false`. Two instances overlap unless
//! their namespace scopes are disjoint or their selectors are: no label set
//! satisfies both. That is decided exactly, per label key, for the
//! Kubernetes selector syntax (`k=v`, `k==v`, `k!=v`, `k in (a,b)`,
//! `k notin (a,b)`, `k`, `!k`, comma-separated). The usual layout passes:
//! the main instance with `!sharding.fluxcd.io/key`, each shard with
//! `sharding.fluxcd.io/key=<its own value>`.

use std::collections::{BTreeMap, BTreeSet};

use super::Ctx;
use crate::controller::{Controller, ControllerContainer};
use crate::flags::{BoolFlag, Flags};

/// The values a label key may take under a selector.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Values {
    /// Only these values.
    Only(BTreeSet<String>),
    /// Any value but these.
    AllBut(BTreeSet<String>),
}

/// What a selector allows for one key.
#[derive(Debug, Clone, PartialEq, Eq)]
struct KeyConstraint {
    /// Whether the label may be absent.
    absent: bool,
    values: Values,
}

impl KeyConstraint {
    const ANY: KeyConstraint = KeyConstraint {
        absent: true,
        values: Values::AllBut(BTreeSet::new()),
    };

    fn intersect(&self, other: &Self) -> Self {
        use Values::*;
        let values = match (&self.values, &other.values) {
            (Only(a), Only(b)) => Only(a.intersection(b).cloned().collect()),
            (Only(a), AllBut(b)) | (AllBut(b), Only(a)) => Only(a.difference(b).cloned().collect()),
            (AllBut(a), AllBut(b)) => AllBut(a.union(b).cloned().collect()),
        };
        Self {
            absent: self.absent && other.absent,
            values,
        }
    }

    fn is_empty(&self) -> bool {
        !self.absent && matches!(&self.values, Values::Only(v) if v.is_empty())
    }
}

/// A parsed selector: a constraint per key it mentions.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Selector(BTreeMap<String, KeyConstraint>);

/// Parse a label selector string.
pub(crate) fn parse_selector(s: &str) -> Result<Selector, String> {
    let mut out = Selector::default();
    let mut depth = 0usize;
    let mut parts = Vec::new();
    let mut start = 0;
    for (i, ch) in s.char_indices() {
        match ch {
            '(' => depth += 1,
            ')' => depth = depth.checked_sub(1).ok_or("unbalanced parenthesis")?,
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err("unbalanced parenthesis".into());
    }
    parts.push(&s[start..]);
    if parts.len() == 1 && parts[0].trim().is_empty() {
        return Ok(out);
    }
    for part in parts {
        let (key, c) = parse_requirement(part.trim())?;
        let merged = out.0.get(&key).unwrap_or(&KeyConstraint::ANY).intersect(&c);
        out.0.insert(key, merged);
    }
    Ok(out)
}

fn valid_key(k: &str) -> Result<String, String> {
    if k.is_empty()
        || k.chars()
            .any(|c| c.is_whitespace() || "=!(),<>".contains(c))
    {
        return Err(format!("invalid label key {k:?}"));
    }
    Ok(k.to_string())
}

fn value_set(list: &str) -> BTreeSet<String> {
    list.split(',').map(|v| v.trim().to_string()).collect()
}

fn parse_requirement(r: &str) -> Result<(String, KeyConstraint), String> {
    if r.is_empty() {
        return Err("empty requirement".into());
    }
    if let Some(k) = r.strip_prefix('!') {
        let key = valid_key(k.trim())?;
        let c = KeyConstraint {
            absent: true,
            values: Values::Only(BTreeSet::new()),
        };
        return Ok((key, c));
    }
    if let Some(open) = r.find('(') {
        let close = r
            .rfind(')')
            .filter(|c| *c == r.len() - 1)
            .ok_or("expected `)` at the end")?;
        let head: Vec<&str> = r[..open].split_whitespace().collect();
        let values = value_set(&r[open + 1..close]);
        return match head.as_slice() {
            [k, "in"] => Ok((
                valid_key(k)?,
                KeyConstraint {
                    absent: false,
                    values: Values::Only(values),
                },
            )),
            [k, "notin"] => Ok((
                valid_key(k)?,
                KeyConstraint {
                    absent: true,
                    values: Values::AllBut(values),
                },
            )),
            _ => Err(format!("cannot parse {r:?}")),
        };
    }
    if r.contains('<') || r.contains('>') {
        return Err(format!("numeric comparison {r:?} is not supported here"));
    }
    if let Some((k, v)) = r.split_once("!=") {
        let c = KeyConstraint {
            absent: true,
            values: Values::AllBut(BTreeSet::from([v.trim().to_string()])),
        };
        return Ok((valid_key(k.trim())?, c));
    }
    if let Some((k, v)) = r.split_once("==").or_else(|| r.split_once('=')) {
        let c = KeyConstraint {
            absent: false,
            values: Values::Only(BTreeSet::from([v.trim().to_string()])),
        };
        return Ok((valid_key(k.trim())?, c));
    }
    let c = KeyConstraint {
        absent: false,
        values: Values::AllBut(BTreeSet::new()),
    };
    Ok((valid_key(r)?, c))
}

/// Whether no label set satisfies both selectors.
pub(crate) fn disjoint(a: &Selector, b: &Selector) -> bool {
    let any = KeyConstraint::ANY;
    a.0.iter().any(|(k, ca)| {
        let cb = b.0.get(k).unwrap_or(&any);
        ca.intersect(cb).is_empty()
    })
}

struct Instance<'a> {
    c: &'a ControllerContainer<'a>,
    selector_text: String,
    selector: Result<Selector, String>,
    /// `None`: all namespaces.
    namespace: Option<&'a str>,
}

impl Instance<'_> {
    fn describe(&self) -> String {
        let sel = if self.selector_text.is_empty() {
            "no --watch-label-selector (all objects)".to_string()
        } else {
            format!("--watch-label-selector={}", self.selector_text)
        };
        let ns = match self.namespace {
            None => "all namespaces".to_string(),
            Some(ns) => format!("namespace {ns} only"),
        };
        format!(
            "{}/{}/{} ({sel}, {ns})",
            self.c.workload.kind, self.c.workload.namespace, self.c.workload.name
        )
    }

    fn overlaps(&self, other: &Instance<'_>) -> bool {
        if let (Some(a), Some(b)) = (self.namespace, other.namespace) {
            if a != b {
                return false;
            }
        }
        match (&self.selector, &other.selector) {
            (Ok(a), Ok(b)) => !disjoint(a, b),
            // An unparseable selector: the controller would not start, but
            // nothing shows the scopes apart either.
            _ => true,
        }
    }
}

/// The rule, over every top-level controller workload.
pub(crate) fn check(ctx: &mut Ctx<'_>, containers: &[ControllerContainer<'_>]) {
    let mut by_type: BTreeMap<Controller, Vec<Instance<'_>>> = BTreeMap::new();
    for c in containers.iter().filter(|c| c.workload.top_level) {
        let flags = Flags::of_container(c.container);
        let selector_text = flags
            .get("watch-label-selector")
            .map(|o| o.value.clone())
            .unwrap_or_default();
        let all_namespaces = !matches!(
            flags.boolean("watch-all-namespaces"),
            BoolFlag::Set(false, _)
        );
        by_type.entry(c.controller).or_default().push(Instance {
            c,
            selector: parse_selector(&selector_text),
            selector_text,
            namespace: (!all_namespaces).then_some(c.workload.namespace),
        });
    }
    for instances in by_type.values() {
        for (i, inst) in instances.iter().enumerate() {
            let overlapping: Vec<&Instance<'_>> = instances
                .iter()
                .enumerate()
                .filter(|(j, other)| *j != i && inst.overlaps(other))
                .map(|(_, o)| o)
                .collect();
            let m = inst.c.workload.manifest;
            let pointer = inst.c.pointer();
            let mut evidence = if overlapping.is_empty() {
                if instances.len() == 1 {
                    format!("single instance: {}", inst.describe())
                } else {
                    format!(
                        "{} watches objects no other instance watches",
                        inst.describe()
                    )
                }
            } else {
                // Name a few; a fleet of copies would make an unreadable line.
                let mut named: Vec<String> =
                    overlapping.iter().take(3).map(|o| o.describe()).collect();
                if overlapping.len() > 3 {
                    named.push(format!("{} more", overlapping.len() - 3));
                }
                format!("{} overlaps with {}", inst.describe(), named.join("; "))
            };
            if let Err(e) = &inst.selector {
                evidence.push_str(&format!(" (selector not understood: {e})"));
            }
            ctx.record(
                "sharding/watch-label-selector",
                m,
                Some(inst.c.name),
                &pointer,
                overlapping.is_empty(),
                evidence,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(a: &str, b: &str) -> bool {
        disjoint(&parse_selector(a).unwrap(), &parse_selector(b).unwrap())
    }

    #[test]
    fn disjointness() {
        assert!(d(
            "!sharding.fluxcd.io/key",
            "sharding.fluxcd.io/key=shard1"
        ));
        assert!(d(
            "sharding.fluxcd.io/key=shard1",
            "sharding.fluxcd.io/key=shard2"
        ));
        assert!(!d(
            "sharding.fluxcd.io/key=shard1",
            "sharding.fluxcd.io/key=shard1"
        ));
        assert!(!d("", "sharding.fluxcd.io/key=shard1"));
        assert!(!d(
            "sharding.fluxcd.io/key",
            "sharding.fluxcd.io/key in (a, b)"
        ));
        assert!(d("k in (a,b)", "k notin (a, b)"));
        assert!(!d("k in (a,b,c)", "k notin (a, b)"));
        assert!(d("k!=a,k", "k==a"));
        assert!(!d("k!=a", "k!=b"));
        assert!(d("team=x,k=1", "k=2,team=x"));
        assert!(!d("team=x", "k=2"));
        assert!(d("k", "!k"));
        assert!(parse_selector("k > 1").is_err());
        assert!(parse_selector("k in (a").is_err());
        assert!(parse_selector("a b").is_err());
    }
}
