"""Sessions in the shared Redis: every node sees them, a check costs one round trip.

A session is a hash ``portal:session:<token hash>`` (principal, created, last seen,
and once ended: when and why); each principal has a set ``portal:sessions:<principal>``
of its token hashes, so a lockout or a deactivation ends all of them at once. Times
are the portal clock's, in whole microseconds since 1970, so the verdicts are exactly
those of the database store (``portal.auth.server_sessions``), idle and absolute
limits included; a test's frozen clock moves them too.

Redis cleans itself: a session's hash and its principal's set expire twice the
absolute lifetime after the session began. Before then an ended session answers
``ended`` and an old one ``expired``, as a row would; after it, ``unknown``, which
signs out the same way. The browser's cookie is gone by then anyway: it expires at most
one lifetime after the last request, and a session takes none after its lifetime.

Checking, touching and ending are Lua scripts, each atomic and one round trip. A new
session is written after the request's transaction commits (its sign-in is only real
then, audit record included); ending sessions is immediate: sign-out and a lockout
stand even if the rest of the request fails.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING

from portal.auth.server_sessions import TOUCH_EVERY, new_token, token_hash
from portal.redis_store import PREFIX
from portal.unit_of_work import after_commit

if TYPE_CHECKING:
    from redis import Redis

SESSION = PREFIX + "session:"
PRINCIPAL = PREFIX + "sessions:"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)

# KEYS: the session. ARGV: principal, now, idle, absolute, touch interval (microseconds).
_CHECK = """
local s = redis.call('HMGET', KEYS[1], 'principal', 'created', 'seen', 'ended')
if not s[1] or s[1] ~= ARGV[1] then return 'unknown' end
if s[4] then return 'ended' end
local now = tonumber(ARGV[2])
local verdict = false
if now - tonumber(s[2]) > tonumber(ARGV[4]) then verdict = 'expired'
elseif now - tonumber(s[3]) > tonumber(ARGV[3]) then verdict = 'idle' end
if verdict then
  redis.call('HSET', KEYS[1], 'ended', ARGV[2], 'reason', verdict)
  return verdict
end
if now - tonumber(s[3]) >= tonumber(ARGV[5]) then redis.call('HSET', KEYS[1], 'seen', ARGV[2]) end
return ''
"""

# KEYS: the session. ARGV: now, reason. Never creates a key (it would have no expiry).
_END = """
if redis.call('HEXISTS', KEYS[1], 'principal') == 1 and redis.call('HEXISTS', KEYS[1], 'ended') == 0 then
  redis.call('HSET', KEYS[1], 'ended', ARGV[1], 'reason', ARGV[2])
  return 1
end
return 0
"""

# KEYS: the principal's set. ARGV: the session key prefix, now, reason. The sessions'
# keys are derived from the set's members, so this store wants one Redis (or a
# replicated pair), not a Redis Cluster.
_END_ALL = """
local ended = 0
for _, member in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local key = ARGV[1] .. member
  if redis.call('HEXISTS', key, 'principal') == 1 and redis.call('HEXISTS', key, 'ended') == 0 then
    redis.call('HSET', key, 'ended', ARGV[2], 'reason', ARGV[3])
    ended = ended + 1
  end
end
redis.call('DEL', KEYS[1])
return ended
"""


def micros(instant: datetime | timedelta) -> int:
    """An instant (since 1970) or a duration in whole microseconds: exact in Lua's doubles."""
    return (instant - EPOCH if isinstance(instant, datetime) else instant) // MICROSECOND


class RedisSessions:
    """The session store of several nodes (see the module's docstring)."""

    def __init__(self, redis: Redis, lifetime: timedelta) -> None:
        self.redis = redis
        self.keep = 2 * lifetime + timedelta(minutes=1)  # how long Redis keeps a session
        self._check = redis.register_script(_CHECK)
        self._end = redis.register_script(_END)
        self._end_all = redis.register_script(_END_ALL)

    def start(self, principal: str, now: datetime) -> str:
        token = new_token()
        after_commit(partial(self._open, token_hash(token), principal, now))
        return token

    def _open(self, hashed: str, principal: str, now: datetime) -> None:
        at = micros(now)
        with self.redis.pipeline() as pipe:  # MULTI … EXEC: the session and its index together
            pipe.hset(SESSION + hashed, mapping={"principal": principal, "created": at, "seen": at})
            pipe.pexpire(SESSION + hashed, self.keep)
            pipe.sadd(PRINCIPAL + principal, hashed)
            pipe.pexpire(PRINCIPAL + principal, self.keep)
            pipe.execute()

    def check(
        self, token: str | None, principal: str, now: datetime, idle: timedelta, absolute: timedelta
    ) -> str | None:
        if not token:
            return "unknown"
        args: list[str | int] = [principal, micros(now), micros(idle), micros(absolute), micros(TOUCH_EVERY)]
        verdict = self._check(keys=[SESSION + token_hash(token)], args=args)
        if isinstance(verdict, bytes):  # a client made without decode_responses
            verdict = verdict.decode()
        return str(verdict) or None

    def end(self, token: str | None, now: datetime, reason: str) -> None:
        if token:
            self._end(keys=[SESSION + token_hash(token)], args=[micros(now), reason])

    def end_all(self, principal: str, reason: str, now: datetime) -> int:
        return int(self._end_all(keys=[PRINCIPAL + principal], args=[SESSION, micros(now), reason]))
