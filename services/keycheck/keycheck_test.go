package keycheck

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"apiproxy.local/services/internal/resp"
)

// startRedis runs a real redis-server on a loopback port for the test.
func startRedis(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatalf("redis-server is needed (scripts/install-deps.sh installs it): %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dir := t.TempDir()
	cmd := exec.Command("redis-server", "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return addr
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("redis did not start")
	return ""
}

var pepper = []byte(strings.Repeat("p", 40))

// provisionTeams stores the keys of team-a and team-b (as digests) in Redis and returns the document.
func provisionTeams(t *testing.T, redis *resp.Client, teamA, teamB string) Keys {
	t.Helper()
	doc, err := ParseKeys(strings.NewReader(fmt.Sprintf(`{"keys":[{"id":"team-a","key":%q},{"id":"team-b","key":%q}]}`, teamA, teamB)))
	if err != nil {
		t.Fatal(err)
	}
	if err := Provision(redis, pepper, doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

func check(t *testing.T, h http.Handler, key string) (int, string) {
	t.Helper()
	rec := checkFull(t, h, key)
	return rec.Code, rec.Header().Get(IDHeader)
}

func TestCheckAgainstRealRedis(t *testing.T) {
	addr := startRedis(t)
	redis := resp.New(addr, "", 4, time.Second)
	defer redis.Close()
	var logs bytes.Buffer
	h := Handler(redis, pepper, newLimiter(t, redis, 100, 50, nil), slog.New(slog.NewJSONHandler(&logs, nil)))
	teamA, teamB := strings.Repeat("a", 40), strings.Repeat("b", 48)
	doc := provisionTeams(t, redis, teamA, teamB)
	if code, id := check(t, h, teamA); code != 204 || id != "team-a" {
		t.Fatalf("known key: %d %q", code, id)
	}
	if code, id := check(t, h, strings.Repeat("z", 40)); code != 401 || id != "" {
		t.Fatalf("unknown key: %d %q", code, id)
	}
	if code, _ := check(t, h, ""); code != 401 {
		t.Fatalf("missing key: %d", code)
	}
	// Stored only as digests: nothing in Redis contains a key.
	all, err := redis.Do("HGETALL", RedisHash)
	if err != nil {
		t.Fatal(err)
	}
	dump := fmt.Sprint(all)
	if strings.Contains(dump, teamA) || strings.Contains(dump, teamB) || !strings.Contains(dump, Digest(pepper, teamA)) {
		t.Fatalf("stored form: %s", dump)
	}
	if strings.Contains(logs.String(), teamA) {
		t.Fatal("a key reached the log")
	}
	// Re-provisioning without team-b revokes it in the same step.
	doc.Keys = doc.Keys[:1]
	if err := Provision(redis, pepper, doc); err != nil {
		t.Fatal(err)
	}
	if code, _ := check(t, h, teamB); code != 401 {
		t.Fatalf("revoked key still accepted: %d", code)
	}
	// Another pepper: the same key does not match (digests are not plain SHA-256).
	other := Handler(redis, []byte(strings.Repeat("q", 40)), newLimiter(t, redis, 100, 50, nil), slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if code, _ := check(t, other, teamA); code != 401 {
		t.Fatalf("another pepper accepted the key: %d", code)
	}
}

func TestRedisDownFailsClosed(t *testing.T) {
	redis := resp.New(filepath.Join(t.TempDir(), "absent.sock"), "", 1, 200*time.Millisecond)
	h := Handler(redis, pepper, newLimiter(t, redis, 100, 50, nil), slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if code, _ := check(t, h, strings.Repeat("a", 40)); code != 500 {
		t.Fatalf("redis down: %d, want 500 (nginx fails closed)", code)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if rec.Code != 503 {
		t.Fatalf("healthz with redis down: %d", rec.Code)
	}
}

func TestParseKeysRefusesBadDocuments(t *testing.T) {
	for doc, want := range map[string]string{
		`{"keys":[{"id":"a b","key":"` + strings.Repeat("x", 40) + `"}]}`:                                                  "keys[0].id",
		`{"keys":[{"id":"a","key":"short"}]}`:                                                                              "keys[0].key",
		`{"keys":[{"id":"a","key":"` + strings.Repeat("x", 40) + `"},{"id":"a","key":"` + strings.Repeat("y", 40) + `"}]}`: "keys[1].id",
		`{"keys":[],"extra":1}`: "unknown field",
	} {
		if _, err := ParseKeys(strings.NewReader(doc)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want an error naming %s", doc, err, want)
		}
	}
}
