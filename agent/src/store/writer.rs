//! Group commit: one thread owns the write connection and commits queued jobs together.
//!
//! Callers hand a closure to [`Writer::call`] (blocking) or [`Writer::call_async`]. The writer
//! thread takes the first queued job, then every job already waiting (up to `MAX_BATCH`), runs
//! them in one `BEGIN IMMEDIATE … COMMIT`, each inside its own SAVEPOINT (but a job that changes
//! one row at most: [`Writer::call_async_one_change`]), and answers every caller only after the
//! COMMIT returned, i.e. after the fsync. Latency is bounded by one batch: nobody
//! waits for a batch to fill. A job whose closure fails is rolled back to its savepoint and gets
//! its own error; a failed COMMIT fails every job of the batch (nothing of it is durable, so no
//! source acknowledges).
//!
//! Two kinds of job ([`Durability`]) never share a batch. What somebody outside was or will be
//! told is stored (intake, receipts, operator actions) commits with `synchronous=FULL`, and its
//! caller is answered after the fsync; what the processor derives from stored inputs, and redoes
//! when it is lost, commits with `synchronous=NORMAL`: the commit is in the operating system's
//! hands at once (a crash of the agent loses nothing) and on disk at the next fsync, the next
//! acknowledged batch's or a checkpoint's. A power failure before that leaves the inputs
//! `received`, and they are processed again into the same bundles under the same idempotency
//! keys.
//!
//! Acknowledged jobs go first: every acknowledged job waiting is committed before the next
//! derived batch, and one derived batch runs between two acknowledged ones, so neither kind
//! starves. An acknowledgement then waits for at most one derived batch already running, which
//! the processor keeps small (`pipeline::APPLY_CHUNK`), not for the processor's whole backlog
//! (issue 9, part 3: the ACK latency under a backlog).
//!
//! Before each batch the writer looks at the database path (one `stat`, [`FileWatch`]): if the
//! file it holds was removed or replaced, commits would go to a file nobody will find again, so
//! that batch and every later one fail, [`StoreLost`] is set for `/readyz`, and one error is
//! logged.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::{mpsc, Arc};
use std::thread;

use rusqlite::Connection;

use super::commit_figures::CommitFigures;
use super::identity::StoreLost;
use super::StoreError;

/// Jobs per transaction at most; bounds the time one commit holds the write lock.
const MAX_BATCH: usize = 512;

type Reply = Box<dyn FnOnce(Result<(), String>) + Send>;
type Run = Box<dyn FnOnce(&Connection) -> Reply + Send>;

/// Whether a job's commit must reach the disk before its caller is answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// Acknowledged to somebody (an MLLP ACK, an HTTP answer, a moved file, a receipt, an
    /// operator's command): on disk (fsynced) before the caller is answered.
    Acknowledged,
    /// Derived from stored inputs and derived again if lost (the processor's decisions): may
    /// wait for the next fsync. Never delays an acknowledged job's fsync.
    Derived,
}

struct Job {
    durability: Durability,
    run: Run,
}

/// How a job is kept apart from the others of its batch when it fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Apart {
    /// In a SAVEPOINT of its own, rolled back when the job returns an error.
    Savepoint,
    /// The job changes one row at most, with one statement, and nothing after that statement
    /// can fail: a statement that fails is undone by SQLite itself (or, on a full disk or an
    /// I/O error, the whole transaction is, and the batch fails), so nothing of a failed job
    /// stays.
    OneChange,
}

/// A job: runs on the writer's connection, inside the batch's transaction.
pub trait JobFn<T>: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static {}
impl<T, F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static> JobFn<T> for F {}

/// An async job's answer, once its commit is durable.
pub trait Answer<T>: std::future::Future<Output = Result<T, StoreError>> + Send + 'static {}
impl<T, A: std::future::Future<Output = Result<T, StoreError>> + Send + 'static> Answer<T> for A {}

/// The handle to the writer thread. Cheap to clone; the thread stops when every clone is dropped.
#[derive(Clone)]
pub struct Writer {
    jobs: mpsc::SyncSender<Job>,
    /// Jobs queued, commits and the jobs they carried (`/metrics`).
    figures: Arc<CommitFigures>,
    lost: StoreLost,
}

