// Operating an installation: monitoring figures and backups, the SQL both backends share.
// `include!`d into `sqlite.rs` and `postgres.rs` after `common.rs`.

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
}
