package keycheck

import (
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"apiproxy.local/services/internal/resp"
)

// Service is the key-check service: GET /check (the API key), GET /auth/{route} (the route's
// policy), GET /healthz.
type Service struct {
	Redis   *resp.Client
	Pepper  []byte
	Limiter *Limiter
	Log     *slog.Logger
	// Now is the clock of the signature and token checks; nil is time.Now (tests move it).
	Now func() time.Time

	policy atomic.Pointer[Policy]
}

// SetPolicy replaces the policy atomically: a check runs wholly under the old or the new one.
// nil leaves /auth/{route} failing closed.
func (s *Service) SetPolicy(p *Policy) { s.policy.Store(p) }

// Policy is the policy in force, or nil.
func (s *Service) Policy() *Policy { return s.policy.Load() }

// Handler routes the service's endpoints.
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /check", s.serveCheck)
	mux.HandleFunc("GET /auth/{route...}", s.serveAuth)
	mux.HandleFunc("GET /healthz", s.serveHealth)
	return mux
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func deny(w http.ResponseWriter, status int, reason string) {
	w.Header().Set(DeniedHeader, reason)
	w.WriteHeader(status)
}

// serveAuth applies the route's checks in order (API key, signature, JWT); the first refusal
// answers. nginx's auth_request passes on 2xx (admit), 401 and 403; everything this service
// cannot decide (no policy, an unknown route, Redis failing) is 500, which nginx fails closed.
// One log line per check; never a key, secret, signature or token.
func (s *Service) serveAuth(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("route")
	method, uri := r.Header.Get("X-Original-Method"), r.Header.Get("X-Original-URI")
	// The log gets the path only: a query string can carry secrets (nginx's access log leaves it out too).
	path, _, _ := strings.Cut(uri, "?")
	attrs := []any{"route", truncate(name, 80), "method", method, "uri", path, "request_id", r.Header.Get("X-Request-Id")}
	policy := s.policy.Load()
	if policy == nil {
		s.Log.Error("auth", append(attrs, "result", "error", "error", "no policy (serve --policy-file)")...)
		http.Error(w, "no policy", http.StatusInternalServerError)
		return
	}
	route := policy.Routes[name]
	if route == nil {
		s.Log.Error("auth", append(attrs, "result", "error", "error", "unknown route")...)
		http.Error(w, "unknown route", http.StatusInternalServerError)
		return
	}
	now := s.now()
	attrs = slices.Clip(attrs)

	if route.APIKey && !s.checkAPIKey(w, r, "auth", append(attrs, "check", "api-key")) {
		return
	}

	if route.Clients != nil {
		at := append(attrs, "check", "signature")
		if method == "" || uri == "" {
			// The subrequest must carry the request line the client signed (nginx's contract).
			s.Log.Error("auth", append(at, "result", "error", "error", "X-Original-Method or X-Original-URI missing")...)
			http.Error(w, "request line missing", http.StatusInternalServerError)
			return
		}
		facts, reason, err := verifySignature(s.Redis, policy, route.Clients, signedRequest{
			Method: method, URI: uri,
			KeyID:         r.Header.Values(SignatureKeyIDHeader),
			Timestamp:     r.Header.Values(SignatureTimestampHeader),
			Nonce:         r.Header.Values(SignatureNonceHeader),
			ContentSHA256: r.Header.Values(SignatureContentHeader),
			Signature:     r.Header.Values(SignatureHeader),
		}, now)
		at = append(at, "key_id", facts.KeyID, "client", facts.Client)
		if facts.Nonce != "" {
			at = append(at, "nonce", facts.Nonce)
		}
		switch {
		case err != nil:
			s.Log.Error("auth", append(at, "result", "error", "error", err.Error())...)
			w.WriteHeader(http.StatusInternalServerError)
			return
		case reason == ReasonClientNotAllowed:
			s.Log.Info("auth", append(at, "result", reason)...)
			deny(w, http.StatusForbidden, reason)
			return
		case reason != "":
			s.Log.Info("auth", append(at, "result", reason)...)
			deny(w, http.StatusUnauthorized, reason)
			return
		}
		s.Log.Info("auth", append(at, "result", "ok")...)
		w.Header().Set(ClientHeader, facts.Client)
	}

	if route.JWT != nil {
		facts, reason := verifyJWT(r.Header.Values("Authorization"), route.JWT, now)
		at := append(attrs, "check", "jwt", "issuer", route.JWT.Issuer.Name, "alg", truncate(facts.Alg, 20), "kid", truncate(facts.Kid, 80), "subject", facts.Subject)
		if reason != "" {
			s.Log.Info("auth", append(at, "result", reason)...)
			challenge := JWTChallengeInvalidToken
			if reason == ReasonTokenMissing {
				challenge = JWTChallenge
			}
			w.Header().Set("WWW-Authenticate", challenge)
			deny(w, http.StatusUnauthorized, reason)
			return
		}
		s.Log.Info("auth", append(at, "result", "ok")...)
		w.Header().Set(SubjectHeader, facts.Subject)
	}
	w.WriteHeader(http.StatusNoContent)
}
