//! Jsonnet web hook bodies: parsing any program (as the config check does),
//! and rendering with any context, with the evaluation the server's
//! evaluator process runs (here in-process, for speed).
//!
//! Input: a program, optionally followed by a line `%%` and the context as
//! JSON. A program is run when it cannot loop or grow (see `bounded`), else
//! only parsed: a runaway program is stopped by the server's deadline (its
//! evaluator process is killed), which an in-process fuzzer has not. Without a
//! program, the context is given to `function(ctx) ctx`, which must render it.
#![no_main]

use bia_server::hook::jsonnet::{self, Rendered};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (program, ctx) = text.split_once("\n%%\n").unwrap_or((text, "{}"));
    let Ok(ctx) = serde_json::from_str::<Value>(ctx) else {
        return;
    };
    // One evaluator per input: each loads the standard library anew.
    if program.trim().is_empty() {
        let echoed = render("function(ctx) ctx", ctx);
        assert!(matches!(echoed, Ok(Rendered::Json(_))), "{echoed:?}");
    } else if bounded(program) {
        let _ = render(program, ctx);
    } else {
        let _ = jsonnet::check(program);
    }
});

fn render(program: &str, ctx: Value) -> Result<Rendered, String> {
    jsonnet::evaluate(program, &ctx.to_string())
}

/// A program that can only build values from literals and `ctx`: a body
/// function `function(ctx) ...` with no other call, local, comprehension,
/// `self`/`super`/`$` reference or operator that repeats or concatenates, so
/// its evaluation takes time linear in its length.
fn bounded(program: &str) -> bool {
    let body = program
        .trim_start()
        .strip_prefix("function(ctx)")
        .unwrap_or(program);
    !body.contains(['(', '+', '*', '%', '$'])
        && !["local", "for", "self", "super", "import", "std"]
            .iter()
            .any(|word| body.contains(word))
}
