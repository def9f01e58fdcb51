//! Jsonnet evaluation for web hook, courier and mapper programs, with a
//! time and memory limit.
//!
//! The evaluator cannot be interrupted, so each evaluation runs in a child
//! process (`bia jsonnet-eval`, see [`run_evaluator`]) that limits its own
//! memory and CPU time and is killed at the caller's deadline: a runaway
//! program is really stopped and gives nothing back. At most
//! [`MAX_RUNNING`] evaluations run at once; further ones fail as busy.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::OnceLock;
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
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Most evaluations running at once.
pub const MAX_RUNNING: usize = 8;

/// The subcommand of the evaluator executable that runs one evaluation.
pub const EVALUATOR_COMMAND: &str = "jsonnet-eval";

/// Memory an evaluation may map (its process's address space), in bytes.
const MAX_MEMORY: u64 = 1 << 30;

/// CPU seconds an evaluator process may use, whatever its caller's deadline.
const MAX_CPU_SECONDS: u64 = 60;

/// Largest program plus context accepted by the evaluator, in bytes.
const MAX_INPUT: u64 = 16 << 20;

/// Largest result read back from the evaluator, in bytes.
const MAX_OUTPUT: u64 = 16 << 20;

/// The evaluator's allocator (mimalloc, in the `bia` binary) reserves 1 GiB
/// of address space per arena by default, which under the [`MAX_MEMORY`]
/// address-space limit fails now and then (about 4 in 100 runs of a
/// 230 KB batch request, measured on a release build): the evaluator
/// reserves 64 MiB at a time instead (the value is in KiB).
const ALLOCATOR_RESERVE: (&str, &str) = ("MIMALLOC_ARENA_RESERVE", "65536");

/// Deepest call stack a program may use.
const MAX_STACK: usize = 200;

static RUNNING: AtomicUsize = AtomicUsize::new(0);

static EVALUATOR: OnceLock<PathBuf> = OnceLock::new();

/// Names the executable whose `jsonnet-eval` subcommand evaluates programs:
/// by default the running executable (`bia`). Programs embedding the server
/// (tests) point it at a `bia` binary. Only the first call takes effect.
pub fn set_evaluator(path: PathBuf) {
    let _ = EVALUATOR.set(path);
}

fn evaluator() -> Result<PathBuf, JsonnetError> {
    match EVALUATOR.get() {
        Some(path) => Ok(path.clone()),
        None => std::env::current_exe()
            .map_err(|e| JsonnetError::Program(format!("cannot find the evaluator: {e}"))),
    }
}

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
    with_evaluator(|evaluator| evaluator.check(source))
}

/// Evaluates programs in this process and thread with one loaded standard
/// library (loading it takes longer than most evaluations): see
/// [`with_evaluator`]. No time or memory limit applies.
pub struct Evaluator<'e, 'p> {
    program: &'e mut Program<'p>,
}

/// Runs `f` with an [`Evaluator`] whose standard library is loaded once, for
/// parsing or evaluating many programs one after the other (the fuzz
/// target does). What each evaluation loads stays in memory until `f`
/// returns, so callers bound how many programs one evaluator sees.
pub fn with_evaluator<R>(f: impl FnOnce(&mut Evaluator<'_, '_>) -> R) -> R {
    let arena = Arena::new();
    let mut program = Program::new(&arena);
    program.set_max_stack(MAX_STACK);
    f(&mut Evaluator {
        program: &mut program,
    })
}

impl Evaluator<'_, '_> {
    /// [`check`] with this evaluator's standard library.
    pub fn check(&mut self, source: &str) -> Result<(), String> {
        load(self.program, source, "body.jsonnet", true).map(|_| ())
    }

    /// [`evaluate`] with this evaluator's standard library.
    pub fn evaluate(&mut self, source: &str, ctx_json: &str) -> Result<Rendered, String> {
        let program = &mut *self.program;
        let mut callbacks = NoImports;
        let root = load(program, source, "body.jsonnet", true)?;
        let value = program
            .eval_value(&root, &mut callbacks)
            .map_err(|e| describe_eval(program, source, &e))?;
        let value = if value.is_function() {
            let ctx = load(program, ctx_json, "ctx", false)?;
            let name = program.intern_str("ctx");
            let function = program.value_to_thunk(&value);
            match program.eval_call(&function, &[], &[(name, ctx)], &mut callbacks) {
                Ok(value) => value,
                Err(e) if is_cancel(&e) => return Ok(Rendered::Cancelled),
                Err(e) => return Err(describe_eval(program, source, &e)),
            }
        } else {
            value
        };
        let json = program
            .manifest_json(&value, false)
            .map_err(|e| describe_eval(program, source, &e))?;
        serde_json::from_str(&json)
            .map(Rendered::Json)
            .map_err(|e| format!("the program's result is not JSON: {e}"))
    }
}

