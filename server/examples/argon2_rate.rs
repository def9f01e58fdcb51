//! Raw argon2id throughput: hashes per second with the server's default parameters
//! (`hashers.argon2`, m=19 MiB t=2 p=1, 32-byte key) on N threads, each thread reusing one
//! memory block as the server's hash workers do. `scripts/load` divides the login rate by this.
//!
//! Usage: `argon2_rate [THREADS] [SECONDS]` (defaults: available cores, 5 s). Prints one line
//! `argon2id m=<KiB> t=<n> p=<n> threads=<n> hashes=<n> seconds=<s> rate=<hashes/s>`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use argon2::{Algorithm, Argon2, Block, Params, Version};
use bia_server::hash::HashersConfig;

fn main() {
    let mut args = std::env::args().skip(1);
    let threads: usize = args.next().map_or_else(
        || std::thread::available_parallelism().map_or(1, |n| n.get()),
        |t| t.parse().expect("THREADS must be a number"),
    );
    let seconds: f64 = args
        .next()
        .map_or(5.0, |s| s.parse().expect("SECONDS must be a number"));
    let cfg = HashersConfig::default().argon2;
    let memory_kib = u32::try_from(cfg.memory_kib()).unwrap();
    let params = Params::new(
        memory_kib,
        cfg.iterations,
        cfg.parallelism,
        Some(cfg.key_length as usize),
    )
    .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|index| {
            let (stop, count, params) = (Arc::clone(&stop), Arc::clone(&count), params.clone());
            std::thread::spawn(move || {
                let ctx = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
                let mut memory = vec![Block::default(); params.block_count()];
                let salt = [index as u8; 16];
                let mut out = [0u8; 32];
                let mut n: u64 = 0;
                while !stop.load(Ordering::Relaxed) {
                    ctx.hash_password_into_with_memory(
                        &n.to_le_bytes(),
                        &salt,
                        &mut out,
                        &mut memory[..],
                    )
                    .unwrap();
                    std::hint::black_box(&out);
                    n += 1;
                    count.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs_f64(seconds));
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.join().unwrap();
    }
    // Hashes finished after the stop signal are counted with the time they took.
    let elapsed = start.elapsed().as_secs_f64();
    let hashes = count.load(Ordering::Relaxed);
    println!(
        "argon2id m={memory_kib} t={} p={} threads={threads} hashes={hashes} seconds={elapsed:.3} rate={:.2}",
        cfg.iterations,
        cfg.parallelism,
        hashes as f64 / elapsed
    );
}
