//! [`Flags`]: what is pending on one session of a request, in one small value.

/// One thing pending on a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flag {
    /// A mutating call happened since the session was loaded or last saved.
    Modified,
    /// `invalidate()` was called: the client's copy must be removed.
    Invalidated,
    /// The incoming cookie verified with a fallback key: sign it again with the primary one.
    NeedsResign,
    /// Server-side sessions: `regenerate_id()` was called.
    Regenerate,
    /// A rolling refresh is due: save the session although it is unmodified.
    NeedsRefresh,
    /// The crate's own data of the session changed since it was loaded or last saved.
    MetaChanged,
    /// The request was refused because its record was lost: saving it is a conflict.
    Conflicted,
    /// The session's last-seen time is due to be written: save it although it is unmodified.
    LastSeenDue,
    /// The session was tied to a user since it was loaded or last saved.
    UserSet,
    /// Its sealed record holds something under a fallback secret: write it again (as a
    /// cookie signed with a fallback key is signed again) although it is unmodified.
    NeedsReseal,
}

impl Flag {
    fn bit(self) -> u16 {
        1 << self as u8
    }
}

/// The set of [`Flag`]s pending on a session; none by default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Flags(u16);

impl Flags {
    /// Whether `flag` is pending.
    pub(crate) fn has(self, flag: Flag) -> bool {
        self.0 & flag.bit() != 0
    }

    /// Marks `flag` pending, or not.
    pub(crate) fn set(&mut self, flag: Flag, pending: bool) {
        if pending {
            self.0 |= flag.bit();
        } else {
            self.0 &= !flag.bit();
        }
    }

    /// Marks `flags` pending.
    pub(crate) fn raise(&mut self, flags: &[Flag]) {
        for &flag in flags {
            self.set(flag, true);
        }
    }

    /// Marks `flags` done.
    pub(crate) fn clear(&mut self, flags: &[Flag]) {
        for &flag in flags {
            self.set(flag, false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_flag_is_its_own() {
        let mut flags = Flags::default();
        flags.raise(&[Flag::Modified, Flag::Conflicted]);
        assert!(flags.has(Flag::Modified) && flags.has(Flag::Conflicted));
        assert!(!flags.has(Flag::Invalidated));
        flags.clear(&[Flag::Modified]);
        assert!(!flags.has(Flag::Modified) && flags.has(Flag::Conflicted));
    }
}
