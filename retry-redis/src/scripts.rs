//! The Lua scripts: each decision about shared state is one atomic script.
//!
//! Every value read back is checked: a number outside ±10^15, a string of the
//! wrong shape, a key of the wrong type is discarded (the key deleted, as ours
//! to heal), so a corrupt or hostile key reads as "no shared state". Time is
//! Redis's clock (`TIME`), so the replicas' clocks never need to agree.

use std::sync::LazyLock;

use redis::Script;

/// Helpers every script starts with.
const PRELUDE: &str = r#"
local function num(v)
  local n = tonumber(v)
  if n == nil or n ~= n or n < -1e15 or n > 1e15 then return nil end
  return math.floor(n)
end
local function count(v)
  local n = num(v)
  if n == nil or n < 0 then return 0 end
  return n
end
local function get(k)
  local v = redis.pcall('GET', k)
  if type(v) == 'string' then return v end
  if type(v) == 'table' then redis.call('DEL', k) end
  return nil
end
local function incrby(k, n)
  local v = redis.pcall('INCRBY', k, n)
  if type(v) ~= 'number' then redis.call('DEL', k); v = redis.call('INCRBY', k, n) end
  return v
end
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function int(x) return string.format('%d', x) end
"#;

/// The breaker's helpers: the fleet's phase, opening and closing.
/// `P` is the key prefix. The state `P..'state'` is `o:<until ms>:<id>` while
/// the fleet is open (then half-open once `until` has passed), or `c:<id>` for a
/// short while after the fleet's probes closed the opening `id` (its opening
/// time): a replica closes only on a close of the opening it follows, so a
/// deleted or garbled state never closes anyone. A state whose expiry does not
/// fit its value (none at all, or longer than it can be) is no state. Each
/// replica's counters are the hash `P..'r:'..owner`, listed (with their expiry)
/// in the sorted set `P..'rs'`; every replica polling is listed in `P..'m'`.
const BREAKER: &str = r#"
-- 0 no shared state, 1 open (and the ms left), 2 open interval over
-- (half-open), 3 closed by the fleet; and the opening's id.
local function fleet(P, now, open_max)
  local k = P .. 'state'
  local v = get(k)
  if not v then return 0, 0, 0 end
  local ttl = redis.call('PTTL', k)
  local u, id = string.match(v, '^o:(%d+):(%d+)$')
  u, id = num(u), num(id)
  if u and id and ttl > 0 and u - now <= open_max and ttl <= u - now + open_max + 1000 then
    if u > now then return 1, u - now, id end
    return 2, 0, id
  end
  id = num(string.match(v, '^c:(%d+)$'))
  if id and ttl > 0 and ttl <= open_max + 60000 then return 3, 0, id end
  redis.call('DEL', k)
  return 0, 0, 0
end
local function clear_probes(P, probes)
  for s = 1, probes do redis.call('DEL', P .. 'p:' .. s) end
end
-- The live replicas (at most 1000), expired ones dropped.
local function replicas(P, now)
  local rs = P .. 'rs'
  if type(redis.pcall('ZREMRANGEBYSCORE', rs, '-inf', now)) ~= 'number' then redis.call('DEL', rs) end
  return redis.call('ZRANGE', rs, 0, 999)
end
-- Lists this replica as polling; the replicas polling now. An entry that
-- expires later than any replica can set (three polls and a timeout of an
-- hour each) is forged, and dropped.
local function members(P, owner, now, ttl)
  local m = P .. 'm'
  if type(redis.pcall('ZREMRANGEBYSCORE', m, '-inf', now)) ~= 'number' then redis.call('DEL', m) end
  redis.call('ZREMRANGEBYSCORE', m, '(' .. int(now + 14400000), '+inf')
  redis.call('ZADD', m, now + ttl, owner)
  redis.call('PEXPIRE', m, ttl)
  return redis.call('ZCARD', m)
end
local function clear_counts(P, now)
  for _, m in ipairs(replicas(P, now)) do redis.call('DEL', P .. 'r:' .. m) end
  redis.call('DEL', P .. 'rs')
