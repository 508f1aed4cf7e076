// Package tls implements the resource types and functions of @pulumi/tls 5.6.1
// (terraform-provider-tls v4 semantics) on Go's crypto/x509 and x/crypto/ssh.
package tls

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // state ids and key identifiers, as upstream; not a security use
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"sort"
	"strings"

	"apiproxy.local/engine/providers/internal/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"golang.org/x/crypto/ssh"
)

// Key algorithms as the SDK names them.
const (
	algRSA     = "RSA"
	algECDSA   = "ECDSA"
	algED25519 = "ED25519"
)

var curves = map[string]elliptic.Curve{
	"P224": elliptic.P224(), "P256": elliptic.P256(), "P384": elliptic.P384(), "P521": elliptic.P521(),
}

// RSA key sizes accepted. NIST SP 800-131A Rev. 2 disallows RSA below 2048 bits for key
// establishment and signatures; 16384 bounds key-generation time.
const (
	minRSABits = 2048
	maxRSABits = 16384
)

func generateKey(algorithm, curve string, rsaBits int) (crypto.Signer, error) {
	switch algorithm {
	case algRSA:
		return rsa.GenerateKey(rand.Reader, rsaBits)
	case algECDSA:
		c, ok := curves[curve]
		if !ok {
			return nil, fmt.Errorf("unsupported ecdsaCurve %q", curve)
		}
		return ecdsa.GenerateKey(c, rand.Reader)
	case algED25519:
		_, key, err := ed25519.GenerateKey(rand.Reader)
		return key, err
	}
	return nil, fmt.Errorf("unsupported algorithm %q", algorithm)
}

func algorithmOf(pub crypto.PublicKey) (string, error) {
	switch pub.(type) {
	case *rsa.PublicKey:
		return algRSA, nil
	case *ecdsa.PublicKey:
		return algECDSA, nil
	case ed25519.PublicKey:
		return algED25519, nil
	}
	return "", fmt.Errorf("unsupported public key type %T", pub)
}

// parsePrivateKeyPEM accepts PKCS#1 (RSA PRIVATE KEY), SEC 1 (EC PRIVATE KEY) and PKCS#8
// (PRIVATE KEY) PEM, as upstream does.
func parsePrivateKeyPEM(text string) (crypto.Signer, error) {
	block, _ := pem.Decode([]byte(text))
	if block == nil {
		return nil, errors.New("no PEM block found")
	}
	var key any
	var err error
	switch block.Type {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("PEM block type %q is not a private key (want RSA PRIVATE KEY, EC PRIVATE KEY or PRIVATE KEY)", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("parsing %s: %w", block.Type, err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("unsupported private key type %T", key)
	}
	if _, err := algorithmOf(signer.Public()); err != nil {
		return nil, err
	}
	return signer, nil
}

// parsePrivateKeyOpenSSH reads an "OPENSSH PRIVATE KEY" (unencrypted).
func parsePrivateKeyOpenSSH(text string) (crypto.Signer, error) {
	raw, err := ssh.ParseRawPrivateKey([]byte(text))
	if err != nil {
		return nil, err
	}
	switch k := raw.(type) {
	case *ed25519.PrivateKey:
		return *k, nil
	case crypto.Signer:
		return k, nil
	}
	return nil, fmt.Errorf("unsupported private key type %T", raw)
}

func pemString(blockType string, der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: blockType, Bytes: der}))
}

// privateKeyPEM: PKCS#1 for RSA, SEC 1 for ECDSA, PKCS#8 for Ed25519 (no other form exists).
func privateKeyPEM(key crypto.Signer) (string, error) {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		return pemString("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(k)), nil
	case *ecdsa.PrivateKey:
		der, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			return "", err
		}
		return pemString("EC PRIVATE KEY", der), nil
	default:
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return "", err
		}
		return pemString("PRIVATE KEY", der), nil
	}
}

// publicKeyOutputs: the public-key properties shared by tls.PrivateKey and getPublicKey.
// OpenSSH has no P-224 key type: its OpenSSH forms and fingerprints are empty, as upstream.
func publicKeyOutputs(pub crypto.PublicKey) (resource.PropertyMap, error) {
	pubDER, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	out := resource.PropertyMap{
		"publicKeyPem":               resource.NewStringProperty(pemString("PUBLIC KEY", pubDER)),
		"publicKeyOpenssh":           resource.NewStringProperty(""),
		"publicKeyFingerprintMd5":    resource.NewStringProperty(""),
		"publicKeyFingerprintSha256": resource.NewStringProperty(""),
	}
	if sshPub, err := ssh.NewPublicKey(pub); err == nil {
		out["publicKeyOpenssh"] = resource.NewStringProperty(string(ssh.MarshalAuthorizedKey(sshPub)))
		out["publicKeyFingerprintMd5"] = resource.NewStringProperty(ssh.FingerprintLegacyMD5(sshPub))
		out["publicKeyFingerprintSha256"] = resource.NewStringProperty(ssh.FingerprintSHA256(sshPub))
	}
	return out, nil
}

// privateKeyOpenSSH: the OpenSSH private key format, or "" where OpenSSH has no such key type.
func privateKeyOpenSSH(key crypto.Signer) string {
	var k any = key
	if ed, ok := key.(ed25519.PrivateKey); ok {
		k = &ed
	}
	block, err := ssh.MarshalPrivateKey(k, "")
	if err != nil {
		return ""
	}
	return string(pem.EncodeToMemory(block))
}

