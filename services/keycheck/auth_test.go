package keycheck

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"apiproxy.local/services/internal/resp"
)

var emptyBodySHA256 = hex.EncodeToString(func() []byte { s := sha256.Sum256(nil); return s[:] }())

// testSign computes X-Apiproxy-Signature independently of the code under test.
func testSign(secret, method, uri, timestamp, nonce, content string) string {
	m := hmac.New(sha256.New, []byte(secret))
	io.WriteString(m, "APIPROXY-HMAC-SHA256\n"+method+"\n"+uri+"\n"+timestamp+"\n"+nonce+"\n"+content)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func newNonce() string {
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b) // 24 characters of [A-Za-z0-9_-]
}

// signed is the subrequest nginx sends for a signed client request.
type signed struct {
	method, uri, keyID, secret, timestamp, nonce, content string
}

func newSigned(keyID, secret string, at time.Time) signed {
	return signed{method: "POST", uri: "/v1/orders", keyID: keyID, secret: secret, timestamp: strconv.FormatInt(at.Unix(), 10), nonce: newNonce(), content: emptyBodySHA256}
}

func (s signed) header() http.Header {
	h := http.Header{}
	h.Set("X-Original-Method", s.method)
	h.Set("X-Original-URI", s.uri)
	h.Set("X-Request-Id", "req-"+s.nonce)
	h.Set(SignatureKeyIDHeader, s.keyID)
	h.Set(SignatureTimestampHeader, s.timestamp)
	h.Set(SignatureNonceHeader, s.nonce)
	h.Set(SignatureContentHeader, s.content)
	h.Set(SignatureHeader, testSign(s.secret, s.method, s.uri, s.timestamp, s.nonce, s.content))
	return h
}

type authFixture struct {
	redis *resp.Client
	clock *fakeClock
	svc   *Service
	h     http.Handler
	logs  *bytes.Buffer
}

func newAuthFixture(t *testing.T) *authFixture {
	t.Helper()
	redis := resp.New(startRedis(t), "", 4, time.Second)
	t.Cleanup(redis.Close)
	clock := &fakeClock{now: testNow}
	logs := &bytes.Buffer{}
	svc := &Service{Redis: redis, Pepper: pepper, Limiter: newLimiter(t, redis, 1, 2, clock), Log: slog.New(slog.NewJSONHandler(logs, nil)), Now: clock.Now}
	svc.SetPolicy(testPolicy(t))
	return &authFixture{redis: redis, clock: clock, svc: svc, h: svc.Handler(), logs: logs}
}

func (f *authFixture) auth(t *testing.T, route string, h http.Header) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest("GET", "/auth/"+route, nil)
	for k, v := range h {
		req.Header[http.CanonicalHeaderKey(k)] = v
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	return rec
}

func (f *authFixture) nonceStored(t *testing.T, keyID, nonce string) bool {
	t.Helper()
	n, err := f.redis.Do("EXISTS", NoncePrefix+keyID+":"+nonce)
	if err != nil {
		t.Fatal(err)
	}
	return n.(int64) == 1
}

