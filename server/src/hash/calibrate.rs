//! Argon2 calibration (`bia hashers argon2 calibrate`): for a given memory and parallelism, find
//! the number of iterations whose hash takes about a target duration on this machine.

use std::time::{Duration, Instant};

use argon2::{Algorithm, Params};

use super::HashError;
use super::argon2id::{self, MAX_WORK_KIB_ITERATIONS};
use super::{Argon2Config, ByteSize, HashersConfig};

/// Result of [`calibrate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Calibration {
    /// Iterations (`hashers.argon2.iterations`): the first count whose hash took at least the
    /// target, or the largest allowed count if none did.
    pub iterations: u32,
    /// Memory in bytes (`hashers.argon2.memory`), as given.
    pub memory: u64,
    /// Time one hash took with these parameters (best of two runs).
    pub measured: Duration,
}

/// Increases iterations until one argon2id hash with `memory_bytes` and `parallelism` takes at
/// least `target`. Fails when the memory or parallelism is not a valid configuration.
pub fn calibrate(
    target: Duration,
    memory_bytes: u64,
    parallelism: u32,
) -> Result<Calibration, HashError> {
    let config = HashersConfig {
        argon2: Argon2Config {
            memory: ByteSize(memory_bytes),
            iterations: 1,
            parallelism,
            ..Argon2Config::default()
        },
        ..HashersConfig::default()
    };
    super::validate_config(&config)?;
    let memory_kib = u32::try_from(config.argon2.memory_kib())
        .map_err(|_| HashError::Internal("argon2 memory too large"))?;
    let max_iterations =
        u32::try_from(MAX_WORK_KIB_ITERATIONS / u64::from(memory_kib)).unwrap_or(u32::MAX);
    let mut blocks = argon2id::memory_for(&config.argon2);
    let mut measure = |iterations: u32| -> Result<Duration, HashError> {
        let params = Params::new(memory_kib, iterations, parallelism, Some(32))
            .map_err(|_| HashError::Internal("argon2 rejected the parameters"))?;
        let mut best = Duration::MAX;
        for _ in 0..2 {
            let mut out = [0u8; 32];
            let start = Instant::now();
            argon2id::derive(
                Algorithm::Argon2id,
                params.clone(),
                b"calibration password",
                b"calibration salt",
                &mut out,
                Some(&mut blocks),
            )?;
            best = best.min(start.elapsed());
        }
        Ok(best)
    };
    let mut iterations = 1;
    let mut measured = measure(iterations)?;
    while measured < target && iterations < max_iterations {
        // Jump close to the target from below, then step one iteration at a time.
        let per_iteration = (measured.as_nanos() / u128::from(iterations)).max(1);
        let estimate = u32::try_from(target.as_nanos() / per_iteration).unwrap_or(u32::MAX);
        iterations = estimate.max(iterations + 1).min(max_iterations);
        measured = measure(iterations)?;
    }
    tracing::info!(
        iterations,
        memory = memory_bytes,
        ?measured,
        "argon2 calibrated"
    );
    Ok(Calibration {
        iterations,
        memory: memory_bytes,
        measured,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn reaches_the_target() {
        let target = Duration::from_millis(20);
        let c = calibrate(target, 1024 * 1024, 1).unwrap();
        assert!(c.iterations >= 1);
        assert_eq!(c.memory, 1024 * 1024);
        assert!(c.measured >= target || c.iterations == 10240, "{c:?}");
    }

    #[test]
    fn refuses_invalid_memory() {
        assert!(matches!(
            calibrate(Duration::from_millis(1), 1024, 1),
            Err(HashError::Config(_))
        ));
    }
}
