//! The allocator's setting for a load: freed memory kept, not handed back to the system.
//!
//! mimalloc hands memory that stays free for a second back to the system (v3's default
//! `purge_delay`, 1000 ms), and a first load frees its batch's maps and rows, hundreds of
//! megabytes, at the end of every batch, seconds apart. Taking them again from the system costs a
//! page fault and a zeroed page each (on a virtual machine, a trip to the host for the page as
//! well): at 18.1 M members `perf` put 22–31 % of the writer thread's samples in the kernel's
//! `clear_page_erms`. While a [`KeepFreed`] lives the memory is kept for the next batch; when it
//! ends the everyday setting is back and what is free is handed back at once, so that a
//! `demo --serve` serves on its usual memory.

/// `mi_option_purge_delay` in mimalloc v3's `mimalloc.h` (libmimalloc-sys names no constant for
/// it; the test below checks that this option is the one whose default is v3's 1000 ms).
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Freed memory is kept by the allocator while this lives.
pub struct KeepFreed {
    before: std::os::raw::c_long,
}

impl KeepFreed {
    pub fn new() -> Self {
        // SAFETY: mimalloc's options are plain integers it reads at each purge; setting one is
        // safe from any thread at any time.
        let before = unsafe { libmimalloc_sys::mi_option_get(PURGE_DELAY) };
        unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, -1) };
        KeepFreed { before }
    }
}

impl Drop for KeepFreed {
    fn drop(&mut self) {
        // SAFETY: as above; `mi_collect` only returns free memory to the system.
        unsafe {
            libmimalloc_sys::mi_option_set(PURGE_DELAY, self.before);
            libmimalloc_sys::mi_collect(true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The option number is v3's purge delay: its default is v3's 1000 ms (unless the
    /// environment sets it), it is -1 (never) while a guard lives, and back after.
    #[test]
    fn a_load_keeps_freed_memory_and_gives_it_back_after() {
        let get = || unsafe { libmimalloc_sys::mi_option_get(PURGE_DELAY) };
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            assert_eq!(get(), 1000, "option {PURGE_DELAY} is not mimalloc v3's purge_delay");
        }
        let before = get();
        {
            let _keep = KeepFreed::new();
            assert_eq!(get(), -1);
        }
        assert_eq!(get(), before);
    }
}
