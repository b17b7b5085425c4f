//! The 76 parameters of a GSM 06.10 frame and their two packings: the 33-byte frame of raw `.gsm`
//! files (a 0xD magic nibble, then each parameter most significant bit first) and Microsoft's
//! 65-byte block of two frames (one little-endian bit stream, least significant bit first).

use super::tables::{FRAME_BYTES, GSM_MAGIC, LAR_BITS, MS_BLOCK_BYTES};

/// The 76 parameters of one 20 ms frame, as coded (all non-negative).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FrameParams {
    /// Log-area ratios LARc[1..8] (6, 6, 5, 5, 4, 4, 3, 3 bits).
    pub larc: [i16; 8],
    /// Per sub-segment: LTP lag Nc (7 bits).
    pub nc: [i16; 4],
    /// LTP gain bc (2 bits).
    pub bc: [i16; 4],
    /// RPE grid position Mc (2 bits).
    pub mc: [i16; 4],
    /// Block amplitude xmaxc (6 bits).
    pub xmaxc: [i16; 4],
    /// RPE pulses xMc (13 × 3 bits).
    pub xmc: [[i16; 13]; 4],
}

/// Read the parameters in coded order, `take(n)` giving the next `n`-bit field.
pub(super) fn read_params(mut take: impl FnMut(u32) -> i16) -> FrameParams {
    let mut p = FrameParams::default();
    for (l, &bits) in p.larc.iter_mut().zip(&LAR_BITS) {
        *l = take(bits);
    }
    for s in 0..4 {
        p.nc[s] = take(7);
        p.bc[s] = take(2);
        p.mc[s] = take(2);
        p.xmaxc[s] = take(6);
        for x in p.xmc[s].iter_mut() {
            *x = take(3);
        }
    }
    p
}

/// A bit reader over bytes, most significant bit first (the 33-byte packing).
struct MsbBits<'a> {
    data: &'a [u8],
    pos: usize,
    acc: u32,
    n: u32,
}

impl MsbBits<'_> {
    fn take(&mut self, bits: u32) -> i16 {
        while self.n < bits {
            self.acc = (self.acc << 8) | u32::from(self.data[self.pos]);
            self.pos += 1;
            self.n += 8;
        }
        self.n -= bits;
        ((self.acc >> self.n) & ((1 << bits) - 1)) as i16
    }
}

/// A bit reader over bytes, least significant bit first (Microsoft's packing).
struct LsbBits<'a> {
    data: &'a [u8],
    pos: usize,
    acc: u32,
    n: u32,
}

impl LsbBits<'_> {
    fn take(&mut self, bits: u32) -> i16 {
        while self.n < bits {
            self.acc |= u32::from(self.data[self.pos]) << self.n;
            self.pos += 1;
            self.n += 8;
        }
        let v = (self.acc & ((1 << bits) - 1)) as i16;
        self.acc >>= bits;
        self.n -= bits;
        v
    }
}

/// Unpack a 33-byte frame; `None` if its magic nibble is not 0xD (libgsm refuses such a frame).
pub fn unpack_frame(frame: &[u8; FRAME_BYTES]) -> Option<FrameParams> {
    let mut r = MsbBits {
        data: frame,
        pos: 0,
        acc: 0,
        n: 0,
    };
    if r.take(4) != i16::from(GSM_MAGIC) {
        return None;
    }
    Some(read_params(|bits| r.take(bits)))
}

/// Unpack a 65-byte Microsoft block into its two frames.
pub fn unpack_ms_block(block: &[u8; MS_BLOCK_BYTES]) -> [FrameParams; 2] {
    let mut r = LsbBits {
        data: block,
        pos: 0,
        acc: 0,
        n: 0,
    };
    let first = read_params(|bits| r.take(bits));
    let second = read_params(|bits| r.take(bits));
    [first, second]
}
