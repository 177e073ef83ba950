//! PostgreSQL backend: many stateless labguard nodes on one database.

use std::collections::HashMap;
use std::error::Error as _;

use postgres::types::{to_sql_checked, FromSql, IsNull, ToSql, Type};
use postgres::{Client, NoTls, Statement};

use crate::pg_batch::Held;
use crate::pg_pool::{Pool, Pooled};
use crate::pg_tls::{self, RustlsConnect, SslMode};

use crate::backend::{Backend, BackendKind, Row, Tx, Value};
use crate::StoreError;

/// Connections one node keeps for store calls, a hard ceiling: callers beyond it wait for
/// a free one, since a PostgreSQL backend process per request costs far more than the wait
/// and N nodes must stay within the server's `max_connections`.
const POOL_SIZE: usize = 12;
/// Connections for cross-node lock holders (see `pg_pool`).
const LOCK_POOL_SIZE: usize = 4;
/// How long a caller waits for a free connection before its request fails with "database
/// busy" instead of hanging.
const POOL_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

struct Conn {
    client: Client,
    statements: HashMap<String, Statement>,
}

pub struct PgBackend {
    config: postgres::Config,
    /// None: no TLS (sslmode=disable, or a local host without sslmode).
    tls: Option<RustlsConnect>,
    #[cfg_attr(not(feature = "testing"), allow(dead_code))] // read by tests and diagnostics
    mode: SslMode,
    schema: Option<String>,
    work: Pool<Conn>,
    locks: Pool<Conn>,
}

impl Pooled for Conn {
    fn is_closed(&self) -> bool {
        self.client.is_closed()
    }
}

impl ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut postgres::types::private::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(i) => {
                if *ty == Type::INT4 {
                    i32::try_from(*i)?.to_sql(ty, out)
                } else {
                    i.to_sql(ty, out)
                }
            }
            Value::Text(s) => s.to_sql(ty, out),
            Value::Blob(b) => b.to_sql(ty, out),
        }
    }

    fn accepts(ty: &Type) -> bool {
        [
            Type::INT8,
            Type::INT4,
            Type::TEXT,
            Type::VARCHAR,
            Type::BYTEA,
        ]
        .contains(ty)
    }

    to_sql_checked!();
}

impl<'a> FromSql<'a> for Value {
    fn from_sql(
        ty: &Type,
        raw: &'a [u8],
    ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(match *ty {
            Type::INT8 => Value::Int(i64::from_sql(ty, raw)?),
            Type::INT4 => Value::Int(i32::from_sql(ty, raw)?.into()),
            Type::BYTEA => Value::Blob(Vec::<u8>::from_sql(ty, raw)?),
            _ => Value::Text(String::from_sql(ty, raw)?),
        })
    }

    fn from_sql_null(_: &Type) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Value::Null)
    }

    fn accepts(ty: &Type) -> bool {
        [
            Type::INT8,
            Type::INT4,
            Type::TEXT,
            Type::VARCHAR,
            Type::BYTEA,
        ]
        .contains(ty)
    }
}

pub(crate) fn map_err(e: postgres::Error) -> StoreError {
    if let Some(db) = e.as_db_error() {
        let code = db.code().code();
        return match code {
            "23505" => StoreError::Conflict,
            "23503" => StoreError::MissingReference,
            "40001" | "40P01" | "55P03" => StoreError::Busy,
            // The server's message may quote a value in a constraint detail; keep only the code.
            _ => StoreError::Backend(format!("postgres error {code}")),
        };
    }
    if e.is_closed() || e.source().is_some_and(|s| s.is::<std::io::Error>()) {
        return StoreError::Unavailable("lost the connection to PostgreSQL".into());
    }
    StoreError::Backend(format!("postgres: {e}"))
}

/// A failed connect in the operator's terms: a TLS failure says which check failed, a
/// pg_hba refusal says so (the server's message names host, user, database and whether
/// the attempt was encrypted, never a password).
fn connect_err(e: postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        if db.code().code() == "28000" {
            return format!(
                "the server refused this client ({}); if it requires TLS, set sslmode=verify-full",
                db.message()
            );
        }
    }
    if let Some(tls) = e
        .source()
        .and_then(|s| s.downcast_ref::<pg_tls::TlsError>())
    {
        return tls.to_string();
    }
    map_err(e).to_string()
}

/// `?` placeholders to PostgreSQL's `$1, $2, …`.
fn translate(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(c);
        }
    }
    out
}

