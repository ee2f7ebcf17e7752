//! Gives the heap memory a bulk job freed back to the operating system.
//!
//! After a full sync the daemon has freed the memory the pull needed (SQLite's page cache
//! shrunk, the pages of records dropped), but glibc's allocator keeps freed memory in its
//! arenas for reuse: the process stays at the pull's peak for as long as it runs.
//! `malloc_trim(0)` returns every free page of every arena. macOS's allocator gives memory
//! back by itself, so elsewhere this does nothing.
//!
//! This crate is the workspace's only `unsafe` code (the workspace forbids it everywhere
//! else): two calls with no arguments that can be wrong.

/// Returns freed heap memory to the OS where the allocator would keep it. Whether memory
/// was given back.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn trim() -> bool {
    // SAFETY: malloc_trim takes a padding in bytes and only walks the allocator's own free
    // lists under its locks; it is safe to call at any time from any thread.
    unsafe { libc::malloc_trim(0) == 1 }
}

/// Returns freed heap memory to the OS where the allocator would keep it (nothing to do
/// with this platform's allocator).
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn trim() -> bool {
    false
}

/// Caps glibc's arenas at `arenas` (call before the runtime starts its threads). glibc gives
/// each thread that meets contention an arena of its own, up to eight per core, and memory
/// freed in one arena is not reused by the others: a daemon of a few busy threads ends up
/// holding the fragments of many. A couple of arenas is plenty for it. Whether it was set.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn limit_arenas(arenas: i32) -> bool {
    // SAFETY: mallopt only sets an allocator parameter under its lock; M_ARENA_MAX with a
    // positive value is documented as safe at any time (it applies to arenas created later).
    unsafe { libc::mallopt(libc::M_ARENA_MAX, arenas.max(1)) == 1 }
}

/// Caps the allocator's arenas (nothing to do with this platform's allocator).
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn limit_arenas(_arenas: i32) -> bool {
    false
}

#[cfg(test)]
mod tests {
    #[test]
    fn trimming_after_freeing_is_harmless() {
        let big: Vec<Vec<u8>> = (0..1000).map(|i| vec![i as u8; 4096]).collect();
        assert_eq!(big.len(), 1000);
        drop(big);
        let _ = super::trim();
        let again = vec![7u8; 4096];
        assert_eq!(again[4095], 7);
    }
}
