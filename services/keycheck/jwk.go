package keycheck

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"strings"
)

// JWS algorithms this service verifies (RFC 7518 3.4 and 3.3, RFC 8037 3.1). Anything else,
// "none" and the HMAC algorithms in particular, is refused before a key is looked at.
const (
	AlgES256 = "ES256"
	AlgRS256 = "RS256"
	AlgEdDSA = "EdDSA"
)

// RSA modulus bounds: at least 2048 bits (NIST SP 800-131A); at most 8192 bits, which bounds
// the cost of a verification.
const (
	MinRSABits = 2048
	MaxRSABits = 8192
)

// VerificationKey is one public key of an issuer.
type VerificationKey struct {
	Kid string
	Alg string
	// Public is *ecdsa.PublicKey (ES256), *rsa.PublicKey (RS256) or ed25519.PublicKey (EdDSA).
	Public any
	Window
}

// Members of a private JWK (RFC 7518 6.2.2, 6.3.2, 6.4.1; RFC 8037 2): refused, the file must
// carry public keys only.
var privateJWKMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// The members a public JWK may have here; anything else is refused rather than ignored (x5c,
// x5t, key_ops, ... would suggest checks this service does not make).
var jwkMembers = map[string]bool{"kty": true, "crv": true, "x": true, "y": true, "n": true, "e": true, "kid": true, "alg": true, "use": true}

// b64url is base64url without padding (RFC 7515 2), strict: no padding, no line breaks, no
// non-zero trailing bits. Callers check the alphabet first: the decoder skips \r and \n.
var b64url = base64.RawURLEncoding.Strict()

func isB64URL(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func decodeB64URL(s string) ([]byte, error) {
	if !isB64URL(s) {
		return nil, fmt.Errorf("not base64url")
	}
	return b64url.DecodeString(s)
}

// parseJWK validates one public JWK at path and returns the key, or nil and the problems.
func parseJWK(path string, members map[string]json.RawMessage) (*VerificationKey, []error) {
	var problems []error
	add := func(format string, args ...any) { problems = append(problems, fmt.Errorf(format, args...)) }
	var private []string
	for _, name := range privateJWKMembers {
		if _, ok := members[name]; ok {
			private = append(private, name)
		}
	}
	if len(private) > 0 {
		add("%s: private key material in a JWKS (member %s): give the public key only", path, strings.Join(private, ", "))
		return nil, problems
	}
	str := map[string]string{}
	for _, name := range sortedKeys(members) {
		if !jwkMembers[name] {
			add("%s.%s: unknown JWK member (allowed: kty, crv, x, y, n, e, kid, alg, use)", path, name)
			continue
		}
		var s string
		if err := json.Unmarshal(members[name], &s); err != nil {
			add("%s.%s: must be a string", path, name)
			continue
		}
		str[name] = s
	}
	if len(problems) > 0 {
		return nil, problems
	}
	key := &VerificationKey{Kid: str["kid"], Alg: str["alg"]}
	switch {
	case key.Kid == "":
		add("%s.kid: required", path)
	case len(key.Kid) > MaxKidLength:
		add("%s.kid: at most %d characters", path, MaxKidLength)
	}
	if use, ok := str["use"]; ok && use != "sig" {
		add(`%s.use: must be "sig", got %q`, path, truncate(use, 40))
	}
	// b64 decodes a required base64url member.
	b64 := func(name string) []byte {
		v, ok := str[name]
		if !ok || v == "" {
			add("%s.%s: required", path, name)
			return nil
		}
		b, err := decodeB64URL(v)
		if err != nil {
			add("%s.%s: must be base64url without padding", path, name)
			return nil
		}
		return b
	}
	// only refuses members of other key types.
	only := func(allowed ...string) {
		for _, name := range []string{"crv", "x", "y", "n", "e"} {
			if _, ok := str[name]; ok && !slices.Contains(allowed, name) {
				add("%s.%s: not a member of a %s key", path, name, str["kty"])
			}
		}
	}
	wantAlg := ""
	switch kty := str["kty"]; kty {
	case "EC":
		wantAlg = AlgES256
		only("crv", "x", "y")
		if crv := str["crv"]; crv != "P-256" {
			add(`%s.crv: only "P-256" is supported for kty EC, got %q`, path, truncate(crv, 40))
			break
		}
		x, y := b64("x"), b64("y")
		if x == nil || y == nil {
			break
		}
		if len(x) != 32 || len(y) != 32 {
			add("%s: x and y of a P-256 key must be 32 bytes each, got %d and %d", path, len(x), len(y))
			break
		}
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
		if err != nil {
			add("%s: not a P-256 public key: %v", path, err)
			break
		}
		key.Public = pub
	case "RSA":
		wantAlg = AlgRS256
		only("n", "e")
		n, e := b64("n"), b64("e")
		if n == nil || e == nil {
			break
		}
		modulus := new(big.Int).SetBytes(n)
		if bits := modulus.BitLen(); bits < MinRSABits || bits > MaxRSABits {
			add("%s.n: the modulus must be %d to %d bits, got %d", path, MinRSABits, MaxRSABits, bits)
			break
		}
		if len(e) > 4 || len(e) == 0 || e[0] == 0 {
			add("%s.e: not a valid public exponent", path)
			break
		}
		exp := int(new(big.Int).SetBytes(e).Int64())
		if exp < 3 || exp%2 == 0 || exp > 1<<31-1 {
			add("%s.e: not a valid public exponent", path)
			break
		}
		key.Public = &rsa.PublicKey{N: modulus, E: exp}
	case "OKP":
		wantAlg = AlgEdDSA
		only("crv", "x")
		if crv := str["crv"]; crv != "Ed25519" {
			add(`%s.crv: only "Ed25519" is supported for kty OKP, got %q`, path, truncate(crv, 40))
			break
		}
		x := b64("x")
		if x == nil {
			break
		}
		if len(x) != ed25519.PublicKeySize {
			add("%s.x: an Ed25519 public key is %d bytes, got %d", path, ed25519.PublicKeySize, len(x))
			break
		}
		key.Public = ed25519.PublicKey(x)
	case "":
		add("%s.kty: required (EC, RSA or OKP)", path)
	default:
		add(`%s.kty: unsupported key type %q (EC P-256, RSA, OKP Ed25519)`, path, truncate(kty, 40))
	}
	if wantAlg != "" {
		switch alg := str["alg"]; {
		case alg == "":
			add("%s.alg: required (%s for this key)", path, wantAlg)
		case alg != wantAlg:
			add("%s.alg: %q does not fit a %s key (want %s)", path, truncate(alg, 40), str["kty"], wantAlg)
		}
	}
	if len(problems) > 0 {
		return nil, problems
	}
	return key, nil
}
