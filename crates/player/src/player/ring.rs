//! The ring buffer between the session thread and the device callback: single-producer
//! single-consumer, lock-free, of `f32` samples stored as atomic bits (so no `unsafe`).

use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

/// A single-producer single-consumer ring of `f32` samples, lock-free (the samples are stored as
/// atomic bits, so no `unsafe`). `write` and `read` count samples since the start and only grow.
pub(super) struct Ring {
    slots: Box<[AtomicU32]>,
    mask: usize,
    write: AtomicUsize,
    read: AtomicUsize,
}

impl Ring {
    pub(super) fn new(min_samples: usize) -> Ring {
        let cap = min_samples.max(1024).next_power_of_two();
        Ring {
            slots: (0..cap).map(|_| AtomicU32::new(0)).collect(),
            mask: cap - 1,
            write: AtomicUsize::new(0),
            read: AtomicUsize::new(0),
        }
    }

    pub(super) fn capacity(&self) -> usize {
        self.slots.len()
    }

    pub(super) fn write_idx(&self) -> usize {
        self.write.load(Ordering::Acquire)
    }

    pub(super) fn read_idx(&self) -> usize {
        self.read.load(Ordering::Acquire)
    }

    pub(super) fn len(&self) -> usize {
        self.write_idx() - self.read_idx()
    }

    /// Producer: append as many whole `unit`s of `data` as fit; returns the samples written.
    pub(super) fn push(&self, data: &[f32], unit: usize) -> usize {
        let w = self.write.load(Ordering::Relaxed);
        let free = self.capacity() - (w - self.read.load(Ordering::Acquire));
        let n = data.len().min(free) / unit * unit;
        for (i, v) in data[..n].iter().enumerate() {
            self.slots[(w + i) & self.mask].store(v.to_bits(), Ordering::Relaxed);
        }
        self.write.store(w + n, Ordering::Release);
        n
    }

    /// Consumer: the sample at `idx` (with `read <= idx < write`).
    pub(super) fn get(&self, idx: usize) -> f32 {
        f32::from_bits(self.slots[idx & self.mask].load(Ordering::Relaxed))
    }

    /// Consumer: everything before `idx` has been taken (or dropped).
    pub(super) fn set_read(&self, idx: usize) {
        self.read.store(idx, Ordering::Release);
    }
}