// stateID: hex SHA-1 of the space-trimmed text, the id form upstream uses for keys and
// requests (applied to DER bytes as well).
func stateID(text string) string {
	sum := sha1.Sum([]byte(strings.TrimSpace(text))) //nolint:gosec // an identifier, not a security use
	return hex.EncodeToString(sum[:])
}

func secret(s string) resource.PropertyValue {
	return resource.MakeSecret(resource.NewStringProperty(s))
}

// stateless is the life cycle of a resource with no counterpart outside the state: the state
// is the truth, an update only records its inputs, and deleting has nothing to remove.
type stateless struct{}

func (stateless) Read(_ plugin.Call, _ string, _ plugin.Args, state resource.PropertyMap) (resource.PropertyMap, error) {
	return state, nil
}

func (stateless) Update(_ plugin.Call, _ string, in, _ plugin.Args, state resource.PropertyMap) (resource.PropertyMap, error) {
	return merge(state, in.M), nil
}

func (stateless) Delete(plugin.Call, string, plugin.Args, resource.PropertyMap) error { return nil }

type privateKey struct{ stateless }

var privateKeySchema = &plugin.Schema{Token: "tls:index/privateKey:PrivateKey", Fields: []plugin.Field{
	{Name: "algorithm", Kind: plugin.String, Required: true, Enum: []string{algRSA, algECDSA, algED25519}, Replaces: true},
	{Name: "ecdsaCurve", Kind: plugin.String, Default: resource.NewStringProperty("P224"),
		Enum: []string{"P224", "P256", "P384", "P521"}, Replaces: true},
	{Name: "rsaBits", Kind: plugin.Integer, Default: resource.NewNumberProperty(2048), Replaces: true,
		Validate: func(v resource.PropertyValue) string {
			if n := int(v.NumberValue()); n < minRSABits || n > maxRSABits {
				return fmt.Sprintf("must be between %d and %d (NIST SP 800-131A), got %d", minRSABits, maxRSABits, n)
			}
			return ""
		}},
}}

func (privateKey) Schema() *plugin.Schema { return privateKeySchema }
func (privateKey) Outputs() []string {
	return []string{"privateKeyPem", "privateKeyPemPkcs8", "privateKeyOpenssh", "publicKeyPem", "publicKeyOpenssh",
		"publicKeyFingerprintMd5", "publicKeyFingerprintSha256"}
}

func (privateKey) Create(_ plugin.Call, in plugin.Args) (string, resource.PropertyMap, error) {
	key, err := generateKey(in.Str("algorithm"), in.Str("ecdsaCurve"), in.Int("rsaBits"))
	if err != nil {
		return "", nil, err
	}
	keyPEM, err := privateKeyPEM(key)
	if err != nil {
		return "", nil, err
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", nil, err
	}
	out, err := publicKeyOutputs(key.Public())
	if err != nil {
		return "", nil, err
	}
	for k, v := range in.M {
		out[k] = v
	}
	out["privateKeyPem"] = secret(keyPEM)
	out["privateKeyPemPkcs8"] = secret(pemString("PRIVATE KEY", pkcs8))
	out["privateKeyOpenssh"] = secret(privateKeyOpenSSH(key))
	pubDER, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return "", nil, err
	}
	return stateID(string(pubDER)), out, nil
}

func merge(state, inputs resource.PropertyMap) resource.PropertyMap {
	out := state.Copy()
	for k, v := range inputs {
		out[k] = v
	}
	return out
}

// keyFromInputs returns the private key given as PEM in `name` or its write-only twin.
func keyFromInputs(in plugin.Args, name string) (crypto.Signer, error) {
	text := in.Str(name)
	if text == "" {
		text = in.Str(name + "Wo")
	}
	key, err := parsePrivateKeyPEM(text)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return key, nil
}

// exactlyOneKey refuses both or neither of a private key and its write-only twin.
func exactlyOneKey(in resource.PropertyMap, name string) []plugin.Failure {
	has := func(k string) bool { v, ok := in[resource.PropertyKey(k)]; return ok && !v.IsNull() }
	switch {
	case has(name) && has(name+"Wo"):
		return []plugin.Failure{{Property: name, Reason: fmt.Sprintf("set only one of %s and %sWo", name, name)}}
	case !has(name) && !has(name+"Wo"):
		return []plugin.Failure{{Property: name, Reason: fmt.Sprintf("one of %s and %sWo is required", name, name)}}
	}
	if v := plugin.Plain(in[resource.PropertyKey(name)]); v.IsString() {
		if _, err := parsePrivateKeyPEM(v.StringValue()); err != nil {
			return []plugin.Failure{{Property: name, Reason: fmt.Sprintf("property %s is not a usable private key: %v", name, err)}}
		}
	}
	return nil
}

// keepSecretInputs marks private-key inputs secret in the outputs whatever the program sent, and
// drops write-only inputs from them: state never holds a write-only value as an output.
func keepSecretInputs(out resource.PropertyMap, names ...string) {
	for _, name := range names {
		k := resource.PropertyKey(name)
		if v, ok := out[k]; ok && !v.IsSecret() && !v.IsNull() {
			out[k] = resource.MakeSecret(v)
		}
		delete(out, k+"Wo")
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
