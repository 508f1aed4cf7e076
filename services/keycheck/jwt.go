package keycheck

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Bearer JWTs (RFC 7519, compact JWS RFC 7515) verified against the policy's issuer keys; the
// keys come from the policy file only: no header member (jku, jwk, x5u, x5c) selects a key,
// only kid within the route's issuer, and the token's alg must be that key's alg.

// MaxTokenBytes bounds a bearer token.
const MaxTokenBytes = 8 << 10

// MaxSubjectLength bounds the sub claim, which goes upstream in JWTSubjectHeader.
const MaxSubjectLength = 256

// JWT refusal reasons (DeniedHeader values on 401).
const (
	ReasonTokenMissing    = "token-missing"
	ReasonTokenMalformed  = "token-malformed"
	ReasonUnsupportedAlg  = "unsupported-alg"
	ReasonUnknownKey      = "unknown-key" // also a signature reason
	ReasonKeyRetired      = "key-retired"
	ReasonBadSignature    = "bad-signature" // also a signature reason
	ReasonExpired         = "expired"
	ReasonNotYetValid     = "not-yet-valid"
	ReasonWrongIssuer     = "wrong-issuer"
	ReasonWrongAudience   = "wrong-audience"
	ReasonLifetimeTooLong = "lifetime-too-long"
)

// WWW-Authenticate on a JWT refusal (RFC 6750 3): without an error code when no token was presented.
const (
	JWTChallenge             = "Bearer"
	JWTChallengeInvalidToken = `Bearer error="invalid_token"`
)

// tokenFacts is what a verification learned, for the log and the response (never the token).
type tokenFacts struct {
	Alg, Kid, Subject, Issuer string
}

// verifyJWT checks the Authorization header values against rule at now. It returns the reason
// for a refusal, or "" when the token is valid for the route.
func verifyJWT(authorization []string, rule *JWTRule, now time.Time) (tokenFacts, string) {
	var facts tokenFacts
	if len(authorization) == 0 || authorization[0] == "" {
		return facts, ReasonTokenMissing
	}
	if len(authorization) > 1 {
		return facts, ReasonTokenMalformed
	}
	scheme, token, _ := strings.Cut(authorization[0], " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return facts, ReasonTokenMissing // another scheme: no bearer token was presented (RFC 6750 3.1)
	}
	token = strings.Trim(token, " ")
	if token == "" || len(token) > MaxTokenBytes {
		return facts, ReasonTokenMalformed
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return facts, ReasonTokenMalformed
	}
	headerJSON, err1 := decodeB64URL(parts[0])
	payloadJSON, err2 := decodeB64URL(parts[1])
	signature, err3 := decodeB64URL(parts[2])
	if err1 != nil || err2 != nil || err3 != nil {
		return facts, ReasonTokenMalformed
	}
	var header map[string]json.RawMessage
	if json.Unmarshal(headerJSON, &header) != nil || header == nil {
		return facts, ReasonTokenMalformed
	}
	if _, ok := header["crit"]; ok {
		// Extensions that must be understood: this verifier understands none (RFC 7515 4.1.11).
		return facts, ReasonTokenMalformed
	}
	if json.Unmarshal(header["alg"], &facts.Alg) != nil {
		return facts, ReasonTokenMalformed
	}
	if raw, ok := header["kid"]; ok && json.Unmarshal(raw, &facts.Kid) != nil {
		return facts, ReasonTokenMalformed
	}
	switch facts.Alg {
	case AlgES256, AlgRS256, AlgEdDSA:
	default:
		return facts, ReasonUnsupportedAlg
	}
	key := rule.Issuer.Keys[facts.Kid]
	if facts.Kid == "" || key == nil || key.Alg != facts.Alg {
		return facts, ReasonUnknownKey
	}
	if !key.Contains(now) {
		return facts, ReasonKeyRetired
	}
	if !verifyJWS(key, parts[0]+"."+parts[1], signature) {
		return facts, ReasonBadSignature
	}

	// The claims, now that they are the issuer's.
	var claims map[string]json.RawMessage
	if json.Unmarshal(payloadJSON, &claims) != nil || claims == nil {
		return facts, ReasonTokenMalformed
	}
	exp, hasExp, ok1 := numericDate(claims, "exp")
	nbf, hasNbf, ok2 := numericDate(claims, "nbf")
	iat, hasIat, ok3 := numericDate(claims, "iat")
	if !ok1 || !ok2 || !ok3 {
		return facts, ReasonTokenMalformed
	}
	if raw, ok := claims["iss"]; ok && json.Unmarshal(raw, &facts.Issuer) != nil {
		return facts, ReasonTokenMalformed
	}
	audiences, ok := audienceClaim(claims)
	if !ok {
		return facts, ReasonTokenMalformed
	}
	var sub string
	if json.Unmarshal(claims["sub"], &sub) != nil || !validSubject(sub) {
		return facts, ReasonTokenMalformed
	}
	facts.Subject = sub

	t := float64(now.Unix()) + float64(now.Nanosecond())/1e9
	leeway := rule.Issuer.Leeway.Seconds()
	switch {
	case !hasExp || t > exp+leeway:
		return facts, ReasonExpired
	case hasNbf && t+leeway < nbf, hasIat && iat > t+leeway:
		return facts, ReasonNotYetValid
	case facts.Issuer != rule.Issuer.Issuer:
		return facts, ReasonWrongIssuer
	case !slices.ContainsFunc(audiences, func(a string) bool { return slices.Contains(rule.Audiences, a) }):
		return facts, ReasonWrongAudience
	}
	if limit := rule.Issuer.MaxLifetime; limit > 0 {
		start := t
		if hasIat {
			start = iat
		} else if hasNbf {
			start = nbf
		}
		if exp-start > limit.Seconds() {
			return facts, ReasonLifetimeTooLong
		}
	}
	return facts, ""
}

