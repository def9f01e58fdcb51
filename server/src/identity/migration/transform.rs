//! The transform of a schema migration: a Jsonnet program that gets each
//! identity as web hook bodies do (`function(ctx)`, `ctx.identity` in the
//! admin API's JSON) and gives its new `traits` (and optionally
//! `metadata_public`, `metadata_admin`).
//!
//! A whole batch is evaluated in one evaluator process (`render_batch`),
//! cut into chunks of at most [`MAX_CHUNK_BYTES`] of input so that no
//! request exceeds what the evaluator reads. Each identity gets its own
//! result: a program that fails for one identity fails only that one; one
//! that runs out of time or memory fails its chunk.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value, json};

use super::MigrationError;
use crate::flow::{Renderer, Shown};
use crate::hook::jsonnet::{self, JsonnetError, Rendered};
use crate::identity::Identity;

/// Largest transform program, in bytes.
pub const MAX_TRANSFORM_BYTES: usize = 64 * 1024;

/// How long one evaluator run (one chunk of a batch) may take.
pub const TIME_LIMIT: Duration = Duration::from_secs(10);

/// Most input, in bytes of JSON, sent to one evaluator run.
const MAX_CHUNK_BYTES: usize = 8 << 20;

/// What a transform gives for one identity.
#[derive(Debug, Clone, PartialEq)]
pub struct Changes {
    /// The new traits.
    pub traits: Value,
    /// The new public metadata when the transform set it (`null` clears it).
    pub metadata_public: Option<Value>,
    /// The new admin metadata when the transform set it (`null` clears it).
    pub metadata_admin: Option<Value>,
}

impl Changes {
    /// No transform: the traits as they are.
    pub fn keep(identity: &Identity) -> Self {
        Self {
            traits: identity.traits.clone(),
            metadata_public: None,
            metadata_admin: None,
        }
    }
}

/// Checks a transform before anything runs: its size and syntax (the
/// error names the line and column).
pub fn check(source: &str) -> Result<Arc<str>, MigrationError> {
    if source.len() > MAX_TRANSFORM_BYTES {
        return Err(MigrationError::InvalidTransform(format!(
            "the transform has {} bytes; at most {MAX_TRANSFORM_BYTES} are accepted",
            source.len()
        )));
    }
    jsonnet::check(source).map_err(MigrationError::InvalidTransform)?;
    Ok(Arc::from(source))
}

/// The transform's result for each identity, in order: its changes or why
/// it failed.
pub async fn apply(
    source: Arc<str>,
    identities: &[Identity],
    renderer: &Renderer,
) -> Result<Vec<Result<Changes, String>>, MigrationError> {
    let contexts: Vec<Value> = identities
        .iter()
        .map(|identity| json!({ "identity": renderer(Shown::Identity(identity)) }))
        .collect();
    let mut results = Vec::with_capacity(contexts.len());
    for chunk in chunks(&contexts, MAX_CHUNK_BYTES) {
        match jsonnet::render_batch(source.clone(), chunk, TIME_LIMIT).await {
            Ok(rendered) => results.extend(rendered.into_iter().map(read_result)),
            Err(JsonnetError::Busy) => return Err(MigrationError::Busy),
            Err(error) => {
                let reason = format!("the transform failed for its batch: {error}");
                results.extend(chunk.iter().map(|_| Err(reason.clone())));
            }
        }
    }
    Ok(results)
}

/// Cuts `items` into runs whose JSON stays under `limit` bytes (an item
/// larger than that goes alone).
pub fn chunks(items: &[Value], limit: usize) -> Vec<&[Value]> {
    let mut out = Vec::new();
    let (mut start, mut size) = (0, 0);
    for (n, item) in items.iter().enumerate() {
        let item_size = item.to_string().len() + 1;
        if n > start && size + item_size > limit {
            out.push(&items[start..n]);
            (start, size) = (n, 0);
        }
        size += item_size;
    }
    if start < items.len() {
        out.push(&items[start..]);
    }
    out
}

/// Reads one identity's result: an object with `traits` and optionally
/// `metadata_public` and `metadata_admin`, nothing else.
pub fn read_result(rendered: Result<Rendered, String>) -> Result<Changes, String> {
    let value = match rendered {
        Ok(Rendered::Json(value)) => value,
        Ok(Rendered::Cancelled) => return Err("the transform cancelled this identity".into()),
        Err(error) => return Err(format!("the transform failed: {error}")),
    };
    let Value::Object(mut fields) = value else {
        return Err("the transform must give an object with `traits`".into());
    };
    let Some(traits) = fields.remove("traits") else {
        return Err("the transform's result has no `traits`".into());
    };
    let metadata_public = fields.remove("metadata_public");
    let metadata_admin = fields.remove("metadata_admin");
    if let Some(unknown) = fields.keys().next() {
        return Err(unknown_key(unknown, &fields));
    }
    Ok(Changes {
        traits,
        metadata_public,
        metadata_admin,
    })
}