end
-- Opens the fleet for `open_for` doubled once per opening since it last
-- closed, up to `open_max`.
local function open(P, now, open_for, open_max, probes)
  local t = incrby(P .. 'trips', 1)
  local d = open_for
  local i = 1
  while i < t and d < open_max and i < 64 do d = d * 2; i = i + 1 end
  if d > open_max then d = open_max end
  local keep = d + open_max
  redis.call('PEXPIRE', P .. 'trips', keep)
  redis.call('SET', P .. 'state', 'o:' .. int(now + d) .. ':' .. int(now), 'PX', keep)
  redis.call('DEL', P .. 'ok')
  clear_probes(P, probes)
  clear_counts(P, now)
  -- A push may be refused (an ACL user without channels): polling still works.
  redis.pcall('PUBLISH', P .. 'ch', 'o:' .. int(d))
  return d, now
end
local function close(P, probes, id, keep)
  redis.call('DEL', P .. 'ok', P .. 'trips')
  redis.call('SET', P .. 'state', 'c:' .. int(id), 'PX', keep)
  clear_probes(P, probes)
  redis.pcall('PUBLISH', P .. 'ch', 'c')
end
"#;

/// Stores this replica's counters (its breaker's window and failure streak, as
/// they are now) and judges the fleet's: the sums over the live replicas. With
/// nothing to store, reads the fleet's phase (a poll). Returns `{phase, ms left,
/// opening id, replicas polling}`.
///
/// ARGV: prefix, owner, calls, failures, slow, streak, ttl ms, minimum calls,
/// failure rate (ppm), slow rate (ppm), consecutive threshold, open for, open
/// max, probes.
const FLUSH: &str = r#"
local P, owner = ARGV[1], ARGV[2]
local calls, fails, slow, streak = count(ARGV[3]), count(ARGV[4]), count(ARGV[5]), count(ARGV[6])
local ttl, min_calls = count(ARGV[7]), count(ARGV[8])
local rate, srate, consecutive = count(ARGV[9]), count(ARGV[10]), count(ARGV[11])
local open_for, open_max, probes = count(ARGV[12]), count(ARGV[13]), count(ARGV[14])
local now = now_ms()
local me, rs = P .. 'r:' .. owner, P .. 'rs'
redis.call('DEL', me)
local n = members(P, owner, now, ttl)
local phase, left, id = fleet(P, now, open_max)
if phase == 1 or (calls == 0 and streak == 0) then
  redis.pcall('ZREM', rs, owner)
  return {phase, left, id, n}
end
redis.call('HSET', me, 'c', calls, 'f', fails, 's', slow, 't', streak)
redis.call('PEXPIRE', me, ttl)
local live = replicas(P, now)
redis.call('ZADD', rs, now + ttl, owner)
redis.call('PEXPIRE', rs, ttl)
local c, f, s, t = calls, fails, slow, streak
for _, m in ipairs(live) do
  if m ~= owner then
    local v = redis.pcall('HMGET', P .. 'r:' .. m, 'c', 'f', 's', 't')
    if type(v) == 'table' and v.err == nil then
      c = c + count(v[1]); f = f + count(v[2]); s = s + count(v[3]); t = t + count(v[4])
    end
  end
end
if (consecutive > 0 and t >= consecutive)
  or (c >= min_calls and ((rate > 0 and f * 1000000 >= rate * c) or (srate > 0 and s * 1000000 >= srate * c))) then
  local d, opened = open(P, now, open_for, open_max, probes)
  return {1, d, opened, n}
end
return {phase, left, id, n}
"#;

/// A replica's breaker opened on its own evidence: the fleet opens (unless it
/// is open already). Returns `{1, ms left, opening id}`.
///
/// ARGV: prefix, open for, open max, probes.
const OPEN: &str = r#"
local P = ARGV[1]
local open_for, open_max, probes = count(ARGV[2]), count(ARGV[3]), count(ARGV[4])
local now = now_ms()
local phase, left, id = fleet(P, now, open_max)
if phase == 1 then return {1, left, id} end
local d, opened = open(P, now, open_for, open_max, probes)
return {1, d, opened}
"#;

/// A replica's breaker closed on its own probes: so does the fleet.
///
/// ARGV: prefix, probes, open max, closed-state ttl.
const CLOSE: &str = r#"
local P = ARGV[1]
local probes, open_max, keep = count(ARGV[2]), count(ARGV[3]), count(ARGV[4])
local phase, _, id = fleet(P, now_ms(), open_max)
if phase == 1 or phase == 2 then close(P, probes, id, keep) end
return 0
"#;

