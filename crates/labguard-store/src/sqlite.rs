//! SQLite backend: the embedded default, one file under the data dir.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags, ToSql};

use crate::backend::{Backend, BackendKind, Row, Tx, Value};
use crate::StoreError;

pub struct SqliteBackend {
    conn: Mutex<Connection>,
}

impl ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Int(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            Value::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Value::Blob(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
        })
    }
}

fn from_ref(v: ValueRef<'_>) -> Result<Value, StoreError> {
    Ok(match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Real(_) => return Err(StoreError::Corrupt("unexpected REAL column".into())),
        ValueRef::Text(t) => Value::Text(
            std::str::from_utf8(t)
                .map_err(|_| StoreError::Corrupt("text column is not UTF-8".into()))?
                .to_string(),
        ),
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
    })
}

pub(crate) fn map_err(e: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode;
    match &e {
        rusqlite::Error::SqliteFailure(f, _) => match f.code {
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => StoreError::Busy,
            ErrorCode::ConstraintViolation if f.extended_code == 787 => {
                StoreError::MissingReference
            }
            ErrorCode::ConstraintViolation => StoreError::Conflict,
            ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt => StoreError::Corrupt(
                "the database file is damaged or not a labguard database".into(),
            ),
            ErrorCode::CannotOpen => {
                StoreError::Unavailable("cannot open the database file".into())
            }
            ErrorCode::ReadOnly => StoreError::Unavailable("the database is read-only".into()),
            ErrorCode::DiskFull => StoreError::Unavailable("the disk is full".into()),
            _ => StoreError::Backend(format!("sqlite: {}", f)),
        },
        // Messages from rusqlite for other cases never contain bound values.
        other => StoreError::Backend(format!("sqlite: {other}")),
    }
}

impl SqliteBackend {
    /// Opens (creating if asked) the database file with durable settings: WAL, full sync
    /// (an acknowledged result must survive power loss), foreign keys on.
    pub fn open(path: &Path, create: bool) -> Result<SqliteBackend, StoreError> {
        Self::open_inner(path, create, Duration::from_secs(10))
    }

    #[cfg_attr(not(feature = "testing"), allow(dead_code))]
    /// Opens an existing database with a chosen wait for a busy lock (tools and tests).
    pub fn open_with_timeout(path: &Path, busy: Duration) -> Result<SqliteBackend, StoreError> {
        Self::open_inner(path, false, busy)
    }

    fn open_inner(path: &Path, create: bool, busy: Duration) -> Result<SqliteBackend, StoreError> {
        let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        if create {
            flags |= OpenFlags::SQLITE_OPEN_CREATE;
        } else if !path.exists() {
            return Err(StoreError::Unavailable(format!(
                "no database at {} (run `labguard init` first)",
                path.display()
            )));
        }
        let conn = Connection::open_with_flags(path, flags).map_err(map_err)?;
        conn.busy_timeout(busy).map_err(map_err)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
        )
        .map_err(map_err)?;
        Ok(SqliteBackend {
            conn: Mutex::new(conn),
        })
    }

    fn lock(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        self.conn
            .lock()
            .map_err(|_| StoreError::Backend("sqlite connection poisoned".into()))
    }
}

struct SqliteTx<'a> {
    conn: MutexGuard<'a, Connection>,
    open: bool,
}

impl Backend for SqliteBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Sqlite
    }

    fn begin(&self) -> Result<Box<dyn Tx + '_>, StoreError> {
        let conn = self.lock()?;
        // IMMEDIATE takes the write lock now, so the audit head cannot change under us.
        conn.execute_batch("BEGIN IMMEDIATE").map_err(map_err)?;
        Ok(Box::new(SqliteTx { conn, open: true }))
    }

    /// `VACUUM INTO`: a consistent, compacted copy taken under a read transaction.
    fn export_sqlite(&self, dest: &Path) -> Result<(), StoreError> {
        let conn = self.lock()?;
        let dest = dest
            .to_str()
            .ok_or_else(|| StoreError::Unavailable("snapshot path is not UTF-8".into()))?;
        conn.execute("VACUUM INTO ?1", [dest]).map_err(map_err)?;
        Ok(())
    }

    fn migrate(&self) -> Result<(), StoreError> {
        let mut tx = self.begin()?;
        crate::migrate::apply(tx.as_mut(), crate::migrate::Dialect::Sqlite)?;
        tx.commit()
    }
}

impl Tx for SqliteTx<'_> {
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, StoreError> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(map_err)?;
        let n = stmt
            .execute(rusqlite::params_from_iter(params.iter()))
            .map_err(map_err)?;
        Ok(n as u64)
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
        let mut out = Vec::new();
        self.for_each(sql, params, &mut |r| {
            out.push(r);
            Ok(())
        })?;
        Ok(out)
    }

    fn for_each(
        &mut self,
        sql: &str,
        params: &[Value],
        f: &mut dyn FnMut(Row) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(map_err)?;
        let n = stmt.column_count();
        let mut rows = stmt
            .query(rusqlite::params_from_iter(params.iter()))
            .map_err(map_err)?;
        while let Some(r) = rows.next().map_err(map_err)? {
            let mut row = Vec::with_capacity(n);
            for i in 0..n {
                row.push(from_ref(r.get_ref(i).map_err(map_err)?)?);
            }
            f(row)?;
        }
        Ok(())
    }

    fn lock_audit_head(&mut self) -> Result<(), StoreError> {
        Ok(())
    }

    fn commit(mut self: Box<Self>) -> Result<(), StoreError> {
        self.conn.execute_batch("COMMIT").map_err(map_err)?;
        self.open = false;
        Ok(())
    }
}

impl Drop for SqliteTx<'_> {
    fn drop(&mut self) {
        if self.open {
            // Nothing useful to do if rollback fails: SQLite rolls back on close anyway.
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}