func TestSignatures(t *testing.T) {
	f := newAuthFixture(t)
	a := func() signed { return newSigned("partner-a-2026-11", secretA, testNow) }
	for _, c := range []struct {
		name   string
		req    func() http.Header
		status int
		reason string
	}{
		{"accepted", func() http.Header { return a().header() }, 204, ""},
		{"URI with a query string, signed exactly as sent", func() http.Header {
			s := a()
			s.uri = "/v1/orders/42?b=2&a=%20x&a=1&empty="
			s.method = "PUT"
			s.content = strings.Repeat("0a", 32)
			return s.header()
		}, 204, ""},
		{"key of the retiring generation during the overlap", func() http.Header { return newSigned("partner-a-2026-10", secretAOld, testNow).header() }, 204, ""},
		{"timestamp = now - maxSkew", func() http.Header {
			return newSigned("partner-a-2026-11", secretA, testNow.Add(-300*time.Second)).header()
		}, 204, ""},
		{"timestamp = now + maxSkew", func() http.Header {
			return newSigned("partner-a-2026-11", secretA, testNow.Add(300*time.Second)).header()
		}, 204, ""},
		{"timestamp with leading zeros (signed as sent)", func() http.Header {
			s := a()
			s.timestamp = "00" + s.timestamp
			return s.header()
		}, 204, ""},

		// signature-missing: each header absent.
		{"no key id", func() http.Header { h := a().header(); h.Del(SignatureKeyIDHeader); return h }, 401, ReasonSignatureMissing},
		{"no timestamp", func() http.Header { h := a().header(); h.Del(SignatureTimestampHeader); return h }, 401, ReasonSignatureMissing},
		{"no nonce", func() http.Header { h := a().header(); h.Del(SignatureNonceHeader); return h }, 401, ReasonSignatureMissing},
		{"no content digest", func() http.Header { h := a().header(); h.Del(SignatureContentHeader); return h }, 401, ReasonSignatureMissing},
		{"no signature", func() http.Header { h := a().header(); h.Del(SignatureHeader); return h }, 401, ReasonSignatureMissing},
		{"empty signature (nginx sends no empty header, but)", func() http.Header { h := a().header(); h.Set(SignatureHeader, ""); return h }, 401, ReasonSignatureMissing},

		// signature-malformed
		{"timestamp with a sign", func() http.Header { s := a(); s.timestamp = "+" + s.timestamp; return s.header() }, 401, ReasonSignatureMalformed},
		{"timestamp negative", func() http.Header { s := a(); s.timestamp = "-5"; return s.header() }, 401, ReasonSignatureMalformed},
		{"timestamp with a fraction", func() http.Header { s := a(); s.timestamp += ".5"; return s.header() }, 401, ReasonSignatureMalformed},
		{"timestamp in milliseconds-and-more digits", func() http.Header { s := a(); s.timestamp += "0000"; return s.header() }, 401, ReasonSignatureMalformed},
		{"nonce of 15 characters", func() http.Header { s := a(); s.nonce = s.nonce[:15]; return s.header() }, 401, ReasonSignatureMalformed},
		{"nonce of 65 characters", func() http.Header { s := a(); s.nonce = strings.Repeat("n", 65); return s.header() }, 401, ReasonSignatureMalformed},
		{"nonce with a colon", func() http.Header { s := a(); s.nonce = "abcdefgh:ijklmnop"; return s.header() }, 401, ReasonSignatureMalformed},
		{"content digest upper case", func() http.Header { s := a(); s.content = strings.ToUpper(s.content); return s.header() }, 401, ReasonSignatureMalformed},
		{"content digest 63 characters", func() http.Header { s := a(); s.content = s.content[:63]; return s.header() }, 401, ReasonSignatureMalformed},
		{"content digest base64", func() http.Header {
			s := a()
			d := sha256.Sum256(nil)
			s.content = base64.StdEncoding.EncodeToString(d[:])
			return s.header()
		}, 401, ReasonSignatureMalformed},
		{"signature without padding", func() http.Header {
			h := a().header()
			h.Set(SignatureHeader, strings.TrimRight(h.Get(SignatureHeader), "="))
			return h
		}, 401, ReasonSignatureMalformed},
		{"signature in base64url", func() http.Header {
			h := a().header()
			raw, _ := base64.StdEncoding.DecodeString(h.Get(SignatureHeader))
			raw[0], raw[1] = 0xfb, 0xff // makes '+' or '/' appear in the standard form
			h.Set(SignatureHeader, base64.URLEncoding.EncodeToString(raw))
			return h
		}, 401, ReasonSignatureMalformed},
		{"signature in hex", func() http.Header {
			s := a()
			raw, _ := base64.StdEncoding.DecodeString(s.header().Get(SignatureHeader))
			h := s.header()
			h.Set(SignatureHeader, hex.EncodeToString(raw))
			return h
		}, 401, ReasonSignatureMalformed},
		{"key id with a colon", func() http.Header { s := a(); s.keyID = "partner-a:2026"; return s.header() }, 401, ReasonSignatureMalformed},
		{"two signature headers", func() http.Header { h := a().header(); h.Add(SignatureHeader, h.Get(SignatureHeader)); return h }, 401, ReasonSignatureMalformed},

		// unknown-key, key-not-valid-now
		{"unknown key id", func() http.Header { return newSigned("partner-c-2026-11", secretA, testNow).header() }, 401, ReasonUnknownKey},
		{"key before its notBefore", func() http.Header { return newSigned("partner-a-2027", strings.Repeat("z", 40), testNow).header() }, 401, ReasonKeyNotValidNow},

		// stale-timestamp
		{"timestamp = now - maxSkew - 1", func() http.Header {
			return newSigned("partner-a-2026-11", secretA, testNow.Add(-301*time.Second)).header()
		}, 401, ReasonStaleTimestamp},
		{"timestamp = now + maxSkew + 1", func() http.Header {
			return newSigned("partner-a-2026-11", secretA, testNow.Add(301*time.Second)).header()
		}, 401, ReasonStaleTimestamp},
		{"timestamp 0", func() http.Header { s := a(); s.timestamp = "0"; return s.header() }, 401, ReasonStaleTimestamp},

		// bad-signature
		{"another key's secret", func() http.Header { s := a(); s.secret = secretB; return s.header() }, 401, ReasonBadSignature},
		{"method changed", func() http.Header { h := a().header(); h.Set("X-Original-Method", "DELETE"); return h }, 401, ReasonBadSignature},
		{"URI changed", func() http.Header { h := a().header(); h.Set("X-Original-URI", "/v1/orders/other"); return h }, 401, ReasonBadSignature},
		{"query reordered", func() http.Header {
			s := a()
			s.uri = "/v1/orders?a=1&b=2"
			h := s.header()
			h.Set("X-Original-URI", "/v1/orders?b=2&a=1")
			return h
		}, 401, ReasonBadSignature},
		{"URI decoded", func() http.Header {
			s := a()
			s.uri = "/v1/orders/a%2Fb"
			h := s.header()
			h.Set("X-Original-URI", "/v1/orders/a/b")
			return h
		}, 401, ReasonBadSignature},
		{"timestamp changed", func() http.Header {
			h := a().header()
			h.Set(SignatureTimestampHeader, strconv.FormatInt(testNow.Unix()-1, 10))
			return h
		}, 401, ReasonBadSignature},
		{"content digest changed", func() http.Header {
			h := a().header()
			h.Set(SignatureContentHeader, strings.Repeat("1", 64))
			return h
		}, 401, ReasonBadSignature},
		{"nonce changed", func() http.Header { h := a().header(); h.Set(SignatureNonceHeader, newNonce()); return h }, 401, ReasonBadSignature},

		// client-not-allowed: a valid signature of a client the route does not list.
		{"partner-b on partner-a's route", func() http.Header { return newSigned("partner-b-2026-11", secretB, testNow).header() }, 403, ReasonClientNotAllowed},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := c.req()
			rec := f.auth(t, "partner-orders", h)
			if rec.Code != c.status || rec.Header().Get(DeniedHeader) != c.reason {
				t.Fatalf("%d %q, want %d %q", rec.Code, rec.Header().Get(DeniedHeader), c.status, c.reason)
			}
			keyID, nonce := h.Get(SignatureKeyIDHeader), h.Get(SignatureNonceHeader)
			if c.status == 204 {
				if got := rec.Header().Get(ClientHeader); got != "partner-a" {
					t.Fatalf("client %q", got)
				}
				if !f.nonceStored(t, keyID, nonce) {
					t.Fatal("the nonce of an admitted request was not recorded")
				}
				ttl, err := f.redis.Do("PTTL", NoncePrefix+keyID+":"+nonce)
				if err != nil || ttl.(int64) <= 600_000 || ttl.(int64) > 601_000 {
					t.Fatalf("nonce TTL %v %v, want (2*300+1) s", ttl, err)
				}
				return
			}
			if rec.Header().Get(ClientHeader) != "" {
				t.Fatalf("client header on a refusal: %v", rec.Header())
			}
			if keyID != "" && nonce != "" && f.nonceStored(t, keyID, nonce) {
				t.Fatal("a refused request consumed its nonce")
			}
		})
	}
}

