//! FNV-1a (64 bits) as hex: the fingerprint of Cargo.lock that `linker/samocoder.order` records,
//! shared by build.rs (which checks it) and examples/link_order.rs (which writes it).

/// The fingerprint of `bytes`, 16 hex digits.
pub fn fnv1a64(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}
