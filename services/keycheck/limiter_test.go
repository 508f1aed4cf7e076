package keycheck

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"apiproxy.local/services/internal/resp"
)

// fakeClock is a settable clock; the limiter then runs its real script on the real Redis with this time.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newLimiter(t *testing.T, redis *resp.Client, rate, burst int, clock *fakeClock) *Limiter {
	t.Helper()
	l, err := NewLimiter(redis, rate, burst)
	if err != nil {
		t.Fatal(err)
	}
	if clock != nil {
		l.Clock = clock.Now
	}
	return l
}

func allow(t *testing.T, l *Limiter, id string) Verdict {
	t.Helper()
	v, err := l.Allow(id)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// admitted counts the requests admitted in a row until the first refusal (bounded by limit).
func admitted(t *testing.T, l *Limiter, id string, limit int) (int, Verdict) {
	t.Helper()
	for i := 0; i < limit; i++ {
		if v := allow(t, l, id); !v.Allowed {
			return i, v
		}
	}
	t.Fatalf("%s: %d requests admitted, no refusal", id, limit)
	return 0, Verdict{}
}

func rateKeys(t *testing.T, redis *resp.Client) []string {
	t.Helper()
	reply, err := redis.Do("KEYS", RateKeyPrefix+"*")
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, k := range reply.([]any) {
		keys = append(keys, strings.TrimPrefix(k.(string), RateKeyPrefix))
	}
	sort.Strings(keys)
	return keys
}

func TestLimiterGCRA(t *testing.T) {
	redis := resp.New(startRedis(t), "", 4, time.Second)
	defer redis.Close()
	clock := &fakeClock{now: time.Unix(1_800_000_000, 123_456_000)}
	// 2 r/s: one request every 500 ms; burst 3: four at once, as nginx's limit_req burst=3 nodelay.
	l := newLimiter(t, redis, 2, 3, clock)

	n, v := admitted(t, l, "team-a", 100)
	if n != 4 || v.RetryAfter != 500*time.Millisecond || v.RetryAfterSeconds() != 1 {
		t.Fatalf("fresh key: %d admitted, then %+v; want 4, then 500ms", n, v)
	}
	// Refusals do not consume the budget: the wait does not grow while a client hammers.
	for i := 0; i < 5; i++ {
		if v := allow(t, l, "team-a"); v.Allowed || v.RetryAfter != 500*time.Millisecond {
			t.Fatalf("refused request %d changed the state: %+v", i, v)
		}
	}
	clock.Advance(499 * time.Millisecond)
	if v := allow(t, l, "team-a"); v.Allowed || v.RetryAfter != time.Millisecond {
		t.Fatalf("1 ms early: %+v", v)
	}
	clock.Advance(time.Millisecond)
	if n, v := admitted(t, l, "team-a", 100); n != 1 || v.RetryAfter != 500*time.Millisecond {
		t.Fatalf("after one interval: %d admitted, then %+v; want exactly 1", n, v)
	}
	// Another key id has a budget of its own.
	if n, _ := admitted(t, l, "team-b", 100); n != 4 {
		t.Fatalf("team-b: %d admitted, want 4", n)
	}
	// Idle time refills up to the burst, never beyond it.
	clock.Advance(time.Hour)
	if n, _ := admitted(t, l, "team-a", 100); n != 4 {
		t.Fatalf("after an idle hour: %d admitted, want 4", n)
	}
	// State expires once the bucket would be full again: an idle key costs Redis nothing.
	ttl, err := redis.Do("PTTL", RateKeyPrefix+"team-a")
	if err != nil {
		t.Fatal(err)
	}
	if ms := ttl.(int64); ms <= 0 || ms > 2000 {
		t.Fatalf("state TTL %d ms, want (0, 2000]", ms)
	}
	if got := rateKeys(t, redis); fmt.Sprint(got) != "[team-a team-b]" {
		t.Fatalf("state keys %v", got)
	}
}

func TestLimiterBurstZeroAndRounding(t *testing.T) {
	redis := resp.New(startRedis(t), "", 4, time.Second)
	defer redis.Close()
	clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	l := newLimiter(t, redis, 3, 0, clock) // burst 0: one request per 333.3 ms, none at once
	if n, v := admitted(t, l, "k", 10); n != 1 || v.RetryAfter < 333*time.Millisecond || v.RetryAfter > 334*time.Millisecond {
		t.Fatalf("burst 0: %d admitted, then %+v", n, v)
	}
	for wait, want := range map[time.Duration]int{0: 1, time.Microsecond: 1, time.Second: 1, 1001 * time.Millisecond: 2, 59500 * time.Millisecond: 60} {
		if got := (Verdict{RetryAfter: wait}).RetryAfterSeconds(); got != want {
			t.Errorf("RetryAfterSeconds(%v) = %d, want %d (whole seconds, rounded up, >= 1)", wait, got, want)
		}
	}
}

func TestLimiterOnRedisClock(t *testing.T) {
	redis := resp.New(startRedis(t), "", 4, time.Second)
	defer redis.Close()
	l := newLimiter(t, redis, 1, 2, nil)
	// 1 r/s, burst 2: the first three pass, the fourth (well within a second) waits at most 1 s.
	if n, v := admitted(t, l, "team-a", 10); n != 3 || v.RetryAfter <= 0 || v.RetryAfter > time.Second {
		t.Fatalf("Redis clock: %d admitted, then %+v", n, v)
	}
}

func TestLimiterLoadsItsScriptAfterAFlush(t *testing.T) {
	redis := resp.New(startRedis(t), "", 4, time.Second)
	defer redis.Close()
	l := newLimiter(t, redis, 10, 5, nil)
	for _, step := range []string{"first use", "cached", "after SCRIPT FLUSH (a Redis restart)"} {
		if step == "after SCRIPT FLUSH (a Redis restart)" {
			if _, err := redis.Do("SCRIPT", "FLUSH"); err != nil {
				t.Fatal(err)
			}
		}
		if v := allow(t, l, "k"); !v.Allowed {
			t.Fatalf("%s: %+v", step, v)
		}
		exists, err := redis.Do("SCRIPT", "EXISTS", l.scriptSHA)
		if err != nil || fmt.Sprint(exists) != "[1]" {
			t.Fatalf("%s: script not cached for EVALSHA: %v %v", step, exists, err)
		}
	}
}

func TestNewLimiterRefusesBadLimits(t *testing.T) {
	for _, c := range []struct{ rate, burst int }{{0, 5}, {-1, 5}, {10, -1}} {
		if _, err := NewLimiter(nil, c.rate, c.burst); err == nil {
			t.Errorf("rate %d burst %d accepted", c.rate, c.burst)
		}
	}
}

// checkFull is check with the whole response.
func checkFull(t *testing.T, h http.Handler, key string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest("GET", "/check", nil)
	if key != "" {
		req.Header.Set(KeyHeader, key)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestHandlerRateLimitsRecognisedKeysOnly(t *testing.T) {
	redis := resp.New(startRedis(t), "", 4, time.Second)
	defer redis.Close()
	teamA, teamB := strings.Repeat("a", 40), strings.Repeat("b", 40)
	provisionTeams(t, redis, teamA, teamB)
	clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	var logs bytes.Buffer
	h := Handler(redis, pepper, newLimiter(t, redis, 1, 2, clock), slog.New(slog.NewJSONHandler(&logs, nil)))

	// team-a's budget is 3 at once (1 r/s, burst 2); random unknown keys between its requests
	// are refused as before and take nothing from it.
	for i := 0; i < 3; i++ {
		if rec := checkFull(t, h, teamA); rec.Code != 204 || rec.Header().Get(IDHeader) != "team-a" || rec.Header().Get(DeniedHeader) != "" {
			t.Fatalf("team-a request %d within the limit: %d %v", i, rec.Code, rec.Header())
		}
		for j := 0; j < 20; j++ {
			rec := checkFull(t, h, fmt.Sprintf("unknown-%d-%d-%s", i, j, strings.Repeat("x", 32)))
			if rec.Code != 401 || rec.Header().Get(DeniedHeader) != "" || rec.Header().Get("Retry-After") != "" || rec.Header().Get(IDHeader) != "" {
				t.Fatalf("unknown key: %d %v", rec.Code, rec.Header())
			}
		}
		if rec := checkFull(t, h, ""); rec.Code != 401 || rec.Header().Get(DeniedHeader) != "" {
			t.Fatalf("missing key: %d %v", rec.Code, rec.Header())
		}
	}
	// Past the burst: 403 + the reason + Retry-After (nginx answers it as 429), the id for nginx's log.
	rec := checkFull(t, h, teamA)
	if rec.Code != 403 || rec.Header().Get(DeniedHeader) != DeniedRateLimited || rec.Header().Get("Retry-After") != "1" || rec.Header().Get(IDHeader) != "team-a" {
		t.Fatalf("team-a past its burst: %d %v", rec.Code, rec.Header())
	}
	// The limit is per key id: team-b is unaffected.
	if rec := checkFull(t, h, teamB); rec.Code != 204 || rec.Header().Get(IDHeader) != "team-b" {
		t.Fatalf("team-b: %d %v", rec.Code, rec.Header())
	}
	// Unknown and missing keys never touched the limiter: its only state is the two known ids.
	if got := rateKeys(t, redis); fmt.Sprint(got) != "[team-a team-b]" {
		t.Fatalf("limiter state for %v; unknown keys must not reach the limiter", got)
	}
	clock.Advance(time.Second)
	if rec := checkFull(t, h, teamA); rec.Code != 204 {
		t.Fatalf("team-a after Retry-After: %d", rec.Code)
	}
	if !strings.Contains(logs.String(), `"result":"rate-limited","key_id":"team-a"`) || strings.Contains(logs.String(), teamA) {
		t.Fatalf("log must name the limited key id and never the key:\n%s", logs.String())
	}

	// Redis failing at the limiter step fails closed (500), like a failed lookup.
	if _, err := redis.Do("SET", RateKeyPrefix+"team-b", "not-a-time"); err != nil {
		t.Fatal(err)
	}
	if rec := checkFull(t, h, teamB); rec.Code != 500 || rec.Header().Get(IDHeader) != "" {
		t.Fatalf("limiter error: %d %v, want 500 (nginx fails closed)", rec.Code, rec.Header())
	}
}
