// Operating an installation: monitoring figures and backups, the SQL both backends share.
// `include!`d into `sqlite.rs` and `postgres.rs` after `common.rs`.

const LEASE_COLS: &str =
    "name, holder, held_until, done_period, last_started, last_finished, last_ran_by, runs";

type LeaseRow = (
    String,
    Option<String>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    Option<String>,
    i64,
);

fn lease_of(r: LeaseRow) -> crate::ops::Lease {
    crate::ops::Lease {
        name: r.0,
        holder: r.1,
        held_until: r.2,
        done_period: r.3,
        last_started: r.4,
        last_finished: r.5,
        last_ran_by: r.6,
        runs: r.7,
        taken_from: None,
    }
}

/// How long a job's record of the periods it ran is kept.
const JOB_RUNS_KEPT_DAYS: i64 = 30;

#[async_trait]
impl crate::ops::Ops for StoreImpl {
    async fn figures(&self, now: DateTime<Utc>) -> Result<crate::ops::Figures> {
        let mut c = self.read.acquire().await?;
        let enrolled: Vec<(String, i64)> = sqlx::query_as(
            "SELECT w.code, CAST(COALESCE(SUM(c.achieved), 0) AS BIGINT) FROM unit_counters c \
             JOIN units u ON u.id = c.unit_id JOIN wings w ON w.id = c.wing_id \
             WHERE u.kind = 'state' GROUP BY w.code ORDER BY w.code",
        )
        .fetch_all(&mut *c)
        .await?;
        let import_rows: i64 =
            sqlx::query_scalar("SELECT CAST(COALESCE(SUM(rows_done), 0) AS BIGINT) FROM import_jobs")
                .fetch_one(&mut *c)
                .await?;
        // The same condition as `outbox_due` (notices only; login codes wait for the SMS relay).
        let (outbox_undelivered, outbox_due): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), CAST(COALESCE(SUM(CASE WHEN attempts < 10 AND (next_at IS NULL OR next_at <= $1) \
             THEN 1 ELSE 0 END), 0) AS BIGINT) FROM outbox WHERE sent_at IS NULL AND idem_key IS NOT NULL",
        )
        .bind(now)
        .fetch_one(&mut *c)
        .await?;
        Ok(crate::ops::Figures {
            enrolled,
            import_rows,
            outbox_due,
            outbox_undelivered,
        })
    }

    async fn read_ahead(&self) -> Result<crate::read_ahead::ReadAhead> {
        use crate::read_ahead::ReadAhead;
        if BACKEND == Backend::Postgres {
            return Ok(ReadAhead::Skipped("PostgreSQL's server keeps its own cache".into()));
        }
        let file: String = sqlx::query_scalar("SELECT file FROM pragma_database_list WHERE name = 'main'")
            .fetch_one(&self.read)
            .await?;
        if file.is_empty() {
            return Ok(ReadAhead::Skipped("the database is not a file".into()));
        }
        tokio::task::spawn_blocking(move || crate::read_ahead::file(std::path::Path::new(&file), None))
            .await
            .map_err(|e| StoreError::Refused(format!("reading ahead stopped: {e}")))
    }

    async fn backup(&self, dest: &std::path::Path) -> Result<()> {
        if BACKEND == Backend::Postgres {
            return Err(StoreError::Refused(
                "sangathan backup writes SQLite databases only: back up PostgreSQL with pg_dump \
                 (or base backups and WAL archiving for point-in-time recovery); see the README's \
                 \"Backups\" section"
                    .into(),
            ));
        }
        if dest.exists() {
            return Err(StoreError::Refused(format!(
                "{} exists: a backup is never written over a file",
                dest.display()
            )));
        }
        let path = dest.to_str().ok_or_else(|| {
            StoreError::Refused(format!("{}: the path is not valid UTF-8", dest.display()))
        })?;
        // The file is made first, empty and readable by this user only (`VACUUM INTO` writes
        // into an empty file, keeping its mode): a copy of the membership is never
        // world-readable, whatever the umask. `create_new`: never over a file, even one that
        // appeared since the check above.
        {
            let mut o = std::fs::OpenOptions::new();
            o.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                o.mode(0o600);
            }
            o.open(dest).map_err(|e| {
                StoreError::Refused(format!("cannot create {}: {e}", dest.display()))
            })?;
        }
        // One read transaction on a read-only connection: a consistent snapshot, with writers
        // going on beside it (WAL). The copy is compact and in rollback-journal mode.
        let done = async {
            let mut c = self.read.acquire().await?;
            sqlx::query("VACUUM INTO $1").bind(path).execute(&mut *c).await?;
            Ok::<_, StoreError>(())
        }
        .await;
        if done.is_err() {
            let _ = std::fs::remove_file(dest);
        }
        done
    }

    async fn take_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<Option<crate::ops::Lease>> {
        // The row is made on first use, in a statement of its own: a node making it at the same
        // moment waits for that statement only, never for the transaction below.
        sqlx::query("INSERT INTO job_leases (name, runs) VALUES ($1, 0) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .execute(&self.write)
            .await?;
        let mut tx = self.begin_write().await?;
        // PostgreSQL: a row another node is taking this instant is skipped, not waited for.
        let sql = format!(
            "SELECT {LEASE_COLS} FROM job_leases WHERE name = $1{}",
            Self::skip_locked()
        );
        let row: Option<LeaseRow> = sqlx::query_as(AssertSqlSafe(sql))
            .bind(name)
            .fetch_optional(&mut *tx)
            .await?;
        // Not taken: rolled back at once, not when the connection is next used (a dropped
        // transaction's rollback waits for that, keeping the row locked meanwhile).
        let Some(row) = row else {
            tx.rollback().await?;
            return Ok(None);
        };
        let mut lease = lease_of(row);
        let free = match (&lease.holder, lease.held_until) {
            (None, _) | (_, None) => true,
            (Some(h), Some(until)) => h == holder || until <= now,
        };
        if !free {
            tx.rollback().await?;
            return Ok(None);
        }
        let until = now + ttl;
        sqlx::query("UPDATE job_leases SET holder = $2, held_until = $3 WHERE name = $1")
            .bind(name)
            .bind(holder)
            .bind(until)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        lease.taken_from = lease.holder.take().filter(|h| h != holder);
        lease.holder = Some(holder.to_string());
        lease.held_until = Some(until);
        Ok(Some(lease))
    }

    async fn finish_lease(
        &self,
        name: &str,
        holder: &str,
        period: DateTime<Utc>,
        started: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query(
            "UPDATE job_leases SET done_period = $3, last_started = $4, last_finished = $5, \
             last_ran_by = $2, runs = runs + 1 \
             WHERE name = $1 AND holder = $2 AND (done_period IS NULL OR done_period < $3)",
        )
        .bind(name)
        .bind(holder)
        .bind(period)
        .bind(started)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        // The key (name, period) refuses a second record of one period.
        sqlx::query(
            "INSERT INTO job_runs (name, period, ran_by, started_at, finished_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(name)
        .bind(period)
        .bind(holder)
        .bind(started)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM job_runs WHERE name = $1 AND period < $2")
            .bind(name)
            .bind(period - Duration::days(JOB_RUNS_KEPT_DAYS))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<bool> {
        let n = sqlx::query(
            "UPDATE job_leases SET holder = NULL, held_until = NULL WHERE name = $1 AND holder = $2",
        )
        .bind(name)
        .bind(holder)
        .execute(&self.write)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    async fn leases(&self) -> Result<Vec<crate::ops::Lease>> {
        let mut c = self.read.acquire().await?;
        let sql = format!("SELECT {LEASE_COLS} FROM job_leases ORDER BY name");
        let rows: Vec<LeaseRow> = sqlx::query_as(AssertSqlSafe(sql))
            .fetch_all(&mut *c)
            .await?;
        Ok(rows.into_iter().map(lease_of).collect())
    }
}
