package keycheck

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"apiproxy.local/services/internal/resp"
)

// HMAC request signatures: the client signs the method, the URI exactly as sent, the time, a
// one-time nonce and the body's SHA-256 with a secret shared with the tier. nginx checks the
// body against the signed digest; this service checks the rest. A verified (key id, nonce) is
// recorded tier-wide in Redis for as long as its timestamp could be accepted, so a captured
// request cannot be sent again.

// Request headers of a signed request (components/nginx SIGNATURE_*_HEADER).
const (
	SignatureKeyIDHeader     = "X-Apiproxy-Key-Id"
	SignatureTimestampHeader = "X-Apiproxy-Timestamp"
	SignatureNonceHeader     = "X-Apiproxy-Nonce"
	SignatureContentHeader   = "X-Apiproxy-Content-SHA256"
	SignatureHeader          = "X-Apiproxy-Signature"
	// ClientHeader carries the verified signing client in a successful answer.
	ClientHeader = "X-Apiproxy-Client"
	// SubjectHeader carries the verified JWT subject in a successful answer.
	SubjectHeader = "X-Apiproxy-Subject"
)

// SignatureScheme is the first line of the canonical string.
const SignatureScheme = "APIPROXY-HMAC-SHA256"

// NoncePrefix namespaces the replay records: NoncePrefix + key id + ":" + nonce.
const NoncePrefix = "apiproxy:nonce:"

// Signature refusal reasons (DeniedHeader values; 401 but client-not-allowed, 403).
const (
	ReasonSignatureMissing   = "signature-missing"
	ReasonSignatureMalformed = "signature-malformed"
	ReasonKeyNotValidNow     = "key-not-valid-now"
	ReasonStaleTimestamp     = "stale-timestamp"
	ReasonReplayed           = "replayed"
	ReasonClientNotAllowed   = "client-not-allowed"
)

var (
	timestampPattern = regexp.MustCompile(`^[0-9]{1,12}$`)
	noncePattern     = regexp.MustCompile(`^[A-Za-z0-9_-]{16,64}$`)
	digestPattern    = regexp.MustCompile(`^[0-9a-f]{64}$`)
	// The standard, padded base64 of a 32-byte HMAC-SHA256: 43 characters and one "=".
	signaturePattern = regexp.MustCompile(`^[A-Za-z0-9+/]{43}=$`)
)

// CanonicalRequest is the string a request signature is computed over.
func CanonicalRequest(method, uri, timestamp, nonce, contentSHA256 string) string {
	return SignatureScheme + "\n" + method + "\n" + uri + "\n" + timestamp + "\n" + nonce + "\n" + contentSHA256
}

// Sign is the X-Apiproxy-Signature value for canonical under secret.
func Sign(secret []byte, canonical string) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(canonical))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// signatureFacts is what a verification learned, for the log and the response.
type signatureFacts struct {
	KeyID, Client, Nonce string
}

// signedRequest is the signature headers and the request line nginx forwarded.
type signedRequest struct {
	Method, URI                                       string
	KeyID, Timestamp, Nonce, ContentSHA256, Signature []string
}

func single(values []string) (string, bool) {
	if len(values) != 1 || values[0] == "" {
		return "", false
	}
	return values[0], true
}

// verifySignature checks a signed request for a route accepting clients. It returns the reason
// for a refusal ("" when admitted) and any Redis error (the caller fails closed). The nonce is
// recorded only once the signature verified and the client is allowed on the route.
func verifySignature(redis *resp.Client, policy *Policy, clients map[string]bool, req signedRequest, now time.Time) (signatureFacts, string, error) {
	var facts signatureFacts
	values := [][]string{req.KeyID, req.Timestamp, req.Nonce, req.ContentSHA256, req.Signature}
	for _, v := range values {
		if len(v) == 0 || v[0] == "" {
			return facts, ReasonSignatureMissing, nil
		}
	}
	var fields [5]string
	for i, v := range values {
		s, ok := single(v)
		if !ok {
			return facts, ReasonSignatureMalformed, nil
		}
		fields[i] = s
	}
	keyID, timestamp, nonce, content, signature := fields[0], fields[1], fields[2], fields[3], fields[4]
	if !signatureIDPattern.MatchString(keyID) || !timestampPattern.MatchString(timestamp) || !noncePattern.MatchString(nonce) ||
		!digestPattern.MatchString(content) || !signaturePattern.MatchString(signature) {
		return facts, ReasonSignatureMalformed, nil
	}
	mac, err := base64.StdEncoding.Strict().DecodeString(signature)
	if err != nil || len(mac) != sha256.Size {
		return facts, ReasonSignatureMalformed, nil
	}
	facts.KeyID = keyID
	key := policy.SignatureKeys[keyID]
	if key == nil {
		return facts, ReasonUnknownKey, nil
	}
	facts.Client = key.Client
	if !key.Contains(now) {
		return facts, ReasonKeyNotValidNow, nil
	}
	ts, _ := strconv.ParseInt(timestamp, 10, 64) // at most 12 digits
	if skew := now.Unix() - ts; skew > int64(policy.MaxSkew.Seconds()) || -skew > int64(policy.MaxSkew.Seconds()) {
		return facts, ReasonStaleTimestamp, nil
	}
	expected := hmac.New(sha256.New, key.Secret)
	expected.Write([]byte(CanonicalRequest(req.Method, req.URI, timestamp, nonce, content)))
	if !hmac.Equal(mac, expected.Sum(nil)) {
		return facts, ReasonBadSignature, nil
	}
	facts.Nonce = nonce
	if !clients[key.Client] {
		return facts, ReasonClientNotAllowed, nil
	}
	// Kept for as long as a request with this nonce could pass the timestamp check, plus a second.
	ttl := (2*int64(policy.MaxSkew.Seconds()) + 1) * 1000
	_, err = redis.Do("SET", NoncePrefix+keyID+":"+nonce, "1", "NX", "PX", strconv.FormatInt(ttl, 10))
	switch {
	case errors.Is(err, resp.ErrNil):
		return facts, ReasonReplayed, nil
	case err != nil:
		return facts, "", fmt.Errorf("nonce: %w", err)
	}
	return facts, "", nil
}
