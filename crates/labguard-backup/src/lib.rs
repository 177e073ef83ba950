//! Backups in the `age` format (any `age` tool can decrypt them), holding a tar of:
//! `manifest.json` (what is inside, with SHA-256 of each member), `labguard.db` (a
//! consistent SQLite snapshot of the store, ciphertext as stored) and `kek.key` (so the
//! backup restores on its own; the age identity is what protects it).
//!
//! A backup is only written under its final name once complete, so a crash leaves no
//! half backup; `verify` and `restore` check every member's hash, open the snapshot and run
//! the full audit verify; restore never writes into an existing data dir.

use std::fs;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, Instant};

use labguard_store::{Actor, DataDir, Store, StoreOptions, VerifyReport};
use serde::{Deserialize, Serialize};
use thiserror::Error;
use zeroize::Zeroizing;

pub const FORMAT: &str = "labguard-backup/1";
const DB: &str = "labguard.db";
const KEK: &str = "kek.key";
const MANIFEST: &str = "manifest.json";
/// Largest member we accept when reading a backup (guards against a hostile archive).
const MAX_MEMBER: u64 = 64 << 30;

#[derive(Debug, Error)]
pub enum BackupError {
    #[error("the age recipient is not a valid X25519 public key (age1…)")]
    BadRecipient,
    #[error("cannot read the age identity file: {0}")]
    BadIdentity(String),
    #[error("the backup cannot be decrypted with this identity, or is not an age file: {0}")]
    Decrypt(String),
    #[error("the backup is truncated or altered: {0}")]
    Damaged(String),
    #[error("{0} already exists; restore only into a new data dir")]
    TargetExists(PathBuf),
    #[error("the restored data failed verification: {0}")]
    VerifyFailed(String),
    #[error("store: {0}")]
    Store(#[from] labguard_store::StoreError),
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Member {
    pub name: String,
    pub size: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    pub format: String,
    pub created_at: String,
    pub origin: String,
    pub audit_size: u64,
    pub audit_root: String,
    pub members: Vec<Member>,
}

#[derive(Debug, Clone)]
pub struct CheckedBackup {
    pub manifest: Manifest,
    pub verify: VerifyReport,
}

#[derive(Debug, Clone)]
pub struct RestoreReport {
    pub manifest: Manifest,
    pub verify: VerifyReport,
    pub duration: Duration,
}

fn sha256_file(path: &Path) -> Result<(u64, String), BackupError> {
    let mut f = fs::File::open(path)?;
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    let mut buf = vec![0u8; 1 << 16];
    let mut n = 0u64;
    loop {
        let k = f.read(&mut buf)?;
        if k == 0 {
            break;
        }
        ctx.update(&buf[..k]);
        n += k as u64;
    }
    Ok((n, hex::encode(ctx.finish())))
}

/// Writes a backup of `store` (opened from `data`) to `to`, encrypted to `recipient`.
pub fn create(
    store: &Store,
    data: &DataDir,
    actor: &Actor,
    to: &Path,
    recipient: &str,
) -> Result<Manifest, BackupError> {
    let recipient = age::x25519::Recipient::from_str(recipient.trim())
        .map_err(|_| BackupError::BadRecipient)?;
    let work = tempfile::tempdir()?;
    let db = work.path().join(DB);
    store.export_sqlite(actor, &db)?;
    let kek_text = data.kek_text()?;
    let (audit_size, root) = store.audit_head()?;
    let (db_size, db_hash) = sha256_file(&db)?;
    let kek_hash = hex::encode(labguard_crypto::sha256(kek_text.as_bytes()));
    let manifest = Manifest {
        format: FORMAT.into(),
        created_at: chrono::Utc::now().to_rfc3339(),
        origin: store.origin().to_string(),
        audit_size,
        audit_root: hex::encode(root),
        members: vec![
            Member {
                name: DB.into(),
                size: db_size,
                sha256: db_hash,
            },
            Member {
                name: KEK.into(),
                size: kek_text.len() as u64,
                sha256: kek_hash,
            },
        ],
    };
    let manifest_json = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| BackupError::Damaged(format!("manifest: {e}")))?;

    // Write next to the target, then rename: a crash leaves no file under the final name.
    let dir = to
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let partial = tempfile::NamedTempFile::new_in(dir)?;
    {
        let enc =
            age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
                .map_err(|e| BackupError::Decrypt(e.to_string()))?;
        let mut w = enc.wrap_output(std::io::BufWriter::new(partial.as_file()))?;
        {
            let mut tar = tar::Builder::new(&mut w);
            append_bytes(&mut tar, MANIFEST, &manifest_json)?;
            let mut f = fs::File::open(&db)?;
            let mut h = header(db_size);
            tar.append_data(&mut h, DB, &mut f)?;
            append_bytes(&mut tar, KEK, kek_text.as_bytes())?;
            tar.finish()?;
        }
        let mut inner = w.finish()?;
        inner.flush()?;
    }
    partial.as_file().sync_all()?;
    partial.persist(to).map_err(|e| BackupError::Io(e.error))?;
    Ok(manifest)
}

fn header(size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_size(size);
    h.set_mode(0o600);
    h.set_cksum();
    h
}

fn append_bytes<W: Write>(
    tar: &mut tar::Builder<W>,
    name: &str,
    bytes: &[u8],
) -> Result<(), BackupError> {
    let mut h = header(bytes.len() as u64);
    tar.append_data(&mut h, name, bytes)?;
    Ok(())
}

fn identities(
    identity_file: &Path,
) -> Result<Vec<Box<dyn age::Identity + Send + Sync>>, BackupError> {
    let text = Zeroizing::new(
        fs::read_to_string(identity_file).map_err(|e| BackupError::BadIdentity(e.to_string()))?,
    );
    age::IdentityFile::from_buffer(text.as_bytes())
        .map_err(|e| BackupError::BadIdentity(e.to_string()))?
        .into_identities()
        .map_err(|e| BackupError::BadIdentity(e.to_string()))
}

/// Decrypts and unpacks into `dir` (which must exist and be empty), checking the manifest.
fn unpack(from: &Path, identity_file: &Path, dir: &Path) -> Result<Manifest, BackupError> {
    let ids = identities(identity_file)?;
    let file = fs::File::open(from)?;
    let dec = age::Decryptor::new_buffered(BufReader::new(file))
        .map_err(|e| BackupError::Decrypt(e.to_string()))?;
    let reader = dec
        .decrypt(ids.iter().map(|i| i.as_ref() as &dyn age::Identity))
        .map_err(|e| BackupError::Decrypt(e.to_string()))?;
    let mut archive = tar::Archive::new(reader);
    let mut manifest: Option<Manifest> = None;
    let damaged = |e: std::io::Error| BackupError::Damaged(e.to_string());
    for entry in archive.entries().map_err(damaged)? {
        let mut entry = entry.map_err(damaged)?;
        let name = entry.path().map_err(damaged)?.to_string_lossy().to_string();
        if entry.size() > MAX_MEMBER {
            return Err(BackupError::Damaged(format!("member {name} is too large")));
        }
        match name.as_str() {
            MANIFEST => {
                let mut buf = Vec::new();
                entry.read_to_end(&mut buf).map_err(damaged)?;
                let m: Manifest = serde_json::from_slice(&buf)
                    .map_err(|_| BackupError::Damaged("manifest is not valid".into()))?;
                if m.format != FORMAT {
                    return Err(BackupError::Damaged(format!(
                        "unknown format {:?}",
                        m.format
                    )));
                }
                manifest = Some(m);
            }
            DB | KEK => {
                let dest = dir.join(&name);
                let mut out = fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&dest)?;
                std::io::copy(&mut entry, &mut out).map_err(damaged)?;
                out.sync_all()?;
            }
            other => {
                return Err(BackupError::Damaged(format!("unexpected member {other:?}")));
            }
        }
    }
    let manifest = manifest.ok_or_else(|| BackupError::Damaged("no manifest".into()))?;
    for m in &manifest.members {
        let path = dir.join(&m.name);
        if !path.exists() {
            return Err(BackupError::Damaged(format!(
                "member {} is missing",
                m.name
            )));
        }
        let (size, hash) = sha256_file(&path)?;
        if size != m.size || hash != m.sha256 {
            return Err(BackupError::Damaged(format!(
                "member {} does not match its checksum",
                m.name
            )));
        }
    }
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(dir.join(KEK), fs::Permissions::from_mode(0o600))?;
    Ok(manifest)
}