func TestSignatureReplay(t *testing.T) {
	f := newAuthFixture(t)
	s := newSigned("partner-a-2026-11", secretA, testNow)
	s.uri = "/v1/orders?page=2"

	// A forged request with the victim's key id and nonce but no valid signature burns nothing.
	forged := s
	forged.secret = strings.Repeat("guess", 8)
	if rec := f.auth(t, "partner-orders", forged.header()); rec.Code != 401 || rec.Header().Get(DeniedHeader) != ReasonBadSignature {
		t.Fatalf("forged: %d %v", rec.Code, rec.Header())
	}
	if rec := f.auth(t, "partner-orders", s.header()); rec.Code != 204 {
		t.Fatalf("first: %d %v", rec.Code, rec.Header())
	}
	// The identical request again, from any proxy of the tier (the record is in Redis).
	other := f.svc
	otherH := (&Service{Redis: other.Redis, Pepper: other.Pepper, Limiter: other.Limiter, Log: other.Log, Now: other.Now})
	otherH.SetPolicy(other.Policy())
	for name, h := range map[string]http.Handler{"same instance": f.h, "another instance": otherH.Handler()} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/auth/partner-orders", nil)
		req.Header = s.header()
		h.ServeHTTP(rec, req)
		if rec.Code != 401 || rec.Header().Get(DeniedHeader) != ReasonReplayed || rec.Header().Get(ClientHeader) != "" {
			t.Fatalf("replay on %s: %d %v", name, rec.Code, rec.Header())
		}
	}
	// Within the window the record stays; past 2*maxSkew the timestamp is stale anyway.
	f.clock.Advance(299 * time.Second)
	if rec := f.auth(t, "partner-orders", s.header()); rec.Header().Get(DeniedHeader) != ReasonReplayed {
		t.Fatalf("replay 299 s later: %d %v", rec.Code, rec.Header())
	}
	f.clock.Advance(2 * time.Second)
	if rec := f.auth(t, "partner-orders", s.header()); rec.Header().Get(DeniedHeader) != ReasonStaleTimestamp {
		t.Fatalf("replay 301 s later: %d %v", rec.Code, rec.Header())
	}
	// Nonces are per key: the same nonce under the other key of the client is its own.
	f.clock.Advance(-301 * time.Second)
	s2 := s
	s2.keyID, s2.secret = "partner-a-2026-10", secretAOld
	if rec := f.auth(t, "partner-orders", s2.header()); rec.Code != 204 {
		t.Fatalf("same nonce, other key: %d %v", rec.Code, rec.Header())
	}
	// client-not-allowed does not consume the nonce either: the client may use it where allowed.
	b := newSigned("partner-b-2026-11", secretB, testNow)
	if rec := f.auth(t, "partner-orders", b.header()); rec.Code != 403 {
		t.Fatalf("partner-b: %d", rec.Code)
	}
	if rec := f.auth(t, "all-three", withJWTAndKey(t, f, b.header())); rec.Code != 204 || rec.Header().Get(ClientHeader) != "partner-b" {
		t.Fatalf("partner-b's nonce on its route: %d %v", rec.Code, rec.Header())
	}
	logs := f.logs.String()
	for _, secret := range []string{secretA, secretAOld, secretB, s.header().Get(SignatureHeader)} {
		if strings.Contains(logs, secret) {
			t.Fatal("a secret or signature reached the log")
		}
	}
	if !strings.Contains(logs, `"result":"replayed"`) || !strings.Contains(logs, `"key_id":"partner-a-2026-11","client":"partner-a"`) {
		t.Fatalf("log lines:\n%s", logs)
	}
}

