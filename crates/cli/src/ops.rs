//! `sangathan backup FILE` and `sangathan restore FILE`: the embedded database copied out while
//! the installation keeps working, and put back after checking that it is one.

use crate::access::Operator;
use anyhow::{Context, anyhow, bail};
use indicatif::{ProgressBar, ProgressStyle};
use sangathan_store::ops::inspect_sqlite_file;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::str::FromStr;

/// The file a `sqlite:` URL names; an error for PostgreSQL and in-memory databases.
fn sqlite_file(db: &str, what: &str) -> anyhow::Result<PathBuf> {
    if db.starts_with("postgres://") || db.starts_with("postgresql://") {
        bail!(
            "{what} works on SQLite databases: on PostgreSQL use pg_dump/pg_restore, or base backups \
             with WAL archiving for point-in-time recovery (see the README's \"Backups\" section)"
        );
    }
    let opts = sqlx::sqlite::SqliteConnectOptions::from_str(db)
        .map_err(|e| anyhow!("not a database URL ({e})"))?;
    let f = opts.get_filename().to_path_buf();
    if f.as_os_str().is_empty() || f.to_string_lossy().contains(":memory:") {
        bail!("{what} needs a database file, not an in-memory database");
    }
    Ok(f)
}

/// `FILE` with `suffix` added to its name (`x.db` → `x.db.partial`).
fn with_suffix(p: &Path, suffix: &str) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Make a rename durable: sync the directory that holds `p`.
fn sync_dir(p: &Path) {
    let dir = match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Create `p` (which must not exist) readable and writable by this user only: copies of the
/// membership are never world-readable, whatever the umask.
fn private_file(p: &Path) -> std::io::Result<std::fs::File> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o.open(p)
}

/// Undo moving side files aside (`(original, aside)` pairs).
fn put_back(aside: &[(PathBuf, PathBuf)]) {
    for (p, a) in aside {
        let _ = std::fs::rename(a, p);
    }
}

fn bytes_bar(total: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{{spinner}} {what} {{bar:40}} {{bytes}}/{{total_bytes}} {{bytes_per_sec}} {{elapsed}}"
        ))
        .expect("template"),
    );
    bar
}

