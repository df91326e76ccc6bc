//! Session metrics at `/metrics`, in Prometheus' text format: the crate records through the
//! `metrics` facade (feature `metrics`), and `metrics-exporter-prometheus` renders them.
//!
//! ```text
//! cargo run --example metrics --features metrics
//! curl -s -c jar -b jar http://localhost:3000/        # "visit 1"
//! curl -s http://localhost:3000/metrics | grep ^session_
//! ```

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use axum_session_store::backend::MemoryBackend;
use axum_session_store::{Session, SessionConfig, SessionError};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

async fn visit(session: Session) -> Result<String, SessionError> {
    let visits: u64 = session.get("visits")?.unwrap_or(0) + 1;
    session.insert("visits", visits)?;
    Ok(format!("visit {visits}\n"))
}

/// The metrics, for Prometheus to scrape (keep it off the public internet).
async fn metrics(State(prometheus): State<PrometheusHandle>) -> String {
    prometheus.render()
}

fn app(config: SessionConfig, prometheus: PrometheusHandle) -> Router {
    let pages = Router::new()
        .route("/", get(visit))
        .layer(config.layer())
        .with_state(config);
    let scrape = Router::new()
        .route("/metrics", get(metrics))
        .with_state(prometheus);
    pages.merge(scrape)
}

fn config(secret: &[u8]) -> Result<SessionConfig, axum_session_store::ConfigError> {
    SessionConfig::builder()
        .secret_key(secret)
        .default_backend(MemoryBackend::new())
        .build()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let prometheus = PrometheusBuilder::new().install_recorder()?;
    let mut secret = [0; 48];
    getrandom::fill(&mut secret)?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("Listening on http://localhost:3000, metrics at /metrics");
    axum::serve(listener, app(config(&secret)?, prometheus)).await?;
    Ok(())
}

/// The curl tour, in process.
#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::header::COOKIE;
    use axum::http::Request;
    use axum_session_store::test_util::CookieJar;
    use tower::ServiceExt;

    async fn get(app: &Router, jar: &mut CookieJar, path: &str) -> String {
        let mut request = Request::get(path).body(Body::empty()).unwrap();
        if let Some(cookie) = jar.header() {
            request.headers_mut().insert(COOKIE, cookie.clone());
        }
        let response = app.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), 200);
        jar.store_response(response.headers());
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        String::from_utf8(body.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn metrics_are_served_in_prometheus_text() {
        let prometheus = PrometheusBuilder::new().install_recorder().unwrap();
        let secret = b"an example secret, at least 32 bytes long";
        let app = app(config(secret).unwrap(), prometheus);
        let mut jar = CookieJar::new();
        for visit in 1..=3 {
            assert_eq!(get(&app, &mut jar, "/").await, format!("visit {visit}\n"));
        }
        let text = get(&app, &mut CookieJar::new(), "/metrics").await;
        for line in [
            r#"session_saves_total{backend="memory",operation="create",outcome="ok"} 1"#,
            r#"session_saves_total{backend="memory",operation="apply",outcome="ok"} 2"#,
            r#"session_loads_total{backend="memory",outcome="found"} 2"#,
            r#"session_lifecycle_total{backend="memory",kind="created"} 1"#,
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in:\n{text}");
        }
        assert!(text.contains("session_backend_duration_seconds"), "{text}");
    }
}
