package keycheck

import (
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"apiproxy.local/services/internal/resp"
)

// RateKeyPrefix namespaces the limiter's state: one Redis string per key id (the GCRA's
// theoretical arrival time), which expires once the key's bucket is full again.
const RateKeyPrefix = "apiproxy:ratelimit:"

// gcraScript is the generic cell rate algorithm (GCRA, ATM Forum TM 4.0; the algorithm behind
// nginx's limit_req): one atomic step per request, so concurrent checks from every proxy of the
// tier share one budget per key id. KEYS[1] = state key; ARGV = rate (requests/second), burst
// (requests allowed at once beyond the steady one, as nginx's `burst=`), and the time in
// microseconds, or "" for the Redis server's own clock (one clock for the whole tier).
// Reply: {1, 0} admitted, or {0, microseconds until the next request would be admitted}.
// Times are formatted with %.0f: Lua would stringify large numbers with %.14g and lose digits.
const gcraScript = `
local interval = 1000000 / tonumber(ARGV[1])
local tolerance = interval * tonumber(ARGV[2])
local now = tonumber(ARGV[3])
if now == nil then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local tat = now
local stored = redis.call('GET', KEYS[1])
if stored then
  tat = tonumber(stored)
  if tat == nil then return redis.error_reply('ERR ratelimit state is not a number') end
  if tat < now then tat = now end
end
local allowedAt = tat - tolerance
if now < allowedAt then
  return {0, math.ceil(allowedAt - now)}
end
local newTat = tat + interval
redis.call('SET', KEYS[1], string.format('%.0f', newTat), 'PX', math.ceil((newTat - now) / 1000))
return {1, 0}
`

// Limiter enforces the per-API-key rate limit in Redis, keyed by the key id the check resolved.
type Limiter struct {
	redis         *resp.Client
	ratePerSecond int
	burst         int
	scriptSHA     string
	// Clock, when set, replaces the Redis server's clock (tests).
	Clock func() time.Time
}

// Verdict is the limiter's answer for one request.
type Verdict struct {
	Allowed bool
	// RetryAfter is how long until the key may send again (zero when allowed).
	RetryAfter time.Duration
}

// RetryAfterSeconds is RetryAfter as the Retry-After header wants it: whole seconds, rounded up, at least 1.
func (v Verdict) RetryAfterSeconds() int {
	return max(1, int(math.Ceil(v.RetryAfter.Seconds())))
}

// NewLimiter admits ratePerSecond requests per second per key id, plus bursts of up to burst more.
func NewLimiter(redis *resp.Client, ratePerSecond, burst int) (*Limiter, error) {
	if ratePerSecond < 1 {
		return nil, fmt.Errorf("rate per second must be a positive integer, got %d", ratePerSecond)
	}
	if burst < 0 {
		return nil, fmt.Errorf("burst must be an integer >= 0, got %d", burst)
	}
	sum := sha1.Sum([]byte(gcraScript)) // the script's name in Redis (EVALSHA), not a security use
	return &Limiter{redis: redis, ratePerSecond: ratePerSecond, burst: burst, scriptSHA: hex.EncodeToString(sum[:])}, nil
}

// Allow takes one request from keyID's budget, or says how long to wait. Any Redis error is
// returned: the caller fails closed.
func (l *Limiter) Allow(keyID string) (Verdict, error) {
	now := ""
	if l.Clock != nil {
		now = strconv.FormatInt(l.Clock().UnixMicro(), 10)
	}
	args := []string{l.scriptSHA, "1", RateKeyPrefix + keyID, strconv.Itoa(l.ratePerSecond), strconv.Itoa(l.burst), now}
	reply, err := l.redis.Do(append([]string{"EVALSHA"}, args...)...)
	var serverErr resp.ServerError
	if errors.As(err, &serverErr) && strings.HasPrefix(string(serverErr), "NOSCRIPT") {
		// First use, or Redis restarted: EVAL loads the script into the cache for the next EVALSHA.
		args[0] = gcraScript
		reply, err = l.redis.Do(append([]string{"EVAL"}, args...)...)
	}
	if err != nil {
		return Verdict{}, fmt.Errorf("rate limit: %w", err)
	}
	items, ok := reply.([]any)
	if !ok || len(items) != 2 {
		return Verdict{}, fmt.Errorf("rate limit: unexpected reply %v", reply)
	}
	allowed, ok1 := items[0].(int64)
	waitMicros, ok2 := items[1].(int64)
	if !ok1 || !ok2 {
		return Verdict{}, fmt.Errorf("rate limit: unexpected reply %v", reply)
	}
	return Verdict{Allowed: allowed == 1, RetryAfter: time.Duration(waitMicros) * time.Microsecond}, nil
}
