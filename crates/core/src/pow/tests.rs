use ruint::aliases::U256;

use super::*;

fn u256(hex: &str) -> U256 {
    U256::from_str_radix(hex, 16).expect("test vector is hex")
}

/// Bitcoin Core's `arith_uint256_tests.cpp`, test case `bignum_SetCompact`: bits in, then the
/// value, the flags, and what `GetCompact` (with the decoded sign) gives back.
#[test]
fn compact_decode_and_encode_match_bitcoin_core_vectors() {
    #[rustfmt::skip]
    let vectors: &[(u32, &str, bool, bool, u32)] = &[
        // (bits, value in hex, negative, overflow, GetCompact(negative))
        (0x0000_0000, "0", false, false, 0),
        (0x0012_3456, "0", false, false, 0),          // size 0: the mantissa is shifted out
        (0x0100_3456, "0", false, false, 0),
        (0x0200_0056, "0", false, false, 0),
        (0x0300_0000, "0", false, false, 0),
        (0x0400_0000, "0", false, false, 0),
        (0x0092_3456, "0", false, false, 0),          // sign bit on a zero value is not negative
        (0x0180_3456, "0", false, false, 0),
        (0x0280_0056, "0", false, false, 0),
        (0x0380_0000, "0", false, false, 0),
        (0x0480_0000, "0", false, false, 0),
        (0x0112_3456, "12", false, false, 0x0112_0000),
        (0x01fe_dcba, "7e", true, false, 0x01fe_0000), // negative, and keeps its sign on encode
        (0x0212_3456, "1234", false, false, 0x0212_3400),
        (0x0312_3456, "123456", false, false, 0x0312_3456),
        (0x0412_3456, "12345600", false, false, 0x0412_3456),
        (0x0492_3456, "12345600", true, false, 0x0492_3456),
        (0x0500_9234, "92340000", false, false, 0x0500_9234),
        (0x2012_3456, "1234560000000000000000000000000000000000000000000000000000000000",
            false, false, 0x2012_3456),
    ];
    for &(bits, value, negative, overflow, back) in vectors {
        let decoded = CompactTarget::from_consensus(bits).decode();
        assert_eq!(decoded.value, u256(value), "value of {bits:#010x}");
        assert_eq!(decoded.negative, negative, "sign of {bits:#010x}");
        assert_eq!(decoded.overflow, overflow, "overflow of {bits:#010x}");
        let encoded = CompactTarget::encode(decoded.value, decoded.negative);
        assert_eq!(encoded.to_consensus(), back, "GetCompact of {bits:#010x}");
    }
}

#[test]
fn compact_overflow_is_reported_and_rejected() {
    // Bitcoin Core: SetCompact(0xff123456) overflows and is not negative.
    let bits = CompactTarget::from_consensus(0xff12_3456);
    let decoded = bits.decode();
    assert!(decoded.overflow);
    assert!(!decoded.negative);
    assert_eq!(bits.to_target(), Err(CompactTargetError::Overflow(bits)));
    // The boundary: a one-byte mantissa fits at size 34, a two-byte one does not.
    assert!(!CompactTarget::from_consensus(0x2200_00ff).decode().overflow);
    assert!(CompactTarget::from_consensus(0x2200_0100).decode().overflow);
    assert!(CompactTarget::from_consensus(0x2101_0000).decode().overflow);
}

#[test]
fn encode_never_sets_the_sign_bit_for_a_positive_value() {
    // Bitcoin Core: num = 0x80; GetCompact() == 0x02008000.
    assert_eq!(
        CompactTarget::encode(U256::from(0x80u32), false).to_consensus(),
        0x0200_8000
    );
}

#[test]
fn negative_and_zero_targets_are_rejected() {
    let negative = CompactTarget::from_consensus(0x04923456);
    assert_eq!(
        negative.to_target(),
        Err(CompactTargetError::Negative(negative))
    );
    let zero = CompactTarget::from_consensus(0x0100_3456);
    assert_eq!(zero.to_target(), Err(CompactTargetError::Zero(zero)));
}

#[test]
fn bitcoin_pow_limit_decodes_to_its_known_target() {
    // Bitcoin Core chainparams.cpp: powLimit = 00000000ffff0000...0 and genesis nBits 0x1d00ffff.
    let target = CompactTarget::from_consensus(0x1d00_ffff)
        .to_target()
        .expect("valid");
    assert_eq!(target.to_u256(), u256("ffff") << 208);
    assert_eq!(target.to_compact_lossy().to_consensus(), 0x1d00_ffff);
}

#[test]
fn work_of_difficulty_one_is_0x100010001() {
    // Every Bitcoin block at 0x1d00ffff adds 0x100010001 to chainwork (getblockheader of block 1).
    let target = CompactTarget::from_consensus(0x1d00_ffff)
        .to_target()
        .expect("valid");
    assert_eq!(target.work().to_u256(), U256::from(0x1_0001_0001u64));
    assert_eq!(format!("{}", target.work()), "0x100010001");
}

#[test]
fn work_of_the_largest_targets_does_not_overflow() {
    assert_eq!(Target::MAX.work().to_u256(), U256::from(1u8));
    let half = Target::from_u256(U256::MAX >> 1);
    assert_eq!(half.work().to_u256(), U256::from(2u8));
}

#[test]
fn scale_caps_at_the_limit_and_handles_wide_products() {
    let limit = Target::from_u256(U256::MAX >> 1);
    let near = Target::from_u256(U256::MAX >> 2);
    // 2^254 * 4 would overflow 256 bits; the wide product caps at the limit instead of wrapping.
    assert_eq!(near.scale(4, 1, limit), limit);
    assert_eq!(near.scale(1, 4, limit).to_u256(), U256::MAX >> 4);
}

#[test]
fn hash_meets_target_compares_as_little_endian_numbers() {
    let target = Target::from_u256(U256::from(0x0100u32));
    let mut bytes = [0u8; 32];
    bytes[1] = 0x01; // 0x0100: equal meets
    assert!(target.is_met_by(BlockHash::from_byte_array(bytes)));
    bytes[0] = 0x01; // 0x0101: above
    assert!(!target.is_met_by(BlockHash::from_byte_array(bytes)));
    bytes = [0; 32];
    bytes[0] = 0xff; // 0x00ff: below
    assert!(target.is_met_by(BlockHash::from_byte_array(bytes)));
}
