//! What the reliability tests need of this process: its error log, temporary directories, and
//! the skip-or-fail rule for what is missing.

use std::path::PathBuf;
use std::sync::OnceLock;

use crate::common::{servers, Logs};

/// The error lines logged by this process (a global subscriber, installed once, at `ERROR`
/// level so that the sustained load logs nothing when all goes well).
pub(crate) fn error_log() -> &'static Logs {
    static LOGS: OnceLock<Logs> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Logs::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(logs.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::ERROR)
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
        logs
    })
}

/// Prints a "skipped:" line, or panics under `SESSION_TESTS_REQUIRE_SERVERS=1`.
pub(crate) fn skip(reason: &str) {
    if servers::servers_required() {
        panic!("required (SESSION_TESTS_REQUIRE_SERVERS=1): {reason}");
    }
    eprintln!("skipped: {reason}");
}

/// A fresh, empty directory under the system's temporary directory.
pub(crate) fn temp_dir(prefix: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(servers::unique_name(prefix));
    std::fs::create_dir(&dir).unwrap();
    dir
}
