package keycheck

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"
)

// A tiny JWS signer and JWK writer for the tests, independent of the code under test: tokens
// are assembled by hand (header.payload.signature, base64url without padding).

var enc = base64.RawURLEncoding

// testNow is the tests' "now": inside the signature keys' and issuer keys' windows below.
var testNow = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

type testKeyset struct {
	ecOld, ecNew, ecFuture, ecOther, ecStranger *ecdsa.PrivateKey
	rsa, rsaSmall                               *rsa.PrivateKey
	ed                                          ed25519.PrivateKey
}

var testKeys = sync.OnceValue(func() *testKeyset {
	ec := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		return k
	}
	rsaKey := func(bits int) *rsa.PrivateKey {
		k, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			panic(err)
		}
		return k
	}
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	return &testKeyset{
		ecOld: ec(), ecNew: ec(), ecFuture: ec(), ecOther: ec(), ecStranger: ec(),
		rsa: rsaKey(3072), rsaSmall: rsaKey(1024), ed: ed,
	}
})

func ecJWK(k *ecdsa.PrivateKey, kid string) map[string]any {
	raw, err := k.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		panic(err)
	}
	return map[string]any{"kty": "EC", "crv": "P-256", "x": enc.EncodeToString(raw[1:33]), "y": enc.EncodeToString(raw[33:]), "kid": kid, "alg": "ES256", "use": "sig"}
}

func rsaJWK(k *rsa.PrivateKey, kid string) map[string]any {
	return map[string]any{"kty": "RSA", "n": enc.EncodeToString(k.N.Bytes()), "e": enc.EncodeToString(big.NewInt(int64(k.E)).Bytes()), "kid": kid, "alg": "RS256"}
}

func edJWK(k ed25519.PrivateKey, kid string) map[string]any {
	return map[string]any{"kty": "OKP", "crv": "Ed25519", "x": enc.EncodeToString(k.Public().(ed25519.PublicKey)), "kid": kid, "alg": "EdDSA", "use": "sig"}
}

// signer produces a JWS signature over the signing input.
type signer func(input []byte) []byte

func es256(k *ecdsa.PrivateKey) signer {
	return func(input []byte) []byte {
		d := sha256.Sum256(input)
		r, s, err := ecdsa.Sign(rand.Reader, k, d[:])
		if err != nil {
			panic(err)
		}
		return append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...)
	}
}

// es256ASN1 is the wrong encoding for JWS: a DER SEQUENCE of r and s.
func es256ASN1(k *ecdsa.PrivateKey) signer {
	return func(input []byte) []byte {
		d := sha256.Sum256(input)
		sig, err := ecdsa.SignASN1(rand.Reader, k, d[:])
		if err != nil {
			panic(err)
		}
		return sig
	}
}

func rs256(k *rsa.PrivateKey) signer {
	return func(input []byte) []byte {
		d := sha256.Sum256(input)
		sig, err := rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, d[:])
		if err != nil {
			panic(err)
		}
		return sig
	}
}

func eddsa(k ed25519.PrivateKey) signer {
	return func(input []byte) []byte { return ed25519.Sign(k, input) }
}

func hs256(secret []byte) signer {
	return func(input []byte) []byte {
		m := hmac.New(sha256.New, secret)
		m.Write(input)
		return m.Sum(nil)
	}
}

func noSignature(input []byte) []byte { return nil }

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// rawToken signs headerJSON.payloadJSON as given (any bytes).
func rawToken(headerJSON, payloadJSON []byte, sign signer) string {
	input := enc.EncodeToString(headerJSON) + "." + enc.EncodeToString(payloadJSON)
	return input + "." + enc.EncodeToString(sign([]byte(input)))
}

func token(header, claims map[string]any, sign signer) string {
	return rawToken(mustJSON(header), mustJSON(claims), sign)
}

func hdr(alg, kid string) map[string]any {
	h := map[string]any{"alg": alg, "typ": "JWT"}
	if kid != "" {
		h["kid"] = kid
	}
	return h
}