impl Writer {
    /// Starts the writer thread on an open, migrated connection.
    pub fn spawn(conn: Connection) -> Result<(Writer, thread::JoinHandle<()>), StoreError> {
        // The bound gives backpressure: producers wait when the writer is far behind.
        let (tx, rx) = mpsc::sync_channel::<Job>(4096);
        // Savepoint journals and sorts in memory: no temporary file (holding pages of patient
        // data) under /var/tmp, and none of its syscalls (measured: a file per ~140 messages).
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        let lost = StoreLost::watching(conn.path().filter(|p| !p.is_empty()).map(Path::new));
        let guard = lost.clone();
        let figures = Arc::new(CommitFigures::default());
        let taken = Channel {
            rx,
            figures: figures.clone(),
        };
        let handle = thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || run(conn, taken, guard))
            .map_err(|source| StoreError::Io {
                path: "store-writer thread".into(),
                source,
            })?;
        Ok((
            Writer {
                jobs: tx,
                figures,
                lost,
            },
            handle,
        ))
    }

    /// How many jobs wait in the channel, not yet taken by the writer thread.
    #[cfg(test)]
    fn jobs_queued(&self) -> usize {
        self.figures.read().queued
    }

    /// The writer's figures (jobs queued, commits and their jobs), shared: `/metrics` reads them.
    pub fn figures(&self) -> Arc<CommitFigures> {
        self.figures.clone()
    }

    /// Set once the database file was removed or replaced under the writer.
    pub fn lost(&self) -> StoreLost {
        self.lost.clone()
    }

    /// Runs `f` in the next group commit and returns its result once the commit is durable.
    pub fn call<T: Send + 'static>(&self, f: impl JobFn<T>) -> Result<T, StoreError> {
        let rx = self.submit(Durability::Acknowledged, Apart::Savepoint, f)?;
        rx.blocking_recv().map_err(|_| StoreError::WriterGone)?
    }

    /// Runs `f`, whose effects are [`Durability::Derived`], in the next group commit and returns
    /// its result once the commit is done (visible to every reader, not necessarily fsynced).
    pub fn call_derived<T: Send + 'static>(&self, f: impl JobFn<T>) -> Result<T, StoreError> {
        let rx = self.submit(Durability::Derived, Apart::Savepoint, f)?;
        rx.blocking_recv().map_err(|_| StoreError::WriterGone)?
    }

    /// Like [`Writer::call`], for async callers. The job is queued when this is called, not
    /// when the future is first polled: a caller holding several futures (an MLLP connection's
    /// pipelined messages) has them all in the next group commit without spawning a task each.
    /// Dropping the future does not cancel the job; only its answer is lost.
    pub fn call_async<T: Send + 'static>(&self, f: impl JobFn<T>) -> impl Answer<T> {
        self.queue(Apart::Savepoint, f)
    }

    /// Like [`Writer::call_async`], for a job that changes one row at most, with one statement
    /// after which nothing fails (reads before it are fine): an input's insert. It runs
    /// without a savepoint of its own.
    /// A savepoint first copies every page of the database the job changes into a journal in
    /// memory; with one job per message that was 4.8 % of the agent's samples under the MLLP
    /// load (issue 9, part 3). A job that fails leaves nothing, as with a savepoint (see
    /// [`Apart::OneChange`]); a job that changed more than one row fails the debug builds' tests.
    pub fn call_async_one_change<T: Send + 'static>(&self, f: impl JobFn<T>) -> impl Answer<T> {
        self.queue(Apart::OneChange, f)
    }

    fn queue<T: Send + 'static>(&self, apart: Apart, f: impl JobFn<T>) -> impl Answer<T> {
        let queued = self.submit(Durability::Acknowledged, apart, f);
        async move { queued?.await.map_err(|_| StoreError::WriterGone)? }
    }

    fn submit<T: Send + 'static>(
        &self,
        durability: Durability,
        apart: Apart,
        f: impl JobFn<T>,
    ) -> Result<tokio::sync::oneshot::Receiver<Result<T, StoreError>>, StoreError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let run: Run = Box::new(move |conn: &Connection| -> Reply {
            let outcome = match apart {
                Apart::Savepoint => run_in_savepoint(conn, f),
                Apart::OneChange => run_one_change(conn, f),
            };
            match outcome {
                Ok(value) => Box::new(move |commit: Result<(), String>| {
                    let _ = tx.send(commit.map(|()| value).map_err(StoreError::Invalid));
                }),
                Err(e) => Box::new(move |_| {
                    let _ = tx.send(Err(e));
                }),
            }
        });
        // Blocking send on a bounded channel: this is the backpressure point.
        self.figures.queue();
        if self.jobs.send(Job { durability, run }).is_err() {
            self.figures.unqueue();
            return Err(StoreError::WriterGone);
        }
        Ok(rx)
    }
}

