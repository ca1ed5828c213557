//! The inbox stage's front door: how a source's input becomes a committed, durable row.
//!
//! [`StoreIntake`] implements the folder source's [`Intake`] on top of the store: it refuses
//! while the disk reserve is crossed (the file stays where it is), commits the raw bytes through
//! the group-commit [`Writer`], and only then answers, so the source acknowledges (moves the file)
//! strictly after the fsync. It wakes the processor after every new input.

use std::sync::{Arc, Mutex};

use rusqlite::Connection;

use crate::source::mllp::{
    CommitFuture, IncomingMessage, MessageIntake, OriginCommit, OriginCommitFuture,
};
use crate::source::{Committed, IncomingFile, Intake, IntakeError, Refusal};
use crate::store::disk::DiskReserve;
use crate::store::{inbox, Writer};

/// Intake for folder sources: one per source, carrying that source's input format.
pub struct StoreIntake {
    writer: Writer,
    reader: Mutex<Connection>,
    reserve: DiskReserve,
    format: String,
    wake: Arc<crate::doorbell::Doorbell>,
}

impl StoreIntake {
    /// An intake that stores inputs in `format` and wakes `wake` after each new one.
    pub fn new(
        writer: Writer,
        reader: Connection,
        reserve: DiskReserve,
        format: String,
        wake: Arc<crate::doorbell::Doorbell>,
    ) -> Self {
        StoreIntake {
            writer,
            reader: Mutex::new(reader),
            reserve,
            format,
            wake,
        }
    }
}

/// A file's data, owned, to move into a writer job.
struct OwnedFile {
    source: String,
    origin: String,
    raw: Vec<u8>,
    stamp: (u64, i128),
}

fn store_err(e: crate::store::StoreError) -> IntakeError {
    IntakeError::Store(e.to_string())
}

impl Intake for StoreIntake {
    fn is_known(
        &self,
        source: &str,
        rel_path: &str,
        size: u64,
        mtime_ns: i128,
    ) -> Result<bool, IntakeError> {
        let conn = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        inbox::file_is_known(&conn, source, rel_path, size, mtime_ns).map_err(store_err)
    }

    fn commit(&self, file: &IncomingFile<'_>) -> Result<Committed, IntakeError> {
        let mut v = self.commit_batch(std::slice::from_ref(file))?;
        v.pop()
            .ok_or_else(|| IntakeError::Store("empty commit result".into()))
    }

    fn commit_batch(&self, files: &[IncomingFile<'_>]) -> Result<Vec<Committed>, IntakeError> {
        if self.reserve.paused() {
            return Err(IntakeError::Paused);
        }
        let owned: Vec<OwnedFile> = files
            .iter()
            .map(|f| OwnedFile {
                source: f.source.to_owned(),
                origin: f.rel_path.to_owned(),
                raw: f.bytes.to_vec(),
                stamp: (f.size, f.mtime_ns),
            })
            .collect();
        let format = self.format.clone();
        let stored = self
            .writer
            .call(move |c| {
                owned
                    .iter()
                    .map(|f| {
                        inbox::insert(
                            c,
                            &inbox::NewInput {
                                source: &f.source,
                                origin: &f.origin,
                                format: &format,
                                raw: &f.raw,
                                file_stamp: Some(f.stamp),
                            },
                        )
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .map_err(store_err)?;
        let mut new = false;
        let out = stored
            .into_iter()
            .map(|s| match s {
                inbox::Stored::New(id) => {
                    new = true;
                    Committed::Stored { inbox_id: id }
                }
                inbox::Stored::Duplicate(id) => Committed::AlreadyStored { inbox_id: id },
            })
            .collect();
        if new {
            self.wake.ring();
        }
        Ok(out)
    }

    fn refuse(
        &self,
        source: &str,
        rel_path: &str,
        size: u64,
        mtime_ns: i128,
        why: Refusal,
    ) -> Result<(), IntakeError> {
        let (source, origin, format) =
            (source.to_owned(), rel_path.to_owned(), self.format.clone());
        self.writer
            .call(move |c| {
                let reason = format!("{source}:{origin}: {}", why.reason(size));
                let input = inbox::NewInput {
                    source: &source,
                    origin: &origin,
                    format: &format,
                    raw: &[],
                    file_stamp: Some((size, mtime_ns)),
                };
                inbox::insert_refused(c, &input, size, &reason)
            })
            .map(|_| ())
            .map_err(store_err)
    }
}

/// Network sources (MLLP, the FHIR endpoint): messages are committed through the same
/// group-commit writer, asynchronously, so many connections (and a pipelining sender's messages)
/// share one fsync. The format is the intake's (`hl7v2` for MLLP, `fhir-json` for the FHIR
/// endpoint); the disk reserve answers `Paused` (MLLP NAKs, the FHIR endpoint answers 503).
impl StoreIntake {
    /// Commits `message` with `insert` in the next group commit, unless the disk reserve is
    /// crossed; wakes the processor when `stored` says something new was stored.
    fn commit_with<T: Send + 'static>(
        &self,
        message: IncomingMessage,
        insert: fn(&Connection, &inbox::NewInput<'_>) -> Result<T, crate::store::StoreError>,
        stored: fn(&T) -> bool,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, IntakeError>> + Send>> {
        if self.reserve.paused() {
            return Box::pin(std::future::ready(Err(IntakeError::Paused)));
        }
        let wake = self.wake.clone();
        let format = self.format.clone();
        // Queued now (see `Writer::call_async`): the caller need not spawn the future. Both
        // inserts change one row at most for a message, and nothing that can fail follows the
        // change (there is no file stamp to remember).
        let commit = self.writer.call_async_one_change(move |c| {
            insert(
                c,
                &inbox::NewInput {
                    source: &message.source,
                    origin: &message.origin,
                    format: &format,
                    raw: &message.raw,
                    file_stamp: None,
                },
            )
        });
        Box::pin(async move {
            let outcome = commit.await.map_err(store_err)?;
            if stored(&outcome) {
                wake.ring();
            }
            Ok(outcome)
        })
    }
}

impl MessageIntake for StoreIntake {
    fn commit_message(&self, message: IncomingMessage) -> CommitFuture {
        let commit = self.commit_with(message, inbox::insert, |s| {
            matches!(s, inbox::Stored::New(_))
        });
        Box::pin(async move {
            Ok(match commit.await? {
                inbox::Stored::New(id) => Committed::Stored { inbox_id: id },
                inbox::Stored::Duplicate(id) => Committed::AlreadyStored { inbox_id: id },
            })
        })
    }

    fn commit_once_per_origin(&self, message: IncomingMessage) -> OriginCommitFuture {
        let commit = self.commit_with(message, inbox::insert_once_per_origin, |s| {
            matches!(s, inbox::ByOrigin::New(_))
        });
        Box::pin(async move {
            Ok(match commit.await? {
                inbox::ByOrigin::New(id) => {
                    OriginCommit::Committed(Committed::Stored { inbox_id: id })
                }
                inbox::ByOrigin::SameBytes(id) => {
                    OriginCommit::Committed(Committed::AlreadyStored { inbox_id: id })
                }
                inbox::ByOrigin::OtherBytes { id, raw } => {
                    OriginCommit::OtherBytes { inbox_id: id, raw }
                }
            })
        })
    }
}
