package keycheck

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The policy file (serve --policy-file): which checks each route's GET /auth/{route} applies,
// the HMAC signature keys and the JWT issuers with their public keys. Read once at start and on
// SIGHUP; every problem is reported with its JSON path and any problem refuses the whole file.

// Bounds of the policy file.
const (
	MaxPolicyFileBytes     = 4 << 20
	DefaultMaxSkewSeconds  = 300
	MaxMaxSkewSeconds      = 900
	DefaultLeewaySeconds   = 30
	MaxLeewaySeconds       = 300
	MinSignatureSecretSize = 32
	MaxSignatureSecretSize = 1024
	MaxKidLength           = 256
)

var (
	routeNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	// Signature key ids and clients: they go into Redis key names, response headers and logs.
	signatureIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
	issuerNamePattern  = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
)

// Policy is a validated policy file.
type Policy struct {
	// MaxSkew is how far a signed request's timestamp may be from now.
	MaxSkew time.Duration
	// SignatureKeys by key id.
	SignatureKeys map[string]*SignatureKey
	// Issuers by name.
	Issuers map[string]*Issuer
	// Routes by name.
	Routes map[string]*Route
}

// Window is a key's validity: NotBefore (inclusive) to NotAfter (exclusive); a zero bound is open.
type Window struct {
	NotBefore, NotAfter time.Time
}

// Contains says whether the key may be used at t.
func (w Window) Contains(t time.Time) bool {
	return (w.NotBefore.IsZero() || !t.Before(w.NotBefore)) && (w.NotAfter.IsZero() || t.Before(w.NotAfter))
}

// SignatureKey is one HMAC-SHA256 key of a signing client.
type SignatureKey struct {
	ID     string
	Client string
	Secret []byte
	Window
}

// Issuer is a trusted JWT issuer with its verification keys.
type Issuer struct {
	Name string
	// Issuer is the value the tokens' iss claim must equal.
	Issuer string
	Leeway time.Duration
	// MaxLifetime, when positive, bounds exp - iat (or exp - nbf, or exp - now).
	MaxLifetime time.Duration
	// Keys by kid.
	Keys map[string]*VerificationKey
}

// Route is one route's checks, applied in this order: API key, signature, JWT.
type Route struct {
	Name   string
	APIKey bool
	// Clients, when not nil, requires an HMAC signature by a key of one of these clients.
	Clients map[string]bool
	// JWT, when not nil, requires a bearer token of this issuer for one of these audiences.
	JWT *JWTRule
}

// JWTRule is a route's JWT requirement.
type JWTRule struct {
	Issuer    *Issuer
	Audiences []string
}

// The file's shape. Every field is checked against the JSON first (checkShape), so unknown
// members (exact-case), wrong types and non-integers are reported with their paths.
type policyFile struct {
	Signatures *signaturesFile       `json:"signatures"`
	Issuers    []issuerFile          `json:"issuers"`
	Routes     map[string]*routeFile `json:"routes"`
}

type signaturesFile struct {
	MaxSkewSeconds *int               `json:"maxSkewSeconds"`
	Keys           []signatureKeyFile `json:"keys"`
}

type signatureKeyFile struct {
	ID        string  `json:"id"`
	Client    string  `json:"client"`
	Secret    string  `json:"secret"`
	NotBefore *string `json:"notBefore"`
	NotAfter  *string `json:"notAfter"`
}

type issuerFile struct {
	Name               string          `json:"name"`
	Issuer             string          `json:"issuer"`
	LeewaySeconds      *int            `json:"leewaySeconds"`
	MaxLifetimeSeconds *int            `json:"maxLifetimeSeconds"`
	Keys               []issuerKeyFile `json:"keys"`
}

type issuerKeyFile struct {
	// The JWK's members are checked by parseJWK (private members get their own error).
	JWK       map[string]json.RawMessage `json:"jwk"`
	NotBefore *string                    `json:"notBefore"`
	NotAfter  *string                    `json:"notAfter"`
}

type routeFile struct {
	APIKey    bool               `json:"apiKey"`
	Signature *signatureRuleFile `json:"signature"`
	JWT       *jwtRuleFile       `json:"jwt"`
}