func TestSignatureKeyRotation(t *testing.T) {
	f := newAuthFixture(t)
	// partner-a-2026-10's notAfter is 2026-11-21: accepted before, refused from then on; the
	// new key stays accepted until its own notAfter (2026-12-15).
	for _, c := range []struct {
		at               time.Time
		oldWant, newWant string
	}{
		{time.Date(2026, 11, 20, 23, 59, 59, 0, time.UTC), "", ""},
		{time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC), ReasonKeyNotValidNow, ""},
		{time.Date(2026, 12, 14, 23, 59, 59, 0, time.UTC), ReasonKeyNotValidNow, ""},
		{time.Date(2026, 12, 15, 0, 0, 0, 0, time.UTC), ReasonKeyNotValidNow, ReasonKeyNotValidNow},
		{time.Date(2026, 10, 31, 23, 59, 59, 0, time.UTC), "", ReasonKeyNotValidNow},
	} {
		f.clock.mu.Lock()
		f.clock.now = c.at
		f.clock.mu.Unlock()
		if rec := f.auth(t, "partner-orders", newSigned("partner-a-2026-10", secretAOld, c.at).header()); rec.Header().Get(DeniedHeader) != c.oldWant {
			t.Errorf("%s old key: %d %q, want %q", c.at, rec.Code, rec.Header().Get(DeniedHeader), c.oldWant)
		}
		if rec := f.auth(t, "partner-orders", newSigned("partner-a-2026-11", secretA, c.at).header()); rec.Header().Get(DeniedHeader) != c.newWant {
			t.Errorf("%s new key: %d %q, want %q", c.at, rec.Code, rec.Header().Get(DeniedHeader), c.newWant)
		}
	}
}

