//! The Sprig functions Kratos templates commonly use, on top of Go's
//! built-ins (`and`, `or`, `not`, `eq`, `ne`, `lt`, `le`, `gt`, `ge`, `len`,
//! `index`, `slice`, `print`, `printf`, `println`, `html`, `js`, `urlquery`,
//! `call`), which the engine has.
//!
//! Each behaves as Sprig's does for the common cases; functions that read
//! the clock, the environment, the network or randomness are left out, as in
//! Sprig's hermetic set Kratos uses for custom templates. Arguments come in
//! Sprig's order, so the piped value is the last one: `{{ .Name | default
//! "there" }}` calls `default "there" .Name`.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use gotmpl::{FuncMap, TemplateError, Value};
use serde_json::Value as Json;

use crate::LIMITS;
use crate::data::to_json;

type Result<T> = std::result::Result<T, TemplateError>;

/// Every function this crate adds, by name.
pub fn all() -> FuncMap {
    let mut map = FuncMap::new();
    let mut add = |name: &str, f: fn(&[Value]) -> Result<Value>| {
        map.insert(name.to_owned(), Arc::new(f));
    };
    // strings
    add("upper", |a| text(s(a, 0).to_uppercase()));
    add("lower", |a| text(s(a, 0).to_lowercase()));
    add("title", |a| text(title(&s(a, 0))));
    add("untitle", |a| text(untitle(&s(a, 0))));
    add("trim", |a| text(s(a, 0).trim().to_owned()));
    add("trimAll", |a| {
        let cut: Vec<char> = s(a, 0).chars().collect();
        text(s(a, 1).trim_matches(cut.as_slice()).to_owned())
    });
    add("trimPrefix", |a| {
        let (p, v) = (s(a, 0), s(a, 1));
        text(v.strip_prefix(p.as_str()).unwrap_or(&v).to_owned())
    });
    add("trimSuffix", |a| {
        let (p, v) = (s(a, 0), s(a, 1));
        text(v.strip_suffix(p.as_str()).unwrap_or(&v).to_owned())
    });
    add("nospace", |a| {
        text(s(a, 0).chars().filter(|c| !c.is_whitespace()).collect())
    });
    add("cat", |a| {
        let parts: Vec<String> = a.iter().filter(|v| !is_nil(v)).map(show).collect();
        text(parts.join(" "))
    });
    add("replace", |a| {
        let (old, new, v) = (s(a, 0), s(a, 1), s(a, 2));
        let out = v.replace(old.as_str(), new.as_str());
        bounded(out)
    });
    add("contains", |a| {
        Ok(Value::Bool(s(a, 1).contains(s(a, 0).as_str())))
    });
    add("hasPrefix", |a| {
        Ok(Value::Bool(s(a, 1).starts_with(s(a, 0).as_str())))
    });
    add("hasSuffix", |a| {
        Ok(Value::Bool(s(a, 1).ends_with(s(a, 0).as_str())))
    });
    add("repeat", |a| {
        let (n, v) = (count(a, 0)?, s(a, 1));
        if n.saturating_mul(v.len()) > LIMITS.output_bytes {
            return Err(fail("repeat: the result would be too large"));
        }
        text(v.repeat(n))
    });
    add("substr", |a| {
        let chars: Vec<char> = s(a, 2).chars().collect();
        let start = int(a, 0)?.clamp(0, chars.len() as i64) as usize;
        let end = int(a, 1)?;
        let end = if end < 0 {
            chars.len()
        } else {
            (end as usize).min(chars.len())
        };
        text(chars[start.min(end)..end].iter().collect())
    });
    add("trunc", |a| {
        let (n, v) = (int(a, 0)?, s(a, 1));
        let chars: Vec<char> = v.chars().collect();
        let len = chars.len() as i64;
        let kept: String = if n >= 0 {
            chars.iter().take(n as usize).collect()
        } else {
            chars.iter().skip((len + n).max(0) as usize).collect()
        };
        text(kept)
    });
    add("abbrev", |a| {
        let (n, v) = (count(a, 0)?, s(a, 1));
        let chars: Vec<char> = v.chars().collect();
        if n < 4 || chars.len() <= n {
            return text(v);
        }
        text(chars[..n - 3].iter().collect::<String>() + "...")
    });
    add("quote", |a| {
        let parts: Vec<String> = a
            .iter()
            .filter(|v| !is_nil(v))
            .map(|v| format!("{:?}", show(v)))
            .collect();
        text(parts.join(" "))
    });
    add("squote", |a| {
        let parts: Vec<String> = a
            .iter()
            .filter(|v| !is_nil(v))
            .map(|v| format!("'{}'", show(v)))
            .collect();
        text(parts.join(" "))
    });
    add("indent", |a| text(indent(count(a, 0)?, &s(a, 1))));
    add("nindent", |a| {
        text(format!("\n{}", indent(count(a, 0)?, &s(a, 1))))
    });
    add("join", |a| {
        let sep = s(a, 0);
        let items: Vec<String> = match a.get(1) {
            Some(Value::List(items)) => items.iter().map(show).collect(),
            Some(v) => vec![show(v)],
            None => Vec::new(),
        };
        bounded(items.join(&sep))
    });
    add("splitList", |a| {
        let (sep, v) = (s(a, 0), s(a, 1));
        if sep.is_empty() {
            return Err(fail("splitList: empty separator"));
        }
        let parts: Vec<Value> = v.split(sep.as_str()).map(Value::from).collect();
        Ok(Value::List(parts.into()))
    });
    add("toString", |a| text(s(a, 0)));
    add("b64enc", |a| text(STANDARD.encode(s(a, 0))));
    add("b64dec", |a| {
        let bytes = STANDARD
            .decode(s(a, 0))
            .map_err(|e| fail(format!("b64dec: {e}")))?;
        text(String::from_utf8_lossy(&bytes).into_owned())
    });
    // defaults and JSON
    add("default", |a| {
        let given = a.get(1).cloned().unwrap_or(Value::Nil);
        Ok(if empty(&given) {
            a.first().cloned().unwrap_or(Value::Nil)
        } else {
            given
        })
    });
    add("empty", |a| Ok(Value::Bool(a.first().is_none_or(empty))));
    add("coalesce", |a| {
        Ok(a.iter().find(|v| !empty(v)).cloned().unwrap_or(Value::Nil))
    });
    add("ternary", |a| {
        let cond = a.get(2).is_some_and(gotmpl::is_true);
        Ok(a.get(if cond { 0 } else { 1 })
            .cloned()
            .unwrap_or(Value::Nil))
    });
    add("toJson", |a| {
        let json = a.first().map_or(Json::Null, to_json);
        text(go_json(serde_json::to_string(&json)))
    });
    add("toPrettyJson", |a| {
        let json = a.first().map_or(Json::Null, to_json);
        text(go_json(serde_json::to_string_pretty(&json)))
    });
    // lists and dictionaries
    add("list", |a| Ok(Value::List(a.to_vec().into())));
    add("first", |a| match a.first() {
        Some(Value::List(items)) => Ok(items.first().cloned().unwrap_or(Value::Nil)),
        _ => Ok(Value::Nil),
    });
    add("last", |a| match a.first() {
        Some(Value::List(items)) => Ok(items.last().cloned().unwrap_or(Value::Nil)),
        _ => Ok(Value::Nil),
    });
    add("dict", |a| {
        let mut map = std::collections::BTreeMap::new();
        for pair in a.chunks(2) {
            let value = pair.get(1).cloned().unwrap_or(Value::Nil);
            map.insert(Arc::from(show(&pair[0]).as_str()), value);
        }
        Ok(Value::Map(Arc::new(map)))
    });
    add("get", |a| match a.first() {
        Some(Value::Map(map)) => Ok(map
            .get(s(a, 1).as_str())
            .cloned()
            .unwrap_or_else(|| Value::from(""))),
        _ => Ok(Value::from("")),
    });
    add("hasKey", |a| match a.first() {
        Some(Value::Map(map)) => Ok(Value::Bool(map.contains_key(s(a, 1).as_str()))),
        _ => Ok(Value::Bool(false)),
    });
    add("keys", |a| {
        let mut keys: Vec<Value> = Vec::new();
        for v in a {
            if let Value::Map(map) = v {
                keys.extend(map.keys().map(|k| Value::String(k.clone())));
            }
        }
        Ok(Value::List(keys.into()))
    });
    // arithmetic on integers, as Sprig's (which converts to int64)
    add("add", |a| fold(a, 0, i64::checked_add));
    add("mul", |a| fold(a, 1, i64::checked_mul));
    add("add1", |a| arith(int(a, 0)?.checked_add(1)));
    add("sub", |a| arith(int(a, 0)?.checked_sub(int(a, 1)?)));
    add("div", |a| arith(int(a, 0)?.checked_div(int(a, 1)?)));
    add("mod", |a| arith(int(a, 0)?.checked_rem(int(a, 1)?)));
    add("max", |a| {
        let ints = a.iter().map(to_int).collect::<Result<Vec<_>>>()?;
        arith(ints.into_iter().max())
    });
    add("min", |a| {
        let ints = a.iter().map(to_int).collect::<Result<Vec<_>>>()?;
        arith(ints.into_iter().min())
    });
    map
}

