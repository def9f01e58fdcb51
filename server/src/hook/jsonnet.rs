//! Jsonnet evaluation for web hook bodies, with a time limit.
//!
//! The evaluator cannot be interrupted, so each evaluation runs on its own
//! thread and the caller stops waiting at the deadline. A program still
//! running then keeps its thread until it ends or the process exits; at most
//! [`MAX_RUNNING`] evaluations run at once, so runaway programs cannot take
//! more than that many threads: further evaluations fail until one ends.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rsjsonnet_lang::arena::Arena;
use rsjsonnet_lang::interner::InternedStr;
use rsjsonnet_lang::lexer::LexError;
use rsjsonnet_lang::parser::ParseError;
use rsjsonnet_lang::program::{
    Callbacks, EvalError, EvalErrorKind, EvalStackTraceItem, ImportError, LoadError, NativeError,
    Program, Thunk, Value,
};
use rsjsonnet_lang::span::SpanId;

/// Most evaluations running at once (runaway ones included).
pub const MAX_RUNNING: usize = 8;

/// Deepest call stack a program may use.
const MAX_STACK: usize = 200;

static RUNNING: AtomicUsize = AtomicUsize::new(0);

/// Why a body could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonnetError {
    /// The program does not parse, fails, or does not give JSON.
    #[error("{0}")]
    Program(String),
    /// The program ran past its time limit.
    #[error("the program did not finish within {0:?}")]
    TimedOut(Duration),
    /// Too many evaluations are still running.
    #[error("too many Jsonnet programs are running ({MAX_RUNNING}); try again later")]
    Busy,
}

/// What a body program gave.
#[derive(Debug, Clone, PartialEq)]
pub enum Rendered {
    /// The JSON document to send.
    Json(serde_json::Value),
    /// The program called `error "cancel"`: send nothing.
    Cancelled,
}

/// Parses a program without running it; the error says where it is wrong.
pub fn check(source: &str) -> Result<(), String> {
    let arena = Arena::new();
    let mut program = Program::new(&arena);
    load(&mut program, source, "body.jsonnet", true).map(|_| ())
}

/// Runs `source` on a thread of its own: a function is called with `ctx` as
/// its `ctx` argument, any other value is the result as is.
pub async fn render(
    source: std::sync::Arc<str>,
    ctx: serde_json::Value,
    limit: Duration,
) -> Result<Rendered, JsonnetError> {
    let ctx = ctx.to_string();
    run_limited(limit, move || evaluate(&source, &ctx)).await
}

/// Runs `source` on a thread of its own with `value` as the external
/// variable `name` (`std.extVar(name)`), as Kratos's claim mappers read
/// their input; the program's value is the result.
pub async fn render_with_ext_var(
    source: std::sync::Arc<str>,
    name: &'static str,
    value: serde_json::Value,
    limit: Duration,
) -> Result<Rendered, JsonnetError> {
    let value = value.to_string();
    run_limited(limit, move || {
        evaluate_with(&source, "{}", Some((name, &value)))
    })
    .await
}

async fn run_limited(
    limit: Duration,
    work: impl FnOnce() -> Result<Rendered, String> + Send + 'static,
) -> Result<Rendered, JsonnetError> {
    let slot = Slot::take().ok_or(JsonnetError::Busy)?;
    let (send, receive) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("bia-jsonnet".into())
        .spawn(move || {
            let _slot = slot;
            let _ = send.send(work());
        })
        .map_err(|e| JsonnetError::Program(format!("cannot start an evaluator thread: {e}")))?;
    match tokio::time::timeout(limit, receive).await {
        Ok(Ok(result)) => result.map_err(JsonnetError::Program),
        Ok(Err(_)) => Err(JsonnetError::Program("the evaluator stopped".into())),
        Err(_) => Err(JsonnetError::TimedOut(limit)),
    }
}

/// One of the [`MAX_RUNNING`] evaluation places, given back on drop.
struct Slot;

impl Slot {
    fn take() -> Option<Slot> {
        RUNNING
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < MAX_RUNNING).then_some(n + 1)
            })
            .ok()
            .map(|_| Slot)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        RUNNING.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Evaluates synchronously; used on the evaluator thread.
fn evaluate(source: &str, ctx_json: &str) -> Result<Rendered, String> {
    evaluate_with(source, ctx_json, None)
}