// baseClaims is a valid claim set for the "local" issuer and the orders-api audience at testNow.
func baseClaims() map[string]any {
	return map[string]any{
		"iss": "https://issuer.apiproxy.local", "sub": "user-42", "aud": "orders-api",
		"iat": testNow.Unix() - 10, "exp": testNow.Unix() + 600,
	}
}

func with(claims map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range claims {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
		} else {
			out[kv[i].(string)] = kv[i+1]
		}
	}
	return out
}

// Signature keys of the test policy.
var (
	secretA    = strings.Repeat("partner-a-secret-", 3)
	secretAOld = strings.Repeat("partner-a-old-secret-", 2)
	secretB    = strings.Repeat("partner-b-secret-", 3)
)

// testPolicyDoc is a complete policy document (as a Go value, to be mutated by the tests):
//   - signature keys: partner-a-2026-11 (window Nov 1 to Dec 15), partner-a-2026-10 (retiring,
//     until Nov 21), partner-b-2026-11 (no window), partner-a-2027 (from Jan 1 2027)
//   - issuer "local" with es-old (until Nov 21), es-new (from Nov 19), es-future (from Dec 1),
//     rs (RSA 3072), ed (Ed25519); issuer "other" with its own EC key
//   - routes for every combination used by the handler tests
func testPolicyDoc() map[string]any {
	k := testKeys()
	return map[string]any{
		"signatures": map[string]any{
			"maxSkewSeconds": 300,
			"keys": []any{
				map[string]any{"id": "partner-a-2026-11", "client": "partner-a", "secret": secretA, "notBefore": "2026-11-01T00:00:00Z", "notAfter": "2026-12-15T00:00:00Z"},
				map[string]any{"id": "partner-a-2026-10", "client": "partner-a", "secret": secretAOld, "notAfter": "2026-11-21T00:00:00Z"},
				map[string]any{"id": "partner-b-2026-11", "client": "partner-b", "secret": secretB},
				map[string]any{"id": "partner-a-2027", "client": "partner-a", "secret": strings.Repeat("z", 40), "notBefore": "2027-01-01T00:00:00Z"},
			},
		},
		"issuers": []any{
			map[string]any{
				"name": "local", "issuer": "https://issuer.apiproxy.local", "leewaySeconds": 30, "maxLifetimeSeconds": 3600,
				"keys": []any{
					map[string]any{"jwk": ecJWK(k.ecOld, "es-old"), "notAfter": "2026-11-21T00:00:00Z"},
					map[string]any{"jwk": ecJWK(k.ecNew, "es-new"), "notBefore": "2026-11-19T00:00:00Z"},
					map[string]any{"jwk": ecJWK(k.ecFuture, "es-future"), "notBefore": "2026-12-01T00:00:00Z"},
					map[string]any{"jwk": rsaJWK(k.rsa, "rs")},
					map[string]any{"jwk": edJWK(k.ed, "ed")},
				},
			},
			map[string]any{
				"name": "other", "issuer": "https://other.example",
				"keys": []any{map[string]any{"jwk": ecJWK(k.ecOther, "other-es")}},
			},
		},
		"routes": map[string]any{
			"partner-orders": map[string]any{"apiKey": false, "signature": map[string]any{"clients": []any{"partner-a"}}},
			"orders-jwt":     map[string]any{"apiKey": false, "jwt": map[string]any{"issuer": "local", "audiences": []any{"orders-api", "orders-admin"}}},
			"orders-both":    map[string]any{"apiKey": true, "jwt": map[string]any{"issuer": "local", "audiences": []any{"orders-api"}}},
			"all-three":      map[string]any{"apiKey": true, "signature": map[string]any{"clients": []any{"partner-a", "partner-b"}}, "jwt": map[string]any{"issuer": "local", "audiences": []any{"orders-api"}}},
			"key-only":       map[string]any{"apiKey": true},
			"other-jwt":      map[string]any{"jwt": map[string]any{"issuer": "other", "audiences": []any{"orders-api"}}},
		},
	}
}

func testPolicy(t *testing.T) *Policy {
	t.Helper()
	p, err := ParsePolicy(strings.NewReader(string(mustJSON(testPolicyDoc()))))
	if err != nil {
		t.Fatalf("test policy: %v", err)
	}
	return p
}
