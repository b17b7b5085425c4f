//! The fixed-point arithmetic of GSM 06.10 (section 4.1 / libgsm add.c): saturating addition and
//! subtraction, multiplication with rounding, and the shifts, exactly as the reference does them.

/// Saturating 16-bit addition (GSM_ADD).
#[inline(always)]
pub(super) fn add(a: i16, b: i16) -> i16 {
    a.saturating_add(b)
}

/// Saturating 16-bit subtraction (GSM_SUB).
#[inline(always)]
pub(super) fn sub(a: i16, b: i16) -> i16 {
    a.saturating_sub(b)
}

/// Multiplication with rounding (gsm_mult_r): `(a * b + 16384) >> 15`, MIN * MIN giving MAX.
#[inline(always)]
pub(super) fn mult_r(a: i16, b: i16) -> i16 {
    if a == i16::MIN && b == i16::MIN {
        i16::MAX
    } else {
        // In range for every other pair: |a * b| <= 32768 * 32767.
        ((i32::from(a) * i32::from(b) + 16384) >> 15) as i16
    }
}

/// Arithmetic shift right by `n`, left for negative `n` (gsm_asr).
pub(super) fn asr(a: i16, n: i16) -> i16 {
    if n >= 16 {
        -i16::from(a < 0)
    } else if n <= -16 {
        0
    } else if n < 0 {
        (i32::from(a) << -n) as i16
    } else {
        a >> n
    }
}

/// Shift left by `n`, right for negative `n` (gsm_asl).
pub(super) fn asl(a: i16, n: i16) -> i16 {
    if n >= 16 {
        0
    } else if n <= -16 {
        -i16::from(a < 0)
    } else if n < 0 {
        asr(a, -n)
    } else {
        (i32::from(a) << n) as i16
    }
}