// withJWTAndKey adds a valid API key (provisioned as team-a) and a valid bearer token to h.
func withJWTAndKey(t *testing.T, f *authFixture, h http.Header) http.Header {
	t.Helper()
	teamA := strings.Repeat("a", 40)
	provisionTeams(t, f.redis, teamA, strings.Repeat("b", 40))
	h.Set(KeyHeader, teamA)
	h.Set("Authorization", "Bearer "+token(hdr("ES256", "es-new"), baseClaims(), es256(testKeys().ecNew)))
	return h
}

func TestAuthJWTRoutes(t *testing.T) {
	f := newAuthFixture(t)
	k := testKeys()
	tok := token(hdr("ES256", "es-new"), baseClaims(), es256(k.ecNew))
	bearer := func(tok string) http.Header {
		return http.Header{"Authorization": {"Bearer " + tok}, "X-Original-Method": {"GET"}, "X-Original-Uri": {"/v1/orders"}, "X-Request-Id": {"r1"}}
	}
	// Admitted: 204 with the subject.
	rec := f.auth(t, "orders-jwt", bearer(tok))
	if rec.Code != 204 || rec.Header().Get(SubjectHeader) != "user-42" || rec.Header().Get(DeniedHeader) != "" || rec.Header().Get("WWW-Authenticate") != "" {
		t.Fatalf("valid token: %d %v", rec.Code, rec.Header())
	}
	// Missing: 401, the reason, a bare Bearer challenge.
	rec = f.auth(t, "orders-jwt", http.Header{})
	if rec.Code != 401 || rec.Header().Get(DeniedHeader) != ReasonTokenMissing || rec.Header().Get("WWW-Authenticate") != "Bearer" || rec.Header().Get(SubjectHeader) != "" {
		t.Fatalf("no token: %d %v", rec.Code, rec.Header())
	}
	// Invalid: 401, the reason, error="invalid_token".
	for tok, reason := range map[string]string{
		token(hdr("none", "es-new"), baseClaims(), noSignature):                       ReasonUnsupportedAlg,
		token(hdr("ES256", "es-new"), with(baseClaims(), "aud", "x"), es256(k.ecNew)): ReasonWrongAudience,
		"abc": ReasonTokenMalformed,
	} {
		rec = f.auth(t, "orders-jwt", bearer(tok))
		if rec.Code != 401 || rec.Header().Get(DeniedHeader) != reason || rec.Header().Get("WWW-Authenticate") != `Bearer error="invalid_token"` || rec.Header().Get(SubjectHeader) != "" {
			t.Fatalf("%s: %d %v", reason, rec.Code, rec.Header())
		}
	}
	// Time moves: the token expires past exp + leeway.
	f.clock.Advance(630 * time.Second)
	if rec := f.auth(t, "orders-jwt", bearer(tok)); rec.Code != 204 {
		t.Fatalf("at exp + leeway: %d %v", rec.Code, rec.Header())
	}
	f.clock.Advance(time.Second)
	if rec := f.auth(t, "orders-jwt", bearer(tok)); rec.Header().Get(DeniedHeader) != ReasonExpired {
		t.Fatalf("past exp + leeway: %d %v", rec.Code, rec.Header())
	}
	if strings.Contains(f.logs.String(), tok) || strings.Contains(f.logs.String(), strings.Split(tok, ".")[2]) {
		t.Fatal("a token reached the log")
	}
	if !strings.Contains(f.logs.String(), `"check":"jwt","issuer":"local","alg":"ES256","kid":"es-new","subject":"user-42","result":"ok"`) {
		t.Fatalf("log:\n%s", f.logs.String())
	}
}

