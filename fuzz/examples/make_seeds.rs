//! Writes the seed corpus, `fuzz/corpus/<target>/`: valid cookies (signed and sealed with the
//! fuzz secret at `SEED_TIME`, with the primary and the former key), headers of several
//! cookies, duplicates, quotes, values moved to another name or codec, and junk.
//!
//! `cargo run --manifest-path fuzz/Cargo.toml --example make_seeds` (again after changing the
//! fuzz secret). Sealed seeds get a fresh nonce each run; everything else is the same.

use std::fs;
use std::path::Path;

use axum_session_store::SessionConfig;
use axum_session_store_fuzz::{instant, CONFIG, OLD_CONFIG, SEED_TIME};
use serde_json::{json, Value};

fn signed(config: &SessionConfig, name: &str, data: &Value) -> String {
    config
        .serializer()
        .serialize_at(name, data, instant(SEED_TIME))
        .expect("serializable")
}

/// A server-side session's id cookie: signed under the id cookies' own key.
fn id_cookie(config: &SessionConfig, name: &str, data: &Value) -> String {
    config
        .id_serializer()
        .serialize_at(name, data, instant(SEED_TIME))
        .expect("serializable")
}

fn sealed(config: &SessionConfig, name: &str, data: &Value) -> String {
    config
        .private_serializer()
        .serialize_at(name, data, instant(SEED_TIME))
        .expect("sealable")
}

fn write(target: &str, seeds: &[(&str, Vec<u8>)]) -> std::io::Result<()> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target);
    fs::create_dir_all(&dir)?;
    for (name, bytes) in seeds {
        fs::write(dir.join(name), bytes)?;
    }
    Ok(())
}

