// Package keycheck is the API-key check service behind nginx's auth_request (seed: "API keys
// validated by a key service"): GET /check with the key in X-API-Key answers 204 and the key's
// non-secret identity in X-Api-Key-Id, or 401. Keys live in Redis only as HMAC-SHA256 digests
// under a pepper that never leaves the key-service host, so a copy of the Redis data gives
// neither the keys nor a way to test guesses offline.
//
// The per-key rate limit is enforced here, after the key is recognised, keyed by its id (seed:
// rate limiting per API key; OWASP ASVS 11.1.4): nginx's limit_req runs before auth_request
// and cannot see the id, and a zone keyed by the raw header would give every random unknown
// key a fresh bucket. Unknown keys never reach the limiter. A limited key gets 403 with
// X-Apiproxy-Denied: rate-limited and Retry-After, which nginx answers as 429 (auth_request
// passes on only 2xx, 401 and 403; anything else would fail closed as 500).
//
// GET /auth/{route} applies a route's policy (policy.go, loaded from serve --policy-file): the
// API key as /check, an HMAC request signature with replay protection (signature.go) and a
// bearer JWT of a configured issuer (jwt.go), in that order, each required check passing.
package keycheck

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"

	"apiproxy.local/services/internal/resp"
)

// Redis hash holding digest -> key id.
const RedisHash = "apiproxy:apikeys"

// Header names of the nginx contract (components/nginx/constants.ts API_KEY_HEADER, API_KEY_ID_HEADER).
const (
	KeyHeader = "X-API-Key"
	IDHeader  = "X-Api-Key-Id"
	// DeniedHeader says why a recognised key was refused (components/nginx API_KEY_DENIED_HEADER).
	DeniedHeader = "X-Apiproxy-Denied"
	// DeniedRateLimited is DeniedHeader's value for a key over its rate limit.
	DeniedRateLimited = "rate-limited"
)

// Key length bounds: at least 32 characters (about 190 bits as base64), at most what a header should carry.
const (
	MinKeyLength = 32
	MaxKeyLength = 512
)

var idPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// Digest is the stored form of a key.
func Digest(pepper []byte, key string) string {
	mac := hmac.New(sha256.New, pepper)
	mac.Write([]byte(key))
	return hex.EncodeToString(mac.Sum(nil))
}

// Handler serves /check and /healthz; limiter rate-limits the keys it recognises. It has no
// policy: /auth/{route} fails closed (see Service for the per-route checks).
func Handler(redis *resp.Client, pepper []byte, limiter *Limiter, log *slog.Logger) http.Handler {
	return (&Service{Redis: redis, Pepper: pepper, Limiter: limiter, Log: log}).Handler()
}

// checkAPIKey is the API-key check of /check and of the routes that require a key: it answers
// a refusal itself (401 missing/unknown, 403 rate-limited, 500 on a Redis error) and returns
// false, or sets IDHeader and returns true. It logs one line with msg and attrs.
func (s *Service) checkAPIKey(w http.ResponseWriter, r *http.Request, msg string, attrs []any) bool {
	log := s.Log
	key := r.Header.Get(KeyHeader)
	if key == "" || len(key) > MaxKeyLength {
		log.Info(msg, append(attrs, "result", "missing")...)
		w.WriteHeader(http.StatusUnauthorized)
		return false
	}
	reply, err := s.Redis.Do("HGET", RedisHash, Digest(s.Pepper, key))
	switch {
	case errors.Is(err, resp.ErrNil):
		log.Info(msg, append(attrs, "result", "unknown")...)
		w.WriteHeader(http.StatusUnauthorized)
		return false
	case err != nil:
		// nginx fails closed on anything but 2xx/401/403.
		log.Error(msg, append(attrs, "result", "error", "error", err.Error())...)
		w.WriteHeader(http.StatusInternalServerError)
		return false
	}
	id, _ := reply.(string)
	verdict, err := s.Limiter.Allow(id)
	if err != nil {
		log.Error(msg, append(attrs, "result", "error", "key_id", id, "error", err.Error())...)
		w.WriteHeader(http.StatusInternalServerError)
		return false
	}
	// The id goes back on a refusal too: nginx logs which key was limited.
	w.Header().Set(IDHeader, id)
	if !verdict.Allowed {
		log.Info(msg, append(attrs, "result", DeniedRateLimited, "key_id", id, "retry_after_seconds", verdict.RetryAfterSeconds())...)
		w.Header().Set(DeniedHeader, DeniedRateLimited)
		w.Header().Set("Retry-After", strconv.Itoa(verdict.RetryAfterSeconds()))
		w.WriteHeader(http.StatusForbidden)
		return false
	}
	log.Info(msg, append(attrs, "result", "ok", "key_id", id)...)
	return true
}

func (s *Service) serveCheck(w http.ResponseWriter, r *http.Request) {
	attrs := []any{"method", r.Header.Get("X-Original-Method"), "uri", r.Header.Get("X-Original-URI"), "request_id", r.Header.Get("X-Request-Id")}
	if s.checkAPIKey(w, r, "check", attrs) {
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Service) serveHealth(w http.ResponseWriter, _ *http.Request) {
	if _, err := s.Redis.Do("PING"); err != nil {
		http.Error(w, "redis unreachable", http.StatusServiceUnavailable)
		return
	}
	_, _ = io.WriteString(w, "ok\n")
}

// Key is one provisioned API key.
type Key struct {
	ID  string `json:"id"`
	Key string `json:"key"`
}

// Keys is the provisioning document: the complete set of valid keys.
type Keys struct {
	Keys []Key `json:"keys"`
}

// ParseKeys reads and validates a provisioning document; every problem is reported with its index.
func ParseKeys(r io.Reader) (Keys, error) {
	var doc Keys
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return doc, fmt.Errorf("keys document: %w", err)
	}
	var problems []error
	ids := map[string]bool{}
	keys := map[string]bool{}
	for i, k := range doc.Keys {
		if !idPattern.MatchString(k.ID) {
			problems = append(problems, fmt.Errorf("keys[%d].id: must match %s", i, idPattern))
		}
		if len(k.Key) < MinKeyLength || len(k.Key) > MaxKeyLength {
			problems = append(problems, fmt.Errorf("keys[%d].key (id %q): must be %d to %d characters", i, k.ID, MinKeyLength, MaxKeyLength))
		}
		if ids[k.ID] {
			problems = append(problems, fmt.Errorf("keys[%d].id: %q appears twice", i, k.ID))
		}
		if keys[k.Key] {
			problems = append(problems, fmt.Errorf("keys[%d].key (id %q): the same key is given twice", i, k.ID))
		}
		ids[k.ID], keys[k.Key] = true, true
	}
	return doc, errors.Join(problems...)
}

// Provision replaces the stored key set with doc atomically: the new set is built aside and
// renamed over the old one, so a lookup sees either set, never a mixture, and revoked keys
// stop working in the same step.
func Provision(redis *resp.Client, pepper []byte, doc Keys) error {
	staging := RedisHash + ":staging"
	if _, err := redis.Do("DEL", staging); err != nil {
		return err
	}
	if len(doc.Keys) == 0 {
		_, err := redis.Do("DEL", RedisHash)
		return err
	}
	args := []string{"HSET", staging}
	for _, k := range doc.Keys {
		args = append(args, Digest(pepper, k.Key), k.ID)
	}
	if _, err := redis.Do(args...); err != nil {
		return err
	}
	_, err := redis.Do("RENAME", staging, RedisHash)
	return err
}
