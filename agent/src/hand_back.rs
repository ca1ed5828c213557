//! What a quiet agent hands back: the code pages only its start or its last burst ran, the
//! allocators' free pages and SQLite's page caches.
//!
//! Linux maps a program's code in 64 KiB runs around each page it touches, and starting runs
//! code from all over the binary (config, masters, the built-in validation package, schema
//! checks, TLS): an idle agent had about 9 MiB of its binary's 14 MiB of code resident, and 2 MiB
//! of its read-only data (issue 9, part 3; BENCHMARKS.md). Processing a burst maps more code and
//! fills the page caches. Once the processor has had nothing to do for [`QUIET`] (after the
//! start, and again after each burst), it hands all that back (`pipeline::Processor::run`):
//! - the agent's code pages ([`code_pages`]): its own binary's mappings that are read-only and
//!   hold no private copy (`Anonymous: 0 kB` in `/proc/self/smaps`) are unmapped from it with
//!   `madvise(MADV_DONTNEED)`. They are clean copies of the file: they stay in the page cache,
//!   which the kernel may reclaim like any other cached file page, and what the agent runs next
//!   maps its pages again (a minor fault each, or a read if the page was reclaimed). No
//!   relocated or written page is ever thrown away. Windows: the process's working set is trimmed
//!   (`SetProcessWorkingSetSize(-1, -1)`); trimmed pages come back as soft faults.
//! - free pages of the calling thread's mimalloc heap, and of the C allocator SQLite uses
//!   ([`allocator_pages`]); the store's `release_memory` empties a connection's page cache.

use std::time::{Duration, Instant};

/// How long the processor has had nothing to do before the agent hands memory back: past the
/// first batch and pruning round after a start, which run code the start did not.
pub const QUIET: Duration = Duration::from_secs(10);

/// When to hand memory back: once per quiet spell of [`QUIET`], and not again until work
/// has come and gone.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum QuietSpell {
    /// Work was done at the last look.
    #[default]
    Busy,
    /// Nothing to do since then.
    IdleSince(Instant),
    /// Memory was handed back in this spell.
    HandedBack,
}

impl QuietSpell {
    /// There was work: a new spell starts at the next idle moment.
    pub fn busy(&mut self) {
        *self = QuietSpell::Busy;
    }

    /// Nothing to do at `now`: true once per spell, when it has lasted [`QUIET`].
    pub fn idle_at(&mut self, now: Instant) -> bool {
        match *self {
            QuietSpell::Busy => *self = QuietSpell::IdleSince(now),
            QuietSpell::IdleSince(since) if now.duration_since(since) >= QUIET => {
                *self = QuietSpell::HandedBack;
                return true;
            }
            QuietSpell::IdleSince(_) | QuietSpell::HandedBack => {}
        }
        false
    }
}

