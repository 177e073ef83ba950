//! Content rules for encoded entries: a fast single-pass acceptance test for the
//! common case, and the full field-by-field check that names the problem.

use super::{EntryError, Fields, ENTRY_FORMAT_V1, MAX_FIELD_LEN};

/// Accepts the common case — one-byte lengths, printable-ASCII fields — in a
/// single pass with no error bookkeeping. `false` means "not sure": the caller
/// then runs the full `parse` + `check`, which names the problem or accepts
/// (e.g. non-ASCII text). Everything accepted here is also accepted there.
pub(super) fn fast_accept(bytes: &[u8]) -> bool {
    fast_accept_inner(bytes).unwrap_or(false)
}

#[inline(always)]
fn take<'a>(r: &mut &'a [u8]) -> Option<&'a [u8]> {
    let (&n, rest) = r.split_first()?;
    if n >= 0x80 {
        return None;
    }
    let (field, rest) = rest.split_at_checked(usize::from(n))?;
    *r = rest;
    Some(field)
}

#[inline(always)]
fn take_opt<'a>(r: &mut &'a [u8]) -> Option<Option<&'a [u8]>> {
    let (&flag, rest) = r.split_first()?;
    *r = rest;
    match flag {
        0 => Some(None),
        1 => take(r).map(Some),
        _ => None,
    }
}

#[inline(always)]
fn fast_accept_inner(bytes: &[u8]) -> Option<bool> {
    let (&version, mut r) = bytes.split_first()?;
    if version != ENTRY_FORMAT_V1 {
        return None;
    }
    let time = take(&mut r)?;
    let actor = take(&mut r)?;
    let role = take(&mut r)?;
    let action = take(&mut r)?;
    let resource = take(&mut r)?;
    let resource_id = take(&mut r)?;
    let patient_ref = take_opt(&mut r)?;
    let reason = take_opt(&mut r)?;
    let (&outcome, mut r) = r.split_first()?;
    let content_hash = take_opt(&mut r)?;
    let node = take_opt(&mut r)?;
    // Non-short-circuit `&` keeps this a straight line of cheap checks.
    let mut ok = r.is_empty()
        & (outcome <= 2)
        & !actor.is_empty()
        & !role.is_empty()
        & !action.is_empty()
        & !resource.is_empty();
    for f in [actor, role, action, resource, resource_id] {
        ok &= printable_ascii(f);
    }
    for f in [patient_ref, reason, node].into_iter().flatten() {
        ok &= printable_ascii(f);
    }
    if let Some(h) = content_hash {
        ok &= (h.len() == 64) & lower_hex(h);
    }
    Some(ok && is_rfc3339_utc(time))
}

fn invalid(field: &'static str, reason: &'static str) -> EntryError {
    EntryError::Invalid { field, reason }
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// Per-byte flag (0x80) set where `lo <= byte <= hi`, for bytes below 0x80 and
/// `lo <= hi < 0x80`. Adding `0x80 - lo` sets a byte's top bit iff it is `>= lo`;
/// adding `0x7f - hi` sets it iff it is `> hi`; neither carries out of a byte < 0x80.
#[inline]
fn in_range(x: u64, lo: u8, hi: u8) -> u64 {
    let ge_lo = x.wrapping_add(u64::from(0x80 - lo) * ONES);
    let gt_hi = x.wrapping_add(u64::from(0x7f - hi) * ONES);
    ge_lo & !gt_hi & !x & HIGH
}

/// Applies `word_ok` to `b` eight bytes at a time (SWAR); the last word overlaps
/// the previous one instead of being copied. Inputs under 8 bytes go byte by byte.
/// The verifier runs this on every field of every entry, so it avoids a branch per
/// byte; the fields are short and mostly ASCII.
#[inline]
fn all_words(b: &[u8], word_ok: impl Fn(u64) -> bool, byte_ok: impl Fn(u8) -> bool) -> bool {
    let Some(last) = b.last_chunk::<8>() else {
        return b.iter().fold(true, |ok, &c| ok & byte_ok(c));
    };
    let mut chunks = b.chunks_exact(8);
    let mut ok = word_ok(u64::from_le_bytes(*last));
    for c in &mut chunks {
        ok &= word_ok(u64::from_le_bytes(c.try_into().unwrap_or(*last)));
    }
    ok
}

/// True if every byte is printable ASCII (0x20..=0x7e), which is also valid UTF-8.
#[inline]
pub(super) fn printable_ascii(b: &[u8]) -> bool {
    all_words(
        b,
        |x| in_range(x, 0x20, 0x7e) == HIGH,
        |c| c.wrapping_sub(0x20) < 0x5f,
    )
}

/// True if every byte is `0-9` or `a-f`.
#[inline]
pub(super) fn lower_hex(b: &[u8]) -> bool {
    all_words(
        b,
        |x| (in_range(x, b'0', b'9') | in_range(x, b'a', b'f')) == HIGH,
        |c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c),
    )
}