/// Opens unpacked data and runs the full verify; the tree must match the manifest.
fn check(dir: &Path, manifest: &Manifest) -> Result<VerifyReport, BackupError> {
    let data = DataDir::sqlite(dir);
    let store = data.open_unpacked(StoreOptions::default())?;
    let report = store
        .verify(&mut |_, _| {})
        .map_err(|e| BackupError::VerifyFailed(e.to_string()))?;
    if report.entries < manifest.audit_size {
        return Err(BackupError::VerifyFailed(format!(
            "the snapshot holds {} audit entries, the manifest promises {}",
            report.entries, manifest.audit_size
        )));
    }
    Ok(report)
}

/// Decrypts, unpacks into a scratch dir and verifies; nothing is kept.
pub fn verify(from: &Path, identity_file: &Path) -> Result<CheckedBackup, BackupError> {
    let work = tempfile::tempdir()?;
    let manifest = unpack(from, identity_file, work.path())?;
    let verify = check(work.path(), &manifest)?;
    Ok(CheckedBackup { manifest, verify })
}

/// Restores into `target`, which must not exist. Unpacks beside it and renames into place
/// only after verification passed, so a failed restore leaves nothing behind.
pub fn restore(
    from: &Path,
    identity_file: &Path,
    target: &Path,
) -> Result<RestoreReport, BackupError> {
    let start = Instant::now();
    if target.exists() {
        return Err(BackupError::TargetExists(target.to_path_buf()));
    }
    let parent = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(parent)?;
    let work = tempfile::Builder::new()
        .prefix(".labguard-restore-")
        .tempdir_in(parent)?;
    let manifest = unpack(from, identity_file, work.path())?;
    let verify = check(work.path(), &manifest)?;
    let work = work.keep();
    if let Err(e) = fs::rename(&work, target) {
        let _ = fs::remove_dir_all(&work);
        return Err(e.into());
    }
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(target, fs::Permissions::from_mode(0o700))?;
    Ok(RestoreReport {
        manifest,
        verify,
        duration: start.elapsed(),
    })
}
