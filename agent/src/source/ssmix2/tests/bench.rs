//! Backfill throughput with the real store (SQLite, fsync per batch). Ignored by default:
//! `cargo test --release -p tsunagi ssmix2_backfill_throughput -- --ignored --nocapture`
//! (`TSUNAGI_BENCH_FILES` sets the storage size, default 20000).

use super::*;
use crate::source::intake::StoreIntake;
use crate::store::{self, disk::DiskReserve, Writer};

#[test]
#[ignore = "throughput measurement; run by hand in release"]
fn ssmix2_backfill_throughput() {
    let n: usize = std::env::var("TSUNAGI_BENCH_FILES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("storage");
    let data = d.path().join("data");
    fs::create_dir_all(&data).unwrap();
    let body = vec![b'x'; 1800];
    for i in 0..n {
        let pid = format!("{:010}", 1_000_000 + i / 12);
        let r = rel_for(
            &pid,
            "20250403",
            "OML-11",
            &format!("{i:015}"),
            "20250403100000000",
            "01",
            1,
        );
        put_old(&root, &r, &body);
    }
    let (writer, _h) = Writer::spawn(store::open(&data).unwrap()).unwrap();
    let intake: Arc<dyn Intake> = Arc::new(StoreIntake::new(
        writer,
        store::open(&data).unwrap(),
        DiskReserve::new(data.clone(), 0, 1000),
        "hl7v2".into(),
        Arc::new(crate::doorbell::Doorbell::new()),
    ));
    for pass in ["backfill", "restart (all known)"] {
        let sd = Shutdown::new();
        let src = Ssmix2Source::new(Ssmix2Config {
            rescan_secs: 3600,
            poll_interval_ms: 3_600_000,
            ..cfg(&root, WatchMode::Poll)
        })
        .unwrap();
        let counted: Arc<dyn Intake> = Arc::new(StopWhenDone {
            inner: Arc::clone(&intake),
            done: Mutex::new(0),
            target: n,
            shutdown: sd.clone(),
        });
        let t0 = Instant::now();
        let h = thread::spawn(move || src.run(counted, sd));
        let stats = h.join().unwrap().unwrap();
        let secs = t0.elapsed().as_secs_f64();
        println!(
            "{pass}: {n} files in {secs:.2}s = {:.0} files/s (stored {}, known {})",
            n as f64 / secs,
            stats.stored,
            stats.already_known
        );
        assert_eq!(stats.stored + stats.already_known, n as u64);
    }
}

/// Passes calls through and fires `shutdown` once `target` files were stored or found known.
struct StopWhenDone {
    inner: Arc<dyn Intake>,
    done: Mutex<usize>,
    target: usize,
    shutdown: Shutdown,
}

impl StopWhenDone {
    fn add(&self, k: usize) {
        let mut d = self.done.lock().unwrap();
        *d += k;
        if *d >= self.target {
            self.shutdown.trigger();
        }
    }
}

impl Intake for StopWhenDone {
    fn is_known(&self, s: &str, r: &str, size: u64, m: i128) -> Result<bool, IntakeError> {
        let k = self.inner.is_known(s, r, size, m)?;
        if k {
            self.add(1);
        }
        Ok(k)
    }
    fn commit(&self, f: &IncomingFile<'_>) -> Result<Committed, IntakeError> {
        self.commit_batch(std::slice::from_ref(f))
            .map(|mut v| v.remove(0))
    }
    fn commit_batch(&self, files: &[IncomingFile<'_>]) -> Result<Vec<Committed>, IntakeError> {
        let out = self.inner.commit_batch(files)?;
        self.add(out.len());
        Ok(out)
    }
    fn refuse(
        &self,
        s: &str,
        r: &str,
        size: u64,
        m: i128,
        why: crate::source::Refusal,
    ) -> Result<(), IntakeError> {
        self.inner.refuse(s, r, size, m, why)
    }
}