/// Validates UTF-8 for text that is not printable ASCII.
fn utf8<'a>(field: &'static str, b: &'a [u8]) -> Result<&'a str, EntryError> {
    std::str::from_utf8(b).map_err(|_| EntryError::InvalidUtf8(field))
}

/// Identifier-like text: no control characters and no whitespace but plain spaces.
fn plain(field: &'static str, b: &[u8]) -> Result<(), EntryError> {
    if b.len() > MAX_FIELD_LEN {
        return Err(invalid(field, "too long"));
    }
    if printable_ascii(b) {
        return Ok(());
    }
    let bad = utf8(field, b)?
        .chars()
        .any(|c| c.is_control() || (c.is_whitespace() && c != ' '));
    if bad {
        Err(invalid(field, "contains a control or whitespace character"))
    } else {
        Ok(())
    }
}

fn required(field: &'static str, b: &[u8]) -> Result<(), EntryError> {
    if b.is_empty() {
        return Err(invalid(field, "must not be empty"));
    }
    plain(field, b)
}

/// Free text: any printable character plus newline and tab.
fn free_text(field: &'static str, b: &[u8]) -> Result<(), EntryError> {
    if b.len() > MAX_FIELD_LEN {
        return Err(invalid(field, "too long"));
    }
    if printable_ascii(b) {
        return Ok(());
    }
    let bad = utf8(field, b)?
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t');
    if bad {
        Err(invalid(field, "contains a control character"))
    } else {
        Ok(())
    }
}

impl Fields<'_> {
    pub(super) fn check(&self) -> Result<(), EntryError> {
        if !printable_ascii(self.time) {
            utf8("time", self.time)?;
        }
        if !is_rfc3339_utc(self.time) {
            return Err(invalid(
                "time",
                "not RFC 3339 UTC (YYYY-MM-DDTHH:MM:SS[.f]Z)",
            ));
        }
        required("actor", self.actor)?;
        required("role", self.role)?;
        required("action", self.action)?;
        required("resource", self.resource)?;
        plain("resource_id", self.resource_id)?;
        if let Some(p) = self.patient_ref {
            plain("patient_ref", p)?;
        }
        if let Some(r) = self.reason {
            free_text("reason", r)?;
        }
        if let Some(h) = self.content_hash {
            if !h.is_ascii() {
                utf8("content_hash", h)?;
            }
            if h.len() != 64 || !lower_hex(h) {
                return Err(invalid("content_hash", "not 64 lowercase hex digits"));
            }
        }
        if let Some(n) = self.node {
            plain("node", n)?;
        }
        Ok(())
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.d{1,9}]Z` with a real calendar date; seconds may be 60
/// (a leap second).
fn is_rfc3339_utc(b: &[u8]) -> bool {
    let Some((head, tail)) = b.split_first_chunk::<19>() else {
        return false;
    };
    let mut digits = true;
    for i in [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18] {
        digits &= head[i].is_ascii_digit();
    }
    let seps = (head[4] == b'-')
        & (head[7] == b'-')
        & (head[10] == b'T')
        & (head[13] == b':')
        & (head[16] == b':');
    if !(digits & seps) {
        return false;
    }
    let two = |i: usize| u32::from(head[i] - b'0') * 10 + u32::from(head[i + 1] - b'0');
    let (year, month, day) = (two(0) * 100 + two(2), two(5), two(8));
    let (hour, min, sec) = (two(11), two(14), two(17));
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    if day == 0 || day > days || hour > 23 || min > 59 || sec > 60 {
        return false;
    }
    match tail {
        [b'Z'] => true,
        [b'.', frac @ .., b'Z'] => {
            (1..=9).contains(&frac.len()) && frac.iter().all(u8::is_ascii_digit)
        }
        _ => false,
    }
}