/// Evaluates synchronously with an optional external variable (name, JSON).
fn evaluate_with(
    source: &str,
    ctx_json: &str,
    ext_var: Option<(&str, &str)>,
) -> Result<Rendered, String> {
    let arena = Arena::new();
    let mut program = Program::new(&arena);
    program.set_max_stack(MAX_STACK);
    let mut callbacks = NoImports;
    if let Some((name, json)) = ext_var {
        let value = load(&mut program, json, name, false)?;
        let name = program.intern_str(name);
        program.add_ext_var(name, &value);
    }
    let root = load(&mut program, source, "body.jsonnet", true)?;
    let value = program
        .eval_value(&root, &mut callbacks)
        .map_err(|e| describe_eval(&program, source, &e))?;
    let value = if value.is_function() {
        let ctx = load(&mut program, ctx_json, "ctx", false)?;
        let name = program.intern_str("ctx");
        let function = program.value_to_thunk(&value);
        match program.eval_call(&function, &[], &[(name, ctx)], &mut callbacks) {
            Ok(value) => value,
            Err(e) if is_cancel(&e) => return Ok(Rendered::Cancelled),
            Err(e) => return Err(describe_eval(&program, source, &e)),
        }
    } else {
        value
    };
    let json = program
        .manifest_json(&value, false)
        .map_err(|e| describe_eval(&program, source, &e))?;
    serde_json::from_str(&json)
        .map(Rendered::Json)
        .map_err(|e| format!("the program's result is not JSON: {e}"))
}

fn is_cancel(error: &EvalError) -> bool {
    matches!(&error.kind, EvalErrorKind::ExplicitError { message, .. } if message == "cancel")
}

fn load<'p>(
    program: &mut Program<'p>,
    source: &str,
    name: &str,
    with_stdlib: bool,
) -> Result<Thunk<'p>, String> {
    let (span_context, _) = program
        .span_manager_mut()
        .insert_source_context(source.len());
    program
        .load_source(span_context, source.as_bytes(), with_stdlib, name)
        .map_err(|e| describe_load(program, source, &e))
}

fn describe_load(program: &Program<'_>, source: &str, error: &LoadError) -> String {
    match error {
        LoadError::Lex(lex) => {
            let span = lex_span(lex);
            format!(
                "{} (at {})",
                kind_name(lex),
                position(program, source, span)
            )
        }
        LoadError::Parse(ParseError::Expected {
            span,
            expected,
            instead,
        }) => format!(
            "expected {} but found {instead:?} (at {})",
            expected
                .iter()
                .map(|t| format!("{t:?}"))
                .collect::<Vec<_>>()
                .join(" or "),
            position(program, source, *span)
        ),
        LoadError::Analyze(analyze) => kind_name(analyze),
    }
}

fn lex_span(error: &LexError) -> SpanId {
    match error {
        LexError::InvalidChar { span, .. }
        | LexError::InvalidUtf8 { span, .. }
        | LexError::UnfinishedMultilineComment { span }
        | LexError::LeadingZeroInNumber { span }
        | LexError::MissingFracDigits { span }
        | LexError::MissingExpDigits { span }
        | LexError::MissingDigitAfterUnderscore { span }
        | LexError::ExpOverflow { span }
        | LexError::InvalidEscapeInString { span, .. }
        | LexError::IncompleteUnicodeEscape { span }
        | LexError::InvalidUtf16EscapeSequence { span, .. }
        | LexError::UnfinishedString { span }
        | LexError::MissingLineBreakAfterTextBlockStart { span }
        | LexError::MissingWhitespaceTextBlockStart { span }
        | LexError::InvalidTextBlockTermination { span } => *span,
    }
}

fn describe_eval(program: &Program<'_>, source: &str, error: &EvalError) -> String {
    let at = error.stack_trace.iter().find_map(|item| match item {
        EvalStackTraceItem::Expr { span } => Some(*span),
        _ => None,
    });
    let what = match &error.kind {
        EvalErrorKind::ExplicitError { message, .. } => format!("error: {message}"),
        EvalErrorKind::StackOverflow => "the call stack is too deep".to_owned(),
        other => kind_name(other),
    };
    match at {
        Some(span) => format!("{what} (at {})", position(program, source, span)),
        None => what,
    }
}