/// Takes one of the fleet's probe leases. Returns `{slot, 0}`, `{0, 0}` when
/// all are taken, or `{-1, ms left}` when the fleet is still open. A lease key
/// that no replica can have written (no expiry, one longer than a lease, a
/// value that is no owner id, another type) is discarded: it would hold the
/// slot far longer than a lease.
///
/// ARGV: prefix, probes, owner, lease ms, open max.
const ACQUIRE: &str = r#"
local P, owner = ARGV[1], ARGV[3]
local probes, lease_ms, open_max = count(ARGV[2]), count(ARGV[4]), count(ARGV[5])
local phase, left = fleet(P, now_ms(), open_max)
if phase == 1 then return {-1, left} end
for i = 1, probes do
  local k = P .. 'p:' .. i
  if redis.call('SET', k, owner, 'NX', 'PX', lease_ms) then return {i, 0} end
  local v = get(k)
  local ttl = redis.call('PTTL', k)
  if not v or not string.match(v, '^r:%x+$') or ttl == -1 or ttl > lease_ms then
    redis.call('DEL', k)
    if redis.call('SET', k, owner, 'NX', 'PX', lease_ms) then return {i, 0} end
  end
end
return {0, 0}
"#;

/// Gives a probe lease back, counting the probe's success; when
/// `half_open_probes` have succeeded, the fleet closes. Returns 1 if it closed.
///
/// ARGV: prefix, slot, owner, succeeded, probes, lease ms, open max, closed-state ttl.
const RELEASE: &str = r#"
local P, owner = ARGV[1], ARGV[3]
local slot, ok, probes = count(ARGV[2]), count(ARGV[4]), count(ARGV[5])
local lease_ms, open_max, keep = count(ARGV[6]), count(ARGV[7]), count(ARGV[8])
local k = P .. 'p:' .. slot
if get(k) == owner then redis.call('DEL', k) end
if ok ~= 1 then return 0 end
local phase, _, id = fleet(P, now_ms(), open_max)
if phase ~= 2 then return 0 end
local n = incrby(P .. 'ok', 1)
redis.call('PEXPIRE', P .. 'ok', lease_ms * 4)
if n >= probes then close(P, probes, id, keep); return 1 end
return 0
"#;

/// Extends the leases this replica holds while their probes run.
///
/// ARGV: prefix, owner, lease ms, slots…
const RENEW: &str = r#"
local P, owner, lease_ms = ARGV[1], ARGV[2], count(ARGV[3])
for i = 4, #ARGV do
  local k = P .. 'p:' .. ARGV[i]
  if get(k) == owner then redis.call('PEXPIRE', k, lease_ms) end
end
return 0
"#;

/// The fleet's retry budget: adds `put` units to the current slot, then takes
/// up to `want` units if the bucket (reserve + live slots) holds them. Returns
/// the units taken.
///
/// ARGV: prefix, slot ms, slots, reserve units, put, want.
const SYNC: &str = r#"
local P = ARGV[1]
local slot_ms, slots, reserve = count(ARGV[2]), count(ARGV[3]), count(ARGV[4])
local put, want = count(ARGV[5]), count(ARGV[6])
local e = math.floor(now_ms() / slot_ms)
local function add(n)
  local k = P .. 's:' .. int(e)
  incrby(k, n)
  redis.call('PEXPIRE', k, slot_ms * (slots + 1))
end
if put > 0 then add(put) end
if want <= 0 then return 0 end
local balance = reserve
for i = e - slots + 1, e do
  local v = num(get(P .. 's:' .. int(i)))
  if v then balance = balance + v end
end
local take = math.min(want, balance)
if take <= 0 then return 0 end
add(-take)
return take
"#;

fn script(body: &str) -> Script {
    Script::new(&format!("{PRELUDE}{BREAKER}{body}"))
}

pub(crate) static FLUSH_SCRIPT: LazyLock<Script> = LazyLock::new(|| script(FLUSH));
pub(crate) static OPEN_SCRIPT: LazyLock<Script> = LazyLock::new(|| script(OPEN));
pub(crate) static CLOSE_SCRIPT: LazyLock<Script> = LazyLock::new(|| script(CLOSE));
pub(crate) static ACQUIRE_SCRIPT: LazyLock<Script> = LazyLock::new(|| script(ACQUIRE));
pub(crate) static RELEASE_SCRIPT: LazyLock<Script> = LazyLock::new(|| script(RELEASE));
pub(crate) static RENEW_SCRIPT: LazyLock<Script> = LazyLock::new(|| script(RENEW));
pub(crate) static SYNC_SCRIPT: LazyLock<Script> = LazyLock::new(|| script(SYNC));
