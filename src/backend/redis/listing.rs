//! Listing a Redis backend's records (on one server): `SCAN` over the key prefix, then the
//! time each record has left, in one pipeline per page.

use deadpool_redis::redis::{self, Value as RedisValue};
use time::Duration;

use super::backend::RedisBackend;
use crate::backend::error::BackendError;
use crate::backend::listing::{ListRecords, Listed};
use crate::id::SessionId;

/// In `SCAN` order, from the server's cursor (0 at the start and the end). A key may be listed
/// twice (`SCAN` promises every key present throughout at least once).
impl ListRecords for RedisBackend {
    type Cursor = u64;

    async fn list_page(
        &self,
        cursor: &mut u64,
        limit: usize,
    ) -> Result<(Vec<Listed>, bool), BackendError> {
        let scan = redis::cmd("SCAN")
            .arg(*cursor)
            .arg("MATCH")
            .arg(format!("{}*", glob_escaped(&self.prefix)))
            .arg("COUNT")
            .arg(limit)
            .arg("TYPE")
            .arg("hash")
            .clone();
        let (next, keys): (u64, Vec<String>) = self
            .connection
            .query(&scan, "listing the sessions in Redis")
            .await?;
        *cursor = next;
        let ids: Vec<SessionId> = keys
            .iter()
            .filter_map(|key| SessionId::parse(key.strip_prefix(&self.prefix)?))
            .collect();
        if ids.is_empty() {
            return Ok((Vec::new(), next == 0));
        }
        let mut pipeline = redis::pipe();
        for id in &ids {
            pipeline.cmd("PTTL").arg(self.key(id));
        }
        let ttls = self
            .connection
            .pipeline(pipeline, false, "listing the sessions in Redis")
            .await?;
        let listed = ids
            .into_iter()
            .zip(ttls)
            .filter_map(|(id, ttl)| match ttl {
                // -2: gone since the SCAN; -1: no expiry, which this crate never writes.
                Ok(RedisValue::Int(ms)) if ms > 0 => Some(Listed {
                    id,
                    ttl: Duration::milliseconds(ms),
                }),
                _ => None,
            })
            .collect();
        Ok((listed, next == 0))
    }
}

/// `text` matching itself in a `SCAN` pattern.
fn glob_escaped(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::glob_escaped;

    #[test]
    fn a_prefix_matches_only_itself() {
        assert_eq!(glob_escaped("session:"), "session:");
        assert_eq!(glob_escaped("a*b?[c]\\"), "a\\*b\\?\\[c\\]\\\\");
    }
}