type signatureRuleFile struct {
	Clients []string `json:"clients"`
}

type jwtRuleFile struct {
	Issuer    string   `json:"issuer"`
	Audiences []string `json:"audiences"`
}

// LoadPolicyFile reads and validates a policy file; errors name the file.
func LoadPolicyFile(path string) (*Policy, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("policy file: %w", err)
	}
	defer f.Close()
	p, err := ParsePolicy(f)
	if err != nil {
		return nil, fmt.Errorf("policy file %s: %w", path, err)
	}
	return p, nil
}

// ParsePolicy reads and validates a policy document. All problems are joined, each naming its
// JSON path; any problem refuses the document.
func ParsePolicy(r io.Reader) (*Policy, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxPolicyFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxPolicyFileBytes {
		return nil, fmt.Errorf("larger than %d bytes", MaxPolicyFileBytes)
	}
	if err := syntaxCheck(data); err != nil {
		return nil, err
	}
	if problems := checkShape("", data, reflect.TypeFor[policyFile]()); len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	var doc policyFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return nil, err // not reached: checkShape found nothing
	}
	return compilePolicy(&doc)
}

// syntaxCheck: exactly one JSON object, or an error with line and column.
func syntaxCheck(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	var v json.RawMessage
	err := dec.Decode(&v)
	if err == nil {
		if _, err2 := dec.Token(); err2 != io.EOF {
			return fmt.Errorf("line %d: data after the policy object", lineOf(data, dec.InputOffset()))
		}
		if t := bytes.TrimSpace(v); len(t) == 0 || t[0] != '{' {
			return errors.New("the policy must be a JSON object")
		}
		return nil
	}
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return fmt.Errorf("line %d: %v", lineOf(data, syn.Offset), err)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("empty or truncated JSON")
	}
	return err
}

func lineOf(data []byte, offset int64) int {
	return 1 + bytes.Count(data[:min(int(offset), len(data))], []byte("\n"))
}

var rawMessageType = reflect.TypeFor[json.RawMessage]()