// verifyJWS checks signature over signingInput with key (its alg, checked equal to the token's).
func verifyJWS(key *VerificationKey, signingInput string, signature []byte) bool {
	switch pub := key.Public.(type) {
	case *ecdsa.PublicKey:
		// RFC 7518 3.4: R || S, 32 bytes each for P-256; an ASN.1 DER signature is refused.
		if len(signature) != 64 {
			return false
		}
		digest := sha256.Sum256([]byte(signingInput))
		r, s := new(big.Int).SetBytes(signature[:32]), new(big.Int).SetBytes(signature[32:])
		return ecdsa.Verify(pub, digest[:], r, s)
	case *rsa.PublicKey:
		digest := sha256.Sum256([]byte(signingInput))
		return rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], signature) == nil
	case ed25519.PublicKey:
		return len(signature) == ed25519.SignatureSize && ed25519.Verify(pub, []byte(signingInput), signature)
	}
	return false
}

// numericDate reads a NumericDate claim (RFC 7519 2: seconds, possibly with a fraction):
// the value, whether present, and whether well-formed.
func numericDate(claims map[string]json.RawMessage, name string) (float64, bool, bool) {
	raw, ok := claims[name]
	if !ok {
		return 0, false, true
	}
	s := string(raw)
	if s == "" || !(s[0] == '-' || s[0] >= '0' && s[0] <= '9') {
		return 0, true, false // a string, null, true, ... is not a NumericDate
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, true, false
	}
	return v, true, true
}

// audienceClaim reads aud: a string or an array of strings (RFC 7519 4.1.3); absent is empty.
func audienceClaim(claims map[string]json.RawMessage) ([]string, bool) {
	raw, ok := claims["aud"]
	if !ok {
		return nil, true
	}
	if string(raw) == "null" {
		return nil, false
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}, true
	}
	var many []string
	if json.Unmarshal(raw, &many) == nil {
		return many, true
	}
	return nil, false
}

// validSubject: 1 to MaxSubjectLength printable ASCII characters, no space (it is forwarded as a header value).
func validSubject(sub string) bool {
	if len(sub) == 0 || len(sub) > MaxSubjectLength {
		return false
	}
	for i := 0; i < len(sub); i++ {
		if sub[i] <= ' ' || sub[i] > '~' {
			return false
		}
	}
	return true
}
