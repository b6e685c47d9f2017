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
local function hincrby(k, f, n)
  local v = redis.pcall('HINCRBY', k, f, n)
  if type(v) ~= 'number' then redis.call('DEL', k); v = redis.call('HINCRBY', k, f, n) end
  return v
end
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function int(x) return string.format('%d', x) end
"#;

/// The breaker's helpers: the fleet's phase, opening and closing.
/// `P` is the key prefix; the open-until time is `P..'state'` = `o:<ms>`.
const BREAKER: &str = r#"
-- 0 closed, 1 open (and the ms left), 2 open interval over (half-open)
local function fleet(P, now, open_max)
  local v = get(P .. 'state')
  if not v then return 0, 0 end
  local u = num(string.match(v, '^o:(%d+)$'))
  if not u or u - now > open_max then redis.call('DEL', P .. 'state'); return 0, 0 end
  if u > now then return 1, u - now end
  return 2, 0
end
local function clear_probes(P, probes)
  for s = 1, probes do redis.call('DEL', P .. 'p:' .. s) end
end
local function open(P, now, open_for, open_max, probes, bucket_ms, buckets)
  local t = incrby(P .. 'trips', 1)
  local d = open_for
  local i = 1
  while i < t and d < open_max and i < 64 do d = d * 2; i = i + 1 end
  if d > open_max then d = open_max end
  local keep = d + open_max
  redis.call('PEXPIRE', P .. 'trips', keep)
  redis.call('SET', P .. 'state', 'o:' .. int(now + d), 'PX', keep)
  redis.call('DEL', P .. 'streak', P .. 'ok')
  clear_probes(P, probes)
  local b = math.floor(now / bucket_ms)
  for s = b - buckets, b do redis.call('DEL', P .. 'w:' .. int(s)) end
  redis.call('PUBLISH', P .. 'ch', 'o:' .. int(d))
  return d
end
local function close(P, probes)
  redis.call('DEL', P .. 'state', P .. 'ok', P .. 'trips', P .. 'streak')
  clear_probes(P, probes)
  redis.call('PUBLISH', P .. 'ch', 'c')
end
"#;

/// Adds a batch of closed-state outcomes and judges the fleet's counters; with
/// no outcomes, reads the fleet's phase (a poll). Returns `{phase, ms left}`.
///
/// ARGV: prefix, calls, failures, slow, trailing failures, had a success,
/// bucket ms, buckets, minimum calls, failure rate (ppm), slow rate (ppm),
/// consecutive threshold, open for, open max, probes.
const FLUSH: &str = r#"
local P = ARGV[1]
local calls, fails, slow = count(ARGV[2]), count(ARGV[3]), count(ARGV[4])
local trailing, had_success = count(ARGV[5]), count(ARGV[6])
local bucket_ms, buckets, min_calls = count(ARGV[7]), count(ARGV[8]), count(ARGV[9])
local rate, srate, consecutive = count(ARGV[10]), count(ARGV[11]), count(ARGV[12])
local open_for, open_max, probes = count(ARGV[13]), count(ARGV[14]), count(ARGV[15])
local now = now_ms()
local phase, left = fleet(P, now, open_max)
if phase ~= 0 then return {phase, left} end
if calls == 0 then return {0, 0} end
local b = math.floor(now / bucket_ms)
local k = P .. 'w:' .. int(b)
hincrby(k, 'c', calls)
if fails > 0 then hincrby(k, 'f', fails) end
if slow > 0 then hincrby(k, 's', slow) end
redis.call('PEXPIRE', k, bucket_ms * (buckets + 1))
if consecutive > 0 then
  local streak = 0
  if had_success == 1 then
    streak = trailing
    if trailing > 0 then
      redis.call('SET', P .. 'streak', trailing, 'PX', bucket_ms * buckets)
    else
      redis.call('DEL', P .. 'streak')
    end
  elseif fails > 0 then
    streak = incrby(P .. 'streak', fails)
    redis.call('PEXPIRE', P .. 'streak', bucket_ms * buckets)
  end
  if streak >= consecutive then
    return {1, open(P, now, open_for, open_max, probes, bucket_ms, buckets)}
  end
end
if rate > 0 or srate > 0 then
  local c, f, s = 0, 0, 0
  for i = b - buckets + 1, b do
    local v = redis.pcall('HMGET', P .. 'w:' .. int(i), 'c', 'f', 's')
    if type(v) == 'table' and v.err == nil then
      c = c + count(v[1]); f = f + count(v[2]); s = s + count(v[3])
    end
  end
  if c >= min_calls and ((rate > 0 and f * 1000000 >= rate * c) or (srate > 0 and s * 1000000 >= srate * c)) then
    return {1, open(P, now, open_for, open_max, probes, bucket_ms, buckets)}
  end
end
return {0, 0}
"#;

/// A replica's breaker opened on its own evidence: the fleet opens (unless it
/// is open already). Returns `{1, ms left}`.
///
/// ARGV: prefix, open for, open max, probes, bucket ms, buckets.
const OPEN: &str = r#"
local P = ARGV[1]
local open_for, open_max, probes = count(ARGV[2]), count(ARGV[3]), count(ARGV[4])
local bucket_ms, buckets = count(ARGV[5]), count(ARGV[6])
local now = now_ms()
local phase, left = fleet(P, now, open_max)
if phase == 1 then return {1, left} end
return {1, open(P, now, open_for, open_max, probes, bucket_ms, buckets)}
"#;

/// A replica's breaker closed on its own probes: so does the fleet.
///
/// ARGV: prefix, probes, open max.
const CLOSE: &str = r#"
local P = ARGV[1]
local probes, open_max = count(ARGV[2]), count(ARGV[3])
local phase = fleet(P, now_ms(), open_max)
if phase ~= 0 then close(P, probes) end
return 0
"#;

/// Takes one of the fleet's probe leases. Returns `{slot, 0}`, `{0, 0}` when
/// all are taken, or `{-1, ms left}` when the fleet is still open.
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
  -- A key without an expiry is no lease of ours: it would block the slot for ever.
  if redis.call('PTTL', k) == -1 then
    redis.call('DEL', k)
    if redis.call('SET', k, owner, 'NX', 'PX', lease_ms) then return {i, 0} end
  end
end
return {0, 0}
"#;

/// Gives a probe lease back, counting the probe's success; when
/// `half_open_probes` have succeeded, the fleet closes. Returns 1 if it closed.
///
/// ARGV: prefix, slot, owner, succeeded, probes, lease ms, open max.
const RELEASE: &str = r#"
local P, owner = ARGV[1], ARGV[3]
local slot, ok, probes = count(ARGV[2]), count(ARGV[4]), count(ARGV[5])
local lease_ms, open_max = count(ARGV[6]), count(ARGV[7])
local k = P .. 'p:' .. slot
if get(k) == owner then redis.call('DEL', k) end
if ok ~= 1 then return 0 end
local phase = fleet(P, now_ms(), open_max)
if phase ~= 2 then return 0 end
local n = incrby(P .. 'ok', 1)
redis.call('PEXPIRE', P .. 'ok', lease_ms * 4)
if n >= probes then close(P, probes); return 1 end
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