/// The variant name and fields of an error, without its span ids.
fn kind_name(error: &impl std::fmt::Debug) -> String {
    let text = format!("{error:?}");
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(start) = rest.find("span: SpanId(") {
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        let end = rest.find(')').map_or(rest.len(), |i| i + 1);
        rest = rest[end..].trim_start_matches(", ");
    }
    out.push_str(rest);
    out.replace(" {  }", "").replace("{ }", "")
}

/// `line L, column C` of a span in the body source.
fn position(program: &Program<'_>, source: &str, span: SpanId) -> String {
    let (_, start, _) = program.span_manager().get_span(span);
    let before = source.get(..start.min(source.len())).unwrap_or("");
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!("line {line}, column {column}")
}

/// Imports, native functions and traces are not available to body programs.
struct NoImports;

impl<'p> Callbacks<'p> for NoImports {
    fn import(
        &mut self,
        _program: &mut Program<'p>,
        _from: SpanId,
        _path: &str,
    ) -> Result<Thunk<'p>, ImportError> {
        Err(ImportError)
    }

    fn import_str(
        &mut self,
        _program: &mut Program<'p>,
        _from: SpanId,
        _path: &str,
    ) -> Result<String, ImportError> {
        Err(ImportError)
    }

    fn import_bin(
        &mut self,
        _program: &mut Program<'p>,
        _from: SpanId,
        _path: &str,
    ) -> Result<Vec<u8>, ImportError> {
        Err(ImportError)
    }

    fn trace(&mut self, _program: &mut Program<'p>, message: &str, _stack: &[EvalStackTraceItem]) {
        tracing::debug!(message, "std.trace in a web hook body");
    }

    fn native_call(
        &mut self,
        _program: &mut Program<'p>,
        _name: InternedStr<'p>,
        _args: &[Value<'p>],
    ) -> Result<Value<'p>, NativeError> {
        Err(NativeError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_function_receives_ctx() {
        let out = evaluate(
            "function(ctx) { email: ctx.identity.traits.email, n: std.length(ctx.list) }",
            &json!({"identity": {"traits": {"email": "a@example.org"}}, "list": [1, 2, 3]})
                .to_string(),
        )
        .unwrap();
        assert_eq!(
            out,
            Rendered::Json(json!({"email": "a@example.org", "n": 3}))
        );
    }

    #[test]
    fn a_plain_value_is_the_result() {
        assert_eq!(
            evaluate("{ a: 1 + 1 }", "{}").unwrap(),
            Rendered::Json(json!({"a": 2}))
        );
    }

    #[test]
    fn error_cancel_cancels() {
        assert_eq!(
            evaluate(
                "function(ctx) if ctx.skip then error 'cancel' else {}",
                r#"{"skip": true}"#
            )
            .unwrap(),
            Rendered::Cancelled
        );
        let err = evaluate("function(ctx) error 'boom'", "{}").unwrap_err();
        assert!(err.contains("boom"), "{err}");
    }

    #[test]
    fn syntax_errors_say_where() {
        let err = check("function(ctx) {\n  a: ,\n}").unwrap_err();
        assert!(err.contains("line 2"), "{err}");
        assert!(check("function(ctx) { a: ctx.b }").is_ok());
        let err = check("function(ctx) { a: unknown_var }").unwrap_err();
        assert!(err.contains("unknown_var"), "{err}");
    }

    #[test]
    fn imports_are_refused() {
        let err = evaluate("import '/etc/passwd'", "{}").unwrap_err();
        assert!(err.contains("ImportFailed"), "{err}");
    }

    #[test]
    fn deep_recursion_fails_cleanly() {
        let err = evaluate("local f(n) = f(n + 1) + 1; f(0)", "{}").unwrap_err();
        assert!(err.contains("stack"), "{err}");
    }

    #[tokio::test]
    async fn a_runaway_program_times_out() {
        let started = std::time::Instant::now();
        let err = render(
            "local f(n) = if n == 0 then 0 else f(n - 1) + f(n - 1); f(60)".into(),
            json!({}),
            Duration::from_millis(200),
        )
        .await
        .unwrap_err();
        assert_eq!(err, JsonnetError::TimedOut(Duration::from_millis(200)));
        assert!(started.elapsed() < Duration::from_secs(2));
    }
}
