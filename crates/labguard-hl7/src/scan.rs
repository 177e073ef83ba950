//! Finding field separators and segment ends fast.

/// CR and LF end segments (so does CRLF, as two ends with nothing between).
pub(crate) fn is_terminator(b: u8) -> bool {
    b == b'\r' || b == b'\n'
}

const LO: u64 = 0x0101_0101_0101_0101;
const HI7: u64 = 0x7F7F_7F7F_7F7F_7F7F;

/// High bit of each byte of `x` set exactly where that byte is zero (no false positives,
/// unlike the shorter "has zero byte" trick, so the lowest set bit is the first match).
#[inline]
fn zero_bytes(x: u64) -> u64 {
    !(((x & HI7).wrapping_add(HI7)) | x | HI7)
}

/// The positions of every field separator, CR and LF from a starting offset, in order.
///
/// Works on 64-byte blocks: eight 8-byte words are tested at once (SWAR) and folded into
/// one bit per byte, then the set bits are walked. This is the parser's only per-byte
/// work; doing it once per byte rather than once per field is what makes parsing cheap.
pub(crate) struct Specials<'b> {
    bytes: &'b [u8],
    fs: u8,
    base: usize,
    mask: u64,
}

impl<'b> Specials<'b> {
    pub(crate) fn new(bytes: &'b [u8], from: usize, fs: u8) -> Self {
        let mut s = Specials {
            bytes,
            fs,
            base: from,
            mask: 0,
        };
        s.mask = s.block_mask();
        s
    }

    /// One bit per byte of the block at `base`: set for the field separator and for
    /// 0x08..=0x0F (OR-ing 0x07 maps that range onto 0x0F, which catches CR and LF in one
    /// comparison; the rare tab or VT is filtered out in `next`).
    fn block_mask(&self) -> u64 {
        let Some(block) = self.bytes.get(self.base..self.base + 64) else {
            let tail = self.bytes.get(self.base..).unwrap_or_default();
            return tail
                .iter()
                .enumerate()
                .filter(|(_, &b)| b == self.fs || is_terminator(b))
                .fold(0, |m, (k, _)| m | 1 << k);
        };
        let (pf, p7, p15) = (LO * u64::from(self.fs), LO * 0x07, LO * 0x0F);
        let mut mask = 0u64;
        for (w, chunk) in block.chunks_exact(8).enumerate() {
            let x = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
            let m = zero_bytes(x ^ pf) | zero_bytes((x | p7) ^ p15);
            // Gather the eight high bits into one byte (exact: no carries can occur).
            let bits = ((m >> 7).wrapping_mul(0x0102_0408_1020_4080)) >> 56;
            mask |= bits << (8 * w);
        }
        mask
    }
}

impl Iterator for Specials<'_> {
    type Item = usize;
    fn next(&mut self) -> Option<usize> {
        loop {
            if self.mask == 0 {
                self.base += 64;
                if self.base >= self.bytes.len() {
                    return None;
                }
                self.mask = self.block_mask();
                continue;
            }
            let at = self.base + self.mask.trailing_zeros() as usize;
            self.mask &= self.mask - 1;
            if self
                .bytes
                .get(at)
                .is_some_and(|&b| b == self.fs || is_terminator(b))
            {
                return Some(at);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swar_scan_matches_naive_scan() {
        let naive = |b: &[u8], from: usize, fs: u8| -> Vec<usize> {
            (from..b.len())
                .filter(|&i| b.get(i).is_some_and(|&c| c == fs || is_terminator(c)))
                .collect()
        };
        // Every byte value next to every special byte, at every alignment.
        let mut buf: Vec<u8> = (0..=255u8).collect();
        buf.extend((0..=255u8).rev());
        buf.extend(b"|\r\n\t\x0b\x0c#");
        for fs in [b'|', b'#', 0x7f] {
            for from in 0..buf.len() + 2 {
                let got: Vec<usize> = Specials::new(&buf, from, fs).collect();
                assert_eq!(got, naive(&buf, from, fs), "fs {fs} from {from}");
            }
        }
        assert_eq!(Specials::new(&[b'a'; 200], 0, b'|').count(), 0);
    }
}
