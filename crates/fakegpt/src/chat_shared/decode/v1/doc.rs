//! One message document of a delta-encoded turn, and the patch operations
//! that build it: JSON pointers into a `serde_json::Value`.
//!
//! The rules are the lenient ones a client of such a stream needs: an
//! `append` to a missing place creates it (the first text creates
//! `parts/0`), a string appended to a string concatenates, a list extends,
//! an object merges; intermediate objects are created on the way. What
//! cannot apply (an index past the end of a list, a pointer through a
//! string) is skipped, never fatal and never an allocation the peer sized:
//! a list only ever grows by one element per operation.

use std::borrow::Cow;

use serde_json::{Map, Value};

/// A patch operation (`o`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Set, or insert into a list.
    Add,
    /// Concatenate a string, extend a list, merge an object.
    Append,
    /// Set.
    Replace,
    /// `v` is a list of `{p, o, v}` operations with absolute paths.
    Patch,
    /// Shorten a string (characters) or a list to `v` elements.
    Truncate,
    /// Remove.
    Remove,
}

impl Op {
    /// The operation an `o` names, if one we know.
    pub fn parse(name: &str) -> Option<Op> {
        Some(match name {
            "add" => Op::Add,
            "append" => Op::Append,
            "replace" => Op::Replace,
            "patch" => Op::Patch,
            "truncate" => Op::Truncate,
            "remove" => Op::Remove,
            _ => return None,
        })
    }
}

/// Applies one operation other than [`Op::Patch`] at `path` (a JSON
/// pointer; `""` is the whole document). Returns whether it applied.
pub fn apply(doc: &mut Value, path: &str, op: Op, v: Value) -> bool {
    if path.is_empty() {
        return match op {
            Op::Add | Op::Replace => {
                *doc = v;
                true
            }
            Op::Append => append(doc, v),
            Op::Truncate => truncate(doc, &v),
            Op::Remove | Op::Patch => false,
        };
    }
    let Some(rest) = path.strip_prefix('/') else {
        return false;
    };
    let (parents, last) = match rest.rsplit_once('/') {
        Some((parents, last)) => (Some(parents), last),
        None => (None, rest),
    };
    let tokens = parents.into_iter().flat_map(|p| p.split('/')).map(token);
    let last = token(last).into_owned();
    let create = matches!(op, Op::Add | Op::Append | Op::Replace);
    let Some(parent) = walk(doc, tokens, create) else {
        return false;
    };
    if create && parent.is_null() {
        *parent = Value::Object(Map::new());
    }
    match parent {
        Value::Object(map) => object_op(map, last, op, v),
        Value::Array(list) => array_op(list, &last, op, v),
        _ => false,
    }
}

/// The value at `path`, if there is one; unlike `Value::pointer_mut`,
/// allocates nothing for tokens without escapes.
pub fn get_mut<'a>(doc: &'a mut Value, path: &str) -> Option<&'a mut Value> {
    if path.is_empty() {
        return Some(doc);
    }
    let mut at = doc;
    for token in path.strip_prefix('/')?.split('/').map(token) {
        at = match at {
            Value::Object(map) => map.get_mut(token.as_ref())?,
            Value::Array(list) => list.get_mut(token.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(at)
}

/// A pointer's token: `~1` is `/` and `~0` is `~`; borrowed when it has
/// neither.
fn token(token: &str) -> Cow<'_, str> {
    if token.contains('~') {
        token.replace("~1", "/").replace("~0", "~").into()
    } else {
        token.into()
    }
}

/// The value at `tokens`, creating missing object members (as objects, or
/// a list element one past the end) when `create`.
fn walk<'a, 't>(
    mut at: &'a mut Value,
    tokens: impl Iterator<Item = Cow<'t, str>>,
    create: bool,
) -> Option<&'a mut Value> {
    for token in tokens {
        if create && at.is_null() {
            *at = Value::Object(Map::new());
        }
        at = match at {
            Value::Object(map) => {
                if !map.contains_key(token.as_ref()) {
                    if !create {
                        return None;
                    }
                    map.insert(String::from(token.as_ref()), Value::Null);
                }
                map.get_mut(token.as_ref())?
            }
            Value::Array(list) => {
                let index = list_index(&token, list.len())?;
                if index == list.len() {
                    if !create {
                        return None;
                    }
                    list.push(Value::Null);
                }
                &mut list[index]
            }
            _ => return None,
        };
    }
    Some(at)
}

/// A list index token: a number up to the length (one past the end
/// appends), or `-` for the end.
fn list_index(token: &str, len: usize) -> Option<usize> {
    if token == "-" {
        return Some(len);
    }
    token.parse::<usize>().ok().filter(|&i| i <= len)
}