impl PgBackend {
    /// Connects to `url`. `schema` (letters, digits, `_`) isolates a deployment or a test
    /// inside one database.
    pub fn connect(url: &str, schema: Option<&str>) -> Result<PgBackend, StoreError> {
        let target = pg_tls::parse_target(url)?;
        let tls = match target.mode {
            SslMode::Disable => None,
            _ => Some(RustlsConnect {
                config: pg_tls::client_config(&target)?,
            }),
        };
        if let Some(s) = schema {
            if s.is_empty() || !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(StoreError::Unavailable(
                    "schema names may only use letters, digits and '_'".into(),
                ));
            }
        }
        let pg = PgBackend {
            config: target.config,
            tls,
            mode: target.mode,
            schema: schema.map(str::to_string),
            work: Pool::new("database", POOL_SIZE, POOL_WAIT),
            locks: Pool::new("lock", LOCK_POOL_SIZE, POOL_WAIT),
        };
        let c = pg.take()?;
        pg.put(c);
        Ok(pg)
    }

    fn new_conn(&self) -> Result<Conn, StoreError> {
        let connected = match &self.tls {
            Some(tls) => self.config.connect(tls.clone()),
            None => self.config.connect(NoTls),
        };
        let mut client = connected.map_err(|e| {
            StoreError::Unavailable(format!("cannot connect to PostgreSQL: {}", connect_err(e)))
        })?;
        if let Some(s) = &self.schema {
            client
                .batch_execute(&format!(
                    "CREATE SCHEMA IF NOT EXISTS \"{s}\"; SET search_path TO \"{s}\""
                ))
                .map_err(map_err)?;
        }
        Ok(Conn {
            client,
            statements: HashMap::new(),
        })
    }

    fn take(&self) -> Result<Conn, StoreError> {
        self.work.take(|| self.new_conn())
    }

    fn put(&self, c: Conn) {
        self.work.put(c)
    }

    #[cfg_attr(not(feature = "testing"), allow(dead_code))]
    /// The sslmode in force after the defaults (see docs/security.md).
    pub fn ssl_mode(&self) -> SslMode {
        self.mode
    }

    #[cfg_attr(not(feature = "testing"), allow(dead_code))]
    /// Whether the server sees this node's connection as TLS (`pg_stat_ssl`), so tests and
    /// `labguard` diagnostics check the wire, not the configuration.
    pub fn connection_uses_tls(&self) -> Result<bool, StoreError> {
        let mut c = self.take()?;
        let r = c
            .client
            .query_one(
                "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                &[],
            )
            .map(|row| row.get::<_, bool>(0))
            .map_err(map_err);
        self.put(c);
        r
    }

    /// Drops every table of the schema (tests only clean up after themselves with it).
    pub fn drop_schema(&self) -> Result<(), StoreError> {
        if let Some(s) = &self.schema {
            let mut c = self.take()?;
            let r = c
                .client
                .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{s}\" CASCADE"))
                .map_err(map_err);
            self.put(c);
            r?;
        }
        Ok(())
    }
}

struct PgTx<'a> {
    /// The pool the connection came from and goes back to.
    pool: &'a Pool<Conn>,
    conn: Option<Conn>,
    open: bool,
    /// Rows of `insert_deferred` not yet sent; every other call sends them first.
    held: Held,
}

impl PgTx<'_> {
    fn conn(&mut self) -> Result<&mut Conn, StoreError> {
        self.conn
            .as_mut()
            .ok_or_else(|| StoreError::Backend("transaction already finished".into()))
    }

    fn statement(&mut self, sql: &str) -> Result<(Statement, &mut Client), StoreError> {
        let conn = self.conn()?;
        let stmt = match conn.statements.get(sql) {
            Some(s) => s.clone(),
            None => {
                let s = conn.client.prepare(&translate(sql)).map_err(map_err)?;
                conn.statements.insert(sql.to_string(), s.clone());
                s
            }
        };
        Ok((stmt, &mut conn.client))
    }

    /// Sends the held rows, one multi-row INSERT per statement and chunk.
    fn flush(&mut self) -> Result<(), StoreError> {
        if self.held.is_empty() {
            return Ok(());
        }
        for (sql, p) in self.held.take() {
            let (stmt, client) = self.statement(&sql)?;
            client.execute(&stmt, &params(&p)).map_err(map_err)?;
        }
        Ok(())
    }
}

fn params(p: &[Value]) -> Vec<&(dyn ToSql + Sync)> {
    p.iter().map(|v| v as &(dyn ToSql + Sync)).collect()
}

