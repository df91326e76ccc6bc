//! The cheap half of the CSRF check, made from headers alone before any body is read: a
//! browser says where an unsafe request comes from (`Sec-Fetch-Site`, `Origin`, else
//! `Referer`), and a request from another site is refused whatever token it carries. A request
//! with none of them (an old client, a privacy proxy) is judged by its token alone.

use axum::http::header::{HOST, ORIGIN, REFERER};
use axum::http::{HeaderMap, Uri};

/// Why the headers of a request show it comes from another site.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ForeignOrigin {
    /// `Sec-Fetch-Site: cross-site`.
    CrossSite,
    /// An `Origin` that is neither the request's host nor a trusted origin (`null` included).
    Origin,
    /// No `Origin`, and a `Referer` from another host that is not trusted.
    Referer,
}

/// Whether `headers` show a request from another site than the one it is sent to (the
/// request's `Host`, or `authority` for requests without one, as HTTP/2 sends them), or than
/// the `trusted` origins (`scheme://host[:port]`, compared without regard to case).
pub(crate) fn check(
    headers: &HeaderMap,
    authority: Option<&str>,
    trusted: &[String],
) -> Result<(), ForeignOrigin> {
    let header = |name| headers.get(name).and_then(|value| value.to_str().ok());
    if header("sec-fetch-site").is_some_and(|site| site.eq_ignore_ascii_case("cross-site")) {
        return Err(ForeignOrigin::CrossSite);
    }
    let host = header(HOST.as_str()).or(authority);
    let allowed = |origin: &str| {
        trusted
            .iter()
            .any(|trusted| trusted.eq_ignore_ascii_case(origin))
            || host.is_some_and(|host| {
                authority_of(origin).is_some_and(|a| a.eq_ignore_ascii_case(host))
            })
    };
    if let Some(origin) = headers.get(ORIGIN) {
        // `null` (a sandboxed frame, a redirect across sites) and non-text values are foreign.
        return match origin.to_str() {
            Ok(origin) if allowed(origin) => Ok(()),
            _ => Err(ForeignOrigin::Origin),
        };
    }
    match header(REFERER.as_str()).and_then(origin_of) {
        Some(origin) if !allowed(origin) => Err(ForeignOrigin::Referer),
        _ => Ok(()),
    }
}

/// The `host[:port]` of an origin or URL (`https://example.com:8443/path` gives
/// `example.com:8443`).
fn authority_of(url: &str) -> Option<&str> {
    let (_, rest) = url.split_once("://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some(&rest[..end]).filter(|authority| !authority.is_empty())
}

/// The origin (`scheme://host[:port]`) of a URL.
fn origin_of(url: &str) -> Option<&str> {
    let authority = authority_of(url)?;
    let scheme_end = url.find("://")?;
    Some(&url[..scheme_end + 3 + authority.len()])
}

/// The authority of a request's URI, for requests without a `Host` header.
pub(crate) fn uri_authority(uri: &Uri) -> Option<&str> {
    uri.authority().map(|authority| authority.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(*name, HeaderValue::from_static(value));
        }
        headers
    }

    #[test]
    fn same_host_origins_pass_and_others_are_refused() {
        let trusted = vec!["https://app.example.org".to_owned()];
        let judge = |pairs: &[(&'static str, &'static str)]| check(&headers(pairs), None, &trusted);
        let host = ("host", "shop.example.com");
        assert_eq!(
            judge(&[host, ("origin", "https://shop.example.com")]),
            Ok(())
        );
        assert_eq!(
            judge(&[host, ("origin", "https://SHOP.example.com")]),
            Ok(())
        );
        assert_eq!(
            judge(&[host, ("origin", "https://app.example.org")]),
            Ok(())
        );
        for foreign in [
            "https://evil.example.com",
            "null",
            "https://shop.example.com.evil",
            "garbage",
        ] {
            let origin = Box::leak(foreign.to_owned().into_boxed_str());
            assert_eq!(
                judge(&[host, ("origin", origin)]),
                Err(ForeignOrigin::Origin),
                "{foreign}"
            );
        }
        assert_eq!(
            judge(&[host, ("origin", "https://shop.example.com:8443")]),
            Err(ForeignOrigin::Origin),
            "another port is another origin"
        );
        assert_eq!(
            judge(&[
                host,
                ("sec-fetch-site", "cross-site"),
                ("origin", "https://shop.example.com")
            ]),
            Err(ForeignOrigin::CrossSite)
        );
        assert_eq!(judge(&[host, ("sec-fetch-site", "same-origin")]), Ok(()));
    }

    #[test]
    fn without_origin_the_referer_decides_and_without_either_the_token_does() {
        let judge = |pairs: &[(&'static str, &'static str)]| check(&headers(pairs), None, &[]);
        let host = ("host", "shop.example.com");
        assert_eq!(
            judge(&[host, ("referer", "https://shop.example.com/cart?x=1")]),
            Ok(())
        );
        assert_eq!(
            judge(&[
                host,
                ("referer", "https://evil.example.com/shop.example.com")
            ]),
            Err(ForeignOrigin::Referer)
        );
        assert_eq!(judge(&[host]), Ok(()), "an old client: the token decides");
        assert_eq!(judge(&[]), Ok(()));
    }

    #[test]
    fn an_http2_request_is_judged_by_its_uri_authority() {
        let headers = headers(&[("origin", "https://shop.example.com")]);
        assert_eq!(check(&headers, Some("shop.example.com"), &[]), Ok(()));
        assert_eq!(
            check(&headers, Some("other.example.com"), &[]),
            Err(ForeignOrigin::Origin)
        );
    }
}
