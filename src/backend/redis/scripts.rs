//! The Lua scripts that write session records atomically: create, apply changes, move to a new
//! id (one script on a single server; reserve, take and fill on a Cluster), and list and revoke
//! the records of one user.
//!
//! Every script that writes a record takes the same first two arguments: `ARGV[1]`, the TTL in
//! milliseconds, and `ARGV[2]`, the prefix of the user index keys, or empty where there is no
//! index (a Cluster). A user index is a sorted set under `{index prefix}{user id}` of the keys
//! of the records that hold the user id under `_user`, each scored by its record's expiry time
//! (Unix milliseconds, by the server's clock); it expires with the last of them.
//!
//! What bounds the index: a record leaves it when it is deleted, moved to a new id or loses its
//! user, in the same script (`ZREM`, O(log n)); a record that expires leaves it at the next
//! write of that user, or the next listing or revocation, which drop every member whose score
//! has passed (`ZREMRANGEBYSCORE`, O(log n) plus one step per id it drops, and each id is
//! dropped once). So the index holds the user's live records, plus those that expired since
//! the user's last write, and listing or revoking costs one step per live record.

use std::sync::OnceLock;

use deadpool_redis::redis;

/// A Lua script and its SHA1 (for `EVALSHA`), computed once by `redis::Script`.
pub(super) struct Lua {
    pub(super) source: &'static str,
    sha1: OnceLock<String>,
}

impl Lua {
    const fn new(source: &'static str) -> Self {
        Self {
            source,
            sha1: OnceLock::new(),
        }
    }

    /// The SHA1 by which Redis knows the script.
    pub(super) fn sha1(&self) -> &str {
        self.sha1
            .get_or_init(|| redis::Script::new(self.source).get_hash().to_owned())
    }
}

/// The Lua function `user_of(key)`: the user id the record `key` holds, or nil.
macro_rules! user_of_lua {
    () => {
        r"local function user_of(record)
  local json = redis.call('HGET', record, 'd:_user')
  if not json then
    return nil
  end
  local ok, user = pcall(cjson.decode, json)
  if ok and type(user) == 'string' then
    return user
  end
  return nil
end
"
    };
}

/// The Lua functions `now_ms()`, the server's time in Unix milliseconds, and
/// `drop_expired(index)`, which takes the keys of expired records out of a user index and
/// returns the time it went by.
macro_rules! index_expiry_lua {
    () => {
        r"local function now_ms()
  local time = redis.call('TIME')
  return tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end
local function drop_expired(index)
  local now = now_ms()
  redis.call('ZREMRANGEBYSCORE', index, '-inf', '(' .. now)
  return now
end
"
    };
}

/// The Lua functions `index_add(user, key, ttl)` and `index_remove(user, key)`, which put a
/// record's key into its user's index (scored by its expiry, dropping the user's expired
/// records) and take it out; with no index prefix, or no user, they do nothing.
macro_rules! user_index_lua {
    () => {
        concat!(
            index_expiry_lua!(),
            r"local index_prefix = ARGV[2]
local function index_add(user, record, ttl)
  if index_prefix == '' or not user then
    return
  end
  local index = index_prefix .. user
  local now = drop_expired(index)
  redis.call('ZADD', index, now + tonumber(ttl), record)
  if redis.call('PTTL', index) < tonumber(ttl) then
    redis.call('PEXPIRE', index, ttl)
  end
end
local function index_remove(user, record)
  if index_prefix ~= '' and user then
    redis.call('ZREM', index_prefix .. user, record)
  end
end
"
        )
    };
}

