//! Reading a SQLite file into the operating system's page cache before it is needed.
//!
//! At a state's 18.1 M members the file is ~11 GB, and an enrolment changes ~17 pages spread over
//! a dozen b-trees. Pages the OS does not hold are read from disk one at a time by the one
//! writer: on this project's test machine, with the file cold (after a restart, or after other
//! work pushed it out of memory), enrolment over HTTP ran at 180–200/s with nearly half the CPU
//! waiting on the disk, against 1,500–1,850/s with the file in memory; warming by use alone,
//! at a few thousand random pages a second, takes most of an hour. Asked for in order, the whole
//! file comes in within seconds. So `serve` asks for it once at start, in the background (the
//! server answers meanwhile), when the file fits in three quarters of the memory the system has available.
//!
//! Linux only (`posix_fadvise(POSIX_FADV_WILLNEED)`, which reads without copying the pages to
//! this process, one read-ahead window at a time); elsewhere it is skipped. What the cache then
//! holds of the file is measured (`mincore`), not assumed.

use std::path::Path;
use std::time::Instant;

/// What a read-ahead did.
#[derive(Debug, Clone, PartialEq)]
pub enum ReadAhead {
    /// The file's `bytes` were asked for, in order, and after `seconds` the OS's page cache
    /// held `resident` of them (0 to 1; waited for while it grows; None: it could not be
    /// measured).
    Done { bytes: u64, resident: Option<f64>, seconds: f64 },
    /// Nothing was read, and why (for the log).
    Skipped(String),
}

/// The kernel reads at most its read-ahead window per `WILLNEED` call (the larger of the
/// device's `read_ahead_kb` and `max_sectors_kb`: 128 KiB to a few MiB on most machines, 8 MiB
/// on this project's test machine) and silently drops the rest of a larger range. So the file
/// is asked for in steps of that window, as `/sys` tells it for the file's device (the disk's
/// queue for a partition, the file system's own read-ahead for NFS or FUSE), or of this when it
/// cannot be told (btrfs, overlayfs, ZFS).
const FALLBACK_STEP: u64 = 128 << 10;
const MAX_STEP: u64 = 8 << 20;

/// Ask the OS to read `path` into its page cache, when it is no larger than `budget` bytes
/// (None: three quarters of the memory available now, [`mem_available`]), and wait until what it holds
/// of the file stops growing. Never fails: an unreadable file or an unknown budget is a
/// [`ReadAhead::Skipped`].
pub fn file(path: &Path, budget: Option<u64>) -> ReadAhead {
    let f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => return ReadAhead::Skipped(format!("cannot open the database file: {e}")),
    };
    let bytes = match f.metadata() {
        Ok(m) => m.len(),
        Err(e) => return ReadAhead::Skipped(format!("cannot read the database file's size: {e}")),
    };
    // A quarter of what is available is left to everything else: half was too tight on a
    // 24 GB machine also running a PostgreSQL with 4 GB of shared buffers (19 GB available, an
    // 11 GB file refused).
    let Some(budget) = budget.or_else(|| mem_available().map(|a| a / 4 * 3)) else {
        return ReadAhead::Skipped("the memory available is unknown on this system".into());
    };
    if bytes > budget {
        return ReadAhead::Skipped(format!(
            "the file ({} MiB) is larger than three quarters of the memory available ({} MiB: the system's, or its cgroup's limit less the memory it uses, when less)",
            bytes >> 20,
            budget >> 20
        ));
    }
    let started = Instant::now();
    if let Err(e) = will_need(&f, bytes) {
        return ReadAhead::Skipped(e);
    }
    // The reads were queued; the last ones may still be on their way. Measured once a second
    // while the share held grows by at least 0.5 % (a live server's own reads grow it a little
    // all the time), for twice the time the requests took at most (5 s to a minute).
    let queued = started.elapsed();
    let limit = (queued * 2).clamp(std::time::Duration::from_secs(5), std::time::Duration::from_secs(60));
    let mut resident = self::resident(path);
    while let Some(held) = resident
        && held < 0.999
        && started.elapsed() < queued + limit
    {
        std::thread::sleep(std::time::Duration::from_secs(1));
        resident = self::resident(path);
        if resident.is_some_and(|now| now - held < 0.005) {
            break;
        }
    }
    ReadAhead::Done { bytes, resident, seconds: started.elapsed().as_secs_f64() }
}

#[cfg(target_os = "linux")]
fn will_need(f: &std::fs::File, bytes: u64) -> Result<(), String> {
    use std::os::fd::AsRawFd;
    let step = read_ahead_window(f).unwrap_or(FALLBACK_STEP).clamp(4096, MAX_STEP);
    let mut at = 0;
    while at < bytes {
        let len = step.min(bytes - at);
        let (Ok(off), Ok(n)) = (libc::off_t::try_from(at), libc::off_t::try_from(len)) else {
            return Err("the file is too large for this platform's file offsets".into());
        };
        // SAFETY: a plain system call on an open descriptor this function borrows.
        let r = unsafe { libc::posix_fadvise(f.as_raw_fd(), off, n, libc::POSIX_FADV_WILLNEED) };
        if r != 0 {
            return Err(format!("posix_fadvise failed: {}", std::io::Error::from_raw_os_error(r)));
        }
        at += len;
    }
    Ok(())
}

