//! [`Saver`]: who saves a request's sessions, and the atomic cell that holds it.

use std::sync::atomic::{AtomicU8, Ordering};

/// Who saves a request's sessions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Saver {
    /// No `SessionLayer`: only a returned guard (or `save_sessions`) saves the store.
    Guard = 0,
    /// A `SessionLayer` will save the store after the handler, seeing the response's status.
    LayerPending = 1,
    /// The layer has saved the store (or skipped it): what changes later, a guard saves.
    LayerDone = 2,
}

impl Saver {
    fn from_u8(value: u8) -> Self {
        match value {
            1 => Saver::LayerPending,
            2 => Saver::LayerDone,
            _ => Saver::Guard,
        }
    }
}

/// A [`Saver`] that every handle of the request sees and moves on, atomically.
#[derive(Debug)]
pub(crate) struct SharedSaver(AtomicU8);

impl SharedSaver {
    pub(crate) fn new(saver: Saver) -> Self {
        Self(AtomicU8::new(saver as u8))
    }

    /// Who saves now.
    pub(crate) fn get(&self) -> Saver {
        Saver::from_u8(self.0.load(Ordering::Acquire))
    }

    /// Hands the saving from `from` to `to`; false when it was not `from`'s.
    pub(crate) fn advance(&self, from: Saver, to: Saver) -> bool {
        self.0
            .compare_exchange(from as u8, to as u8, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_saving_moves_on_only_from_where_it_is() {
        let saver = SharedSaver::new(Saver::Guard);
        assert!(!saver.advance(Saver::LayerPending, Saver::LayerDone));
        assert!(saver.advance(Saver::Guard, Saver::LayerPending));
        assert_eq!(saver.get(), Saver::LayerPending);
        assert!(saver.advance(Saver::LayerPending, Saver::LayerDone));
        assert_eq!(saver.get(), Saver::LayerDone);
    }
}