fn bytes(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn main() -> std::io::Result<()> {
    let user = json!({"user": "ada", "visits": 3});
    let flashes = json!({"_flash": [["Saved", "success"], ["plain", null], [1, 2, 3]], "n": 1});
    let unicode = json!({"ü": "日本語 🎉", "esc": "\n\t\"\\;=", "nested": {"a": [1, {"b": null}]}});
    let session = signed(&CONFIG, "session", &user);
    let session_flashes = signed(&CONFIG, "session", &flashes);
    let session_old = signed(&OLD_CONFIG, "session", &user);
    let session_sealed = sealed(&CONFIG, "session", &user);
    let cart = sealed(&CONFIG, "cart", &unicode);
    let cart_old = sealed(&OLD_CONFIG, "cart", &user);
    let cart_signed = signed(&CONFIG, "cart", &user);
    let other = signed(&CONFIG, "other", &unicode);
    let mem = id_cookie(&CONFIG, "mem", &json!({"_sid": "A".repeat(32)}));
    let mem_bad_id = id_cookie(&CONFIG, "mem", &json!({"_sid": "not an id"}));
    let long = "A".repeat(4100);
    let s = |v: &str| v.as_bytes().to_vec();

    // The first byte picks the route: even `/cookies`, odd `/layered`. `\n` starts a header.
    write(
        "cookie_header",
        &[
            ("valid-signed", bytes(&[b"\0session=", session.as_bytes()])),
            (
                "several",
                s(&format!("\0session={session}; cart={cart}; other={other}")),
            ),
            (
                "flashes",
                s(&format!("\0session={session_flashes}; theme=dark")),
            ),
            (
                "duplicate-valid-first",
                s(&format!(
                    "\0session={session}; session=junk; cart={cart}; cart=x"
                )),
            ),
            (
                "duplicate-valid-second",
                s(&format!("\0session=junk; session={session}")),
            ),
            (
                "quoted",
                s(&format!("\0session=\"{session}\"; cart=\"{cart}\"")),
            ),
            (
                "fallback-keys",
                s(&format!("\0session={session_old}; cart={cart_old}")),
            ),
            (
                "wrong-codec-and-name",
                s(&format!(
                    "\0session={session_sealed}; cart={cart_signed}; other={session}"
                )),
            ),
            (
                "two-headers",
                s(&format!("\0a=1; b=2\nsession={session}; cart={cart}")),
            ),
            ("layered", s(&format!("\x01session={session}; mem={mem}"))),
            (
                "layered-bad-id",
                s(&format!("\x01mem={mem_bad_id}; session=x")),
            ),
            (
                "not-utf8",
                bytes(&[b"\0x=\xff\xfe; session=", session.as_bytes(), b"; \xc3(=1"]),
            ),
            (
                "junk-separators",
                s("\0;;; ==; =x; session; session=; \"\"; \t"),
            ),
            ("junk-shape", s("\0session=a|1|b; cart=AAAA; mem=e30|0|x")),
            ("too-long", s(&format!("\0session={long}"))),
            ("empty", s("\0")),
        ],
    )?;

    // `name\nvalue`, checked as of SEED_TIME.
    write(
        "verify",
        &[
            ("signed", s(&format!("session\n{session}"))),
            ("signed-flashes", s(&format!("session\n{session_flashes}"))),
            ("signed-old-key", s(&format!("session\n{session_old}"))),
            ("sealed", s(&format!("session\n{session_sealed}"))),
            ("sealed-unicode", s(&format!("cart\n{cart}"))),
            ("sealed-old-key", s(&format!("cart\n{cart_old}"))),
            ("signed-other-name", s(&format!("cart\n{session}"))),
            ("signed-unicode", s(&format!("other\n{other}"))),
            (
                "junk-shape",
                s("session\neyJhIjoxfQ|1750000000|AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
            ),
            (
                "junk-timestamp",
                s("session\ne30|+17|AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
            ),
            (
                "junk-base64",
                s("session\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
            ),
            ("too-long", s(&format!("session\n{long}"))),
            ("empty", s("\n")),
        ],
    )?;

    // Bytes that `arbitrary` reads as name, data, timestamp, key and changes.
    write(
        "seal_mutate",
        &[
            ("zeros", vec![0; 64]),
            (
                "text",
                s("session\u{0}{\"user\":\"ada\"}\u{1}\u{2}\u{3}mutations"),
            ),
            ("pattern", (0..=255u8).collect()),
            (
                "high",
                (0..128u8)
                    .map(|b| b.wrapping_mul(37).wrapping_add(200))
                    .collect(),
            ),
        ],
    )?;

    // JSON objects as text (anything else is read by `arbitrary`).
    write(
        "roundtrip",
        &[
            ("user", s(&user.to_string())),
            ("flashes", s(&flashes.to_string())),
            ("unicode", s(&unicode.to_string())),
            (
                "numbers",
                s(
                    r#"{"big":18446744073709551615,"neg":-9223372036854775808,"f":0.1,"e":1e300,"tiny":5e-324,"z":-0.0}"#,
                ),
            ),
            ("empty", s("{}")),
            (
                "escapes",
                s(r#"{"\u0000":"\ud83d\ude00","k\"ey":"\u001f\u007f"}"#),
            ),
            ("not-json", (0..200u8).collect()),
        ],
    )?;
    legacy_seeds()?;
    Ok(())
}

/// The legacy targets' seeds: the cookies the real frameworks wrote (`tests/data/
/// legacy_vectors.json`) as raw values (first byte 0; 4 with the layer), and session JSON for
/// the target to sign (1), compressed (3), behind the layer (5, 7).
fn legacy_seeds() -> std::io::Result<()> {
    let vectors: Value = serde_json::from_str(include_str!("../../tests/data/legacy_vectors.json"))
        .expect("the vectors are JSON");
    let sessions = [
        ("user", json!({"user": "ada", "visits": 3})),
        (
            "flashes",
            json!({"_flash": [["Saved", "success"], ["plain", null]], "_flashes": [{" t": ["error", "Oops"]}]}),
        ),
        (
            "tagged",
            json!({"pair": {" t": [1, {" t": [2, 3]}]}, "id": {" u": "12345678123456781234567812345678"}, "raw": {" b": "AGJ5dGVz/w=="}, "odd": {" di": {" t__": 1}}, "_permanent": true}),
        ),
        (
            "reserved",
            json!({"_user": [7, true, "token", 1], "_csrf": "x", "_created": 1, "_session_expiry": 600}),
        ),
    ];
    for format in ["webapp2", "flask", "django"] {
        let mut seeds: Vec<(String, Vec<u8>)> = Vec::new();
        for case in vectors["cases"].as_array().expect("cases") {
            if case["format"] != format {
                continue;
            }
            let value = case["value"].as_str().expect("a value").as_bytes();
            let name: String = case["name"]
                .as_str()
                .expect("a name")
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                .collect();
            seeds.push((format!("raw-{name}"), bytes(&[&[0], value])));
            seeds.push((format!("raw-layered-{name}"), bytes(&[&[4], value])));
        }
        for (name, session) in &sessions {
            let text = session.to_string();
            for (how, label) in [
                (1u8, "signed"),
                (3, "compressed"),
                (5, "layered"),
                (7, "layered-compressed"),
            ] {
                seeds.push((format!("{label}-{name}"), bytes(&[&[how], text.as_bytes()])));
            }
        }
        let seeds: Vec<(&str, Vec<u8>)> =
            seeds.iter().map(|(n, b)| (n.as_str(), b.clone())).collect();
        write(&format!("legacy_{format}"), &seeds)?;
    }
    Ok(())
}
