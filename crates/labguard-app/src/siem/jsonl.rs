//! JSON lines to a file (appended, synced per batch) or to stdout.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;

use labguard_siem::SiemEvent;

use super::{SiemError, Transport};

/// The JSON-lines sink.
pub struct JsonLines {
    out: Out,
    hostname: String,
}

enum Out {
    File(File),
    Stdout,
}

impl JsonLines {
    /// Appends to `path` (created 0600 on Unix), or writes to stdout when `path` is `-`.
    pub fn open(path: &Path, hostname: &str) -> Result<JsonLines, SiemError> {
        let out = if path == Path::new("-") {
            Out::Stdout
        } else {
            let mut o = OpenOptions::new();
            o.create(true).append(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
            Out::File(o.open(path)?)
        };
        Ok(JsonLines {
            out,
            hostname: hostname.to_string(),
        })
    }
}

impl Transport for JsonLines {
    fn sink(&self) -> &str {
        "jsonl"
    }

    fn send(&mut self, events: &[SiemEvent]) -> Result<(), SiemError> {
        let text: String = events.iter().map(|e| e.json_line(&self.hostname)).collect();
        match &mut self.out {
            Out::File(f) => {
                f.write_all(text.as_bytes())?;
                f.sync_data()?;
            }
            Out::Stdout => {
                let mut s = std::io::stdout().lock();
                s.write_all(text.as_bytes())?;
                s.flush()?;
            }
        }
        Ok(())
    }
}
