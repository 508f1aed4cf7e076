package keycheck

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// del as a value removes the member.
type deleteMember struct{}

var del = deleteMember{}

// set changes the member at a dotted path (array indices as numbers) of a decoded-JSON-like
// document built from maps and slices.
func set(doc any, path string, value any) {
	parts := strings.Split(path, ".")
	cur := doc
	for i, p := range parts {
		last := i == len(parts)-1
		switch node := cur.(type) {
		case map[string]any:
			if last {
				if value == del {
					delete(node, p)
				} else {
					node[p] = value
				}
				return
			}
			cur = node[p]
		case []any:
			n, err := strconv.Atoi(p)
			if err != nil {
				panic(path)
			}
			if last {
				node[n] = value
				return
			}
			cur = node[n]
		default:
			panic("set: no container at " + path)
		}
	}
}

func parseDoc(doc map[string]any) (*Policy, error) {
	return ParsePolicy(strings.NewReader(string(mustJSON(doc))))
}

func TestParsePolicy(t *testing.T) {
	p := testPolicy(t)
	if p.MaxSkew != 300*time.Second || len(p.SignatureKeys) != 4 || len(p.Issuers) != 2 || len(p.Routes) != 6 {
		t.Fatalf("policy: %+v", p)
	}
	k := p.SignatureKeys["partner-a-2026-11"]
	if k.Client != "partner-a" || string(k.Secret) != secretA || !k.NotAfter.Equal(time.Date(2026, 12, 15, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("signature key: %+v", k)
	}
	local := p.Issuers["local"]
	if local.Leeway != 30*time.Second || local.MaxLifetime != time.Hour || len(local.Keys) != 5 || local.Keys["rs"].Alg != AlgRS256 || local.Keys["ed"].Alg != AlgEdDSA {
		t.Fatalf("issuer: %+v", local)
	}
	other := p.Issuers["other"]
	if other.Leeway != DefaultLeewaySeconds*time.Second || other.MaxLifetime != 0 {
		t.Fatalf("issuer defaults: %+v", other)
	}
	r := p.Routes["all-three"]
	if !r.APIKey || !r.Clients["partner-a"] || !r.Clients["partner-b"] || r.JWT.Issuer != local || r.JWT.Audiences[0] != "orders-api" {
		t.Fatalf("route: %+v", r)
	}
	if r := p.Routes["orders-jwt"]; r.APIKey || r.Clients != nil || r.JWT == nil {
		t.Fatalf("route: %+v", r)
	}

	// The brief's example document, and the defaults when maxSkewSeconds and leewaySeconds are absent.
	doc := testPolicyDoc()
	set(doc, "signatures.maxSkewSeconds", del)
	set(doc, "issuers.0.leewaySeconds", del)
	set(doc, "issuers.0.maxLifetimeSeconds", del)
	p, err := parseDoc(doc)
	if err != nil {
		t.Fatal(err)
	}
	if p.MaxSkew != DefaultMaxSkewSeconds*time.Second || p.Issuers["local"].Leeway != DefaultLeewaySeconds*time.Second || p.Issuers["local"].MaxLifetime != 0 {
		t.Fatalf("defaults: %v %v %v", p.MaxSkew, p.Issuers["local"].Leeway, p.Issuers["local"].MaxLifetime)
	}
	// A route may be only an API key; no signatures section is needed then.
	if _, err := ParsePolicy(strings.NewReader(`{"routes":{"a":{"apiKey":true}}}`)); err != nil {
		t.Fatal(err)
	}
}

func TestParsePolicyReportsEachProblemWithItsPath(t *testing.T) {
	k := testKeys()
	offCurve := ecJWK(k.ecNew, "off")
	offCurve["y"] = offCurve["x"]

	for _, c := range []struct {
		name   string
		mutate func(doc map[string]any)
		want   string
	}{
		// the document
		{"unknown top-level member", func(d map[string]any) { d["extra"] = 1 }, "extra: unknown field"},
		{"member in another case", func(d map[string]any) { d["Routes"] = map[string]any{} }, "Routes: unknown field"},
		{"unknown route member", func(d map[string]any) { set(d, "routes.orders-jwt.jwt.audience", "x") }, `routes["orders-jwt"].jwt.audience: unknown field`},
		{"unknown key member", func(d map[string]any) { set(d, "signatures.keys.0.expires", "x") }, `signatures.keys[0].expires: unknown field`},
		{"routes not an object", func(d map[string]any) { d["routes"] = []any{} }, "routes: must be an object"},
		{"issuers not an array", func(d map[string]any) { d["issuers"] = map[string]any{} }, "issuers: must be an array"},

		// signatures
		{"maxSkewSeconds 0", func(d map[string]any) { set(d, "signatures.maxSkewSeconds", 0) }, "signatures.maxSkewSeconds: must be 1 to 900, got 0"},
		{"maxSkewSeconds 901", func(d map[string]any) { set(d, "signatures.maxSkewSeconds", 901) }, "signatures.maxSkewSeconds: must be 1 to 900, got 901"},
		{"maxSkewSeconds fractional", func(d map[string]any) { set(d, "signatures.maxSkewSeconds", 1.5) }, "signatures.maxSkewSeconds: must be an integer, got 1.5"},
		{"maxSkewSeconds a string", func(d map[string]any) { set(d, "signatures.maxSkewSeconds", "300") }, `signatures.maxSkewSeconds: must be an integer, got "300"`},
		{"secret too short", func(d map[string]any) { set(d, "signatures.keys.1.secret", strings.Repeat("s", 31)) }, `signatures.keys[1].secret (id "partner-a-2026-10"): must be 32 to 1024 bytes, got 31`},
		{"secret missing", func(d map[string]any) { set(d, "signatures.keys.0.secret", del) }, `signatures.keys[0].secret (id "partner-a-2026-11"): must be 32`},
		{"secret not a string", func(d map[string]any) { set(d, "signatures.keys.0.secret", 12345) }, `signatures.keys[0].secret: must be a string`},
		{"secret reused", func(d map[string]any) { set(d, "signatures.keys.2.secret", secretA) }, `signatures.keys[2].secret (id "partner-b-2026-11"): the same secret as key "partner-a-2026-11"`},
		{"key id twice", func(d map[string]any) { set(d, "signatures.keys.2.id", "partner-a-2026-11") }, `signatures.keys[2].id: "partner-a-2026-11" appears twice`},
		{"key id with a colon", func(d map[string]any) { set(d, "signatures.keys.0.id", "a:b") }, `signatures.keys[0].id: must match`},
		{"client missing", func(d map[string]any) { set(d, "signatures.keys.0.client", del) }, `signatures.keys[0].client: must match`},
		{"notAfter not RFC 3339", func(d map[string]any) { set(d, "signatures.keys.0.notAfter", "2026-12-15") }, `signatures.keys[0].notAfter: must be an RFC 3339 time`},
		{"notAfter before notBefore", func(d map[string]any) { set(d, "signatures.keys.0.notAfter", "2026-10-01T00:00:00Z") }, `signatures.keys[0].notAfter: must be after notBefore`},

		// issuers
		{"issuer name twice", func(d map[string]any) { set(d, "issuers.1.name", "local") }, `issuers[1].name: "local" appears twice`},
		{"issuer name missing", func(d map[string]any) { set(d, "issuers.1.name", del) }, `issuers[1].name: must match`},
		{"issuer value missing", func(d map[string]any) { set(d, "issuers.0.issuer", "") }, `issuers[0].issuer: required`},
		{"leeway over 300", func(d map[string]any) { set(d, "issuers.0.leewaySeconds", 301) }, `issuers[0].leewaySeconds: must be 0 to 300, got 301`},
		{"leeway negative", func(d map[string]any) { set(d, "issuers.0.leewaySeconds", -1) }, `issuers[0].leewaySeconds: must be 0 to 300, got -1`},
		{"maxLifetimeSeconds 0", func(d map[string]any) { set(d, "issuers.0.maxLifetimeSeconds", 0) }, `issuers[0].maxLifetimeSeconds: must be a positive integer, got 0`},
		{"no keys", func(d map[string]any) { set(d, "issuers.1.keys", []any{}) }, `issuers[1].keys: at least one key is required`},
		{"key without jwk", func(d map[string]any) { set(d, "issuers.1.keys.0.jwk", del) }, `issuers[1].keys[0].jwk: required`},
		{"issuer key notBefore bad", func(d map[string]any) { set(d, "issuers.0.keys.1.notBefore", "yesterday") }, `issuers[0].keys[1].notBefore: must be an RFC 3339 time`},
		{"kid twice", func(d map[string]any) { set(d, "issuers.0.keys.4.jwk.kid", "rs") }, `issuers[0].keys[4].jwk.kid: "rs" appears twice in issuer "local"`},

		// JWKs
		{"private EC key", func(d map[string]any) { set(d, "issuers.0.keys.0.jwk.d", enc.EncodeToString(k.ecOld.D.Bytes())) }, `issuers[0].keys[0].jwk: private key material in a JWKS (member d)`},
		{"private RSA key", func(d map[string]any) {
			set(d, "issuers.0.keys.3.jwk.d", "AQAB")
			set(d, "issuers.0.keys.3.jwk.p", "AQAB")
			set(d, "issuers.0.keys.3.jwk.qi", "AQAB")
		}, `issuers[0].keys[3].jwk: private key material in a JWKS (member d, p, qi)`},
		{"private Ed25519 key", func(d map[string]any) { set(d, "issuers.0.keys.4.jwk.d", enc.EncodeToString(k.ed.Seed())) }, `issuers[0].keys[4].jwk: private key material in a JWKS`},
		{"symmetric key", func(d map[string]any) {
			set(d, "issuers.1.keys.0.jwk", map[string]any{"kty": "oct", "k": "c2VjcmV0", "kid": "h", "alg": "HS256"})
		}, `issuers[1].keys[0].jwk: private key material in a JWKS (member k)`},
		{"kid missing", func(d map[string]any) { set(d, "issuers.0.keys.3.jwk.kid", del) }, `issuers[0].keys[3].jwk.kid: required`},
		{"alg missing", func(d map[string]any) { set(d, "issuers.0.keys.3.jwk.alg", del) }, `issuers[0].keys[3].jwk.alg: required (RS256 for this key)`},
		{"alg of another key type", func(d map[string]any) { set(d, "issuers.0.keys.0.jwk.alg", "RS256") }, `issuers[0].keys[0].jwk.alg: "RS256" does not fit a EC key (want ES256)`},
		{"alg HS256 on an RSA key", func(d map[string]any) { set(d, "issuers.0.keys.3.jwk.alg", "HS256") }, `issuers[0].keys[3].jwk.alg: "HS256" does not fit a RSA key (want RS256)`},
		{"use enc", func(d map[string]any) { set(d, "issuers.0.keys.0.jwk.use", "enc") }, `issuers[0].keys[0].jwk.use: must be "sig", got "enc"`},
		{"RSA 1024", func(d map[string]any) { set(d, "issuers.0.keys.3.jwk", rsaJWK(k.rsaSmall, "small")) }, `issuers[0].keys[3].jwk.n: the modulus must be 2048 to 8192 bits, got 1024`},
		{"RSA even exponent", func(d map[string]any) { set(d, "issuers.0.keys.3.jwk.e", enc.EncodeToString([]byte{1, 0, 0})) }, `issuers[0].keys[3].jwk.e: not a valid public exponent`},
		{"EC P-384", func(d map[string]any) { set(d, "issuers.0.keys.0.jwk.crv", "P-384") }, `issuers[0].keys[0].jwk.crv: only "P-256" is supported for kty EC, got "P-384"`},
		{"EC point not on the curve", func(d map[string]any) { set(d, "issuers.0.keys.0.jwk", offCurve) }, `issuers[0].keys[0].jwk: not a P-256 public key`},
		{"EC x padded base64", func(d map[string]any) { set(d, "issuers.0.keys.0.jwk.x", offCurve["x"].(string)+"=") }, `issuers[0].keys[0].jwk.x: must be base64url without padding`},
		{"EC y missing", func(d map[string]any) { set(d, "issuers.0.keys.0.jwk.y", del) }, `issuers[0].keys[0].jwk.y: required`},
		{"OKP X25519", func(d map[string]any) { set(d, "issuers.0.keys.4.jwk.crv", "X25519") }, `issuers[0].keys[4].jwk.crv: only "Ed25519" is supported for kty OKP, got "X25519"`},
		{"Ed25519 key of 31 bytes", func(d map[string]any) { set(d, "issuers.0.keys.4.jwk.x", enc.EncodeToString(make([]byte, 31))) }, `issuers[0].keys[4].jwk.x: an Ed25519 public key is 32 bytes, got 31`},
		{"kty missing", func(d map[string]any) { set(d, "issuers.0.keys.4.jwk.kty", del) }, `issuers[0].keys[4].jwk.kty: required`},
		{"kty oct without k", func(d map[string]any) { set(d, "issuers.0.keys.4.jwk.kty", "oct") }, `issuers[0].keys[4].jwk.kty: unsupported key type "oct"`},
		{"member of another key type", func(d map[string]any) { set(d, "issuers.0.keys.3.jwk.crv", "P-256") }, `issuers[0].keys[3].jwk.crv: not a member of a RSA key`},
		{"x5c", func(d map[string]any) { set(d, "issuers.0.keys.3.jwk.x5c", []any{"MIIB"}) }, `issuers[0].keys[3].jwk.x5c: unknown JWK member`},
		{"kid a number", func(d map[string]any) { set(d, "issuers.0.keys.3.jwk.kid", 7) }, `issuers[0].keys[3].jwk.kid: must be a string`},

		// routes
		{"route name upper case", func(d map[string]any) { set(d, "routes.Orders", map[string]any{"apiKey": true}) }, `routes["Orders"]: route name must match`},
		{"route name too long", func(d map[string]any) { set(d, "routes."+strings.Repeat("a", 64), map[string]any{"apiKey": true}) }, `routes["` + strings.Repeat("a", 64) + `"]: route name must match`},
		{"route without a check", func(d map[string]any) { set(d, "routes.empty", map[string]any{"apiKey": false}) }, `routes["empty"]: no check: needs apiKey: true, signature or jwt`},
		{"route null", func(d map[string]any) { set(d, "routes.empty", nil) }, `routes["empty"]: no check`},
		{"apiKey not a boolean", func(d map[string]any) { set(d, "routes.key-only.apiKey", "yes") }, `routes["key-only"].apiKey: must be true or false`},
		{"unknown issuer", func(d map[string]any) { set(d, "routes.orders-jwt.jwt.issuer", "x") }, `routes["orders-jwt"].jwt.issuer: unknown issuer "x"`},
		{"issuer missing", func(d map[string]any) { set(d, "routes.orders-jwt.jwt.issuer", del) }, `routes["orders-jwt"].jwt.issuer: required`},
		{"no audiences", func(d map[string]any) { set(d, "routes.orders-jwt.jwt.audiences", []any{}) }, `routes["orders-jwt"].jwt.audiences: at least one audience is required`},
		{"empty audience", func(d map[string]any) { set(d, "routes.orders-jwt.jwt.audiences.1", "") }, `routes["orders-jwt"].jwt.audiences[1]: must not be empty`},
		{"audience a number", func(d map[string]any) { set(d, "routes.orders-jwt.jwt.audiences.1", 3) }, `routes["orders-jwt"].jwt.audiences[1]: must be a string`},
		{"unknown client", func(d map[string]any) {
			set(d, "routes.partner-orders.signature.clients", []any{"partner-a", "partner-c"})
		}, `routes["partner-orders"].signature.clients[1]: unknown client "partner-c"`},
		{"no clients", func(d map[string]any) { set(d, "routes.partner-orders.signature.clients", []any{}) }, `routes["partner-orders"].signature.clients: at least one client is required`},
		{"client twice", func(d map[string]any) {
			set(d, "routes.partner-orders.signature.clients", []any{"partner-a", "partner-a"})
		}, `routes["partner-orders"].signature.clients[1]: "partner-a" appears twice`},
		{"signature route without signature keys", func(d map[string]any) { delete(d, "signatures") }, `routes["partner-orders"].signature.clients[0]: unknown client "partner-a"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			doc := testPolicyDoc()
			c.mutate(doc)
			p, err := parseDoc(doc)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
			if p != nil {
				t.Fatal("a policy with a problem was returned")
			}
		})
	}
}

func TestParsePolicyJoinsAllProblems(t *testing.T) {
	doc := testPolicyDoc()
	set(doc, "signatures.maxSkewSeconds", 0)
	set(doc, "issuers.0.keys.0.jwk.d", "AAAA")
	set(doc, "routes.orders-jwt.jwt.issuer", "x")
	_, err := parseDoc(doc)
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{"signatures.maxSkewSeconds:", "issuers[0].keys[0].jwk: private key material in a JWKS", `routes["orders-jwt"].jwt.issuer: unknown issuer "x"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%v\nmissing %q", err, want)
		}
	}
	// Shape problems are reported together too (before any value is looked at).
	_, err = ParsePolicy(strings.NewReader(`{"signatures":{"maxSkewSeconds":"x","keys":[{"id":1}]},"routes":{"a":{"apiKey":1,"jwt":{"issuer":[]}}},"x":0}`))
	for _, want := range []string{`signatures.maxSkewSeconds: must be an integer`, `signatures.keys[0].id: must be a string`, `routes["a"].apiKey: must be true or false`, `routes["a"].jwt.issuer: must be a string`, `x: unknown field`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v\nmissing %q", err, want)
		}
	}
}

func TestParsePolicyRefusesBadJSON(t *testing.T) {
	for doc, want := range map[string]string{
		"":                                "empty or truncated JSON",
		"{\n\"routes\": {,}\n}":           "line 2:",
		`{"routes":{}} {}`:                "data after the policy object",
		`[]`:                              "the policy must be a JSON object",
		`{"routes":{"a":{"apiKey":true}}`: "empty or truncated JSON",
	} {
		if _, err := ParsePolicy(strings.NewReader(doc)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want %q", doc, err, want)
		}
	}
	if _, err := ParsePolicy(strings.NewReader(`{"routes":{}, "x": "` + strings.Repeat("a", MaxPolicyFileBytes) + `"}`)); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("oversized: %v", err)
	}
	if _, err := LoadPolicyFile("/nonexistent/policy.json"); err == nil || !strings.Contains(err.Error(), "policy file") {
		t.Errorf("missing file: %v", err)
	}
}