fn unknown_key(first: &str, fields: &Map<String, Value>) -> String {
    format!(
        "the transform's result has {} unknown key(s), e.g. {first:?}: only `traits`, \
         `metadata_public` and `metadata_admin` are read",
        fields.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_stay_under_the_limit_and_keep_order() {
        let items: Vec<Value> = (0..10).map(|n| json!({ "n": n })).collect();
        let each = items[0].to_string().len() + 1;
        let cut = chunks(&items, each * 3);
        assert_eq!(
            cut.iter().map(|c| c.len()).collect::<Vec<_>>(),
            [3, 3, 3, 1]
        );
        assert_eq!(cut.concat(), items);
        assert_eq!(chunks(&items, usize::MAX).len(), 1);
        assert!(chunks(&[], 10).is_empty());
        // An item larger than the limit goes alone, never dropped.
        let big = vec![json!("x".repeat(100)), json!(1), json!("y".repeat(100))];
        assert_eq!(
            chunks(&big, 10).iter().map(|c| c.len()).collect::<Vec<_>>(),
            [1, 1, 1]
        );
    }

    #[test]
    fn results_need_traits_and_nothing_unknown() {
        let ok = read_result(Ok(Rendered::Json(
            json!({"traits": {"a": 1}, "metadata_public": null}),
        )))
        .unwrap();
        assert_eq!(ok.traits, json!({"a": 1}));
        assert_eq!(ok.metadata_public, Some(Value::Null));
        assert_eq!(ok.metadata_admin, None);
        let err = read_result(Ok(Rendered::Json(json!({"trait": {}})))).unwrap_err();
        assert!(err.contains("no `traits`"), "{err}");
        let err = read_result(Ok(Rendered::Json(json!({"traits": {}, "state": "x"})))).unwrap_err();
        assert!(err.contains("\"state\""), "{err}");
        assert!(read_result(Ok(Rendered::Json(json!([1])))).is_err());
        assert!(read_result(Ok(Rendered::Cancelled)).is_err());
        let err = read_result(Err("boom (at line 1, column 2)".into())).unwrap_err();
        assert!(err.contains("boom"), "{err}");
    }

    #[test]
    fn oversized_and_broken_transforms_are_refused_before_running() {
        let big = format!("{{traits: {{}}}} // {}", "x".repeat(MAX_TRANSFORM_BYTES));
        assert!(
            matches!(check(&big), Err(MigrationError::InvalidTransform(e)) if e.contains("bytes"))
        );
        let broken = "function(ctx) {\n  traits: ctx.identity.traits +,\n}";
        assert!(
            matches!(check(broken), Err(MigrationError::InvalidTransform(e)) if e.contains("line 2"))
        );
        assert!(check("function(ctx) { traits: ctx.identity.traits }").is_ok());
    }

    #[test]
    fn a_batch_fails_only_the_identities_whose_transform_throws() {
        let source = "function(ctx) if ctx.identity.n == 2 then error 'two' \
                      else { traits: { n: ctx.identity.n * 10 } }";
        let contexts: Vec<Value> = (1..=3).map(|n| json!({"identity": {"n": n}})).collect();
        let answers = jsonnet::evaluate_batch(source, &contexts).unwrap();
        assert_eq!(answers[0], json!({"json": {"traits": {"n": 10}}}));
        assert!(
            answers[1]["error"].as_str().unwrap().contains("two"),
            "{}",
            answers[1]
        );
        assert_eq!(answers[2], json!({"json": {"traits": {"n": 30}}}));
        // A plain value is every identity's result.
        let answers = jsonnet::evaluate_batch("{traits: {}}", &contexts).unwrap();
        assert!(
            answers
                .iter()
                .all(|a| a == &json!({"json": {"traits": {}}}))
        );
        // A program that does not evaluate fails the whole batch.
        assert!(jsonnet::evaluate_batch("error 'top'", &contexts).is_err());
        // Deep recursion fails that identity only.
        let answers = jsonnet::evaluate_batch(
            "local f(n) = f(n + 1) + 1; function(ctx) if ctx.identity.n == 1 then f(0) else {traits: {}}",
            &contexts,
        )
        .unwrap();
        assert!(
            answers[0]["error"].as_str().unwrap().contains("stack"),
            "{}",
            answers[0]
        );
        assert_eq!(answers[1], json!({"json": {"traits": {}}}));
    }
}