/// Returns the free pages the calling thread's heap holds to the system, and those of the C
/// allocator (glibc's `malloc_trim`, which SQLite's allocations go through).
pub fn allocator_pages() {
    // SAFETY: asks mimalloc to free what the calling thread's heap holds unused; no memory in
    // use moves.
    unsafe { libmimalloc_sys::mi_collect(true) };
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: returns unused memory of glibc's arenas; no allocation in use moves.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Unmaps the code pages; returns how many bytes of mappings it covered (Linux), or 0.
#[cfg(target_os = "linux")]
pub fn code_pages() -> std::io::Result<u64> {
    let exe = std::fs::read_link("/proc/self/exe")?;
    let smaps = std::fs::read_to_string("/proc/self/smaps")?;
    let mut bytes = 0u64;
    for range in clean_mappings_of(&smaps, &exe.to_string_lossy()) {
        let len = range.end - range.start;
        // SAFETY: the range is a whole mapping of the agent's own executable, read-only and
        // with no private (anonymous) page: dropping its page-table entries only makes the
        // next access read the same bytes from the page cache again.
        let rc =
            unsafe { libc::madvise(range.start as *mut libc::c_void, len, libc::MADV_DONTNEED) };
        if rc != 0 {
            return Err(std::io::Error::last_os_error());
        }
        bytes += len as u64;
    }
    Ok(bytes)
}

#[cfg(windows)]
pub fn code_pages() -> std::io::Result<u64> {
    use windows_sys::Win32::System::Threading::{GetCurrentProcess, SetProcessWorkingSetSize};
    // SAFETY: the pseudo handle of the current process; (-1, -1) asks Windows to trim as many
    // pages as it can from the working set, which changes no memory contents.
    let ok = unsafe { SetProcessWorkingSetSize(GetCurrentProcess(), usize::MAX, usize::MAX) };
    if ok == 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(0)
}

#[cfg(not(any(target_os = "linux", windows)))]
pub fn code_pages() -> std::io::Result<u64> {
    Ok(0)
}

/// The address ranges of `exe`'s mappings in `smaps` that are not writable and hold no
/// anonymous (private, modified) page.
#[cfg(any(target_os = "linux", test))]
fn clean_mappings_of(smaps: &str, exe: &str) -> Vec<std::ops::Range<usize>> {
    let mut found = Vec::new();
    let mut current: Option<std::ops::Range<usize>> = None;
    for line in smaps.lines() {
        if let Some(range) = mapping_header(line, exe) {
            current = range;
        } else if let Some(kb) = line.strip_prefix("Anonymous:") {
            if let Some(range) = current.take() {
                if kb.trim() == "0 kB" {
                    found.push(range);
                }
            }
        }
    }
    found
}

/// For a mapping's header line, `Some(range)` when it maps `exe` read-only, `Some(None)` for any
/// other mapping; `None` when the line is not a header.
#[cfg(any(target_os = "linux", test))]
fn mapping_header(line: &str, exe: &str) -> Option<Option<std::ops::Range<usize>>> {
    let mut fields = line.splitn(6, ' ');
    let (start, end) = fields.next()?.split_once('-')?;
    let start = usize::from_str_radix(start, 16).ok()?;
    let end = usize::from_str_radix(end, 16).ok()?;
    let perms = fields.next()?;
    let path = fields.nth(3).map(str::trim_start).unwrap_or("");
    let ours = path == exe && perms.len() == 4 && !perms.contains('w') && start < end;
    Some(ours.then_some(start..end))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMAPS: &str = "\
55d0a0000000-55d0a0400000 r--p 00000000 08:01 1234 /opt/tsunagi/bin/tsunagi
Rss:                2076 kB
Anonymous:             0 kB
55d0a0400000-55d0a1000000 r-xp 00400000 08:01 1234 /opt/tsunagi/bin/tsunagi
Rss:                8972 kB
Anonymous:             0 kB
55d0a1000000-55d0a1070000 r--p 01000000 08:01 1234 /opt/tsunagi/bin/tsunagi
Rss:                 436 kB
Anonymous:           436 kB
55d0a1070000-55d0a1080000 rw-p 01070000 08:01 1234 /opt/tsunagi/bin/tsunagi
Anonymous:            64 kB
7f0000000000-7f0000100000 r-xp 00000000 08:01 99 /usr/lib/x86_64-linux-gnu/libc.so.6
Anonymous:             0 kB
7f0000200000-7f0000300000 rw-p 00000000 00:00 0
Anonymous:          1024 kB
";

    #[test]
    fn memory_is_handed_back_once_per_quiet_spell() {
        let t0 = Instant::now();
        let mut spell = QuietSpell::default();
        assert!(!spell.idle_at(t0));
        assert!(!spell.idle_at(t0 + QUIET - Duration::from_millis(1)));
        assert!(spell.idle_at(t0 + QUIET));
        assert!(!spell.idle_at(t0 + QUIET * 5), "once per spell");
        // Work came: the next spell counts from its first idle moment.
        spell.busy();
        let t1 = t0 + QUIET * 6;
        assert!(!spell.idle_at(t1));
        assert!(!spell.idle_at(t1 + QUIET / 2));
        assert!(spell.idle_at(t1 + QUIET));
    }

    #[test]
    fn only_the_binarys_unmodified_read_only_mappings_are_released() {
        let found = clean_mappings_of(SMAPS, "/opt/tsunagi/bin/tsunagi");
        assert_eq!(
            found,
            vec![
                0x55d0a0000000..0x55d0a0400000,
                0x55d0a0400000..0x55d0a1000000
            ]
        );
    }

    #[test]
    fn a_path_with_spaces_or_another_binary_is_told_apart() {
        let smaps = "1000-2000 r-xp 00000000 08:01 7    /opt/my tools/tsunagi\nAnonymous: 0 kB\n";
        assert_eq!(
            clean_mappings_of(smaps, "/opt/my tools/tsunagi"),
            vec![0x1000..0x2000]
        );
        assert!(clean_mappings_of(smaps, "/opt/my tools/tsunagi2").is_empty());
        assert!(clean_mappings_of(smaps, "/opt/my").is_empty());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn releasing_lowers_the_resident_pages_of_this_binary_and_it_keeps_running() {
        let resident = || {
            let exe = std::fs::read_link("/proc/self/exe").unwrap();
            let exe = exe.to_string_lossy().into_owned();
            let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
            let ranges = clean_mappings_of(&smaps, &exe);
            rss_kb_of(&smaps, &ranges)
        };
        let before = resident();
        let released = code_pages().unwrap();
        let after = resident();
        assert!(released > 0, "no mapping of this binary was released");
        // `resident` itself ran after the release, from pages mapped again.
        assert!(
            after < before,
            "resident {after} kB after, {before} kB before"
        );
    }

    /// The `Rss:` of the mappings starting at the ranges' starts.
    #[cfg(target_os = "linux")]
    fn rss_kb_of(smaps: &str, ranges: &[std::ops::Range<usize>]) -> u64 {
        let mut counting = false;
        let mut total = 0;
        for line in smaps.lines() {
            if let Some((start, _)) = line.split_once('-') {
                if let Ok(start) = usize::from_str_radix(start, 16) {
                    counting = ranges.iter().any(|r| r.start == start);
                    continue;
                }
            }
            if let (true, Some(kb)) = (counting, line.strip_prefix("Rss:")) {
                total += kb.trim().trim_end_matches(" kB").parse::<u64>().unwrap();
            }
        }
        total
    }
}
