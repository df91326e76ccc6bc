//! The Lua scripts that write session records, each on one key, atomically: create, apply
//! changes, and take a record out for a move to a new id.

use std::sync::LazyLock;

use deadpool_redis::redis;

/// A Lua script and its SHA1 (for `EVALSHA`), computed once by `redis::Script`.
pub(super) struct Lua {
    pub(super) source: &'static str,
    pub(super) sha1: LazyLock<String>,
}

/// The SHA1 by which Redis knows a script.
fn script_sha1(source: &str) -> String {
    redis::Script::new(source).get_hash().to_owned()
}

/// Creates the record only if the key does not exist.
///
/// `KEYS[1]`: the record. `ARGV[1]`: the TTL in ms. `ARGV[2]`: the marker value. `ARGV[3..]`:
/// field, value pairs. Returns 1 when it created the record, 0 when the key was taken.
/// Fields go in chunks of 256 pairs, so `unpack` stays far below Lua's stack limit.
const CREATE_LUA: &str = r"local key = KEYS[1]
if redis.call('EXISTS', key) == 1 then
  return 0
end
redis.call('HSET', key, 'm', ARGV[2])
for i = 3, #ARGV, 512 do
  redis.call('HSET', key, unpack(ARGV, i, math.min(i + 511, #ARGV)))
end
redis.call('PEXPIRE', key, ARGV[1])
return 1
";

/// [`CREATE_LUA`], run by its SHA1.
pub(super) static CREATE: Lua = Lua {
    source: CREATE_LUA,
    sha1: LazyLock::new(|| script_sha1(CREATE_LUA)),
};

/// The Lua that applies [`Changes`] to the existing record `key`: clear, then remove, then set.
///
/// `ARGV[1]`: the TTL in ms (used by the script around it). `ARGV[2]`: `1` to clear every data
/// field. `ARGV[3]`: `n`, the number of removed fields. `ARGV[4..3+n]`: the removed fields. The
/// rest: field, value pairs to set. The marker field is never touched, so a cleared session
/// still exists.
macro_rules! apply_changes_lua {
    () => {
        r"local function hdel(fields, from, to)
  for i = from, to, 512 do
    redis.call('HDEL', key, unpack(fields, i, math.min(i + 511, to)))
  end
end
if ARGV[2] == '1' then
  local data = {}
  for _, field in ipairs(redis.call('HKEYS', key)) do
    if string.sub(field, 1, 2) == 'd:' then
      data[#data + 1] = field
    end
  end
  hdel(data, 1, #data)
end
local removed = tonumber(ARGV[3])
hdel(ARGV, 4, 3 + removed)
for i = 4 + removed, #ARGV, 512 do
  redis.call('HSET', key, unpack(ARGV, i, math.min(i + 511, #ARGV)))
end
"
    };
}

/// Applies [`Changes`] to an existing record, then restarts its TTL.
///
/// `KEYS[1]`: the record; `ARGV` as `apply_changes_lua!` says. Returns 0, and changes nothing,
/// when the key does not exist; else 1.
const APPLY_LUA: &str = concat!(
    r"local key = KEYS[1]
if redis.call('EXISTS', key) == 0 then
  return 0
end
",
    apply_changes_lua!(),
    r"redis.call('PEXPIRE', key, ARGV[1])
return 1
"
);

/// [`APPLY_LUA`], run by its SHA1.
pub(super) static APPLY: Lua = Lua {
    source: APPLY_LUA,
    sha1: LazyLock::new(|| script_sha1(APPLY_LUA)),
};

/// Takes a record out of its key for a move to another (`regenerate`): applies [`Changes`],
/// then returns every field and deletes the key, in one step.
///
/// `KEYS[1]`: the record; `ARGV` as for [`APPLY_LUA`] (the TTL is not used). Returns nil, and
/// changes nothing, when the key does not exist; else the hash's fields and values, flat.
const TAKE_LUA: &str = concat!(
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
);

/// [`TAKE_LUA`], run by its SHA1.
pub(super) static TAKE: Lua = Lua {
    source: TAKE_LUA,
    sha1: LazyLock::new(|| script_sha1(TAKE_LUA)),
};
