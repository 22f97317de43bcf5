"""Lua scripts of the Redis store: each one call, atomic on the server.

Scores are record times; floors arrive as numbers (or "-inf") and are exclusive. Scripts only
move members around as opaque strings, so record JSON is never re-encoded by Lua. A TTL
argument of "" means "keep forever".
"""

from __future__ import annotations

# KEYS: strikes, crisis, standing, unlocks
# ARGV: strike floor, crisis floor, unlock floor, [strike member, its score, strikes TTL ms]
# The conversation's state, after recording the strike when one is given: standing strikes
# (above both the retention floor and the latest unlock), standing endings, crisis marks.
STATE = """
if ARGV[4] then
  redis.call('ZADD', KEYS[1], ARGV[5], ARGV[4])
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
  if ARGV[6] ~= '' then redis.call('PEXPIRE', KEYS[1], ARGV[6]) end
end
local floor = ARGV[1]
local last = redis.call('ZREVRANGEBYSCORE', KEYS[4], '+inf', '(' .. ARGV[3],
                        'WITHSCORES', 'LIMIT', 0, 1)
if last[2] and tonumber(last[2]) > tonumber(floor) then floor = last[2] end
return {
  redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. floor, '+inf'),
  redis.call('HVALS', KEYS[3]),
  redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. ARGV[2], '+inf'),
}
"""

# KEYS: crisis, the tenant's crisis-turn index
# ARGV: member, score, floor, TTL ms, turn member ('' for a mark the index leaves out)
# The index holds one member per turn, so a turn's marks (one per category) count once.
MARK_CRISIS = """
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
if ARGV[5] ~= '' then redis.call('ZADD', KEYS[2], ARGV[2], ARGV[5]) end
for i = 1, 2 do
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', ARGV[3])
  if ARGV[4] ~= '' then redis.call('PEXPIRE', KEYS[i], ARGV[4]) end
end
"""

# KEYS: endings, standing, index, tenant index, lifted
# ARGV: fingerprint, member, score, floor, TTL ms
# Returns the standing member at the fingerprint, which is the new one unless one stood.
END = """
local current = redis.call('HGET', KEYS[2], ARGV[1])
if current then
  local at = redis.call('ZSCORE', KEYS[1], current)
  if at and tonumber(at) > tonumber(ARGV[4]) then return current end
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
for i = 1, 4 do
  if i ~= 2 then redis.call('ZADD', KEYS[i], ARGV[3], ARGV[2]) end
end
if ARGV[5] ~= '' then
  for i = 1, 4 do redis.call('PEXPIRE', KEYS[i], ARGV[5]) end
  local expired = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', ARGV[4], 'LIMIT', 0, 1000)
  for _, member in ipairs(expired) do redis.call('HDEL', KEYS[5], member) end
  for i = 1, 4 do
    if i ~= 2 then redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', ARGV[4]) end
  end
end
return ARGV[2]
"""

# KEYS: standing, endings, unlocks, lifted
# ARGV: unlock time, unlock JSON, ending floor, unlock floor, unlocks TTL ms
# The unlock is stored as [lifted count, unlock JSON]; returns the count.
UNLOCK = """
local lifted = 0
for _, member in ipairs(redis.call('HVALS', KEYS[1])) do
  local at = redis.call('ZSCORE', KEYS[2], member)
  if at and tonumber(at) > tonumber(ARGV[3]) then
    redis.call('HSET', KEYS[4], member, ARGV[1])
    lifted = lifted + 1
  end
end
redis.call('DEL', KEYS[1])
redis.call('ZADD', KEYS[3], ARGV[1], '[' .. lifted .. ',' .. ARGV[2] .. ']')
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', ARGV[4])
if ARGV[5] ~= '' then redis.call('PEXPIRE', KEYS[3], ARGV[5]) end
return lifted
"""

# KEYS: the conversation's alias key, the alias's key
# ARGV: alias, conversation id, TTL ms, alias key prefix, conversation key prefix
# Keeps aliases one-to-one: the alias's and the conversation's former partners let go.
SET_ALIAS = """
local old_alias = redis.call('GET', KEYS[1])
if old_alias and old_alias ~= ARGV[1] then
  local key = ARGV[4] .. old_alias
  if redis.call('GET', key) == ARGV[2] then redis.call('DEL', key) end
end
local old_conversation = redis.call('GET', KEYS[2])
if old_conversation and old_conversation ~= ARGV[2] then
  local key = ARGV[5] .. old_conversation .. ':alias'
  if redis.call('GET', key) == ARGV[1] then redis.call('DEL', key) end
end
for i, value in ipairs({ARGV[1], ARGV[2]}) do
  if ARGV[3] ~= '' then
    redis.call('SET', KEYS[i], value, 'PX', ARGV[3])
  else
    redis.call('SET', KEYS[i], value)
  end
end
"""

# KEYS: strikes, crisis, endings, unlocks, alias, lifted
# ARGV: strike floor, crisis floor, ending floor, unlock floor
CONVERSATION = """
local endings = redis.call('ZRANGEBYSCORE', KEYS[3], '(' .. ARGV[3], '+inf')
local lifted = {}
for i, member in ipairs(endings) do lifted[i] = redis.call('HGET', KEYS[6], member) end
return {
  redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], '+inf'),
  redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. ARGV[2], '+inf'),
  endings,
  lifted,
  redis.call('ZRANGEBYSCORE', KEYS[4], '(' .. ARGV[4], '+inf'),
  redis.call('GET', KEYS[5]),
}
"""

# KEYS: index, lifted
# ARGV: max score (exclusive bound syntax), min score, limit
ENDINGS = """
local endings = redis.call('ZREVRANGEBYSCORE', KEYS[1], ARGV[1], ARGV[2], 'LIMIT', 0, ARGV[3])
local lifted = {}
for i, member in ipairs(endings) do lifted[i] = redis.call('HGET', KEYS[2], member) end
return {endings, lifted}
"""

# KEYS: the tenant's endings index, its crisis-turn index
# ARGV: interval count n, then n (min, max) score bounds for endings, then n for crisis
ACTIVITY = """
local n = tonumber(ARGV[1])
local endings, crisis = {}, {}
for i = 1, n do
  endings[i] = redis.call('ZCOUNT', KEYS[1], ARGV[2 * i], ARGV[2 * i + 1])
  crisis[i] = redis.call('ZCOUNT', KEYS[2], ARGV[2 * (n + i)], ARGV[2 * (n + i) + 1])
end
return {endings, crisis}
"""

SCRIPTS = {
    "STATE": STATE,
    "MARK_CRISIS": MARK_CRISIS,
    "END": END,
    "UNLOCK": UNLOCK,
    "SET_ALIAS": SET_ALIAS,
    "CONVERSATION": CONVERSATION,
    "ENDINGS": ENDINGS,
    "ACTIVITY": ACTIVITY,
}
