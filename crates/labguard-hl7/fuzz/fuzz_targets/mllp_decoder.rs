//! Arbitrary bytes, in arbitrary chunks, through the MLLP decoder. Any panic is a bug, and
//! every frame it returns must re-frame to exactly the bytes it came from.
#![no_main]

use labguard_hl7::mllp::{frame, MllpDecoder};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else { return };
    let max = usize::from(first) * 4;
    let mut dec = MllpDecoder::with_max_message_size(max).allow_newlines_between_frames(first & 1 == 1);
    let mut whole = MllpDecoder::with_max_message_size(max).allow_newlines_between_frames(first & 1 == 1);
    whole.push(rest);
    // Chunk sizes taken from the data itself, so splits land everywhere.
    let mut pos = 0;
    let mut frames = Vec::new();
    while pos < rest.len() {
        let step = 1 + usize::from(rest[pos] % 7);
        let end = (pos + step).min(rest.len());
        dec.push(&rest[pos..end]);
        while let Some(f) = dec.next_frame() {
            frames.push(f);
        }
        pos = end;
    }
    let all: Vec<_> = std::iter::from_fn(|| whole.next_frame()).collect();
    // Chunking must not change the outcome.
    assert_eq!(frames, all);
    for f in frames.into_iter().flatten() {
        assert!(f.len() <= max);
        let wire = frame(&f);
        let mut d = MllpDecoder::with_max_message_size(max);
        d.push(&wire);
        assert_eq!(d.next_frame(), Some(Ok(f)));
    }
});
