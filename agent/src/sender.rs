//! The send stage: outbox rows out to the national platform, outcomes back into the store.
//!
//! [`Sender`] claims due `pending` rows (marking them `in_flight` in a durable commit), submits
//! each through the [`Uplink`] with at most `concurrency` in flight, and records every outcome as
//! an `attempt` row plus the item's next state: delivered, rejected (permanent; it never blocks
//! the others), or pending again after a capped exponential backoff with jitter (transient and
//! ambiguous outcomes; retried forever, with the same idempotency key). On the shared-folder
//! route a submitted request is `awaiting` until its result file is collected; the result file
//! is removed only after the outcome is committed.
//!
//! Logs name outbox ids and outcome kinds; the platform's own texts (which could quote data) stay
//! in the database, shown by `tsunagi queue show`.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use rand::SeedableRng;
use tokio::task::JoinSet;

use crate::clock::now_ms;
use crate::digest::sha256_hex;
use crate::shutdown::Shutdown;
use crate::store::outbox::{self, Claimed, Delivery};
use crate::store::{StoreError, Writer};
use crate::uplink::{Outcome, RetryPolicy, Submission, Uplink};

/// Owns the send stage. See the module docs.
pub struct Sender {
    writer: Writer,
    uplink: Arc<Uplink>,
    policy: RetryPolicy,
    concurrency: usize,
    wake: Arc<tokio::sync::Notify>,
}

impl Sender {
    /// A sender with at most `concurrency` requests in flight, woken by `wake`.
    pub fn new(
        writer: Writer,
        uplink: Uplink,
        policy: RetryPolicy,
        concurrency: usize,
        wake: Arc<tokio::sync::Notify>,
    ) -> Self {
        Sender {
            writer,
            uplink: Arc::new(uplink),
            policy,
            concurrency: concurrency.max(1),
            wake,
        }
    }

    /// Sends until shutdown, then waits for the requests in flight and returns.
    pub async fn run(self, shutdown: Shutdown) -> Result<(), StoreError> {
        let recovered = self.writer.call_async(outbox::recover_in_flight).await?;
        if recovered > 0 {
            tracing::info!(
                count = recovered,
                "sends interrupted by the last stop will be repeated with the same idempotency keys"
            );
        }
        let mut in_flight: JoinSet<()> = JoinSet::new();
        // Claimed items wait here for a free slot: claiming a few slots' worth at once keeps the
        // claims from costing one commit per item.
        let mut claimed: VecDeque<Claimed> = VecDeque::new();
        let policy = Arc::new(self.policy.clone());
        let refill_at = self.concurrency;
        let claim_max = self.concurrency * 4;
        let horizon = self.horizon_ms();
        loop {
            if shutdown.is_triggered() {
                break;
            }
            if claimed.len() < refill_at {
                let want = claim_max - claimed.len();
                match self
                    .writer
                    .call_async(move |c| outbox::claim_ready(c, now_ms(), horizon, want))
                    .await
                {
                    Ok(v) => claimed.extend(v),
                    Err(e) => tracing::error!(error = %e, "sender: cannot claim items"),
                }
            }
            while in_flight.len() < self.concurrency {
                let Some(item) = claimed.pop_front() else {
                    break;
                };
                let (uplink, writer, policy) =
                    (self.uplink.clone(), self.writer.clone(), policy.clone());
                in_flight.spawn(async move { send_one(&uplink, &writer, &policy, item).await });
            }
            self.collect_results().await;
            let due_in = if claimed.is_empty() {
                self.next_due_in().await
            } else {
                Duration::from_secs(1)
            };
            tokio::select! {
                _ = shutdown.triggered() => break,
                _ = self.wake.notified() => {}
                Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
                _ = tokio::time::sleep(due_in) => {}
            }
        }
        // Drain: every request already sent gets its outcome recorded; claimed items not yet
        // sent go back to pending.
        while in_flight.join_next().await.is_some() {}
        let unsent: Vec<i64> = claimed.iter().map(|c| c.id).collect();
        if !unsent.is_empty() {
            self.writer
                .call_async(move |c| outbox::release(c, &unsent))
                .await?;
        }
        self.collect_results().await;
        Ok(())
    }

    /// The longest wait the retry policy can set (backoff or `Retry-After`), plus a minute: a
    /// scheduled time further ahead than this comes from a clock that was set back since.
    fn horizon_ms(&self) -> i64 {
        let longest = self.policy.longest_wait().as_millis();
        i64::try_from(longest).unwrap_or(i64::MAX / 2) + 60_000
    }

