//! The hash functions of the token tables' perfect hash. `build.rs` (through
//! `build_tokens.rs`) and the runtime lookup both include this file, so that the slots the
//! build assigns are the slots the lookup finds: any change here changes both at once.
//!
//! Invariant: pure integer arithmetic on `u64`, identical on every target (native and
//! wasm32), no dependency on the standard library's randomly seeded hashers.

const K: u64 = 0x9E37_79B9_7F4A_7C15;

/// The seed of the perfect hash. The build fails (it cannot separate two keys) rather than
/// produce a wrong table; changing the seed is the way out.
pub const SEED: u64 = 0x6c6c_6d6f_6273_6572;

/// Murmur3's 64-bit finalizer: every input bit reaches every output bit.
#[inline]
pub fn fmix64(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// A 64-bit hash of a token's bytes (tokens are short: 1 to 128 bytes, 8 at a time).
#[inline]
pub fn hash_bytes(bytes: &[u8]) -> u64 {
    let mut h = SEED ^ (bytes.len() as u64).wrapping_mul(K);
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        h = (h ^ u64::from_le_bytes(word)).wrapping_mul(K).rotate_left(29);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut word = [0u8; 8];
        word[..rest.len()].copy_from_slice(rest);
        h = (h ^ u64::from_le_bytes(word)).wrapping_mul(K).rotate_left(29);
    }
    fmix64(h)
}

/// The bucket of a key: the low 32 bits of its hash, scaled to `buckets` without a division.
#[inline]
pub fn bucket_of(hash: u64, buckets: u64) -> u64 {
    ((hash & 0xFFFF_FFFF) * buckets) >> 32
}

/// The slot of a key whose bucket has the given pilot.
#[inline]
pub fn slot_of(hash: u64, pilot: u16, slots: u64) -> u64 {
    let x = fmix64(hash ^ (u64::from(pilot) + 1).wrapping_mul(K));
    ((x >> 32) * slots) >> 32
}