fn fail(message: impl Into<String>) -> TemplateError {
    TemplateError::Exec(message.into())
}

fn text(s: String) -> Result<Value> {
    Ok(Value::String(Arc::from(s.as_str())))
}

fn bounded(s: String) -> Result<Value> {
    if s.len() > LIMITS.output_bytes {
        return Err(fail("the result would be too large"));
    }
    text(s)
}

fn is_nil(v: &Value) -> bool {
    matches!(v, Value::Nil)
}

/// A value as text, Sprig's way: nil is empty.
fn show(v: &Value) -> String {
    match v {
        Value::Nil => String::new(),
        Value::String(s) => s.to_string(),
        other => other.to_string(),
    }
}

fn s(a: &[Value], i: usize) -> String {
    a.get(i).map(show).unwrap_or_default()
}

fn to_int(v: &Value) -> Result<i64> {
    match v {
        Value::Nil => Ok(0),
        Value::Int(i) => Ok(*i),
        Value::Uint(u) => i64::try_from(*u).map_err(|_| fail("integer out of range")),
        Value::Float(f) => Ok(*f as i64),
        Value::Bool(b) => Ok(i64::from(*b)),
        Value::String(s) => s
            .trim()
            .parse()
            .map_err(|_| fail(format!("{s:?} is not a number"))),
        other => Err(fail(format!("{} is not a number", other.type_name()))),
    }
}

