package keycheck

import (
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
	"time"
)

func TestVerifyJWT(t *testing.T) {
	k := testKeys()
	policy := testPolicy(t)
	orders := policy.Routes["orders-jwt"].JWT // local issuer; audiences orders-api, orders-admin
	now := testNow.Unix()
	es := es256(k.ecNew)
	good := func(claims map[string]any) string { return token(hdr("ES256", "es-new"), claims, es) }
	rsaPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: must(x509.MarshalPKIXPublicKey(&k.rsa.PublicKey))})
	ecPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: must(x509.MarshalPKIXPublicKey(&k.ecNew.PublicKey))})
	valid := good(baseClaims())
	parts := strings.Split(valid, ".")
	big := good(with(baseClaims(), "padding", strings.Repeat("x", MaxTokenBytes)))

	for _, c := range []struct {
		name   string
		auth   []string // Authorization header values
		rule   *JWTRule
		reason string
	}{
		// Accepted: each algorithm, scheme spellings, audience forms, fractional dates.
		{name: "ES256", auth: []string{"Bearer " + valid}},
		{name: "RS256 (RSA 3072)", auth: []string{"Bearer " + token(hdr("RS256", "rs"), baseClaims(), rs256(k.rsa))}},
		{name: "EdDSA (Ed25519)", auth: []string{"Bearer " + token(hdr("EdDSA", "ed"), baseClaims(), eddsa(k.ed))}},
		{name: "scheme lower case", auth: []string{"bearer " + valid}},
		{name: "scheme upper case", auth: []string{"BEARER " + valid}},
		{name: "aud array with a route audience", auth: []string{"Bearer " + good(with(baseClaims(), "aud", []any{"billing", "orders-admin"}))}},
		{name: "fractional numeric dates", auth: []string{"Bearer " + good(with(baseClaims(), "iat", float64(now)-0.25, "exp", float64(now)+0.5, "nbf", float64(now)-1.5))}},
		{name: "header members never select keys", auth: []string{"Bearer " + token(map[string]any{"alg": "ES256", "kid": "es-new", "jku": "https://evil.example/jwks", "x5u": "https://evil.example/c"}, baseClaims(), es)}},

		// token-missing
		{name: "no Authorization", auth: nil, reason: ReasonTokenMissing},
		{name: "empty Authorization", auth: []string{""}, reason: ReasonTokenMissing},
		{name: "Basic scheme", auth: []string{"Basic dXNlcjpwYXNz"}, reason: ReasonTokenMissing},
		{name: "token without a scheme", auth: []string{valid}, reason: ReasonTokenMissing},

		// token-malformed
		{name: "Bearer and nothing", auth: []string{"Bearer "}, reason: ReasonTokenMalformed},
		{name: "two Authorization headers", auth: []string{"Bearer " + valid, "Bearer " + valid}, reason: ReasonTokenMalformed},
		{name: "two parts", auth: []string{"Bearer " + parts[0] + "." + parts[1]}, reason: ReasonTokenMalformed},
		{name: "four parts", auth: []string{"Bearer " + valid + ".x"}, reason: ReasonTokenMalformed},
		{name: "base64 padding", auth: []string{"Bearer " + parts[0] + "=." + parts[1] + "." + parts[2]}, reason: ReasonTokenMalformed},
		{name: "standard base64 alphabet", auth: []string{"Bearer " + parts[0] + "." + parts[1] + "." + strings.NewReplacer("-", "+", "_", "/").Replace(parts[2]) + "+/"}, reason: ReasonTokenMalformed},
		{name: "line break inside (the decoder would skip it)", auth: []string{"Bearer " + parts[0][:4] + "\n" + parts[0][4:] + "." + parts[1] + "." + parts[2]}, reason: ReasonTokenMalformed},
		{name: "header not JSON", auth: []string{"Bearer " + rawToken([]byte(`{"alg":"ES256",`), mustJSON(baseClaims()), es)}, reason: ReasonTokenMalformed},
		{name: "header a JSON array", auth: []string{"Bearer " + rawToken([]byte(`["ES256"]`), mustJSON(baseClaims()), es)}, reason: ReasonTokenMalformed},
		{name: "alg not a string", auth: []string{"Bearer " + token(map[string]any{"alg": 7, "kid": "es-new"}, baseClaims(), es)}, reason: ReasonTokenMalformed},
		{name: "alg absent", auth: []string{"Bearer " + token(map[string]any{"kid": "es-new"}, baseClaims(), es)}, reason: ReasonTokenMalformed},
		{name: "crit header", auth: []string{"Bearer " + token(map[string]any{"alg": "ES256", "kid": "es-new", "crit": []any{"exp"}}, baseClaims(), es)}, reason: ReasonTokenMalformed},
		{name: "payload not JSON (signed)", auth: []string{"Bearer " + rawToken(mustJSON(hdr("ES256", "es-new")), []byte("not json"), es)}, reason: ReasonTokenMalformed},
		{name: "token over 8 KiB (signed)", auth: []string{"Bearer " + big}, reason: ReasonTokenMalformed},
		{name: "sub missing", auth: []string{"Bearer " + good(with(baseClaims(), "sub", nil))}, reason: ReasonTokenMalformed},
		{name: "sub empty", auth: []string{"Bearer " + good(with(baseClaims(), "sub", ""))}, reason: ReasonTokenMalformed},
		{name: "sub with a space", auth: []string{"Bearer " + good(with(baseClaims(), "sub", "user 42"))}, reason: ReasonTokenMalformed},
		{name: "sub with a control character", auth: []string{"Bearer " + good(with(baseClaims(), "sub", "user\r\nX-Evil: 1"))}, reason: ReasonTokenMalformed},
		{name: "sub not ASCII", auth: []string{"Bearer " + good(with(baseClaims(), "sub", "usér"))}, reason: ReasonTokenMalformed},
		{name: "sub 257 characters", auth: []string{"Bearer " + good(with(baseClaims(), "sub", strings.Repeat("s", 257)))}, reason: ReasonTokenMalformed},
		{name: "sub a number", auth: []string{"Bearer " + good(with(baseClaims(), "sub", 42))}, reason: ReasonTokenMalformed},
		{name: "exp a string", auth: []string{"Bearer " + good(with(baseClaims(), "exp", "1795000000"))}, reason: ReasonTokenMalformed},
		{name: "aud a number", auth: []string{"Bearer " + good(with(baseClaims(), "aud", 7))}, reason: ReasonTokenMalformed},
		{name: "iss a number", auth: []string{"Bearer " + good(with(baseClaims(), "iss", 7))}, reason: ReasonTokenMalformed},

		// unsupported-alg: never a key lookup for none or HMAC, whatever the signature.
		{name: "alg none, empty signature", auth: []string{"Bearer " + token(hdr("none", "es-new"), baseClaims(), noSignature)}, reason: ReasonUnsupportedAlg},
		{name: "alg none without kid", auth: []string{"Bearer " + token(hdr("none", ""), baseClaims(), noSignature)}, reason: ReasonUnsupportedAlg},
		{name: "alg None", auth: []string{"Bearer " + token(hdr("None", "es-new"), baseClaims(), noSignature)}, reason: ReasonUnsupportedAlg},
		{name: "HS256 keyed with the RSA public key (PEM)", auth: []string{"Bearer " + token(hdr("HS256", "rs"), baseClaims(), hs256(rsaPEM))}, reason: ReasonUnsupportedAlg},
		{name: "HS256 keyed with the EC public key (PEM)", auth: []string{"Bearer " + token(hdr("HS256", "es-new"), baseClaims(), hs256(ecPEM))}, reason: ReasonUnsupportedAlg},
		{name: "HS256 keyed with the JWK text", auth: []string{"Bearer " + token(hdr("HS256", "es-new"), baseClaims(), hs256(mustJSON(ecJWK(k.ecNew, "es-new"))))}, reason: ReasonUnsupportedAlg},
		{name: "ES384", auth: []string{"Bearer " + token(hdr("ES384", "es-new"), baseClaims(), es)}, reason: ReasonUnsupportedAlg},
		{name: "PS256", auth: []string{"Bearer " + token(hdr("PS256", "rs"), baseClaims(), rs256(k.rsa))}, reason: ReasonUnsupportedAlg},
		{name: "es256 lower case", auth: []string{"Bearer " + token(hdr("es256", "es-new"), baseClaims(), es)}, reason: ReasonUnsupportedAlg},

		// unknown-key
		{name: "kid absent", auth: []string{"Bearer " + token(hdr("ES256", ""), baseClaims(), es)}, reason: ReasonUnknownKey},
		{name: "kid unknown", auth: []string{"Bearer " + token(hdr("ES256", "nope"), baseClaims(), es)}, reason: ReasonUnknownKey},
		{name: "kid of another issuer", auth: []string{"Bearer " + token(hdr("ES256", "other-es"), baseClaims(), es256(k.ecOther))}, reason: ReasonUnknownKey},
		{name: "alg differs from the key's (RS256 on an EC key)", auth: []string{"Bearer " + token(hdr("RS256", "es-new"), baseClaims(), rs256(k.rsa))}, reason: ReasonUnknownKey},
		{name: "alg differs from the key's (ES256 on the RSA key)", auth: []string{"Bearer " + token(hdr("ES256", "rs"), baseClaims(), es)}, reason: ReasonUnknownKey},
		{name: "alg differs from the key's (EdDSA on an EC key)", auth: []string{"Bearer " + token(hdr("EdDSA", "es-new"), baseClaims(), eddsa(k.ed))}, reason: ReasonUnknownKey},

		// key-retired, and the rotation overlap.
		{name: "old key before its notAfter", auth: []string{"Bearer " + token(hdr("ES256", "es-old"), baseClaims(), es256(k.ecOld))}},
		{name: "new key during the overlap", auth: []string{"Bearer " + valid}},
		{name: "key before its notBefore", auth: []string{"Bearer " + token(hdr("ES256", "es-future"), baseClaims(), es256(k.ecFuture))}, reason: ReasonKeyRetired},

		// bad-signature
		{name: "payload changed after signing", auth: []string{"Bearer " + parts[0] + "." + enc.EncodeToString(mustJSON(with(baseClaims(), "sub", "admin"))) + "." + parts[2]}, reason: ReasonBadSignature},
		{name: "signed by a stranger's key under a known kid", auth: []string{"Bearer " + token(hdr("ES256", "es-new"), baseClaims(), es256(k.ecStranger))}, reason: ReasonBadSignature},
		{name: "signed by the old key under the new kid", auth: []string{"Bearer " + token(hdr("ES256", "es-new"), baseClaims(), es256(k.ecOld))}, reason: ReasonBadSignature},
		{name: "ES256 in ASN.1 DER form", auth: []string{"Bearer " + token(hdr("ES256", "es-new"), baseClaims(), es256ASN1(k.ecNew))}, reason: ReasonBadSignature},
		{name: "ES256 signature truncated", auth: []string{"Bearer " + parts[0] + "." + parts[1] + "." + parts[2][:40]}, reason: ReasonBadSignature},
		{name: "ES256 empty signature", auth: []string{"Bearer " + parts[0] + "." + parts[1] + "."}, reason: ReasonBadSignature},
		{name: "RS256 by another key", auth: []string{"Bearer " + token(hdr("RS256", "rs"), baseClaims(), rs256(k.rsaSmall))}, reason: ReasonBadSignature},
		{name: "EdDSA signature flipped", auth: []string{"Bearer " + flipLast(token(hdr("EdDSA", "ed"), baseClaims(), eddsa(k.ed)))}, reason: ReasonBadSignature},

		// expired (leeway 30 s)
		{name: "exp missing", auth: []string{"Bearer " + good(with(baseClaims(), "exp", nil))}, reason: ReasonExpired},
		{name: "exp + leeway = now", auth: []string{"Bearer " + good(with(baseClaims(), "iat", now-100, "exp", now-30))}},
		{name: "exp + leeway a second before now", auth: []string{"Bearer " + good(with(baseClaims(), "iat", now-100, "exp", now-31))}, reason: ReasonExpired},
		{name: "exp + leeway half a second before now", auth: []string{"Bearer " + good(with(baseClaims(), "iat", now-100, "exp", float64(now)-30.5))}, reason: ReasonExpired},

		// not-yet-valid
		{name: "nbf = now + leeway", auth: []string{"Bearer " + good(with(baseClaims(), "nbf", now+30))}},
		{name: "nbf a second past now + leeway", auth: []string{"Bearer " + good(with(baseClaims(), "nbf", now+31))}, reason: ReasonNotYetValid},
		{name: "iat = now + leeway", auth: []string{"Bearer " + good(with(baseClaims(), "iat", now+30))}},
		{name: "iat in the future beyond the leeway", auth: []string{"Bearer " + good(with(baseClaims(), "iat", now+31))}, reason: ReasonNotYetValid},

		// wrong-issuer
		{name: "iss of another issuer", auth: []string{"Bearer " + good(with(baseClaims(), "iss", "https://other.example"))}, reason: ReasonWrongIssuer},
		{name: "iss with a trailing slash", auth: []string{"Bearer " + good(with(baseClaims(), "iss", "https://issuer.apiproxy.local/"))}, reason: ReasonWrongIssuer},
		{name: "iss missing", auth: []string{"Bearer " + good(with(baseClaims(), "iss", nil))}, reason: ReasonWrongIssuer},

		// wrong-audience
		{name: "aud another API", auth: []string{"Bearer " + good(with(baseClaims(), "aud", "billing-api"))}, reason: ReasonWrongAudience},
		{name: "aud array without a route audience", auth: []string{"Bearer " + good(with(baseClaims(), "aud", []any{"billing-api", "orders"}))}, reason: ReasonWrongAudience},
		{name: "aud empty array", auth: []string{"Bearer " + good(with(baseClaims(), "aud", []any{}))}, reason: ReasonWrongAudience},
		{name: "aud missing", auth: []string{"Bearer " + good(with(baseClaims(), "aud", nil))}, reason: ReasonWrongAudience},
		{name: "aud of the other route", auth: []string{"Bearer " + good(with(baseClaims(), "aud", "orders-admin"))}, rule: policy.Routes["orders-both"].JWT, reason: ReasonWrongAudience},

		// lifetime-too-long (max 3600 s): exp - iat, else exp - nbf, else exp - now.
		{name: "exp - iat = max", auth: []string{"Bearer " + good(with(baseClaims(), "iat", now, "exp", now+3600))}},
		{name: "exp - iat = max + 1", auth: []string{"Bearer " + good(with(baseClaims(), "iat", now, "exp", now+3601))}, reason: ReasonLifetimeTooLong},
		{name: "exp - nbf = max (no iat)", auth: []string{"Bearer " + good(with(baseClaims(), "iat", nil, "nbf", now-100, "exp", now+3500))}},
		{name: "exp - nbf = max + 1 (no iat)", auth: []string{"Bearer " + good(with(baseClaims(), "iat", nil, "nbf", now-100, "exp", now+3501))}, reason: ReasonLifetimeTooLong},
		{name: "exp - now = max (no iat, no nbf)", auth: []string{"Bearer " + good(with(baseClaims(), "iat", nil, "exp", now+3600))}},
		{name: "exp - now = max + 1 (no iat, no nbf)", auth: []string{"Bearer " + good(with(baseClaims(), "iat", nil, "exp", now+3601))}, reason: ReasonLifetimeTooLong},
		{name: "an issuer without maxLifetimeSeconds", auth: []string{"Bearer " + token(hdr("ES256", "other-es"), with(baseClaims(), "iss", "https://other.example", "exp", now+86400*365), es256(k.ecOther))}, rule: policy.Routes["other-jwt"].JWT},
	} {
		t.Run(c.name, func(t *testing.T) {
			rule := c.rule
			if rule == nil {
				rule = orders
			}
			facts, reason := verifyJWT(c.auth, rule, testNow)
			if reason != c.reason {
				t.Fatalf("reason %q, want %q", reason, c.reason)
			}
			if reason == "" && facts.Subject != "user-42" {
				t.Fatalf("subject %q", facts.Subject)
			}
			if reason != "" && facts.Subject != "" && reason != ReasonExpired && reason != ReasonNotYetValid &&
				reason != ReasonWrongIssuer && reason != ReasonWrongAudience && reason != ReasonLifetimeTooLong {
				t.Fatalf("a subject before the token was verified: %q", facts.Subject)
			}
		})
	}
}

