//! A quiet processor hands memory back (`hand_back`): its connections' page caches, the
//! writer's, the allocators' free pages and the code pages the last burst or the start mapped.

use super::Processor;
use crate::hand_back;
use crate::store;

impl Processor {
    /// Called once per quiet spell (`hand_back::QuietSpell`). A failure is logged and changes
    /// nothing else: the memory stays where it was.
    pub(super) fn hand_back_memory(&self) {
        let mut caches = store::release_memory(&self.reader);
        if let Some(t) = &self.terminology {
            caches = caches.and_then(|()| store::release_memory(&t.conn));
        }
        // The writer's cache and heap belong to its thread: released in a job it runs.
        let writer = self.writer.call_derived(|c| {
            store::release_memory(c)?;
            hand_back::allocator_pages();
            Ok(())
        });
        if let Err(e) = caches.and(writer) {
            tracing::debug!(error = %e, "the page caches were not emptied");
        }
        hand_back::allocator_pages();
        match hand_back::code_pages() {
            Ok(bytes) => tracing::debug!(bytes, "handed the code pages back"),
            Err(e) => tracing::debug!(error = %e, "the code pages were not handed back"),
        }
    }
}