/// `sangathan backup FILE`: a consistent copy of the database while writers go on (SQLite's
/// `VACUUM INTO` on a read connection: one read transaction's snapshot), written beside FILE
/// under a temporary name, synced, then renamed into place. Audited.
pub async fn backup(db: &str, as_user: Option<&str>, dest: &Path, force: bool) -> anyhow::Result<()> {
    let source = sqlite_file(db, "backup")?;
    let s = crate::open_initialised(db).await?;
    let op = Operator::resolve(&s, as_user).await?;
    // With --force an existing FILE stays until the new backup is renamed over it.
    if dest.exists() && !force {
        bail!("{} exists: say --force to replace it", dest.display());
    }
    let partial = with_suffix(dest, ".partial");
    let _ = std::fs::remove_file(&partial);
    // The source's size, for the bar (the copy is compacted, so it may end short of it).
    let total = [source.clone(), with_suffix(&source, "-wal")]
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum::<u64>();
    let bar = bytes_bar(total, "backup");
    let watch = {
        let (bar, partial) = (bar.clone(), partial.clone());
        tokio::spawn(async move {
            loop {
                if let Ok(m) = std::fs::metadata(&partial) {
                    bar.set_position(m.len());
                }
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        })
    };
    let done = s.backup(&partial).await;
    watch.abort();
    if let Err(e) = done {
        bar.abandon();
        let _ = std::fs::remove_file(&partial);
        return Err(e.into());
    }
    std::fs::File::open(&partial)
        .and_then(|f| f.sync_all())
        .with_context(|| format!("cannot sync {}", partial.display()))?;
    std::fs::rename(&partial, dest)
        .with_context(|| format!("cannot move the backup to {}", dest.display()))?;
    sync_dir(dest);
    bar.finish_and_clear();
    let info = inspect_sqlite_file(dest).await?;
    op.audit("backup", Some(dest.display().to_string()), None)
        .await?;
    let size = std::fs::metadata(dest).map(|m| m.len()).unwrap_or(0);
    println!(
        "backup of {} written to {} ({:.1} MB, migration {}, {} memberships)",
        info.state,
        dest.display(),
        size as f64 / 1e6,
        info.migration,
        info.memberships
    );
    Ok(())
}

/// `sangathan restore FILE`: check FILE is a Sangathan database at a migration this build knows,
/// copy it into the `--db` file (refused when that file holds anything, unless `force`), bring
/// it up to this build's migrations, audit, then `verify` every counter and the audit chain.
/// Stop the server first: the file is replaced under it otherwise.
pub async fn restore(db: &str, as_user: Option<&str>, from: &Path, force: bool) -> anyhow::Result<ExitCode> {
    if as_user.is_some() {
        bail!("restore replaces the whole database and runs as the installation's operator: drop --as");
    }
    let target = sqlite_file(db, "restore")?;
    let info = inspect_sqlite_file(from).await?;
    let same = std::fs::canonicalize(from).ok().is_some_and(|a| {
        std::fs::canonicalize(&target).ok().is_some_and(|b| a == b)
    });
    if same {
        bail!("{} is the database itself", from.display());
    }
    let side = ["-wal", "-shm", "-journal"].map(|s| with_suffix(&target, s));
    let holds_something = std::fs::metadata(&target).is_ok_and(|m| m.len() > 0)
        || std::fs::metadata(&side[0]).is_ok_and(|m| m.len() > 0);
    if holds_something && !force {
        bail!(
            "{} exists and is not empty: say --force to replace it (stop the server first)",
            target.display()
        );
    }
    // Copy under a temporary name (readable by this user only), sync, check, and only then move
    // the old database's side files aside and rename the copy over it: a failure leaves the old
    // database as it was (and a crash before the side files move, too).
    let partial = with_suffix(&target, ".restoring");
    match std::fs::remove_file(&partial) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(anyhow!("cannot remove {}: {e}", partial.display())),
    }
    let total = std::fs::metadata(from)?.len();
    let bar = bytes_bar(total, "restore");
    let copied = (|| -> anyhow::Result<()> {
        use std::io::{Read, Write};
        let mut r = std::fs::File::open(from)
            .with_context(|| format!("cannot read {}", from.display()))?;
        let mut w = private_file(&partial)
            .with_context(|| format!("cannot write {}", partial.display()))?;
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = r.read(&mut buf)?;
            if n == 0 {
                break;
            }
            w.write_all(&buf[..n])?;
            bar.inc(n as u64);
        }
        w.sync_all()
            .with_context(|| format!("cannot sync {}", partial.display()))?;
        Ok(())
    })();
    let checked = match copied {
        Ok(()) => inspect_sqlite_file(&partial)
            .await
            .map_err(|e| anyhow!("the copy does not check: {e}")),
        Err(e) => Err(e),
    };
    if let Err(e) = checked {
        bar.abandon();
        let _ = std::fs::remove_file(&partial);
        return Err(anyhow!("{e:#} ({} is left as it was)", target.display()));
    }
    // The old database's side files must not meet the new file (SQLite would replay an old WAL
    // into it): moved aside, put back if the rename fails, removed once it is done.
    let mut aside = Vec::new();
    for p in &side {
        let a = with_suffix(p, ".replaced");
        match std::fs::rename(p, &a) {
            Ok(()) => aside.push((p.clone(), a)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                put_back(&aside);
                let _ = std::fs::remove_file(&partial);
                return Err(anyhow!(
                    "cannot move {} aside: {e} ({} is left as it was)",
                    p.display(),
                    target.display()
                ));
            }
        }
    }
    if let Err(e) = std::fs::rename(&partial, &target) {
        put_back(&aside);
        let _ = std::fs::remove_file(&partial);
        return Err(anyhow!(
            "cannot move the copy to {}: {e} (it is left as it was)",
            target.display()
        ));
    }
    sync_dir(&target);
    for (_, a) in &aside {
        let _ = std::fs::remove_file(a);
    }
    bar.finish_and_clear();
    // Opening runs this build's migrations on it (the file may be from an older build).
    let s = crate::open_initialised(db).await?;
    Operator::operator(&s)
        .audit(
            "restore",
            Some(format!(
                "{} (migration {})",
                from.display(),
                info.migration
            )),
            None,
        )
        .await?;
    println!(
        "restored {} into {} (migration {} of {}, {} memberships)",
        info.state,
        target.display(),
        info.migration,
        info.latest_known,
        info.memberships
    );
    let mismatches = s.verify().await?;
    let chain = s.audit_verify().await?;
    for m in &mismatches {
        println!("MISMATCH {m}");
    }
    if let Some((id, why)) = &chain.first_broken {
        println!("AUDIT CHAIN BROKEN at event {id}: {why}");
    }
    if mismatches.is_empty() && chain.first_broken.is_none() {
        println!(
            "ok: every counter and target agrees with the base rows; the audit chain holds ({} events)",
            chain.events
        );
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("the restored database does not verify");
        Ok(ExitCode::from(1))
    }
}