// apiKey: true is /check's logic: 401 missing/unknown, 403 rate-limited, X-Api-Key-Id; then the JWT.
func TestAuthAPIKeyThenJWT(t *testing.T) {
	f := newAuthFixture(t)
	teamA := strings.Repeat("a", 40)
	provisionTeams(t, f.redis, teamA, strings.Repeat("b", 40))
	tok := "Bearer " + token(hdr("EdDSA", "ed"), baseClaims(), eddsa(testKeys().ed))
	req := func(key, authz string) http.Header {
		h := http.Header{"X-Original-Method": {"GET"}, "X-Original-Uri": {"/v1/orders"}}
		if key != "" {
			h.Set(KeyHeader, key)
		}
		if authz != "" {
			h.Set("Authorization", authz)
		}
		return h
	}
	if rec := f.auth(t, "orders-both", req("", tok)); rec.Code != 401 || rec.Header().Get(DeniedHeader) != "" || rec.Header().Get(IDHeader) != "" {
		t.Fatalf("no key: %d %v", rec.Code, rec.Header())
	}
	if rec := f.auth(t, "orders-both", req(strings.Repeat("z", 40), tok)); rec.Code != 401 || rec.Header().Get(IDHeader) != "" {
		t.Fatalf("unknown key: %d %v", rec.Code, rec.Header())
	}
	// A valid key, no token: the JWT check refuses.
	if rec := f.auth(t, "orders-both", req(teamA, "")); rec.Code != 401 || rec.Header().Get(DeniedHeader) != ReasonTokenMissing || rec.Header().Get(IDHeader) != "team-a" {
		t.Fatalf("key, no token: %d %v", rec.Code, rec.Header())
	}
	for i := 0; i < 2; i++ {
		if rec := f.auth(t, "orders-both", req(teamA, tok)); rec.Code != 204 || rec.Header().Get(IDHeader) != "team-a" || rec.Header().Get(SubjectHeader) != "user-42" {
			t.Fatalf("key and token: %d %v", rec.Code, rec.Header())
		}
	}
	// The limiter (1 r/s, burst 2) counted the three recognised requests: the next is limited.
	rec := f.auth(t, "orders-both", req(teamA, tok))
	if rec.Code != 403 || rec.Header().Get(DeniedHeader) != DeniedRateLimited || rec.Header().Get("Retry-After") != "1" || rec.Header().Get(SubjectHeader) != "" {
		t.Fatalf("rate-limited: %d %v", rec.Code, rec.Header())
	}
	f.clock.Advance(time.Second)
	if rec := f.auth(t, "key-only", req(teamA, "")); rec.Code != 204 || rec.Header().Get(IDHeader) != "team-a" {
		t.Fatalf("key-only route: %d %v", rec.Code, rec.Header())
	}
	if strings.Contains(f.logs.String(), teamA) {
		t.Fatal("an API key reached the log")
	}
	// /check is unchanged beside /auth.
	if code, id := check(t, f.h, strings.Repeat("b", 40)); code != 204 || id != "team-b" {
		t.Fatalf("/check: %d %q", code, id)
	}
}

func TestAuthAllThreeInOrder(t *testing.T) {
	f := newAuthFixture(t)
	s := newSigned("partner-a-2026-11", secretA, testNow)
	h := withJWTAndKey(t, f, s.header())
	rec := f.auth(t, "all-three", h)
	if rec.Code != 204 || rec.Header().Get(IDHeader) != "team-a" || rec.Header().Get(ClientHeader) != "partner-a" || rec.Header().Get(SubjectHeader) != "user-42" {
		t.Fatalf("all three: %d %v", rec.Code, rec.Header())
	}
	// Without the API key the signature is not even looked at (its nonce stays unused).
	s2 := newSigned("partner-a-2026-11", secretA, testNow)
	h2 := withJWTAndKey(t, f, s2.header())
	h2.Del(KeyHeader)
	if rec := f.auth(t, "all-three", h2); rec.Code != 401 || rec.Header().Get(DeniedHeader) != "" || f.nonceStored(t, s2.keyID, s2.nonce) {
		t.Fatalf("no key: %d %v", rec.Code, rec.Header())
	}
	// A bad signature stops before the JWT.
	h3 := withJWTAndKey(t, f, newSigned("partner-a-2026-11", secretB, testNow).header())
	if rec := f.auth(t, "all-three", h3); rec.Code != 401 || rec.Header().Get(DeniedHeader) != ReasonBadSignature || rec.Header().Get(SubjectHeader) != "" {
		t.Fatalf("bad signature: %d %v", rec.Code, rec.Header())
	}
	// One log line per check.
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(f.logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		if m["msg"] == "auth" {
			lines = append(lines, m)
		}
	}
	var checks []string
	for _, m := range lines {
		checks = append(checks, m["check"].(string)+"="+m["result"].(string))
	}
	if got := strings.Join(checks, " "); got != "api-key=ok signature=ok jwt=ok api-key=missing api-key=ok signature=bad-signature" {
		t.Fatalf("log checks: %s", got)
	}
	if lines[0]["route"] != "all-three" || lines[0]["uri"] != "/v1/orders" || lines[0]["method"] != "POST" || lines[0]["request_id"] != "req-"+s.nonce {
		t.Fatalf("log line: %v", lines[0])
	}
}

