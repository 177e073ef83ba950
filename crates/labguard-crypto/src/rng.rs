use std::cell::RefCell;

use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

use crate::CryptoError;

const POOL: usize = 4096;

thread_local! {
    // Nonces are drawn from a per-thread buffer of OS randomness so a 64-byte field does
    // not pay a syscall each; the bytes are still the OS CSPRNG's, used once each.
    static POOL_BUF: RefCell<(Zeroizing<Vec<u8>>, usize)> =
        RefCell::new((Zeroizing::new(vec![0u8; POOL]), POOL));
}

/// Fills `out` with OS randomness.
pub fn random_bytes(out: &mut [u8]) -> Result<(), CryptoError> {
    if out.len() > POOL / 4 {
        return SystemRandom::new().fill(out).map_err(|_| CryptoError::Rng);
    }
    POOL_BUF.with(|cell| {
        let mut guard = cell.borrow_mut();
        let (buf, pos) = &mut *guard;
        if *pos + out.len() > POOL {
            SystemRandom::new()
                .fill(buf.as_mut_slice())
                .map_err(|_| CryptoError::Rng)?;
            *pos = 0;
        }
        let end = *pos + out.len();
        out.copy_from_slice(&buf[*pos..end]);
        // Wipe what was handed out so the pool never holds a used nonce or key.
        buf[*pos..end].iter_mut().for_each(|b| *b = 0);
        *pos = end;
        Ok(())
    })
}

/// A fresh 256-bit key.
pub fn random_key() -> Result<Zeroizing<[u8; 32]>, CryptoError> {
    let mut k = Zeroizing::new([0u8; 32]);
    SystemRandom::new()
        .fill(k.as_mut_slice())
        .map_err(|_| CryptoError::Rng)?;
    Ok(k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pooled_bytes_do_not_repeat() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..2000 {
            let mut n = [0u8; 12];
            random_bytes(&mut n).unwrap();
            assert!(seen.insert(n), "nonce repeated");
        }
    }
}
