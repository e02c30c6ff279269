//! Reading a SQLite file into the operating system's page cache before it is needed.
//!
//! At a state's 18.1 M members the file is ~11 GB, and an enrolment changes ~17 pages spread over
//! a dozen b-trees. Pages the OS does not hold are read from disk one at a time by the one
//! writer: on this project's test machine, with the file cold (after a restart, or after other
//! work pushed it out of memory), enrolment over HTTP ran at 180–200/s with nearly half the CPU
//! waiting on the disk, against 1,500–1,850/s with the file in memory; warming by use alone,
//! at a few thousand random pages a second, takes most of an hour. Asked for in order, the whole
//! file comes in within seconds. So `serve` asks for it once at start, in the background (the
//! server answers meanwhile), when the file fits in half the memory the system has available.
//!
//! Linux only (`posix_fadvise(POSIX_FADV_WILLNEED)`, which reads without copying the pages to
//! this process); elsewhere it is skipped.

use std::path::Path;
use std::time::Instant;

/// What a read-ahead did.
#[derive(Debug, Clone, PartialEq)]
pub enum ReadAhead {
    /// The file's `bytes` were asked for, in order; the last requests were queued after
    /// `seconds` (the OS may still be finishing them).
    Done { bytes: u64, seconds: f64 },
    /// Nothing was read, and why (for the log).
    Skipped(String),
}

/// How much is asked for at a time: large enough for few system calls, small enough that the
/// OS's read queue stays in file order.
const CHUNK: u64 = 8 << 20;

/// Ask the OS to read `path` into its page cache, when it is no larger than `budget` bytes
/// (None: half of the memory available now, [`mem_available`]). Never fails: an unreadable
/// file or an unknown budget is a [`ReadAhead::Skipped`].
pub fn file(path: &Path, budget: Option<u64>) -> ReadAhead {
    let f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => return ReadAhead::Skipped(format!("cannot open the database file: {e}")),
    };
    let bytes = match f.metadata() {
        Ok(m) => m.len(),
        Err(e) => return ReadAhead::Skipped(format!("cannot read the database file's size: {e}")),
    };
    let Some(budget) = budget.or_else(|| mem_available().map(|a| a / 2)) else {
        return ReadAhead::Skipped("the memory available is unknown on this system".into());
    };
    if bytes > budget {
        return ReadAhead::Skipped(format!(
            "the file ({} MB) is larger than half the memory available ({} MB)",
            bytes >> 20,
            budget >> 20
        ));
    }
    let started = Instant::now();
    match will_need(&f, bytes) {
        Ok(()) => ReadAhead::Done { bytes, seconds: started.elapsed().as_secs_f64() },
        Err(e) => ReadAhead::Skipped(e),
    }
}

#[cfg(target_os = "linux")]
fn will_need(f: &std::fs::File, bytes: u64) -> Result<(), String> {
    use std::os::fd::AsRawFd;
    let mut at = 0;
    while at < bytes {
        let len = CHUNK.min(bytes - at);
        // SAFETY: a plain system call on an open descriptor this function borrows.
        let r = unsafe {
            libc::posix_fadvise(f.as_raw_fd(), at as libc::off_t, len as libc::off_t, libc::POSIX_FADV_WILLNEED)
        };
        if r != 0 {
            return Err(format!("posix_fadvise failed: {}", std::io::Error::from_raw_os_error(r)));
        }
        at += len;
    }
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn will_need(_: &std::fs::File, _: u64) -> Result<(), String> {
    Err("reading ahead is implemented on Linux only".into())
}

/// `MemAvailable` of `/proc/meminfo`, in bytes: what the system can give without swapping,
/// counting the page cache it could drop.
pub fn mem_available() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The share of `path`'s pages the OS holds in its page cache now (`mincore` over a map of the
/// file), from 0 to 1; None where it cannot be told.
#[cfg(target_os = "linux")]
pub fn resident(path: &Path) -> Option<f64> {
    use std::os::fd::AsRawFd;
    let f = std::fs::File::open(path).ok()?;
    let len = f.metadata().ok()?.len() as usize;
    if len == 0 {
        return Some(1.0);
    }
    // SAFETY: a read-only shared map of a file this function holds open, unmapped before it
    // returns; `mincore` writes one byte per page into a vector of that many bytes.
    unsafe {
        let map = libc::mmap(std::ptr::null_mut(), len, libc::PROT_READ, libc::MAP_SHARED, f.as_raw_fd(), 0);
        if map == libc::MAP_FAILED {
            return None;
        }
        let page = libc::sysconf(libc::_SC_PAGESIZE).max(1) as usize;
        let pages = len.div_ceil(page);
        let mut v = vec![0u8; pages];
        let r = libc::mincore(map, len, v.as_mut_ptr());
        libc::munmap(map, len);
        if r != 0 {
            return None;
        }
        Some(v.iter().filter(|b| **b & 1 == 1).count() as f64 / pages as f64)
    }
}

#[cfg(not(target_os = "linux"))]
pub fn resident(_: &Path) -> Option<f64> {
    None
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::fd::AsRawFd;

    /// Write `mib` MiB to a file on disk, synced, then have the OS drop its pages from the cache.
    fn cold_file(dir: &Path, mib: usize) -> std::path::PathBuf {
        let path = dir.join("cold.db");
        let mut f = std::fs::File::create(&path).unwrap();
        let block: Vec<u8> = (0..1 << 20).map(|i| (i % 251) as u8).collect();
        for _ in 0..mib {
            f.write_all(&block).unwrap();
        }
        f.sync_all().unwrap();
        // SAFETY: a plain system call on an open descriptor.
        let r = unsafe { libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
        assert_eq!(r, 0);
        path
    }

    /// A directory on a disk-backed file system (the build's target directory), where clean
    /// pages can be dropped from the cache (on tmpfs they are the file itself).
    fn disk_dir() -> tempfile::TempDir {
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
        std::fs::create_dir_all(&target).unwrap();
        tempfile::tempdir_in(target).unwrap()
    }

    #[test]
    fn a_cold_file_is_read_into_the_page_cache() {
        let dir = disk_dir();
        let path = cold_file(dir.path(), 64);
        let before = resident(&path).expect("mincore works on Linux");
        assert!(before < 0.5, "the file should start out of the cache, {before:.2} of it is in");
        let done = file(&path, Some(1 << 30));
        assert!(
            matches!(done, ReadAhead::Done { bytes, .. } if bytes == 64 << 20),
            "{done:?}"
        );
        // The OS reads asynchronously: give it a few seconds.
        let mut after = 0.0;
        for _ in 0..100 {
            after = resident(&path).unwrap();
            if after > 0.95 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        assert!(after > 0.95, "after reading ahead only {after:.2} of the file is in the cache");
    }

    #[test]
    fn a_file_larger_than_the_budget_is_left_alone() {
        let dir = disk_dir();
        let path = cold_file(dir.path(), 8);
        let done = file(&path, Some(4 << 20));
        assert!(
            matches!(&done, ReadAhead::Skipped(why) if why.contains("larger than half the memory")),
            "{done:?}"
        );
        assert!(resident(&path).unwrap() < 0.5, "nothing should have been read");
        assert!(matches!(file(&dir.path().join("missing.db"), None), ReadAhead::Skipped(_)));
        assert!(mem_available().is_some_and(|m| m > 0));
    }
}