func TestAuthFailsClosed(t *testing.T) {
	var logs bytes.Buffer
	redis := resp.New(filepath.Join(t.TempDir(), "absent.sock"), "", 1, 200*time.Millisecond)
	svc := &Service{Redis: redis, Pepper: pepper, Limiter: newLimiter(t, redis, 1, 1, nil), Log: slog.New(slog.NewJSONHandler(&logs, nil)), Now: func() time.Time { return testNow }}
	h := svc.Handler()
	get := func(path string, hdr http.Header) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", path, nil)
		for k, v := range hdr {
			req.Header[http.CanonicalHeaderKey(k)] = v
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	// No policy: every route 500 "no policy"; the package's Handler has none either.
	for _, handler := range []http.Handler{h, Handler(redis, pepper, svc.Limiter, slog.New(slog.NewJSONHandler(io.Discard, nil)))} {
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, httptest.NewRequest("GET", "/auth/orders-jwt", nil))
		if rec.Code != 500 || !strings.Contains(rec.Body.String(), "no policy") {
			t.Fatalf("no policy: %d %q", rec.Code, rec.Body.String())
		}
	}
	svc.SetPolicy(testPolicy(t))
	for _, path := range []string{"/auth/nope", "/auth/", "/auth/orders-jwt/x", "/auth/ORDERS-JWT"} {
		if rec := get(path, nil); rec.Code != 500 {
			t.Fatalf("%s: %d, want 500", path, rec.Code)
		}
	}
	if !strings.Contains(logs.String(), `"level":"ERROR","msg":"auth","route":"nope"`) || !strings.Contains(logs.String(), `"error":"unknown route"`) {
		t.Fatalf("unknown route log:\n%s", logs.String())
	}
	// Redis down: a verified signature cannot record its nonce -> 500 (never admitted unrecorded).
	s := newSigned("partner-a-2026-11", secretA, testNow)
	if rec := get("/auth/partner-orders", s.header()); rec.Code != 500 || rec.Header().Get(ClientHeader) != "" {
		t.Fatalf("redis down, signature: %d %v", rec.Code, rec.Header())
	}
	// ... but refusals that need no Redis are still answered.
	if rec := get("/auth/partner-orders", newSigned("partner-a-2026-11", secretB, testNow).header()); rec.Code != 401 {
		t.Fatalf("redis down, bad signature: %d", rec.Code)
	}
	// The API key check fails closed as /check does.
	if rec := get("/auth/key-only", http.Header{KeyHeader: {strings.Repeat("a", 40)}}); rec.Code != 500 {
		t.Fatalf("redis down, api key: %d", rec.Code)
	}
	// A signature route without the request line nginx must forward.
	hdr := s.header()
	hdr.Del("X-Original-Uri")
	if rec := get("/auth/partner-orders", hdr); rec.Code != 500 {
		t.Fatalf("no X-Original-URI: %d", rec.Code)
	}
	// Swapping the policy takes effect for the next check.
	p := testPolicy(t)
	delete(p.Routes, "orders-jwt")
	svc.SetPolicy(p)
	if rec := get("/auth/orders-jwt", nil); rec.Code != 500 {
		t.Fatalf("route removed by a new policy: %d", rec.Code)
	}
	if rec := get("/auth/other-jwt", nil); rec.Code != 401 {
		t.Fatalf("route kept by the new policy: %d", rec.Code)
	}
}
