//! A fixed pool of OS threads that hash and verify passwords off the async runtime.
//!
//! Each worker owns one argon2 memory block sized for the configured cost and reuses it for every
//! argon2 hash or verification that fits, so memory stays bounded (workers × `hashers.argon2.memory`)
//! and no 19 MiB allocation happens per login. Jobs wait in one bounded queue; when it is full,
//! [`HashPool::hash`] and [`HashPool::verify`] return [`PoolError::Busy`] at once (the HTTP layer
//! answers 429).

use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread;

use tokio::sync::oneshot;

use super::{HashError, HashersConfig, argon2id, verify_with_memory};

/// Why a pool job did not produce a result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PoolError {
    /// The queue is full; retry later (HTTP 429).
    #[error("password hashing queue is full")]
    Busy,
    /// The pool has shut down or a worker stopped.
    #[error("password hashing pool is not running")]
    Closed,
    /// Hashing or verification itself failed.
    #[error(transparent)]
    Hash(#[from] HashError),
}

type Reply<T> = oneshot::Sender<Result<T, HashError>>;

/// A job counted in the jobs gauge until its caller has the answer or gives
/// up waiting.
struct Queued;

impl Drop for Queued {
    fn drop(&mut self) {
        metrics::gauge!(crate::metrics::HASH_POOL_JOBS).decrement(1.0);
    }
}

enum Job {
    Hash {
        password: Vec<u8>,
        reply: Reply<String>,
    },
    Verify {
        password: Vec<u8>,
        stored: String,
        reply: Reply<bool>,
    },
    /// Holds a worker until the gate's sender is dropped or signals (tests only).
    #[cfg(test)]
    Gate(std::sync::mpsc::Receiver<()>),
}

/// A fixed pool of hashing threads with a bounded queue.
#[derive(Debug)]
pub struct HashPool {
    sender: SyncSender<Job>,
    workers: usize,
    queue_capacity: usize,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Job")
    }
}

/// Default queue slots per worker.
pub const DEFAULT_QUEUE_PER_WORKER: usize = 64;

impl HashPool {
    /// One worker per available core and [`DEFAULT_QUEUE_PER_WORKER`] queue slots per worker.
    pub fn with_defaults(config: HashersConfig) -> Result<Self, PoolError> {
        let workers = thread::available_parallelism().map_or(1, |n| n.get());
        Self::new(config, workers, DEFAULT_QUEUE_PER_WORKER * workers)
    }

    /// A pool of `workers` threads (at least one) and a queue of `queue_capacity` waiting jobs.
    /// The configuration is validated first.
    pub fn new(
        config: HashersConfig,
        workers: usize,
        queue_capacity: usize,
    ) -> Result<Self, PoolError> {
        super::validate_config(&config).map_err(HashError::from)?;
        let workers = workers.max(1);
        let (sender, receiver) = sync_channel::<Job>(queue_capacity);
        let receiver = Arc::new(Mutex::new(receiver));
        let config = Arc::new(config);
        for index in 0..workers {
            let receiver = Arc::clone(&receiver);
            let config = Arc::clone(&config);
            thread::Builder::new()
                .name(format!("hash-worker-{index}"))
                .spawn(move || worker(&receiver, &config))
                .map_err(|_| PoolError::Closed)?;
        }
        tracing::debug!(workers, queue_capacity, "password hashing pool started");
        Ok(Self {
            sender,
            workers,
            queue_capacity,
        })
    }

    /// Number of worker threads.
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// Number of jobs that may wait in the queue.
    pub fn queue_capacity(&self) -> usize {
        self.queue_capacity
    }

    fn submit(&self, job: Job) -> Result<Queued, PoolError> {
        self.sender.try_send(job).map_err(|e| match e {
            TrySendError::Full(_) => {
                metrics::counter!(crate::metrics::HASH_POOL_REFUSALS).increment(1);
                PoolError::Busy
            }
            TrySendError::Disconnected(_) => PoolError::Closed,
        })?;
        metrics::gauge!(crate::metrics::HASH_POOL_JOBS).increment(1.0);
        Ok(Queued)
    }

    /// Hashes `password` with the pool's configuration.
    pub async fn hash(&self, password: Vec<u8>) -> Result<String, PoolError> {
        super::check_password_length(&password)?;
        let (reply, result) = oneshot::channel();
        let _queued = self.submit(Job::Hash { password, reply })?;
        Ok(result.await.map_err(|_| PoolError::Closed)??)
    }

    /// Verifies `password` against a stored hash of any supported format.
    pub async fn verify(&self, password: Vec<u8>, stored: String) -> Result<bool, PoolError> {
        super::check_password_length(&password)?;
        let (reply, result) = oneshot::channel();
        let _queued = self.submit(Job::Verify {
            password,
            stored,
            reply,
        })?;
        Ok(result.await.map_err(|_| PoolError::Closed)??)
    }

    #[cfg(test)]
    fn gate(&self) -> Result<std::sync::mpsc::Sender<()>, PoolError> {
        let (open, gate) = std::sync::mpsc::channel();
        self.submit(Job::Gate(gate))?;
        Ok(open)
    }
}

fn next_job(receiver: &Mutex<Receiver<Job>>) -> Option<Job> {
    let guard = match receiver.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    };
    guard.recv().ok()
}