/// Runs `source` in an evaluator process: a function is called with `ctx`
/// as its `ctx` argument, any other value is the result as is. Past
/// `limit`, the process is killed and the result is [`JsonnetError::TimedOut`].
pub async fn render(
    source: std::sync::Arc<str>,
    ctx: serde_json::Value,
    limit: Duration,
) -> Result<Rendered, JsonnetError> {
    let input = serde_json::json!({ "source": &*source, "ctx": ctx });
    run_limited(input, limit).await
}

/// Runs `source` in an evaluator process with `value` as the external
/// variable `name` (`std.extVar(name)`), as Kratos's claim mappers read
/// their input; the program's value is the result.
pub async fn render_with_ext_var(
    source: std::sync::Arc<str>,
    name: &'static str,
    value: serde_json::Value,
    limit: Duration,
) -> Result<Rendered, JsonnetError> {
    let input =
        serde_json::json!({ "source": &*source, "ext_var": {"name": name, "value": value} });
    run_limited(input, limit).await
}

/// Sends one request to an evaluator process and reads its answer, killing
/// it at `limit`.
async fn run_limited(
    request: serde_json::Value,
    limit: Duration,
) -> Result<Rendered, JsonnetError> {
    read_answer(&run_process(request, limit).await?)
}

/// Runs `source` once per context of `batch` in one evaluator process (one
/// start for the whole batch): a function is called with each context as
/// its `ctx` argument, any other value is every context's result. Each
/// context gets its own result, so a program that fails for one fails
/// only that one. Past `limit` the process is killed and the whole batch is
/// [`JsonnetError::TimedOut`]; a process that runs out of memory or CPU
/// time fails the whole batch too.
pub async fn render_batch(
    source: std::sync::Arc<str>,
    batch: &[serde_json::Value],
    limit: Duration,
) -> Result<Vec<Result<Rendered, String>>, JsonnetError> {
    let request = serde_json::json!({ "source": &*source, "batch": batch });
    let output = run_process(request, limit).await?;
    let answer: serde_json::Value = serde_json::from_slice(&output).map_err(|_| {
        JsonnetError::Program(
            "the evaluator stopped (out of memory or CPU time, or its answer was too large)".into(),
        )
    })?;
    let Some(results) = answer.get("results").and_then(|r| r.as_array()) else {
        let error = answer.get("error").and_then(|e| e.as_str());
        return Err(JsonnetError::Program(
            error.unwrap_or("the evaluator gave no answer").to_owned(),
        ));
    };
    if results.len() != batch.len() {
        return Err(JsonnetError::Program(
            "the evaluator answered for a different number of inputs".into(),
        ));
    }
    Ok(results.iter().map(one_result).collect())
}

/// One entry of a batch answer.
fn one_result(entry: &serde_json::Value) -> Result<Rendered, String> {
    if let Some(json) = entry.get("json") {
        return Ok(Rendered::Json(json.clone()));
    }
    if entry.get("cancelled") == Some(&serde_json::Value::Bool(true)) {
        return Ok(Rendered::Cancelled);
    }
    Err(entry
        .get("error")
        .and_then(|e| e.as_str())
        .unwrap_or("no result")
        .to_owned())
}