// checkShape compares JSON with the Go type it will be decoded into and reports, with paths,
// what the decoder would refuse (or, for field names, silently match case-insensitively):
// unknown members, wrong JSON types, numbers that are not integers. null is accepted anywhere
// (an absent value); the validation after decoding reports missing required values.
func checkShape(path string, raw json.RawMessage, t reflect.Type) []error {
	raw = bytes.TrimSpace(raw)
	if string(raw) == "null" {
		return nil
	}
	if t == rawMessageType {
		return nil
	}
	at := path
	if at == "" {
		at = "policy"
	}
	switch t.Kind() {
	case reflect.Pointer:
		return checkShape(path, raw, t.Elem())
	case reflect.String:
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return []error{fmt.Errorf("%s: must be a string", at)}
		}
	case reflect.Bool:
		if string(raw) != "true" && string(raw) != "false" {
			return []error{fmt.Errorf("%s: must be true or false", at)}
		}
	case reflect.Int:
		if _, err := strconv.ParseInt(string(raw), 10, 32); err != nil {
			return []error{fmt.Errorf("%s: must be an integer, got %s", at, truncate(string(raw), 40))}
		}
	case reflect.Slice:
		var items []json.RawMessage
		if json.Unmarshal(raw, &items) != nil {
			return []error{fmt.Errorf("%s: must be an array", at)}
		}
		var problems []error
		for i, item := range items {
			problems = append(problems, checkShape(fmt.Sprintf("%s[%d]", path, i), item, t.Elem())...)
		}
		return problems
	case reflect.Map:
		var members map[string]json.RawMessage
		if json.Unmarshal(raw, &members) != nil {
			return []error{fmt.Errorf("%s: must be an object", at)}
		}
		var problems []error
		for _, k := range sortedKeys(members) {
			problems = append(problems, checkShape(fmt.Sprintf("%s[%q]", path, k), members[k], t.Elem())...)
		}
		return problems
	case reflect.Struct:
		var members map[string]json.RawMessage
		if json.Unmarshal(raw, &members) != nil {
			return []error{fmt.Errorf("%s: must be an object", at)}
		}
		fields := map[string]reflect.Type{}
		for f := range t.Fields() {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			fields[name] = f.Type
		}
		var problems []error
		for _, k := range sortedKeys(members) {
			sub := k
			if path != "" {
				sub = path + "." + k
			}
			ft, ok := fields[k]
			if !ok {
				problems = append(problems, fmt.Errorf("%s: unknown field", sub))
				continue
			}
			problems = append(problems, checkShape(sub, members[k], ft)...)
		}
		return problems
	default:
		panic("checkShape: unsupported type " + t.String())
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// compilePolicy validates the decoded document and builds the Policy.
func compilePolicy(doc *policyFile) (*Policy, error) {
	var problems []error
	add := func(format string, args ...any) { problems = append(problems, fmt.Errorf(format, args...)) }
	p := &Policy{
		MaxSkew:       DefaultMaxSkewSeconds * time.Second,
		SignatureKeys: map[string]*SignatureKey{},
		Issuers:       map[string]*Issuer{},
		Routes:        map[string]*Route{},
	}

	clients := map[string]bool{}
	if s := doc.Signatures; s != nil {
		if s.MaxSkewSeconds != nil {
			if n := *s.MaxSkewSeconds; n < 1 || n > MaxMaxSkewSeconds {
				add("signatures.maxSkewSeconds: must be 1 to %d, got %d", MaxMaxSkewSeconds, n)
			} else {
				p.MaxSkew = time.Duration(n) * time.Second
			}
		}
		secrets := map[string]string{}
		for i, k := range s.Keys {
			at := fmt.Sprintf("signatures.keys[%d]", i)
			if !signatureIDPattern.MatchString(k.ID) {
				add("%s.id: must match %s, got %q", at, signatureIDPattern, truncate(k.ID, 80))
			} else if p.SignatureKeys[k.ID] != nil {
				add("%s.id: %q appears twice", at, k.ID)
			}
			if !signatureIDPattern.MatchString(k.Client) {
				add("%s.client: must match %s, got %q", at, signatureIDPattern, truncate(k.Client, 80))
			}
			switch {
			case len(k.Secret) < MinSignatureSecretSize || len(k.Secret) > MaxSignatureSecretSize:
				add("%s.secret (id %q): must be %d to %d bytes, got %d", at, k.ID, MinSignatureSecretSize, MaxSignatureSecretSize, len(k.Secret))
			case !utf8.ValidString(k.Secret) || strings.ContainsRune(k.Secret, utf8.RuneError):
				add("%s.secret (id %q): must be valid UTF-8", at, k.ID)
			case secrets[k.Secret] != "":
				add("%s.secret (id %q): the same secret as key %q", at, k.ID, secrets[k.Secret])
			}
			window, err := parseWindow(at, k.NotBefore, k.NotAfter)
			if err != nil {
				problems = append(problems, err...)
			}
			if p.SignatureKeys[k.ID] == nil {
				p.SignatureKeys[k.ID] = &SignatureKey{ID: k.ID, Client: k.Client, Secret: []byte(k.Secret), Window: window}
			}
			if secrets[k.Secret] == "" {
				secrets[k.Secret] = k.ID
			}
			clients[k.Client] = true
		}
	}

	for i, is := range doc.Issuers {
		at := fmt.Sprintf("issuers[%d]", i)
		iss := &Issuer{Name: is.Name, Issuer: is.Issuer, Leeway: DefaultLeewaySeconds * time.Second, Keys: map[string]*VerificationKey{}}
		if !issuerNamePattern.MatchString(is.Name) {
			add("%s.name: must match %s, got %q", at, issuerNamePattern, truncate(is.Name, 80))
		} else if p.Issuers[is.Name] != nil {
			add("%s.name: %q appears twice", at, is.Name)
		} else {
			p.Issuers[is.Name] = iss
		}
		if is.Issuer == "" {
			add("%s.issuer: required (the value of the tokens' iss claim)", at)
		}
		if is.LeewaySeconds != nil {
			if n := *is.LeewaySeconds; n < 0 || n > MaxLeewaySeconds {
				add("%s.leewaySeconds: must be 0 to %d, got %d", at, MaxLeewaySeconds, n)
			} else {
				iss.Leeway = time.Duration(n) * time.Second
			}
		}
		if is.MaxLifetimeSeconds != nil {
			if n := *is.MaxLifetimeSeconds; n < 1 {
				add("%s.maxLifetimeSeconds: must be a positive integer, got %d", at, n)
			} else {
				iss.MaxLifetime = time.Duration(n) * time.Second
			}
		}
		if len(is.Keys) == 0 {
			add("%s.keys: at least one key is required", at)
		}
		for j, k := range is.Keys {
			kat := fmt.Sprintf("%s.keys[%d]", at, j)
			window, errs := parseWindow(kat, k.NotBefore, k.NotAfter)
			problems = append(problems, errs...)
			if k.JWK == nil {
				add("%s.jwk: required", kat)
				continue
			}
			key, errs := parseJWK(kat+".jwk", k.JWK)
			problems = append(problems, errs...)
			if key == nil {
				continue
			}
			if iss.Keys[key.Kid] != nil {
				add("%s.jwk.kid: %q appears twice in issuer %q", kat, key.Kid, is.Name)
				continue
			}
			key.Window = window
			iss.Keys[key.Kid] = key
		}
	}

	for _, name := range sortedKeys(doc.Routes) {
		rf := doc.Routes[name]
		at := fmt.Sprintf("routes[%q]", name)
		if !routeNamePattern.MatchString(name) {
			add("%s: route name must match %s", at, routeNamePattern)
		}
		if rf == nil {
			rf = &routeFile{}
		}
		route := &Route{Name: name, APIKey: rf.APIKey}
		if !rf.APIKey && rf.Signature == nil && rf.JWT == nil {
			add("%s: no check: needs apiKey: true, signature or jwt", at)
		}
		if rf.Signature != nil {
			route.Clients = map[string]bool{}
			if len(rf.Signature.Clients) == 0 {
				add("%s.signature.clients: at least one client is required", at)
			}
			for i, c := range rf.Signature.Clients {
				switch {
				case route.Clients[c]:
					add("%s.signature.clients[%d]: %q appears twice", at, i, c)
				case !clients[c]:
					add("%s.signature.clients[%d]: unknown client %q (no signatures.keys entry has it)", at, i, truncate(c, 80))
				}
				route.Clients[c] = true
			}
		}
		if j := rf.JWT; j != nil {
			rule := &JWTRule{Issuer: p.Issuers[j.Issuer]}
			if j.Issuer == "" {
				add("%s.jwt.issuer: required (the name of an issuers entry)", at)
			} else if rule.Issuer == nil {
				add("%s.jwt.issuer: unknown issuer %q", at, truncate(j.Issuer, 80))
			}
			if len(j.Audiences) == 0 {
				add("%s.jwt.audiences: at least one audience is required", at)
			}
			for i, a := range j.Audiences {
				switch {
				case a == "":
					add("%s.jwt.audiences[%d]: must not be empty", at, i)
				case slices.Contains(rule.Audiences, a):
					add("%s.jwt.audiences[%d]: %q appears twice", at, i, a)
				default:
					rule.Audiences = append(rule.Audiences, a)
				}
			}
			route.JWT = rule
		}
		p.Routes[name] = route
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	return p, nil
}

// parseWindow reads optional RFC 3339 notBefore/notAfter at path.
func parseWindow(path string, notBefore, notAfter *string) (Window, []error) {
	var w Window
	var problems []error
	parse := func(name string, s *string) time.Time {
		if s == nil {
			return time.Time{}
		}
		t, err := time.Parse(time.RFC3339, *s)
		if err != nil {
			problems = append(problems, fmt.Errorf("%s.%s: must be an RFC 3339 time such as 2026-11-01T00:00:00Z, got %q", path, name, truncate(*s, 80)))
			return time.Time{}
		}
		return t
	}
	w.NotBefore = parse("notBefore", notBefore)
	w.NotAfter = parse("notAfter", notAfter)
	if !w.NotBefore.IsZero() && !w.NotAfter.IsZero() && !w.NotBefore.Before(w.NotAfter) {
		problems = append(problems, fmt.Errorf("%s.notAfter: must be after notBefore", path))
	}
	return w, problems
}
