//! The allocator: mimalloc, with its arenas committed as they are used.
//!
//! mimalloc: the canonical model allocates many small strings per message; the system allocator
//! made up about a third of the HL7 parse+canonicalize time (adapters/benches/parse.rs).
//!
//! By default mimalloc commits a new arena's memory up front on systems that overcommit (Linux),
//! and the idle agent held 2.8 MiB more anonymous memory for it (issue 9, part 3; BENCHMARKS.md).
//! The option has to be set before mimalloc initializes, which it does in a constructor of
//! priority 101 (its `prim.c`); setting it in `main` was measured to change nothing. So it is
//! set from a constructor of priority 100, which the loader runs just before. Windows commits
//! lazily already (the option's default applies to overcommitting systems only).

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_arena_eager_commit`: the fifth entry of `mi_option_e` in mimalloc 2 and 3
/// (libmimalloc-sys binds the functions but names only some of the options).
#[cfg(target_os = "linux")]
const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;

#[cfg(target_os = "linux")]
#[used]
#[link_section = ".init_array.00100"]
static LAZY_ARENA_COMMIT: extern "C" fn() = lazy_arena_commit;

#[cfg(target_os = "linux")]
extern "C" fn lazy_arena_commit() {
    // SAFETY: writes one entry of mimalloc's static option table, before `main`, before any
    // other thread exists and before mimalloc itself initializes.
    unsafe { libmimalloc_sys::mi_option_set(ARENA_EAGER_COMMIT, 0) };
}

/// mimalloc's current setting for eager arena commits (0: lazy).
#[cfg(all(test, target_os = "linux"))]
fn arena_eager_commit() -> std::ffi::c_long {
    // SAFETY: reads one entry of mimalloc's option table.
    unsafe { libmimalloc_sys::mi_option_get(ARENA_EAGER_COMMIT) }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    #[test]
    fn arenas_are_committed_lazily_from_the_start() {
        // The constructor ran (this test binary links it as the agent does): mimalloc's
        // default here is 2, "eager on overcommitting systems".
        assert_eq!(super::arena_eager_commit(), 0);
    }
}