fn int(a: &[Value], i: usize) -> Result<i64> {
    a.get(i).map_or(Ok(0), to_int)
}

fn count(a: &[Value], i: usize) -> Result<usize> {
    Ok(usize::try_from(int(a, i)?.max(0)).unwrap_or(usize::MAX))
}

fn arith(v: Option<i64>) -> Result<Value> {
    v.map(Value::Int)
        .ok_or_else(|| fail("arithmetic overflow or division by zero"))
}

fn fold(a: &[Value], start: i64, op: fn(i64, i64) -> Option<i64>) -> Result<Value> {
    let mut acc = start;
    for v in a {
        acc = op(acc, to_int(v)?).ok_or_else(|| fail("arithmetic overflow"))?;
    }
    Ok(Value::Int(acc))
}

/// Sprig's `empty`: nil, false, zero, and empty strings, lists and maps.
fn empty(v: &Value) -> bool {
    match v {
        Value::Nil => true,
        Value::Bool(b) => !b,
        Value::Int(i) => *i == 0,
        Value::Uint(u) => *u == 0,
        Value::Float(f) => *f == 0.0,
        Value::String(s) => s.is_empty(),
        Value::List(items) => items.is_empty(),
        Value::Map(map) => map.is_empty(),
        _ => false,
    }
}

fn title(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let mut start = true;
    for c in v.chars() {
        if start {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        start = c.is_whitespace();
    }
    out
}

fn untitle(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let mut start = true;
    for c in v.chars() {
        if start {
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
        start = c.is_whitespace();
    }
    out
}

fn indent(n: usize, v: &str) -> String {
    let pad = " ".repeat(n.min(LIMITS.output_bytes / v.lines().count().max(1)));
    v.split('\n')
        .map(|line| format!("{pad}{line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// JSON as Go's encoder writes it: `<`, `>` and `&` escaped (they appear only
/// inside strings, so replacing them keeps the document equal).
fn go_json(json: serde_json::Result<String>) -> String {
    json.unwrap_or_default()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}