/// The most the kernel reads for one `WILLNEED` call on the device holding `f`, in bytes: the
/// larger of its read-ahead (`read_ahead_kb`) and its largest request (`max_sectors_kb`), from
/// the block device's queue (a partition's is its disk's), or the file system's own read-ahead
/// (`/sys/class/bdi/MAJ:MIN`, as NFS and FUSE have). None when neither can be read, or both are
/// zero.
#[cfg(target_os = "linux")]
fn read_ahead_window(f: &std::fs::File) -> Option<u64> {
    use std::os::linux::fs::MetadataExt;
    let dev = f.metadata().ok()?.st_dev();
    let (major, minor) = (libc::major(dev), libc::minor(dev));
    let kib = |p: std::path::PathBuf| -> Option<u64> { std::fs::read_to_string(p).ok()?.trim().parse().ok() };
    let block = Path::new("/sys/dev/block").join(format!("{major}:{minor}"));
    let queue = if block.join("partition").exists() { block.join("../queue") } else { block.join("queue") };
    let ra = kib(queue.join("read_ahead_kb")).or_else(|| kib(format!("/sys/class/bdi/{major}:{minor}/read_ahead_kb").into()));
    let io = kib(queue.join("max_sectors_kb"));
    let window = ra.unwrap_or(0).max(io.unwrap_or(0));
    (window > 0).then_some(window << 10)
}

#[cfg(not(target_os = "linux"))]
fn will_need(_: &std::fs::File, _: u64) -> Result<(), String> {
    Err("reading ahead is implemented on Linux only".into())
}

/// What this process may fill of memory: `MemAvailable` of `/proc/meminfo`, in bytes (what the
/// system can give without swapping, counting the page cache it could drop), and no more than
/// cgroups (v2) still allow when they have limits (`cgroup_room`): a service given a
/// `MemoryMax` would otherwise churn its own cache.
pub fn mem_available() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    let system = kib * 1024;
    Some(match cgroup_room() {
        Some(room) => system.min(room),
        None => system,
    })
}

/// The least room under the memory limits (`memory.max`) of this process's cgroup (v2) and its
/// ancestors: each limit less that cgroup's own memory (`anon` in its `memory.stat`; its page
/// cache is what reading ahead may take over). None when no cgroup on the way has a limit.
fn cgroup_room() -> Option<u64> {
    let cgroup = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let path = cgroup.lines().find_map(|l| l.strip_prefix("0::"))?.trim();
    let root = Path::new("/sys/fs/cgroup");
    let mut dir = root.join(path.trim_start_matches('/'));
    let mut room: Option<u64> = None;
    loop {
        // "max" (no limit) does not parse: no limit here.
        let max: Option<u64> = std::fs::read_to_string(dir.join("memory.max")).ok().and_then(|v| v.trim().parse().ok());
        if let Some(max) = max {
            let anon: u64 = std::fs::read_to_string(dir.join("memory.stat"))
                .ok()
                .and_then(|s| s.lines().find_map(|l| l.strip_prefix("anon ")?.trim().parse().ok()))
                .unwrap_or(0);
            let here = max.saturating_sub(anon);
            room = Some(room.map_or(here, |r| r.min(here)));
        }
        if dir == root || !dir.pop() || !dir.starts_with(root) {
            break;
        }
    }
    room
}

/// The share of `path`'s pages the OS holds in its page cache now (`mincore` over a map of the
/// file), from 0 to 1; None where it cannot be told. For a file this process neither owns nor
/// may write, the kernel answers "all held" whatever the truth (it hides other users' cache).
#[cfg(target_os = "linux")]
pub fn resident(path: &Path) -> Option<f64> {
    use std::os::fd::AsRawFd;
    let f = std::fs::File::open(path).ok()?;
    let len = usize::try_from(f.metadata().ok()?.len()).ok()?;
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

    /// A directory in the build's target directory (an absolute `CARGO_TARGET_DIR`, else the
    /// workspace's `target/`), on disk in a checkout: clean pages can be dropped from the cache
    /// there (on tmpfs they are the file itself). The system's temporary directory otherwise.
    fn disk_dir() -> tempfile::TempDir {
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(std::path::PathBuf::from)
            .filter(|p| p.is_absolute())
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
        std::fs::create_dir_all(&target)
            .ok()
            .and_then(|_| tempfile::tempdir_in(&target).ok())
            .unwrap_or_else(|| tempfile::tempdir().unwrap())
    }

    #[test]
    fn a_cold_file_is_read_into_the_page_cache() {
        let dir = disk_dir();
        let path = cold_file(dir.path(), 64);
        let before = resident(&path).expect("mincore works on Linux");
        if before >= 0.5 {
            // A file system whose cache is the file (tmpfs): nothing to show here.
            eprintln!("skipped: the file system kept the file in memory ({before:.2}) after DONTNEED");
            return;
        }
        let done = file(&path, Some(1 << 30));
        let ReadAhead::Done { bytes, resident: Some(held), .. } = done else { panic!("{done:?}") };
        assert_eq!(bytes, 64 << 20);
        // Read in steps of the device's window: the whole file, not the first window of each
        // larger step (what the kernel gives a range longer than its window).
        assert!(held > 0.95, "after reading ahead only {held:.2} of the file is in the cache");
        let after = resident(&path).unwrap();
        assert!(after > 0.95, "{after:.2}");
    }

    #[test]
    fn a_file_larger_than_the_budget_is_left_alone() {
        let dir = disk_dir();
        assert!(matches!(file(&dir.path().join("missing.db"), None), ReadAhead::Skipped(_)));
        assert!(mem_available().is_some_and(|m| m > 0));
        let path = cold_file(dir.path(), 8);
        if resident(&path).unwrap() >= 0.5 {
            eprintln!("skipped: the file system kept the file in memory after DONTNEED");
            return;
        }
        let done = file(&path, Some(4 << 20));
        assert!(
            matches!(&done, ReadAhead::Skipped(why) if why.contains("larger than three quarters of the memory")),
            "{done:?}"
        );
        let held = resident(&path).unwrap();
        assert!(held < 0.5, "nothing should have been read, {held:.2} is in the cache");
    }
}
