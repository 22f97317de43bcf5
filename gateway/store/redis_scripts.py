"""Lua scripts of the Redis store: each one call, atomic on the server, on keys of one slot.

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

# KEYS: crisis
# ARGV: member, score, floor, TTL ms
MARK_CRISIS = """
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
if ARGV[4] ~= '' then redis.call('PEXPIRE', KEYS[1], ARGV[4]) end
"""

# KEYS: index keys of one bucket
# ARGV: member, score, floor, TTL ms
# Lists a record in the audit indexes, after its conversation's script recorded it.
INDEX = """
for i = 1, #KEYS do
  redis.call('ZADD', KEYS[i], ARGV[2], ARGV[1])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', ARGV[3])
  if ARGV[4] ~= '' then redis.call('PEXPIRE', KEYS[i], ARGV[4]) end
end
"""

# KEYS: endings, standing, lifted
# ARGV: fingerprint, member, score, floor, TTL ms
# Returns the standing member at the fingerprint, which is the new one unless one stood.
END = """
local current = redis.call('HGET', KEYS[2], ARGV[1])
if current then
  local at = redis.call('ZSCORE', KEYS[1], current)
  if at and tonumber(at) > tonumber(ARGV[4]) then return current end
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])
if ARGV[5] ~= '' then
  for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], ARGV[5]) end
  local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[4], 'LIMIT', 0, 1000)
  for _, member in ipairs(expired) do redis.call('HDEL', KEYS[3], member) end
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[4])
end
return ARGV[2]
"""

# KEYS: standing, endings, unlocks, lifted
# ARGV: unlock time, unlock JSON, ending floor, unlock floor, unlocks TTL ms, endings TTL ms
# The unlock is stored as [lifted count, unlock JSON]; returns the count. Lift times live as
# long as the endings they lift.
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
if lifted > 0 and ARGV[6] ~= '' then redis.call('PEXPIRE', KEYS[4], ARGV[6]) end
return lifted
"""

# KEYS: a key
# ARGV: a value
# Deletes the key if it holds the value: lets an alias and a conversation let go of their
# former partners (each in its own slot) only while nothing re-pointed them.
DELETE_IF = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
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

SCRIPTS = {
    "STATE": STATE,
    "MARK_CRISIS": MARK_CRISIS,
    "INDEX": INDEX,
    "END": END,
    "UNLOCK": UNLOCK,
    "DELETE_IF": DELETE_IF,
    "CONVERSATION": CONVERSATION,
}