fn worker(receiver: &Mutex<Receiver<Job>>, config: &HashersConfig) {
    // The reusable argon2 block is allocated on the first argon2 job, so an idle
    // server does not hold workers x memory.
    let reuse = config.algorithm == super::Algorithm::Argon2;
    let mut memory: Option<Vec<argon2::Block>> = None;
    while let Some(job) = next_job(receiver) {
        match job {
            Job::Hash {
                mut password,
                reply,
            } => {
                let result = match config.algorithm {
                    super::Algorithm::Argon2 => argon2id::hash(
                        &password,
                        &config.argon2,
                        Some(memory.get_or_insert_with(|| argon2id::memory_for(&config.argon2))),
                    ),
                    super::Algorithm::Bcrypt => super::bcrypt::hash(&password, config.bcrypt.cost),
                };
                wipe(&mut password);
                // The caller may have given up waiting; nothing to do then.
                let _ = reply.send(result);
            }
            Job::Verify {
                mut password,
                stored,
                reply,
            } => {
                let block = if reuse && stored.starts_with("$argon2") {
                    Some(memory.get_or_insert_with(|| argon2id::memory_for(&config.argon2)))
                } else {
                    memory.as_mut()
                };
                let result = verify_with_memory(&password, &stored, block);
                wipe(&mut password);
                let _ = reply.send(result);
            }
            #[cfg(test)]
            Job::Gate(gate) => {
                let _ = gate.recv();
            }
        }
    }
}

/// Best-effort overwrite of a password buffer before it is freed.
fn wipe(buffer: &mut [u8]) {
    buffer.fill(0);
    std::hint::black_box(buffer);
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::hash::{Algorithm, ByteSize, verify_password};

    fn small() -> HashersConfig {
        let mut cfg = HashersConfig::default();
        cfg.argon2.memory = ByteSize(256 * 1024);
        cfg.argon2.iterations = 1;
        cfg
    }

    #[tokio::test]
    async fn hashes_and_verifies() {
        let pool = HashPool::new(small(), 2, 8).unwrap();
        let stored = pool.hash(b"pw".to_vec()).await.unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=256,t=1,p=1$"));
        assert!(verify_password(b"pw", &stored).unwrap());
        assert!(pool.verify(b"pw".to_vec(), stored.clone()).await.unwrap());
        assert!(!pool.verify(b"px".to_vec(), stored).await.unwrap());
        // Other formats run on the same workers, including argon2 larger than the worker's block.
        let kratos_argon2i = "$argon2i$v=19$m=65536,t=3,p=4$STVE4CQ9qQ1dK/j224VMbA$o8b+k5wdHgBqf7ES+aWG2K7Y9diQ6ahEhbW8zcstXGo";
        assert!(
            pool.verify(b"123456".to_vec(), kratos_argon2i.into())
                .await
                .unwrap()
        );
        assert!(
            pool.verify(b"123456".to_vec(), "$md5$4QrcOUm6Wau+VuBX8g+IPg==".into())
                .await
                .unwrap()
        );
        assert_eq!(
            pool.verify(b"x".to_vec(), "nonsense".into()).await,
            Err(PoolError::Hash(HashError::UnknownFormat))
        );
    }

    #[tokio::test]
    async fn bcrypt_pool() {
        let mut cfg = small();
        cfg.algorithm = Algorithm::Bcrypt;
        cfg.bcrypt.cost = 4;
        let pool = HashPool::new(cfg, 1, 4).unwrap();
        let stored = pool.hash(b"pw".to_vec()).await.unwrap();
        assert!(stored.starts_with("$2a$04$"));
        assert!(pool.verify(b"pw".to_vec(), stored).await.unwrap());
    }

    #[tokio::test]
    async fn busy_when_queue_is_full() {
        let pool = HashPool::new(small(), 1, 2).unwrap();
        // Occupy the only worker, then fill the two queue slots.
        let open = pool.gate().unwrap();
        // Wait until the worker has taken the gate out of the queue.
        let mut queued = Vec::new();
        for _ in 0..1000 {
            match pool.gate() {
                Ok(g) => queued.push(g),
                Err(PoolError::Busy) => break,
                Err(e) => unreachable!("{e}"),
            }
            if queued.len() == 2 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        assert_eq!(pool.hash(b"pw".to_vec()).await, Err(PoolError::Busy));
        assert_eq!(
            pool.verify(b"pw".to_vec(), "$md5$x".into()).await,
            Err(PoolError::Busy)
        );
        drop(open);
        drop(queued);
        // Once the worker drains the gates, work is accepted again.
        let mut result = Err(PoolError::Busy);
        for _ in 0..1000 {
            result = pool.hash(b"pw".to_vec()).await;
            if result != Err(PoolError::Busy) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        let stored = result.unwrap();
        assert!(pool.verify(b"pw".to_vec(), stored).await.unwrap());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_use() {
        let pool = Arc::new(HashPool::new(small(), 2, 64).unwrap());
        let mut tasks = Vec::new();
        for i in 0..16u8 {
            let pool = Arc::clone(&pool);
            tasks.push(tokio::spawn(async move {
                let password = vec![b'a' + i; 8];
                let stored = pool.hash(password.clone()).await?;
                let right = pool.verify(password, stored.clone()).await?;
                let wrong = pool.verify(vec![b'?'; 8], stored).await?;
                Ok::<_, PoolError>((right, wrong))
            }));
        }
        for task in tasks {
            assert_eq!(task.await.unwrap().unwrap(), (true, false));
        }
    }

    #[test]
    fn invalid_config_is_refused() {
        let mut cfg = small();
        cfg.bcrypt.cost = 2;
        assert!(matches!(
            HashPool::new(cfg, 1, 1),
            Err(PoolError::Hash(HashError::Config(_)))
        ));
    }
}
