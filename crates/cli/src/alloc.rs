//! The allocator's setting for a load: freed memory kept, not handed back to the system.
//!
//! mimalloc hands memory that stays free for a while back to the system (v3's `purge_delay`,
//! 1000 ms by default, ten times that for its arenas), and a first load frees its batch's maps
//! and rows, hundreds of megabytes, at the end of every batch, seconds before the next batch takes
//! as much again. Taking them again from the system costs a page fault and a zeroed page each (on
//! a virtual machine, a trip to the host for the page as well): 10 M members into the 18.1 M
//! load, `perf` put 22–31 % of the writer thread's samples in the kernel's `clear_page_erms`.
//! While a [`KeepFreed`] lives, freed memory waits an hour before it is handed back; when it ends
//! the everyday delay is back and everything free is handed back at once (`mi_collect(true)`
//! purges every range waiting, whatever its delay), so that a `demo --serve` serves on its usual
//! memory.

/// `mi_option_purge_delay` in mimalloc v3's `mimalloc.h` (libmimalloc-sys names no constant for
/// it; the test below checks that this option is the one whose default is v3's 1000 ms).
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// How long freed memory waits while a load runs, in milliseconds. Not -1 ("never"): memory
/// freed then is not even marked as waiting, and `mi_collect` would not hand it back after.
const LOAD_DELAY: std::os::raw::c_long = 3_600_000;

/// Freed memory is kept by the allocator while this lives (one at a time: the load commands).
pub struct KeepFreed {
    before: std::os::raw::c_long,
}

impl KeepFreed {
    pub fn new() -> Self {
        // SAFETY: plain FFI calls with no pointers. mimalloc's options are integers that its
        // threads read when they purge; a write while another thread reads is benign on the
        // platforms this runs on (the reader sees the old or the new delay).
        let before = unsafe { libmimalloc_sys::mi_option_get(PURGE_DELAY) };
        unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, LOAD_DELAY) };
        KeepFreed { before }
    }
}

impl Drop for KeepFreed {
    fn drop(&mut self) {
        // SAFETY: as above; `mi_collect` frees this thread's empty pages and purges every arena
        // range waiting to be handed back.
        unsafe {
            libmimalloc_sys::mi_option_set(PURGE_DELAY, self.before);
            libmimalloc_sys::mi_collect(true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get() -> std::os::raw::c_long {
        unsafe { libmimalloc_sys::mi_option_get(PURGE_DELAY) }
    }

    /// This process's own memory (RssAnon), in bytes.
    fn own_memory() -> usize {
        let status = std::fs::read_to_string("/proc/self/status").expect("reads /proc/self/status");
        let line = status.lines().find(|l| l.starts_with("RssAnon:")).expect("RssAnon listed");
        line.split_whitespace().nth(1).and_then(|kb| kb.parse::<usize>().ok()).expect("a number of kB") * 1024
    }

    /// The option number is v3's purge delay: its default is v3's 1000 ms (unless the
    /// environment sets it), it is the load's delay while a guard lives, and back after.
    #[test]
    fn a_load_sets_the_purge_delay_and_puts_it_back() {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() && std::env::var_os("MIMALLOC_RESET_DELAY").is_none() {
            assert_eq!(get(), 1000, "option {PURGE_DELAY} is not mimalloc v3's purge_delay");
        }
        let before = get();
        {
            let _keep = KeepFreed::new();
            assert_eq!(get(), LOAD_DELAY);
        }
        assert_eq!(get(), before);
    }

    /// Memory freed during a load stays with the process until the load ends, and is handed back
    /// then (with -1, "never", it stayed: this test failed). The everyday delay would also keep it
    /// for the 50 ms waited here; that the delay is the load's is the test above.
    #[test]
    fn memory_freed_during_a_load_is_kept_then_handed_back() {
        const MB: usize = 1 << 20;
        let keep = KeepFreed::new();
        let start = own_memory();
        let blocks: Vec<Vec<u8>> = (0..64).map(|i| vec![i as u8 + 1; 4 * MB]).collect();
        assert!(blocks.iter().all(|b| b[MB] != 0));
        let touched = own_memory();
        assert!(touched >= start + 200 * MB, "256 MB written: {start} -> {touched} bytes");
        drop(blocks);
        std::thread::sleep(std::time::Duration::from_millis(50));
        let kept = own_memory();
        assert!(kept >= start + 200 * MB, "freed during the load, still the process's: {touched} -> {kept} bytes");
        drop(keep);
        let after = own_memory();
        assert!(after + 200 * MB <= kept, "handed back when the load ended: {kept} -> {after} bytes");
    }
}