impl PgBackend {
    fn begin_in<'a>(&'a self, pool: &'a Pool<Conn>) -> Result<Box<dyn Tx + 'a>, StoreError> {
        let mut conn = pool.take(|| self.new_conn())?;
        if let Err(e) = conn.client.batch_execute("BEGIN") {
            drop(conn);
            pool.discard();
            return Err(map_err(e));
        }
        Ok(Box::new(PgTx {
            pool,
            conn: Some(conn),
            open: true,
            held: Held::default(),
        }))
    }
}

impl Backend for PgBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Postgres
    }

    fn begin(&self) -> Result<Box<dyn Tx + '_>, StoreError> {
        self.begin_in(&self.work)
    }

    fn begin_locks(&self) -> Result<Box<dyn Tx + '_>, StoreError> {
        self.begin_in(&self.locks)
    }

    /// Copies every table inside one REPEATABLE READ transaction, so the copy is one
    /// consistent moment even while other nodes keep writing.
    fn export_sqlite(&self, dest: &std::path::Path) -> Result<(), StoreError> {
        let mut tx = self.begin()?;
        tx.execute(
            "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY",
            &[],
        )?;
        crate::backend::copy_into_sqlite(tx.as_mut(), dest)
    }

    fn migrate(&self) -> Result<(), StoreError> {
        let mut tx = self.begin()?;
        // One node migrates; the others wait here, then find nothing left to do.
        tx.execute("SELECT pg_advisory_xact_lock(7340301)", &[])?;
        crate::migrate::apply(tx.as_mut(), crate::migrate::Dialect::Postgres)?;
        tx.commit()
    }
}

impl Tx for PgTx<'_> {
    fn execute(&mut self, sql: &str, p: &[Value]) -> Result<u64, StoreError> {
        self.flush()?;
        if p.is_empty() && !sql.contains('?') {
            // Parameterless statements (DDL, locks) skip preparing.
            let conn = self.conn()?;
            return conn.client.execute(sql, &[]).map_err(map_err);
        }
        let (stmt, client) = self.statement(sql)?;
        client.execute(&stmt, &params(p)).map_err(map_err)
    }

    fn query(&mut self, sql: &str, p: &[Value]) -> Result<Vec<Row>, StoreError> {
        let mut out = Vec::new();
        self.for_each(sql, p, &mut |r| {
            out.push(r);
            Ok(())
        })?;
        Ok(out)
    }

    fn for_each(
        &mut self,
        sql: &str,
        p: &[Value],
        f: &mut dyn FnMut(Row) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        use postgres::fallible_iterator::FallibleIterator;
        self.flush()?;
        let (stmt, client) = self.statement(sql)?;
        let mut rows = client
            .query_raw(&stmt, p.iter().map(|v| v as &dyn ToSql))
            .map_err(map_err)?;
        while let Some(r) = rows.next().map_err(map_err)? {
            let mut row = Vec::with_capacity(r.len());
            for i in 0..r.len() {
                row.push(r.try_get::<_, Value>(i).map_err(map_err)?);
            }
            f(row)?;
        }
        Ok(())
    }

    fn lock_audit_head(&mut self) -> Result<(), StoreError> {
        self.query("SELECT size FROM audit_head WHERE id = 1 FOR UPDATE", &[])?;
        Ok(())
    }

    fn execute_script(&mut self, sql: &str) -> Result<(), StoreError> {
        self.flush()?;
        self.conn()?.client.batch_execute(sql).map_err(map_err)
    }

    fn insert_deferred(&mut self, sql: &str, p: &[Value]) -> Result<(), StoreError> {
        match self.held.hold(sql, p) {
            None => Ok(()),
            Some(p) => self.execute(sql, p).map(|_| ()),
        }
    }

    fn commit(mut self: Box<Self>) -> Result<(), StoreError> {
        self.flush()?;
        self.conn()?
            .client
            .batch_execute("COMMIT")
            .map_err(map_err)?;
        self.open = false;
        if let Some(c) = self.conn.take() {
            self.pool.put(c);
        }
        Ok(())
    }
}

impl Drop for PgTx<'_> {
    fn drop(&mut self) {
        if let Some(mut c) = self.conn.take() {
            if self.open {
                // A connection whose rollback fails is dropped, not pooled.
                if c.client.batch_execute("ROLLBACK").is_err() {
                    drop(c);
                    self.pool.discard();
                    return;
                }
            }
            self.pool.put(c);
        }
    }
}
