//! The RPE-LTP decoder (GSM 06.10 section 4.3): APCM inverse quantisation of the pulses,
//! long-term synthesis, short-term synthesis through the lattice, and post-processing, in
//! [`GsmState`], the decoder's memory between frames.

use super::arith::{add, asl, asr, mult_r, sub};
use super::params::FrameParams;
use super::tables::{B, FAC, FRAME_SAMPLES, INVA, MIC, QLB};

/// The decoder's memory between frames.
#[derive(Clone, Debug)]
pub struct GsmState {
    /// Reconstructed long-term residual: 120 samples of history, then the current sub-segment.
    dp0: [i16; 160],
    /// Last valid LTP lag.
    nrp: i16,
    /// The previous frame's decoded log-area ratios, for interpolation.
    larpp_prev: [i16; 8],
    /// Short-term synthesis lattice memory.
    v: [i16; 9],
    /// De-emphasis memory.
    msr: i16,
}

impl Default for GsmState {
    fn default() -> Self {
        GsmState {
            dp0: [0; 160],
            nrp: 40,
            larpp_prev: [0; 8],
            v: [0; 9],
            msr: 0,
        }
    }
}

impl GsmState {
    pub fn new() -> Self {
        Self::default()
    }

    /// Decode one frame into 160 16-bit samples (13 significant bits).
    pub fn decode_frame(&mut self, p: &FrameParams, out: &mut [i16; FRAME_SAMPLES]) {
        let mut wt = [0i16; FRAME_SAMPLES];
        for j in 0..4 {
            let erp = rpe_decoding(p.xmaxc[j], p.mc[j], &p.xmc[j]);
            self.long_term_synthesis(p.nc[j], p.bc[j], &erp);
            wt[j * 40..j * 40 + 40].copy_from_slice(&self.dp0[120..160]);
        }
        self.short_term_synthesis(&p.larc, &wt, out);
        self.postprocess(out);
    }

    /// 4.3.2: long-term synthesis filtering of one sub-segment into `dp0[120..160]`, then the
    /// history shifted by 40.
    fn long_term_synthesis(&mut self, ncr: i16, bcr: i16, erp: &[i16; 40]) {
        // A lag outside 40..=120 (possible only in a damaged frame) repeats the last valid one.
        let nr = if (40..=120).contains(&ncr) {
            ncr
        } else {
            self.nrp
        };
        self.nrp = nr;
        let brp = QLB[bcr as usize & 3];
        let nr = nr as usize;
        for (k, &e) in erp.iter().enumerate() {
            let drpp = mult_r(brp, self.dp0[120 + k - nr]);
            self.dp0[120 + k] = add(e, drpp);
        }
        self.dp0.copy_within(40..160, 0);
        // dp0[120..160] is left holding the sub-segment just decoded (the copy does not touch it).
    }

    /// 4.2.8–4.2.10 and 4.3.4: short-term synthesis over the frame, with the reflection
    /// coefficients interpolated between the previous frame's LARs and this one's for samples
    /// 0..13, 13..27 and 27..40, this frame's alone for 40..160.
    fn short_term_synthesis(
        &mut self,
        larc: &[i16; 8],
        wt: &[i16; FRAME_SAMPLES],
        s: &mut [i16; FRAME_SAMPLES],
    ) {
        let cur = decode_lars(larc);
        let prev = self.larpp_prev;
        let mut larp = [0i16; 8];

        for i in 0..8 {
            larp[i] = add(add(prev[i] >> 2, cur[i] >> 2), prev[i] >> 1);
        }
        larp_to_rp(&mut larp);
        self.lattice(&larp, &wt[0..13], &mut s[0..13]);

        for i in 0..8 {
            larp[i] = add(prev[i] >> 1, cur[i] >> 1);
        }
        larp_to_rp(&mut larp);
        self.lattice(&larp, &wt[13..27], &mut s[13..27]);

        for i in 0..8 {
            larp[i] = add(add(prev[i] >> 2, cur[i] >> 2), cur[i] >> 1);
        }
        larp_to_rp(&mut larp);
        self.lattice(&larp, &wt[27..40], &mut s[27..40]);

        larp = cur;
        larp_to_rp(&mut larp);
        self.lattice(&larp, &wt[40..160], &mut s[40..160]);

        self.larpp_prev = cur;
    }

