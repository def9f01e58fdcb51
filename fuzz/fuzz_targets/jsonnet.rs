//! Jsonnet web hook bodies: parsing any program (as the config check does),
//! and rendering with any context, with the evaluation the server's
//! evaluator process runs (here in-process, for speed).
//!
//! Input: a program, optionally followed by a line `%%` and the context as
//! JSON. A program is run when it cannot loop or grow (see `bounded`), else
//! only parsed: a runaway program is stopped by the server's deadline (its
//! evaluator process is killed), which an in-process fuzzer has not. Without a
//! program, the context is given to `function(ctx) ctx`, which must render it.
//!
//! Loading Jsonnet's standard library takes longer than most inputs, so one
//! thread keeps a loaded library for [`INPUTS_PER_LIBRARY`] inputs
//! ([`jsonnet::with_evaluator`]); a crash found there is checked on a fresh
//! library by running the fuzz binary on its reproducer alone.
#![no_main]

use std::sync::OnceLock;
use std::sync::mpsc::{Sender, SyncSender, channel, sync_channel};

use bia_server::hook::jsonnet::{self, Rendered};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// Inputs one loaded standard library serves (what each loads stays in
/// memory until the library is dropped).
const INPUTS_PER_LIBRARY: usize = 256;

/// The stack of the evaluating thread: the size of a main thread's, as the
/// server's evaluator process has.
const STACK_BYTES: usize = 8 << 20;

/// One input for the evaluating thread, and where its result goes.
enum Job {
    Render(String, String, SyncSender<Result<Rendered, String>>),
    Check(String, SyncSender<Result<(), String>>),
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (program, ctx) = text.split_once("\n%%\n").unwrap_or((text, "{}"));
    let Ok(ctx) = serde_json::from_str::<Value>(ctx) else {
        return;
    };
    if program.trim().is_empty() {
        let echoed = render("function(ctx) ctx", ctx);
        assert!(matches!(echoed, Ok(Rendered::Json(_))), "{echoed:?}");
    } else if bounded(program) {
        let _ = render(program, ctx);
    } else {
        let _ = check(program);
    }
});

fn render(program: &str, ctx: Value) -> Result<Rendered, String> {
    let (answer, result) = sync_channel(1);
    send(Job::Render(program.to_owned(), ctx.to_string(), answer));
    result.recv().expect("the evaluating thread answers")
}

fn check(program: &str) -> Result<(), String> {
    let (answer, result) = sync_channel(1);
    send(Job::Check(program.to_owned(), answer));
    result.recv().expect("the evaluating thread answers")
}

/// Hands a job to the evaluating thread, started on first use.
fn send(job: Job) {
    static JOBS: OnceLock<Sender<Job>> = OnceLock::new();
    JOBS.get_or_init(|| {
        let (jobs, received) = channel::<Job>();
        std::thread::Builder::new()
            .name("jsonnet".into())
            .stack_size(STACK_BYTES)
            .spawn(move || {
                let mut open = true;
                while open {
                    open = jsonnet::with_evaluator(|evaluator| {
                        for _ in 0..INPUTS_PER_LIBRARY {
                            let Ok(job) = received.recv() else {
                                return false;
                            };
                            // A caller that stopped waiting needs no answer.
                            match job {
                                Job::Render(program, ctx, answer) => {
                                    let _ = answer.send(evaluator.evaluate(&program, &ctx));
                                }
                                Job::Check(program, answer) => {
                                    let _ = answer.send(evaluator.check(&program));
                                }
                            }
                        }
                        true
                    });
                }
            })
            .expect("the evaluating thread starts");
        jobs
    })
    .send(job)
    .expect("the evaluating thread runs");
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