fn run_in_savepoint<T>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    step(conn, "SAVEPOINT job")?;
    match f(conn) {
        Ok(v) => {
            step(conn, "RELEASE job")?;
            Ok(v)
        }
        Err(e) => {
            conn.execute_batch("ROLLBACK TO job; RELEASE job")?;
            Err(e)
        }
    }
}

fn run_one_change<T>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let before = conn.total_changes();
    let outcome = f(conn);
    debug_assert!(
        conn.total_changes().saturating_sub(before) <= 1,
        "a job run without a savepoint changed more than one row"
    );
    outcome
}

/// Runs one transaction-control statement (no parameters, no rows) from the connection's
/// statement cache: these run twice per job, and preparing them each time cost more than the
/// job's own insert (issue 9, part 3).
fn step(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

const LOST: &str = "the database file was removed or replaced; nothing is committed / データベースファイルが失われたため保存できません";

/// The writer thread's end of the job channel.
struct Channel {
    rx: mpsc::Receiver<Job>,
    figures: Arc<CommitFigures>,
}

impl Channel {
    fn taken(&self, job: Job) -> Job {
        self.figures.unqueue();
        job
    }
}

/// Jobs taken from the channel, waiting for their batch, by kind.
#[derive(Default)]
struct Waiting {
    acknowledged: VecDeque<Job>,
    derived: VecDeque<Job>,
}

impl Waiting {
    fn push(&mut self, job: Job) {
        match job.durability {
            Durability::Acknowledged => self.acknowledged.push_back(job),
            Durability::Derived => self.derived.push_back(job),
        }
    }

    /// Takes every job already in the channel without waiting.
    fn gather(&mut self, ch: &Channel) {
        while let Ok(job) = ch.rx.try_recv() {
            self.push(ch.taken(job));
        }
    }

    /// Up to `MAX_BATCH` waiting jobs of one kind, oldest first.
    fn take(&mut self, kind: Durability) -> Option<Vec<Job>> {
        let queue = match kind {
            Durability::Acknowledged => &mut self.acknowledged,
            Durability::Derived => &mut self.derived,
        };
        let n = queue.len().min(MAX_BATCH);
        (n > 0).then(|| queue.drain(..n).collect())
    }
}

/// Sets `synchronous` for the next transaction when it differs from the current setting.
fn set_sync(conn: &Connection, now: &mut Durability, want: Durability) -> rusqlite::Result<()> {
    if *now != want {
        step(
            conn,
            match want {
                Durability::Acknowledged => "PRAGMA synchronous = FULL",
                Durability::Derived => "PRAGMA synchronous = NORMAL",
            },
        )?;
        *now = want;
    }
    Ok(())
}

fn run(conn: Connection, ch: Channel, lost: StoreLost) {
    // `store::open` leaves the connection at synchronous=FULL.
    let mut sync = Durability::Acknowledged;
    let mut waiting = Waiting::default();
    loop {
        waiting.gather(&ch);
        let mut idle = true;
        // Every acknowledged job waiting, then one derived batch: neither kind starves.
        for kind in [Durability::Acknowledged, Durability::Derived] {
            if let Some(batch) = waiting.take(kind) {
                commit_batch(&conn, &lost, &mut sync, &ch.figures, kind, batch);
                idle = false;
            }
        }
        if idle {
            match ch.rx.recv() {
                Ok(job) => waiting.push(ch.taken(job)),
                Err(_) => return,
            }
        }
    }
}

/// Runs one batch in one transaction, counts it in `figures`, and answers its callers after the
/// COMMIT (counted first, so that a caller answered sees its commit counted).
fn commit_batch(
    conn: &Connection,
    lost: &StoreLost,
    sync: &mut Durability,
    figures: &CommitFigures,
    kind: Durability,
    batch: Vec<Job>,
) {
    let refused = if lost.is_lost() {
        Some(LOST.to_string())
    } else if let Err(e) = set_sync(conn, sync, kind) {
        tracing::error!(error = %e, "store: cannot set the commit's durability");
        Some(format!("cannot set synchronous: {e}"))
    } else if let Err(e) = step(conn, "BEGIN IMMEDIATE") {
        tracing::error!(error = %e, "store: cannot begin a transaction");
        Some(format!("cannot begin a transaction: {e}"))
    } else {
        None
    };
    if let Some(msg) = refused {
        figures.failed();
        return fail_all(batch, conn, &msg);
    }
    let jobs = batch.len();
    let replies: Vec<Reply> = batch.into_iter().map(|job| (job.run)(conn)).collect();
    let outcome = step(conn, "COMMIT").map_err(|e| {
        tracing::error!(error = %e, "store: commit failed; the batch is not durable");
        let _ = conn.execute_batch("ROLLBACK");
        format!("commit failed: {e}")
    });
    match outcome {
        Ok(()) => figures.committed(kind, jobs),
        Err(_) => figures.failed(),
    }
    for reply in replies {
        reply(outcome.clone());
    }
}

/// Fails every job of a batch that is not committed.
fn fail_all(batch: Vec<Job>, conn: &Connection, msg: &str) {
    for job in batch {
        // The job never ran in a transaction; tell its caller.
        let reply = job_failed_reply(job, conn);
        reply(Err(msg.to_string()));
    }
}

/// Runs a job whose transaction could not begin: it executes outside a transaction would be
/// wrong, so it is run against a savepoint we immediately roll back, and its reply is failed.
fn job_failed_reply(job: Job, conn: &Connection) -> Reply {
    let _ = conn.execute_batch("SAVEPOINT dead");
    let reply = (job.run)(conn);
    let _ = conn.execute_batch("ROLLBACK TO dead; RELEASE dead");
    reply
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writer() -> (tempfile::TempDir, Writer) {
        let dir = tempfile::tempdir().unwrap();
        let conn = super::super::open(dir.path()).unwrap();
        conn.execute_batch("CREATE TABLE t (v INTEGER NOT NULL)")
            .unwrap();
        let (w, _h) = Writer::spawn(conn).unwrap();
        (dir, w)
    }

    fn synchronous(c: &Connection) -> Result<i64, StoreError> {
        Ok(c.pragma_query_value(None, "synchronous", |r| r.get(0))?)
    }

    /// Holds the writer in a job of its own until the returned barrier is passed a second time.
    fn hold(
        w: &Writer,
    ) -> (
        std::sync::Arc<std::sync::Barrier>,
        std::thread::JoinHandle<()>,
    ) {
        let gate = std::sync::Arc::new(std::sync::Barrier::new(2));
        let held = gate.clone();
        let w = w.clone();
        let h = std::thread::spawn(move || {
            w.call(move |_| {
                held.wait();
                held.wait();
                Ok(())
            })
            .unwrap()
        });
        gate.wait();
        (gate, h)
    }

    /// Waits until `n` jobs are queued behind the held one.
    fn queued(w: &Writer, n: usize) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while w.jobs_queued() < n && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert!(w.jobs_queued() >= n, "jobs did not queue");
    }

    #[test]
    fn only_derived_jobs_commit_without_waiting_for_the_fsync() {
        let (_dir, w) = writer();
        // 2 = FULL, 1 = NORMAL.
        assert_eq!(w.call(synchronous).unwrap(), 2);
        assert_eq!(w.call_derived(synchronous).unwrap(), 1);
        assert_eq!(w.call(synchronous).unwrap(), 2, "back to FULL");
        // Queued together, the two kinds still commit apart, each with its own setting.
        let (gate, first) = hold(&w);
        let derived = {
            let w = w.clone();
            std::thread::spawn(move || w.call_derived(synchronous))
        };
        let acked = {
            let w = w.clone();
            std::thread::spawn(move || w.call(synchronous))
        };
        queued(&w, 2);
        gate.wait();
        first.join().unwrap();
        assert_eq!(acked.join().unwrap().unwrap(), 2);
        assert_eq!(
            derived.join().unwrap().unwrap(),
            1,
            "never batched with an acknowledged job"
        );
    }

    #[test]
    fn commits_and_the_jobs_they_carried_are_counted_by_durability() {
        use super::super::commit_figures::{CommitCounts, Commits};
        let (_dir, w) = writer();
        let figures = w.figures();
        // Three acknowledged jobs queued behind a held one commit together: 2 commits, 4 jobs.
        let (gate, first) = hold(&w);
        let callers: Vec<_> = (0..3)
            .map(|_| {
                let w = w.clone();
                std::thread::spawn(move || w.call(|_| Ok(())))
            })
            .collect();
        queued(&w, 3);
        assert_eq!(figures.read().queued, 3);
        gate.wait();
        first.join().unwrap();
        for c in callers {
            c.join().unwrap().unwrap();
        }
        w.call_derived(|_| Ok(())).unwrap();
        // A job's own failure does not fail its commit.
        assert!(w
            .call(|_| -> Result<(), StoreError> { Err(StoreError::Invalid("no".into())) })
            .is_err());
        assert_eq!(
            figures.read(),
            CommitCounts {
                queued: 0,
                acknowledged: Commits {
                    commits: 3,
                    jobs: 5
                },
                derived: Commits {
                    commits: 1,
                    jobs: 1
                },
                failed: 0,
            }
        );
    }

    #[test]
    fn the_writer_keeps_its_temporary_data_in_memory() {
        let (_dir, w) = writer();
        // 2 = MEMORY: no temporary file outside the data directory.
        let temp_store = w
            .call(|c| Ok(c.pragma_query_value(None, "temp_store", |r| r.get::<_, i64>(0))?))
            .unwrap();
        assert_eq!(temp_store, 2);
    }

    #[test]
    fn acknowledged_jobs_go_before_derived_ones_queued_earlier() {
        let (_dir, w) = writer();
        let order = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (gate, first) = hold(&w);
        let mut callers = Vec::new();
        for (i, derived) in [(0, true), (1, true), (2, false), (3, false)] {
            let (caller, order) = (w.clone(), order.clone());
            let note = move |_: &Connection| {
                order.lock().unwrap().push(i);
                Ok(())
            };
            callers.push(std::thread::spawn(move || match derived {
                true => caller.call_derived(note),
                false => caller.call(note),
            }));
            queued(&w, i + 1);
        }
        gate.wait();
        first.join().unwrap();
        for c in callers {
            c.join().unwrap().unwrap();
        }
        assert_eq!(*order.lock().unwrap(), vec![2, 3, 0, 1]);
    }

    #[test]
    fn a_failing_job_does_not_undo_its_batch_neighbours() {
        let (dir, w) = writer();
        let mut handles = Vec::new();
        for i in 0..200 {
            let w = w.clone();
            handles.push(std::thread::spawn(move || {
                w.call(move |c| {
                    c.execute("INSERT INTO t (v) VALUES (?1)", [i])?;
                    if i % 10 == 0 {
                        return Err(StoreError::Invalid("boom".into()));
                    }
                    Ok(i)
                })
            }));
        }
        let mut ok = 0;
        for h in handles {
            if h.join().unwrap().is_ok() {
                ok += 1;
            }
        }
        assert_eq!(ok, 180);
        let conn = super::super::open(dir.path()).unwrap();
        let n: i64 = conn
            .query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 180, "exactly the successful jobs are durable");
    }

    #[test]
    fn a_failing_job_without_a_savepoint_leaves_nothing_and_fails_alone() {
        let (dir, w) = writer();
        w.call(|c| Ok(c.execute_batch("CREATE TABLE u (k INTEGER UNIQUE)")?))
            .unwrap();
        // One batch: jobs queue behind a held one. One-change inserts, some of which break a
        // constraint (a NULL into `t`, a second `k = 1` into `u`), between jobs with savepoints
        // that write the same pages.
        let (gate, held) = hold(&w);
        type Queued =
            std::pin::Pin<Box<dyn std::future::Future<Output = Result<usize, StoreError>> + Send>>;
        let mut jobs: Vec<Queued> = Vec::new();
        for i in 0..30_i64 {
            let (sql, v) = match i % 3 {
                0 => ("INSERT INTO t (v) VALUES (?1)", (i % 2 == 0).then_some(i)),
                1 => ("INSERT INTO u (k) VALUES (?1)", Some(1)),
                _ => ("INSERT INTO t (v) VALUES (?1)", Some(i)),
            };
            jobs.push(Box::pin(
                w.call_async_one_change(move |c| Ok(c.execute(sql, [v])?)),
            ));
            jobs.push(Box::pin(w.call_async(|c| {
                Ok(c.execute("INSERT INTO t (v) VALUES (1000)", [])?)
            })));
        }
        queued(&w, jobs.len());
        gate.wait();
        held.join().unwrap();
        let answers = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(async {
                let mut answers = Vec::new();
                for job in jobs {
                    answers.push(job.await);
                }
                answers
            });
        let failed = answers.iter().filter(|a| a.is_err()).count();
        // NULLs for i = 3, 9, 15, 21, 27; `k = 1` again for i = 4, 7, ..., 28 (the first is i = 1).
        assert_eq!(failed, 5 + 9);
        let conn = super::super::open(dir.path()).unwrap();
        let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
        assert_eq!(count("SELECT COUNT(*) FROM t WHERE v < 1000"), 5 + 10);
        assert_eq!(count("SELECT COUNT(*) FROM t WHERE v = 1000"), 30);
        assert_eq!(count("SELECT COUNT(*) FROM u"), 1);
    }

    #[tokio::test]
    async fn async_callers_get_their_values() {
        let (_dir, w) = writer();
        let v = w
            .call_async(|c| {
                c.execute("INSERT INTO t (v) VALUES (7)", [])?;
                Ok(c.last_insert_rowid())
            })
            .await
            .unwrap();
        assert_eq!(v, 1);
    }

    #[test]
    fn a_removed_database_fails_every_later_commit_and_sets_the_flag() {
        let (dir, w) = writer();
        w.call(|c| Ok(c.execute("INSERT INTO t (v) VALUES (1)", [])?))
            .unwrap();
        assert!(!w.lost().is_lost());
        for name in ["tsunagi.db", "tsunagi.db-wal", "tsunagi.db-shm"] {
            let _ = std::fs::remove_file(dir.path().join(name));
        }
        let err = w
            .call(|c| Ok(c.execute("INSERT INTO t (v) VALUES (2)", [])?))
            .unwrap_err();
        assert!(err.to_string().contains("removed or replaced"), "{err}");
        assert!(w.lost().is_lost());
        // A file that appears at the path later is not the one the writer holds either.
        drop(super::super::open(dir.path()).unwrap());
        assert!(w.call(|_| Ok(())).is_err(), "the loss is sticky");
        let figures = w.figures().read();
        assert_eq!((figures.acknowledged.commits, figures.failed), (1, 2));
    }

    #[test]
    fn a_replaced_database_fails_the_commit() {
        let (dir, w) = writer();
        let db = dir.path().join("tsunagi.db");
        std::fs::rename(&db, dir.path().join("moved-away.db")).unwrap();
        std::fs::write(&db, b"").unwrap();
        assert!(w.call(|_| Ok(())).is_err());
        assert!(w.lost().is_lost());
    }
}
