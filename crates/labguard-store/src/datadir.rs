//! The data dir: `labguard.db` (SQLite) and `kek.key` (the key-encryption key, mode 0600).
//! With PostgreSQL the database lives elsewhere, but the key file still comes from here
//! (or from `LABGUARD_KEK`), so every node of one lab must be given the same key.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use labguard_crypto::{Kek, KEK_ENV};

use crate::postgres::PgBackend;
use crate::sqlite::SqliteBackend;
use crate::{Store, StoreError, StoreOptions};

pub const DB_FILE: &str = "labguard.db";
pub const KEK_FILE: &str = "kek.key";

/// Where the database is.
#[derive(Debug, Clone)]
pub enum Location {
    Sqlite,
    Postgres { url: String, schema: Option<String> },
}

#[derive(Debug, Clone)]
pub struct DataDir {
    pub path: PathBuf,
    pub location: Location,
}

impl DataDir {
    pub fn sqlite(path: impl Into<PathBuf>) -> DataDir {
        DataDir {
            path: path.into(),
            location: Location::Sqlite,
        }
    }

    pub fn postgres(path: impl Into<PathBuf>, url: &str, schema: Option<&str>) -> DataDir {
        DataDir {
            path: path.into(),
            location: Location::Postgres {
                url: url.to_string(),
                schema: schema.map(str::to_string),
            },
        }
    }

    /// Destroys a throw-away deployment (benchmarks, tests): drops its PostgreSQL schema
    /// (only a named schema, never the default one) and removes the directory.
    pub fn discard(&self) -> Result<(), StoreError> {
        if let Location::Postgres {
            url,
            schema: Some(schema),
        } = &self.location
        {
            PgBackend::connect(url, Some(schema))?.drop_schema()?;
        }
        match fs::remove_dir_all(&self.path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    pub fn db_path(&self) -> PathBuf {
        self.path.join(DB_FILE)
    }

    pub fn kek_path(&self) -> PathBuf {
        self.path.join(KEK_FILE)
    }

    /// Creates the directory (0700), a new KEK file (0600, unless the KEK comes from the
    /// environment), and an initialised database. Never touches an existing database.
    pub fn init(&self, opts: StoreOptions) -> Result<Store, StoreError> {
        fs::create_dir_all(&self.path)?;
        fs::set_permissions(&self.path, fs::Permissions::from_mode(0o700))?;
        if matches!(self.location, Location::Sqlite) && self.db_path().exists() {
            return Err(StoreError::Keys(format!(
                "{} already holds a labguard database",
                self.path.display()
            )));
        }
        let kek = match std::env::var(KEK_ENV) {
            Ok(text) => Kek::parse(&text)?,
            Err(_) if self.kek_path().exists() => self.load_kek()?,
            Err(_) => {
                let (kek, text) = Kek::generate()?;
                write_private(&self.kek_path(), text.as_bytes())?;
                kek
            }
        };
        Store::init(self.backend(true)?, kek, opts)
    }

    pub fn open(&self, opts: StoreOptions) -> Result<Store, StoreError> {
        let kek = self.load_kek()?;
        Store::open(self.backend(false)?, kek, opts)
    }

    /// Opens a SQLite data dir unpacked from a backup with its own key file (never
    /// `LABGUARD_KEK`: the snapshot must open under the key it was taken with).
    pub fn open_unpacked(&self, opts: StoreOptions) -> Result<Store, StoreError> {
        let text = zeroize::Zeroizing::new(fs::read_to_string(self.kek_path())?);
        let kek = Kek::parse(&text)?;
        Store::open(
            Box::new(SqliteBackend::open(&self.db_path(), false)?),
            kek,
            opts,
        )
    }

    /// The KEK's text as a backup stores it: from `LABGUARD_KEK` if set, else the key file.
    pub fn kek_text(&self) -> Result<zeroize::Zeroizing<String>, StoreError> {
        Ok(zeroize::Zeroizing::new(match std::env::var(KEK_ENV) {
            Ok(t) => t,
            Err(_) => fs::read_to_string(self.kek_path())?,
        }))
    }

    fn backend(&self, create: bool) -> Result<Box<dyn crate::backend::Backend>, StoreError> {
        Ok(match &self.location {
            Location::Sqlite => Box::new(SqliteBackend::open(&self.db_path(), create)?),
            Location::Postgres { url, schema } => {
                Box::new(PgBackend::connect(url, schema.as_deref())?)
            }
        })
    }

    /// The KEK from `LABGUARD_KEK` if set, else from the key file, which must not be
    /// readable by group or others.
    pub fn load_kek(&self) -> Result<Kek, StoreError> {
        if let Ok(text) = std::env::var(KEK_ENV) {
            return Ok(Kek::parse(&text)?);
        }
        let path = self.kek_path();
        let meta = fs::metadata(&path).map_err(|_| {
            StoreError::Keys(format!(
                "no key file at {} and {KEK_ENV} is not set",
                path.display()
            ))
        })?;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(StoreError::Keys(format!(
                "{} is readable by other users; run `chmod 600` on it",
                path.display()
            )));
        }
        let text = zeroize::Zeroizing::new(fs::read_to_string(&path)?);
        Ok(Kek::parse(&text)?)
    }
}

/// Writes a new file readable only by its owner; refuses to overwrite.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    Ok(())
}