// The rotation overlap: old and new key both accepted until the old key's notAfter, only the new one after.
func TestJWTKeyRotationOverlap(t *testing.T) {
	k := testKeys()
	rule := testPolicy(t).Routes["orders-jwt"].JWT
	notAfter := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC) // es-old's
	for _, c := range []struct {
		at               time.Time
		oldWant, newWant string
	}{
		{time.Date(2026, 11, 18, 12, 0, 0, 0, time.UTC), "", ReasonKeyRetired}, // before es-new's notBefore
		{time.Date(2026, 11, 19, 0, 0, 0, 0, time.UTC), "", ""},                // es-new's notBefore: inclusive
		{notAfter.Add(-time.Second), "", ""},
		{notAfter, ReasonKeyRetired, ""}, // notAfter: exclusive
		{notAfter.Add(30 * 24 * time.Hour), ReasonKeyRetired, ""},
	} {
		claims := with(baseClaims(), "iat", c.at.Unix()-10, "exp", c.at.Unix()+600)
		oldTok := []string{"Bearer " + token(hdr("ES256", "es-old"), claims, es256(k.ecOld))}
		newTok := []string{"Bearer " + token(hdr("ES256", "es-new"), claims, es256(k.ecNew))}
		if _, r := verifyJWT(oldTok, rule, c.at); r != c.oldWant {
			t.Errorf("%s old key: %q, want %q", c.at, r, c.oldWant)
		}
		if _, r := verifyJWT(newTok, rule, c.at); r != c.newWant {
			t.Errorf("%s new key: %q, want %q", c.at, r, c.newWant)
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// flipLast changes the last signature byte of a token (keeping it valid base64url).
func flipLast(tok string) string {
	i := strings.LastIndex(tok, ".")
	sig, err := enc.DecodeString(tok[i+1:])
	if err != nil {
		panic(err)
	}
	sig[len(sig)-1] ^= 1
	return tok[:i+1] + enc.EncodeToString(sig)
}