/// Starts an evaluator process, sends it one request and reads its whole
/// answer (at most [`MAX_OUTPUT`] bytes), killing it at `limit`.
async fn run_process(request: serde_json::Value, limit: Duration) -> Result<Vec<u8>, JsonnetError> {
    let _slot = Slot::take().ok_or(JsonnetError::Busy)?;
    let input = request.to_string();
    let mut child = tokio::process::Command::new(evaluator()?)
        .arg(EVALUATOR_COMMAND)
        .env(ALLOCATOR_RESERVE.0, ALLOCATOR_RESERVE.1)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| JsonnetError::Program(format!("cannot start the evaluator: {e}")))?;
    let (Some(mut stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        return Err(JsonnetError::Program("the evaluator has no pipes".into()));
    };
    let exchange = async move {
        // A program that fails early may close its input before reading it all.
        let _ = stdin.write_all(input.as_bytes()).await;
        drop(stdin);
        let mut output = Vec::new();
        stdout.take(MAX_OUTPUT).read_to_end(&mut output).await?;
        Ok::<_, std::io::Error>(output)
    };
    let output = match tokio::time::timeout(limit, exchange).await {
        Ok(Ok(output)) => output,
        Ok(Err(e)) => return Err(JsonnetError::Program(format!("the evaluator failed: {e}"))),
        Err(_) => {
            let _ = child.start_kill();
            let _ = child.wait().await;
            return Err(JsonnetError::TimedOut(limit));
        }
    };
    let _ = child.wait().await;
    Ok(output)
}

/// The evaluator's answer: one JSON object, `{"json": ...}`,
/// `{"cancelled": true}` or `{"error": "..."}`.
fn read_answer(output: &[u8]) -> Result<Rendered, JsonnetError> {
    let answer: serde_json::Value = serde_json::from_slice(output).map_err(|_| {
        JsonnetError::Program("the evaluator stopped (out of memory or CPU time)".into())
    })?;
    if let Some(json) = answer.get("json") {
        return Ok(Rendered::Json(json.clone()));
    }
    if answer.get("cancelled") == Some(&serde_json::Value::Bool(true)) {
        return Ok(Rendered::Cancelled);
    }
    let error = answer.get("error").and_then(|e| e.as_str());
    Err(JsonnetError::Program(
        error.unwrap_or("the evaluator gave no answer").to_owned(),
    ))
}

/// The evaluator process (`bia jsonnet-eval`): limits its own memory and CPU
/// time, reads `{"source", "ctx"}` from `input`, evaluates, and writes its
/// answer to `output` (see [`render`]). Returns the exit code.
pub fn run_evaluator(input: impl Read, output: impl Write) -> i32 {
    use rustix::process::{Resource, Rlimit, setrlimit};
    let limit = |resource, value| {
        let _ = setrlimit(
            resource,
            Rlimit {
                current: Some(value),
                maximum: Some(value),
            },
        );
    };
    limit(Resource::As, MAX_MEMORY);
    limit(Resource::Cpu, MAX_CPU_SECONDS);
    answer_request(input, output)
}