fn object_op(map: &mut Map<String, Value>, key: String, op: Op, v: Value) -> bool {
    match op {
        Op::Add | Op::Replace => {
            map.insert(key, v);
            true
        }
        Op::Append => match map.get_mut(key.as_str()) {
            Some(target) => append(target, v),
            None => {
                map.insert(key, v);
                true
            }
        },
        Op::Truncate => map.get_mut(key.as_str()).is_some_and(|t| truncate(t, &v)),
        Op::Remove => map.remove(key.as_str()).is_some(),
        Op::Patch => false,
    }
}

fn array_op(list: &mut Vec<Value>, token: &str, op: Op, v: Value) -> bool {
    let Some(index) = list_index(token, list.len()) else {
        return false;
    };
    match op {
        Op::Add => {
            list.insert(index, v);
            true
        }
        Op::Replace | Op::Append if index == list.len() => {
            list.push(v);
            true
        }
        Op::Replace => {
            list[index] = v;
            true
        }
        Op::Append => append(&mut list[index], v),
        Op::Truncate => list.get_mut(index).is_some_and(|t| truncate(t, &v)),
        Op::Remove if index < list.len() => {
            list.remove(index);
            true
        }
        Op::Remove | Op::Patch => false,
    }
}

/// Appends `v` to `target`: strings concatenate, lists extend (or take one
/// more element), objects merge; anything appended to `null` replaces it.
pub fn append(target: &mut Value, v: Value) -> bool {
    match (target, v) {
        (Value::String(s), Value::String(more)) => {
            s.push_str(&more);
            true
        }
        (Value::Array(list), Value::Array(more)) => {
            list.extend(more);
            true
        }
        (Value::Array(list), one) => {
            list.push(one);
            true
        }
        (Value::Object(map), Value::Object(more)) => {
            map.extend(more);
            true
        }
        (target @ Value::Null, v) => {
            *target = v;
            true
        }
        _ => false,
    }
}

/// Shortens a string to `v` characters or a list to `v` elements.
fn truncate(target: &mut Value, v: &Value) -> bool {
    let Some(len) = v.as_u64().and_then(|n| usize::try_from(n).ok()) else {
        return false;
    };
    match target {
        Value::String(s) => {
            if let Some((at, _)) = s.char_indices().nth(len) {
                s.truncate(at);
            }
            true
        }
        Value::Array(list) => {
            list.truncate(len);
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(doc: Value, ops: &[(&str, Op, Value)]) -> Value {
        let mut doc = doc;
        for (path, op, v) in ops {
            apply(&mut doc, path, *op, v.clone());
        }
        doc
    }

    #[test]
    fn appends_concatenate_extend_merge_and_create() {
        let doc = json!({"message": {"content": {"parts": []}, "metadata": {"a": 1}}});
        let doc = run(
            doc,
            &[
                ("/message/content/parts/0", Op::Append, json!("Hel")),
                ("/message/content/parts/0", Op::Append, json!("lo")),
                ("/message/metadata", Op::Append, json!({"b": 2})),
                ("/message/list", Op::Append, json!([1])),
                ("/message/list", Op::Append, json!([2, 3])),
                ("/message/list", Op::Append, json!(4)),
                ("/message/new/deep", Op::Append, json!("x")),
            ],
        );
        assert_eq!(
            doc,
            json!({"message": {"content": {"parts": ["Hello"]},
                   "metadata": {"a": 1, "b": 2}, "list": [1, 2, 3, 4], "new": {"deep": "x"}}})
        );
    }

    #[test]
    fn add_replace_remove_truncate_follow_json_pointer() {
        let doc = json!({"a": [1, 2], "b": {"c~d": 1, "e/f": 2}, "s": "héllo"});
        let doc = run(
            doc,
            &[
                ("/a/0", Op::Add, json!(0)),
                ("/a/-", Op::Add, json!(3)),
                ("/b/c~0d", Op::Replace, json!(9)),
                ("/b/e~1f", Op::Remove, Value::Null),
                ("/s", Op::Truncate, json!(2)),
                ("/a", Op::Truncate, json!(3)),
            ],
        );
        assert_eq!(doc, json!({"a": [0, 1, 2], "b": {"c~d": 9}, "s": "hé"}));
        assert_eq!(
            run(json!({"x": 1}), &[("", Op::Add, json!({"y": 2}))]),
            json!({"y": 2})
        );
    }

    #[test]
    fn what_cannot_apply_is_skipped_without_growing_anything() {
        let mut doc = json!({"list": [], "s": "text"});
        assert!(!apply(
            &mut doc,
            "/list/999999999999",
            Op::Append,
            json!("x")
        ));
        assert!(!apply(&mut doc, "/list/5", Op::Replace, json!("x")));
        assert!(!apply(&mut doc, "/s/inner", Op::Append, json!("x")));
        assert!(!apply(&mut doc, "no-slash", Op::Append, json!("x")));
        assert!(!apply(&mut doc, "/s", Op::Append, json!(1)));
        assert!(!apply(&mut doc, "/missing/x", Op::Remove, Value::Null));
        assert_eq!(doc, json!({"list": [], "s": "text"}));
    }
}