/// Creates the record only if the key does not exist.
///
/// `KEYS[1]`: the record. `ARGV[1..2]`: the TTL and index prefix. `ARGV[3]`: the marker value.
/// `ARGV[4..]`: field, value pairs. Returns 1 when it created the record, 0 when the key was
/// taken. Fields go in chunks of 256 pairs, so `unpack` stays far below Lua's stack limit.
pub(super) static CREATE: Lua = Lua::new(concat!(
    user_of_lua!(),
    user_index_lua!(),
    r"local key = KEYS[1]
if redis.call('EXISTS', key) == 1 then
  return 0
end
redis.call('HSET', key, 'm', ARGV[3])
for i = 4, #ARGV, 512 do
  redis.call('HSET', key, unpack(ARGV, i, math.min(i + 511, #ARGV)))
end
redis.call('PEXPIRE', key, ARGV[1])
index_add(user_of(key), key, ARGV[1])
return 1
"
));

/// Deletes a record and takes it out of its user's index.
///
/// `KEYS[1]`: the record. `ARGV[1]`: unused (no TTL); `ARGV[2]`: the index prefix. Returns how
/// many keys it deleted (0 or 1).
pub(super) static DELETE: Lua = Lua::new(concat!(
    user_of_lua!(),
    user_index_lua!(),
    r"local key = KEYS[1]
local user = nil
if index_prefix ~= '' then
  user = user_of(key)
end
local deleted = redis.call('DEL', key)
index_remove(user, key)
return deleted
"
));

/// The Lua that applies [`Changes`] to the existing record `key`: clear, then remove, then set.
///
/// `ARGV[3]`: `1` to clear every data field. `ARGV[4]`: `n`, the number of removed fields.
/// `ARGV[5..4+n]`: the removed fields. The rest: field, value pairs to set. The marker field is
/// never touched, so a cleared session still exists.
///
/// [`Changes`]: crate::backend::changes::Changes
macro_rules! apply_changes_lua {
    () => {
        r"local function hdel(fields, from, to)
  for i = from, to, 512 do
    redis.call('HDEL', key, unpack(fields, i, math.min(i + 511, to)))
  end
end
if ARGV[3] == '1' then
  local data = {}
  for _, field in ipairs(redis.call('HKEYS', key)) do
    if string.sub(field, 1, 2) == 'd:' then
      data[#data + 1] = field
    end
  end
  hdel(data, 1, #data)
end
local removed = tonumber(ARGV[4])
hdel(ARGV, 5, 4 + removed)
for i = 5 + removed, #ARGV, 512 do
  redis.call('HSET', key, unpack(ARGV, i, math.min(i + 511, #ARGV)))
end
"
    };
}

/// The Lua function `changes_user()`: whether the changes in `ARGV` (as `apply_changes_lua!`
/// takes them) may change the record's user (they clear the record, or remove or set
/// `_user`), so that the record is read again for it only then.
macro_rules! changes_user_lua {
    () => {
        r"local function changes_user()
  if ARGV[3] == '1' then
    return true
  end
  local removed = tonumber(ARGV[4])
  for i = 5, 4 + removed do
    if ARGV[i] == 'd:_user' then
      return true
    end
  end
  for i = 5 + removed, #ARGV, 2 do
    if ARGV[i] == 'd:_user' then
      return true
    end
  end
  return false
end
"
    };
}

/// The Lua that applies [`Changes`](crate::backend::changes::Changes) to the existing record
/// `key`, then restarts its TTL and moves it between user indexes if its user changed; it
/// returns 0, having changed nothing, when the key does not exist, and goes on after it when
/// it applied them.
macro_rules! apply_lua {
    () => {
        concat!(
            user_of_lua!(),
            user_index_lua!(),
            changes_user_lua!(),
            r"local key = KEYS[1]
if redis.call('EXISTS', key) == 0 then
  return 0
end
local before = user_of(key)
",
            apply_changes_lua!(),
            r"redis.call('PEXPIRE', key, ARGV[1])
local after = before
if changes_user() then
  after = user_of(key)
end
if before ~= after then
  index_remove(before, key)
end
index_add(after, key, ARGV[1])
"
        )
    };
}

/// Applies changes to an existing record (`apply_lua!`).
///
/// `KEYS[1]`: the record; `ARGV` as `apply_changes_lua!` says. Returns 0, and changes nothing,
/// when the key does not exist; else 1.
pub(super) static APPLY: Lua = Lua::new(concat!(apply_lua!(), "return 1\n"));

/// [`APPLY`], then reads the record back in the same step, for the local cache: the reply is
/// what Redis holds after the write, and the read makes the caller's connection (which tracks
/// the keys it reads, but not those it writes itself) track the key again.
///
/// Returns 0, and changes nothing, when the key does not exist; else `{1, the TTL it set in
/// milliseconds, the hash's fields and values, flat}`.
pub(super) static APPLY_AND_READ: Lua = Lua::new(concat!(
    apply_lua!(),
    "return {1, tonumber(ARGV[1]), redis.call('HGETALL', key)}\n"
));

/// Moves a record to a new key on a single server (`regenerate`), in one step: applies the
/// changes, renames the key, restarts the TTL and updates the user index.
///
/// `KEYS[1]`: the record; `KEYS[2]`: its new key; `ARGV` as for [`APPLY`]. Returns 0, and
/// changes nothing, when the record does not exist; 2 when the new key is taken; else 1.
pub(super) static MOVE: Lua = Lua::new(concat!(
    user_of_lua!(),
    user_index_lua!(),
    r"local key = KEYS[1]
if redis.call('EXISTS', key) == 0 then
  return 0
end
if redis.call('EXISTS', KEYS[2]) == 1 then
  return 2
end
local before = user_of(key)
",
    apply_changes_lua!(),
    r"redis.call('RENAME', key, KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[1])
index_remove(before, key)
index_add(user_of(KEYS[2]), KEYS[2], ARGV[1])
return 1
"
));

/// Takes a record out of its key for a move to another on a Cluster, where the two keys live
/// in different slots (after the new key was reserved, and before it is filled): applies the
/// changes, then returns every field and deletes the key, in one step.
///
/// `KEYS[1]`: the record; `ARGV` as for [`APPLY`] (the TTL is not used, and there is no user
/// index). Returns nil, and changes nothing, when the key does not exist; else the hash's
/// fields and values, flat.
pub(super) static TAKE: Lua = Lua::new(concat!(
    r"local key = KEYS[1]
if redis.call('EXISTS', key) == 0 then
  return false
end
",
    apply_changes_lua!(),
    r"local fields = redis.call('HGETALL', key)
redis.call('DEL', key)
return fields
"
));

/// Fills a record reserved by [`CREATE`] (with no fields) with the fields [`TAKE`] took out of
/// another key, on a Cluster: the last step of a move to a new id there.
///
/// `KEYS[1]`: the reserved record; `ARGV[1]`: the TTL; `ARGV[2]`: unused (no user index on a
/// Cluster); `ARGV[3..]`: field, value pairs, the marker among them. Returns 1.
pub(super) static FILL: Lua = Lua::new(
    r"local key = KEYS[1]
for i = 3, #ARGV, 512 do
  redis.call('HSET', key, unpack(ARGV, i, math.min(i + 511, #ARGV)))
end
redis.call('PEXPIRE', key, ARGV[1])
return 1
",
);

/// Lists a user's live records, those that expire last first, dropping from the index the keys
/// that expired or changed user on the way.
///
/// `KEYS[1]`: the user index; `ARGV[1]`: the user id; `ARGV[2]`: the most records to list.
/// Returns, flat, the key, expiry (Unix milliseconds) and metadata JSON (or empty) of each.
pub(super) static LIST_USER: Lua = Lua::new(concat!(
    user_of_lua!(),
    index_expiry_lua!(),
    r"drop_expired(KEYS[1])
local listed = {}
local limit = tonumber(ARGV[2])
local members = redis.call('ZREVRANGE', KEYS[1], 0, -1, 'WITHSCORES')
for i = 1, #members, 2 do
  if #listed >= 3 * limit then
    break
  end
  local record = members[i]
  if user_of(record) == ARGV[1] then
    listed[#listed + 1] = record
    listed[#listed + 1] = members[i + 1]
    listed[#listed + 1] = redis.call('HGET', record, 'd:_meta') or ''
  else
    redis.call('ZREM', KEYS[1], record)
  end
end
return listed
"
));

/// Deletes a user's records but one, in one step.
///
/// `KEYS[1]`: the user index; `ARGV[1]`: the user id; `ARGV[2]`: the key of the record to
/// keep, or empty. Returns how many records it deleted.
pub(super) static REVOKE_USER: Lua = Lua::new(concat!(
    user_of_lua!(),
    index_expiry_lua!(),
    r"drop_expired(KEYS[1])
local deleted = 0
for _, record in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if record ~= ARGV[2] then
    if user_of(record) == ARGV[1] then
      redis.call('DEL', record)
      deleted = deleted + 1
    end
    redis.call('ZREM', KEYS[1], record)
  end
end
return deleted
"
));