    async fn next_due_in(&self) -> Duration {
        let poll = if self.uplink.route_name() == "shared-folder" {
            100
        } else {
            1_000
        };
        let due = self
            .writer
            .call_async({
                let horizon = self.horizon_ms();
                move |c| outbox::next_due(c, now_ms(), horizon)
            })
            .await
            .ok()
            .flatten();
        let ms = due.map(|t| (t - now_ms()).clamp(5, poll)).unwrap_or(poll);
        Duration::from_millis(ms as u64)
    }

    /// Shared-folder route: records the result files that arrived, then removes them.
    async fn collect_results(&self) {
        for (key, outcome) in self.uplink.collect().await {
            let k = key.clone();
            let delivery = to_delivery(&self.policy, 1, outcome);
            let recorded = self
                .writer
                .call_async(move |c| match outbox::awaiting_by_key(c, &k)? {
                    Some(id) => outbox::record(c, id, &delivery).map(|()| Some(id)),
                    None => Ok(None),
                })
                .await;
            match recorded {
                Ok(Some(id)) => {
                    tracing::debug!(outbox = id, "shared-folder result recorded");
                    if let Err(e) = self.uplink.acknowledge(&key).await {
                        tracing::warn!(error = %e, "cannot remove a collected result file; it will be read again");
                    }
                }
                Ok(None) => {
                    tracing::warn!("a result file matches no awaiting item; it is left in place");
                }
                Err(e) => tracing::error!(error = %e, "sender: cannot record a result"),
            }
        }
    }
}

async fn send_one(uplink: &Uplink, writer: &Writer, policy: &RetryPolicy, item: Claimed) {
    let id = item.id;
    let outcome = if sha256_hex(&item.body) != item.key {
        Outcome::Rejected {
            status: None,
            reason: "local corruption: the stored bundle does not match its checksum; replay its input / 保存データ破損".into(),
        }
    } else {
        uplink
            .submit(Submission {
                idempotency_key: &item.key,
                body: &item.body,
            })
            .await
    };
    let delivery = to_delivery(policy, item.attempt, outcome);
    match &delivery {
        Delivery::Delivered { duplicate, .. } => {
            tracing::debug!(outbox = id, duplicate, "delivered")
        }
        Delivery::Rejected { .. } => {
            tracing::warn!(
                outbox = id,
                "rejected by the platform; see `tsunagi queue show O-{id}`"
            )
        }
        Delivery::Retry {
            kind,
            delay_ms,
            reason,
        } => {
            // Local reasons (connection, TLS) are safe to log; they never carry bundle content.
            tracing::warn!(outbox = id, kind, delay_ms, reason = %reason, attempt = item.attempt, "delivery will be retried")
        }
        Delivery::Awaiting => tracing::debug!(outbox = id, "written to the shared folder"),
    }
    let d = delivery.clone();
    if let Err(e) = writer.call_async(move |c| outbox::record(c, id, &d)).await {
        // Not recorded: the row stays in_flight and is resent after a restart (same key).
        tracing::error!(outbox = id, error = %e, "cannot record a delivery outcome");
    }
}

/// Maps an uplink outcome to what the store records, choosing the backoff for retries.
fn to_delivery(policy: &RetryPolicy, attempt: u32, outcome: Outcome) -> Delivery {
    let mut rng = rand::rngs::StdRng::from_os_rng();
    match outcome {
        Outcome::Accepted { receipt, duplicate } => Delivery::Delivered { receipt, duplicate },
        Outcome::Rejected { status, reason } => Delivery::Rejected {
            reason: match status {
                Some(s) => format!("HTTP {s}: {reason}"),
                None => reason,
            },
        },
        Outcome::Transient {
            kind,
            reason,
            retry_after,
        } => Delivery::Retry {
            kind: "transient",
            reason: format!("{kind:?}: {reason}"),
            delay_ms: policy.delay(attempt, retry_after, &mut rng).as_millis() as i64,
        },
        Outcome::Ambiguous { reason } => Delivery::Retry {
            kind: "ambiguous",
            reason,
            delay_ms: policy.delay(attempt, None, &mut rng).as_millis() as i64,
        },
        Outcome::Awaiting => Delivery::Awaiting,
    }
}
