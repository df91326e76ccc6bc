//! Metrics through the [`metrics`](https://docs.rs/metrics) facade, with the `metrics`
//! feature: each function records one thing; without the feature each is empty and the
//! [`Timer`] holds nothing, so nothing is measured or paid. Names and labels are tabled in the
//! README ("Operating sessions"); labels never hold an id or a user.

use std::sync::Arc;

/// Whether metrics are compiled in.
pub(crate) const ON: bool = cfg!(feature = "metrics");

/// Times one backend call.
#[derive(Debug)]
pub(crate) struct Timer {
    #[cfg(feature = "metrics")]
    started: std::time::Instant,
}

impl Timer {
    /// Starts timing.
    pub(crate) fn start() -> Self {
        Self {
            #[cfg(feature = "metrics")]
            started: std::time::Instant::now(),
        }
    }

    /// Records the call `operation` of `backend` as done now, with `outcome`:
    /// `session_backend_duration_seconds` and, for loads, `session_loads_total`, else
    /// `session_saves_total`.
    #[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
    pub(crate) fn done(self, backend: &Arc<str>, operation: &'static str, outcome: &'static str) {
        #[cfg(feature = "metrics")]
        {
            let backend = metrics::SharedString::from(Arc::clone(backend));
            metrics::histogram!(
                "session_backend_duration_seconds",
                "backend" => backend.clone(),
                "operation" => operation,
            )
            .record(self.started.elapsed());
            if operation == "load" {
                metrics::counter!("session_loads_total", "backend" => backend, "outcome" => outcome)
                    .increment(1);
            } else {
                metrics::counter!(
                    "session_saves_total",
                    "backend" => backend,
                    "operation" => operation,
                    "outcome" => outcome,
                )
                .increment(1);
            }
        }
    }
}

/// `session_lifecycle_total`: one lifecycle event of kind `kind` of a session of `backend`,
/// and for a refused cookie `session_cookie_rejections_total` by reason.
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn lifecycle(backend: &Arc<str>, kind: &'static str, reason: Option<&'static str>) {
    #[cfg(feature = "metrics")]
    {
        let backend = metrics::SharedString::from(Arc::clone(backend));
        metrics::counter!("session_lifecycle_total", "backend" => backend, "kind" => kind)
            .increment(1);
        if let Some(reason) = reason {
            metrics::counter!("session_cookie_rejections_total", "reason" => reason).increment(1);
        }
    }
}

/// `session_batch_size`: a batched call of `operation` (`load` or `apply`) carried `size`
/// operations.
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn batch(operation: &'static str, size: usize) {
    #[cfg(feature = "metrics")]
    metrics::histogram!("session_batch_size", "operation" => operation).record(size as f64);
}

#[cfg_attr(not(feature = "redis"), allow(dead_code))]
/// `session_cache_total`: the Redis local cache's `hit`, `miss`, `invalidation` or `flush`.
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn cache(event: &'static str) {
    #[cfg(feature = "metrics")]
    metrics::counter!("session_cache_total", "event" => event).increment(1);
}

/// `session_events_dropped_total`: a lifecycle event dropped (its buffer was full).
pub(crate) fn event_dropped() {
    #[cfg(feature = "metrics")]
    metrics::counter!("session_events_dropped_total").increment(1);
}

/// `session_legacy_cookies_total`: another framework's session cookie of `format` was
/// `upgraded`, `refused`, or verified but `unstorable`.
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn legacy_cookie(format: &'static str, outcome: &'static str) {
    #[cfg(feature = "metrics")]
    metrics::counter!("session_legacy_cookies_total", "format" => format, "outcome" => outcome)
        .increment(1);
}