/// Reads one request, evaluates it and writes the answer (the evaluator
/// process without its limits).
fn answer_request(input: impl Read, mut output: impl Write) -> i32 {
    let mut text = String::new();
    let answer = match input.take(MAX_INPUT).read_to_string(&mut text) {
        Err(e) => serde_json::json!({ "error": format!("unreadable input: {e}") }),
        Ok(_) => match serde_json::from_str::<serde_json::Value>(&text) {
            Err(e) => serde_json::json!({ "error": format!("malformed input: {e}") }),
            Ok(request) if request["batch"].is_array() => {
                let source = request["source"].as_str().unwrap_or_default();
                let batch = request["batch"].as_array().map_or(&[][..], Vec::as_slice);
                match evaluate_batch(source, batch) {
                    Ok(results) => serde_json::json!({ "results": results }),
                    Err(error) => serde_json::json!({ "error": error }),
                }
            }
            Ok(request) => {
                let source = request["source"].as_str().unwrap_or_default();
                let ext_var = &request["ext_var"];
                let ext_value = ext_var["value"].to_string();
                let ext = ext_var["name"]
                    .as_str()
                    .map(|name| (name, ext_value.as_str()));
                match evaluate_with(source, &request["ctx"].to_string(), ext) {
                    Ok(Rendered::Json(json)) => serde_json::json!({ "json": json }),
                    Ok(Rendered::Cancelled) => serde_json::json!({ "cancelled": true }),
                    Err(error) => serde_json::json!({ "error": error }),
                }
            }
        },
    };
    match writeln!(output, "{answer}") {
        Ok(()) => 0,
        Err(_) => 1,
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

/// Evaluates in this process and thread, with no time or memory limit: for
/// the evaluator process, and for fuzzing the evaluator itself.
pub fn evaluate(source: &str, ctx_json: &str) -> Result<Rendered, String> {
    evaluate_with(source, ctx_json, None)
}

/// [`evaluate`] of a program that reads `std.extVar(name)` (JSON text), in
/// this process and thread: for the evaluator process, tests and fuzzing.
pub fn evaluate_ext_var(source: &str, name: &str, value_json: &str) -> Result<Rendered, String> {
    evaluate_with(source, "{}", Some((name, value_json)))
}

/// [`evaluate`] with an optional external variable (name, JSON text).
fn evaluate_with(
    source: &str,
    ctx_json: &str,
    ext_var: Option<(&str, &str)>,
) -> Result<Rendered, String> {
    with_evaluator(|evaluator| {
        if let Some((name, json)) = ext_var {
            let program = &mut *evaluator.program;
            let value = load(program, json, name, false)?;
            let name = program.intern_str(name);
            program.add_ext_var(name, &value);
        }
        evaluator.evaluate(source, ctx_json)
    })
}

/// Evaluates `source` once and applies it to each context (see
/// [`render_batch`]), in this process and thread: one answer entry per
/// context, `{"json"}`, `{"cancelled"}` or `{"error"}`. Fails as a whole
/// only when the program itself does not load or evaluate.
pub fn evaluate_batch(
    source: &str,
    contexts: &[serde_json::Value],
) -> Result<Vec<serde_json::Value>, String> {
    let arena = Arena::new();
    let mut program = Program::new(&arena);
    program.set_max_stack(MAX_STACK);
    let mut callbacks = NoImports;
    let root = load(&mut program, source, "body.jsonnet", true)?;
    let value = program
        .eval_value(&root, &mut callbacks)
        .map_err(|e| describe_eval(&program, source, &e))?;
    let function = value.is_function().then(|| program.value_to_thunk(&value));
    let name = program.intern_str("ctx");
    let mut answers = Vec::with_capacity(contexts.len());
    for ctx in contexts {
        let result = match &function {
            None => Ok(value.clone()),
            Some(function) => load(&mut program, &ctx.to_string(), "ctx", false).and_then(|ctx| {
                program
                    .eval_call(function, &[], &[(name, ctx)], &mut callbacks)
                    .map_err(|e| {
                        if is_cancel(&e) {
                            String::new()
                        } else {
                            describe_eval(&program, source, &e)
                        }
                    })
            }),
        };
        answers.push(match result {
            Err(error) if error.is_empty() => serde_json::json!({ "cancelled": true }),
            Err(error) => serde_json::json!({ "error": error }),
            Ok(value) => match program.manifest_json(&value, false) {
                Err(e) => serde_json::json!({ "error": describe_eval(&program, source, &e) }),
                Ok(json) => match serde_json::from_str::<serde_json::Value>(&json) {
                    Ok(json) => serde_json::json!({ "json": json }),
                    Err(e) => {
                        serde_json::json!({ "error": format!("the result is not JSON: {e}") })
                    }
                },
            },
        });
    }
    Ok(answers)
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

    #[test]
    fn the_evaluator_process_answers_in_json() {
        let mut out = Vec::new();
        let input = r#"{"source": "function(ctx) {n: ctx.n + 1}", "ctx": {"n": 1}}"#;
        assert_eq!(answer_request(input.as_bytes(), &mut out), 0);
        assert_eq!(read_answer(&out), Ok(Rendered::Json(json!({"n": 2}))));
        out.clear();
        answer_request(
            r#"{"source": "function(ctx) error 'cancel'"}"#.as_bytes(),
            &mut out,
        );
        assert_eq!(read_answer(&out), Ok(Rendered::Cancelled));
        out.clear();
        answer_request(b"not json".as_slice(), &mut out);
        assert!(
            matches!(read_answer(&out), Err(JsonnetError::Program(e)) if e.contains("malformed"))
        );
        assert!(matches!(read_answer(b""), Err(JsonnetError::Program(e)) if e.contains("stopped")));
        out.clear();
        let mapper = r#"{"source": "{email: std.extVar('claims').email}", "ext_var": {"name": "claims", "value": {"email": "a@b.c"}}}"#;
        answer_request(mapper.as_bytes(), &mut out);
        assert_eq!(
            read_answer(&out),
            Ok(Rendered::Json(json!({"email": "a@b.c"})))
        );
    }
}