    /// 4.3.4: the short-term synthesis lattice filter.
    fn lattice(&mut self, rrp: &[i16; 8], wt: &[i16], sr: &mut [i16]) {
        let v = &mut self.v;
        for (&w, out) in wt.iter().zip(sr.iter_mut()) {
            let mut sri = w;
            for i in (0..8).rev() {
                sri = sub(sri, mult_r(rrp[i], v[i]));
                v[i + 1] = add(v[i], mult_r(rrp[i], sri));
            }
            v[0] = sri;
            *out = sri;
        }
    }

    /// 4.3.5–4.3.7: de-emphasis, upscaling and truncation to 13 bits.
    fn postprocess(&mut self, s: &mut [i16; FRAME_SAMPLES]) {
        let mut msr = self.msr;
        for x in s.iter_mut() {
            let tmp = mult_r(msr, 28180);
            msr = add(*x, tmp);
            *x = add(msr, msr) & !7;
        }
        self.msr = msr;
    }
}

/// 4.2.8: decoding of the coded log-area ratios.
fn decode_lars(larc: &[i16; 8]) -> [i16; 8] {
    let mut larpp = [0i16; 8];
    for i in 0..8 {
        // (LARc + MIC) is within -32..=31, so the shift stays within 16 bits.
        let mut temp1 = add(larc[i], MIC[i]) << 10;
        temp1 = sub(temp1, B[i] << 1);
        temp1 = mult_r(INVA[i], temp1);
        larpp[i] = add(temp1, temp1);
    }
    larpp
}

/// 4.2.10: interpolated log-area ratios to reflection coefficients (in place).
fn larp_to_rp(larp: &mut [i16; 8]) {
    fn magnitude(temp: i16) -> i16 {
        if temp < 11059 {
            temp << 1
        } else if temp < 20070 {
            temp + 11059
        } else {
            add(temp >> 2, 26112)
        }
    }
    for x in larp.iter_mut() {
        if *x < 0 {
            let temp = if *x == i16::MIN { i16::MAX } else { -*x };
            *x = -magnitude(temp);
        } else {
            *x = magnitude(*x);
        }
    }
}

/// 4.2.15: block amplitude code to exponent and mantissa.
pub(super) fn xmaxc_to_exp_mant(xmaxc: i16) -> (i16, i16) {
    let mut exp = 0i16;
    if xmaxc > 15 {
        exp = (xmaxc >> 3) - 1;
    }
    let mut mant = xmaxc - (exp << 3);
    if mant == 0 {
        exp = -4;
        mant = 7;
    } else {
        while mant <= 7 {
            mant = (mant << 1) | 1;
            exp -= 1;
        }
        mant -= 8;
    }
    (exp, mant)
}

/// 4.2.16–4.2.17: APCM inverse quantisation and RPE grid positioning of one sub-segment.
fn rpe_decoding(xmaxc: i16, mc: i16, xmc: &[i16; 13]) -> [i16; 40] {
    let (exp, mant) = xmaxc_to_exp_mant(xmaxc & 63);
    let temp1 = FAC[mant as usize];
    let temp2 = sub(6, exp);
    let temp3 = asl(1, sub(temp2, 1));
    let mut erp = [0i16; 40];
    let mc = (mc & 3) as usize;
    for (i, &x) in xmc.iter().enumerate() {
        // Restore the sign: a 3-bit code becomes an odd value in -7..=7, scaled to 16 bits.
        let temp = (((x & 7) << 1) - 7) << 12;
        let temp = add(mult_r(temp1, temp), temp3);
        erp[mc + 3 * i] = asr(temp, temp2);
    }
    erp
}
