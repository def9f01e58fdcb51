//! Jsonnet web hook bodies: parsing any program (as the config check does),
//! and rendering with any context, on the server's own evaluator with its
//! time limit.
//!
//! Input: a program, optionally followed by a line `%%` and the context as
//! JSON. A program is run when it cannot loop or grow (see `bounded`), else
//! only parsed: a runaway program would keep an evaluator thread busy until
//! the process ends, which the server accepts and a fuzzer cannot. Without a
//! program, the context is given to `function(ctx) ctx`, which must render it.
#![no_main]

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use bia_server::hook::jsonnet::{self, JsonnetError, Rendered};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a runtime")
});

const LIMIT: Duration = Duration::from_secs(5);

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

fn render(program: &str, ctx: Value) -> Result<Rendered, JsonnetError> {
    let result = RUNTIME.block_on(jsonnet::render(Arc::from(program), ctx, LIMIT));
    assert!(
        !matches!(result, Err(JsonnetError::TimedOut(_) | JsonnetError::Busy)),
        "{result:?}"
    );
    result
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
