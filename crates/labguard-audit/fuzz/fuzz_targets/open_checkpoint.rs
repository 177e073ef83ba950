//! `open_checkpoint` on arbitrary notes, and on mutations of a genuinely signed one.
//!
//! First byte even: the rest is a note, opened with a fixed key; must not panic.
//! First byte odd: build a checkpoint from the input, sign it, check it round-trips,
//! then overwrite one byte of the note; if the mutant still opens it must carry the
//! same checkpoint (anything else would be a forgery).
#![no_main]

use labguard_audit::{open_checkpoint, sign_checkpoint, Checkpoint, VerifierKey};
use libfuzzer_sys::fuzz_target;

const NAME: &str = "fuzz.example/log";
const SEED: [u8; 32] = [0x61; 32];

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let vkey = VerifierKey::from_seed(NAME, &SEED).expect("valid key name");
    if mode % 2 == 0 {
        if let Ok(note) = std::str::from_utf8(rest) {
            let _ = open_checkpoint(note, &vkey);
        }
        return;
    }
    // Layout: 8 bytes size, 32 bytes root, 2 bytes mutation position, 1 byte value,
    // then origin and extension lines as UTF-8 separated by '\n'.
    if rest.len() < 43 {
        return;
    }
    let (head, text) = rest.split_at(43);
    let size = u64::from_le_bytes(head[..8].try_into().expect("8 bytes"));
    let root: [u8; 32] = head[8..40].try_into().expect("32 bytes");
    let pos = usize::from(u16::from_le_bytes([head[40], head[41]]));
    let value = head[42];
    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };
    let mut lines = text.split('\n');
    let mut cp = Checkpoint::new(lines.next().unwrap_or_default(), size, root);
    cp.extensions = lines.map(str::to_owned).collect();
    let Ok(note) = sign_checkpoint(&cp, NAME, &SEED) else {
        return;
    };
    assert_eq!(open_checkpoint(&note, &vkey).as_ref(), Ok(&cp));

    let mut bytes = note.into_bytes();
    let i = pos % bytes.len();
    bytes[i] = value;
    if let Ok(mutant) = std::str::from_utf8(&bytes) {
        if let Ok(opened) = open_checkpoint(mutant, &vkey) {
            assert_eq!(opened, cp, "mutated note opened with different content");
        }
    }
});
