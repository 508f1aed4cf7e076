package tls

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // subject key identifier (RFC 5280 §4.2.1.2 method 1 family), as upstream
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"time"

	"apiproxy.local/engine/providers/internal/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// keyUsages and extKeyUsages: the allowedUses vocabulary of @pulumi/tls (terraform-provider-tls).
var keyUsages = map[string]x509.KeyUsage{
	"digital_signature":  x509.KeyUsageDigitalSignature,
	"content_commitment": x509.KeyUsageContentCommitment,
	"key_encipherment":   x509.KeyUsageKeyEncipherment,
	"data_encipherment":  x509.KeyUsageDataEncipherment,
	"key_agreement":      x509.KeyUsageKeyAgreement,
	"cert_signing":       x509.KeyUsageCertSign,
	"crl_signing":        x509.KeyUsageCRLSign,
	"encipher_only":      x509.KeyUsageEncipherOnly,
	"decipher_only":      x509.KeyUsageDecipherOnly,
}

var extKeyUsages = map[string]x509.ExtKeyUsage{
	"any_extended":                      x509.ExtKeyUsageAny,
	"server_auth":                       x509.ExtKeyUsageServerAuth,
	"client_auth":                       x509.ExtKeyUsageClientAuth,
	"code_signing":                      x509.ExtKeyUsageCodeSigning,
	"email_protection":                  x509.ExtKeyUsageEmailProtection,
	"ipsec_end_system":                  x509.ExtKeyUsageIPSECEndSystem,
	"ipsec_tunnel":                      x509.ExtKeyUsageIPSECTunnel,
	"ipsec_user":                        x509.ExtKeyUsageIPSECUser,
	"timestamping":                      x509.ExtKeyUsageTimeStamping,
	"ocsp_signing":                      x509.ExtKeyUsageOCSPSigning,
	"microsoft_server_gated_crypto":     x509.ExtKeyUsageMicrosoftServerGatedCrypto,
	"netscape_server_gated_crypto":      x509.ExtKeyUsageNetscapeServerGatedCrypto,
	"microsoft_commercial_code_signing": x509.ExtKeyUsageMicrosoftCommercialCodeSigning,
	"microsoft_kernel_code_signing":     x509.ExtKeyUsageMicrosoftKernelCodeSigning,
}

func validUses(v resource.PropertyValue) string {
	for _, e := range v.ArrayValue() {
		if e = plugin.Plain(e); e.IsString() {
			_, ku := keyUsages[e.StringValue()]
			_, eku := extKeyUsages[e.StringValue()]
			if !ku && !eku {
				return fmt.Sprintf("has an unknown use %q (known: key usages %v; extended key usages %v)",
					e.StringValue(), sortedKeys(keyUsages), sortedKeys(extKeyUsages))
			}
		}
	}
	return ""
}

func nonNegative(v resource.PropertyValue) string {
	if v.NumberValue() < 0 {
		return fmt.Sprintf("must be at least 0, got %v", v.NumberValue())
	}
	return ""
}

func validIPs(v resource.PropertyValue) string {
	for _, e := range v.ArrayValue() {
		if e = plugin.Plain(e); e.IsString() && net.ParseIP(e.StringValue()) == nil {
			return fmt.Sprintf("has an invalid IP address %q", e.StringValue())
		}
	}
	return ""
}

func validURIs(v resource.PropertyValue) string {
	for _, e := range v.ArrayValue() {
		if e = plugin.Plain(e); e.IsString() {
			if _, err := url.Parse(e.StringValue()); err != nil || e.StringValue() == "" {
				return fmt.Sprintf("has an invalid URI %q", e.StringValue())
			}
		}
	}
	return ""
}

var subjectFields = []plugin.Field{
	{Name: "commonName", Kind: plugin.String},
	{Name: "country", Kind: plugin.String},
	{Name: "emailAddress", Kind: plugin.String},
	{Name: "locality", Kind: plugin.String},
	{Name: "organization", Kind: plugin.String},
	{Name: "organizationalUnit", Kind: plugin.String},
	{Name: "postalCode", Kind: plugin.String},
	{Name: "province", Kind: plugin.String},
	{Name: "serialNumber", Kind: plugin.String},
	{Name: "streetAddresses", Kind: plugin.StringList},
}

// emailAddressOID is PKCS #9 emailAddress, carried as an extra RDN (IA5String).
var emailAddressOID = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}

func subjectName(s plugin.Args) pkix.Name {
	one := func(k string) []string {
		if v := s.Str(k); v != "" {
			return []string{v}
		}
		return nil
	}
	name := pkix.Name{
		CommonName: s.Str("commonName"), SerialNumber: s.Str("serialNumber"),
		Country: one("country"), Locality: one("locality"), Organization: one("organization"),
		OrganizationalUnit: one("organizationalUnit"), PostalCode: one("postalCode"), Province: one("province"),
		StreetAddress: s.StrList("streetAddresses"),
	}
	if email := s.Str("emailAddress"); email != "" {
		name.ExtraNames = append(name.ExtraNames, pkix.AttributeTypeAndValue{Type: emailAddressOID, Value: email})
	}
	return name
}

func sans(in plugin.Args) ([]string, []net.IP, []*url.URL) {
	var ips []net.IP
	for _, s := range in.StrList("ipAddresses") {
		ips = append(ips, net.ParseIP(s))
	}
	var uris []*url.URL
	for _, s := range in.StrList("uris") {
		u, _ := url.Parse(s)
		uris = append(uris, u)
	}
	return in.StrList("dnsNames"), ips, uris
}

// subjectKeyID: SHA-1 over the key's encoding, the way upstream computes it (RSA: PKCS #1
// RSAPublicKey; ECDSA: the uncompressed point; Ed25519: the key as a DER OCTET STRING).
func subjectKeyID(pub crypto.PublicKey) ([]byte, error) {
	var raw []byte
	var err error
	switch k := pub.(type) {
	case *rsa.PublicKey:
		raw, err = asn1.Marshal(*k)
	case *ecdsa.PublicKey:
		raw = elliptic.Marshal(k.Curve, k.X, k.Y) //nolint:staticcheck // the exact bytes upstream hashes
	case ed25519.PublicKey:
		raw, err = asn1.Marshal([]byte(k))
	default:
		err = fmt.Errorf("unsupported public key type %T", pub)
	}
	if err != nil {
		return nil, err
	}
	sum := sha1.Sum(raw) //nolint:gosec // identifier
	return sum[:], nil
}

// certFields: inputs shared by SelfSignedCert and LocallySignedCert. earlyRenewalHours is the
// only one that updates in place (upstream); every other input replaces the certificate.
func certFields() []plugin.Field {
	return []plugin.Field{
		{Name: "allowedUses", Kind: plugin.StringList, Required: true, Validate: validUses, Replaces: true},
		{Name: "validityPeriodHours", Kind: plugin.Integer, Required: true, Validate: nonNegative, Replaces: true},
		{Name: "earlyRenewalHours", Kind: plugin.Integer, Default: resource.NewNumberProperty(0), Validate: nonNegative},
		{Name: "isCaCertificate", Kind: plugin.Bool, Default: resource.NewBoolProperty(false), Replaces: true},
		{Name: "maxPathLength", Kind: plugin.Integer, Replaces: true, Validate: func(v resource.PropertyValue) string {
			if v.NumberValue() < -1 {
				return fmt.Sprintf("must be at least -1, got %v", v.NumberValue())
			}
			return ""
		}},
		{Name: "setSubjectKeyId", Kind: plugin.Bool, Default: resource.NewBoolProperty(false), Replaces: true},
	}
}

func certOutputs(extra ...string) []string {
	return append([]string{"certPem", "validityStartTime", "validityEndTime", "readyForRenewal"}, extra...)
}

// issue signs template for pub with signer under parent and returns the certificate outputs.
func issue(in plugin.Args, template, parent *x509.Certificate, pub crypto.PublicKey, signer crypto.Signer) (string, resource.PropertyMap, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return "", nil, fmt.Errorf("generating a serial number: %w", err)
	}
	now := time.Now()
	end := now.Add(time.Duration(in.Int("validityPeriodHours")) * time.Hour)
	template.SerialNumber = serial
	template.NotBefore = now
	template.NotAfter = end
	template.BasicConstraintsValid = true
	template.IsCA = in.Bool("isCaCertificate")
	if in.Has("maxPathLength") && in.Int("maxPathLength") >= 0 {
		// As upstream: MaxPathLenZero stays false, so 0 means "no constraint" (Go crypto/x509).
		template.MaxPathLen = in.Int("maxPathLength")
	}
	for _, use := range in.StrList("allowedUses") {
		if ku, ok := keyUsages[use]; ok {
			template.KeyUsage |= ku
		} else {
			template.ExtKeyUsage = append(template.ExtKeyUsage, extKeyUsages[use])
		}
	}
	if in.Bool("setSubjectKeyId") || template.IsCA {
		if template.SubjectKeyId, err = subjectKeyID(pub); err != nil {
			return "", nil, err
		}
	}
	if parent == nil {
		parent = template
	}
	der, err := x509.CreateCertificate(rand.Reader, template, parent, pub, signer)
	if err != nil {
		return "", nil, fmt.Errorf("creating the certificate: %w", err)
	}
	out := in.M.Copy()
	out["certPem"] = resource.NewStringProperty(pemString("CERTIFICATE", der))
	start, _ := now.MarshalText()
	stop, _ := end.MarshalText()
	out["validityStartTime"] = resource.NewStringProperty(string(start))
	out["validityEndTime"] = resource.NewStringProperty(string(stop))
	out["readyForRenewal"] = resource.NewBoolProperty(readyForRenewal(end, in.Int("earlyRenewalHours"), in.Int("validityPeriodHours"), now))
	return serial.String(), out, nil
}

// readyForRenewal: past the start of the early-renewal window (or expired), or a window as
// long as the validity itself.
func readyForRenewal(end time.Time, earlyRenewalHours, validityHours int, now time.Time) bool {
	if validityHours == 0 || earlyRenewalHours >= validityHours {
		return true
	}
	return !end.Add(-time.Duration(earlyRenewalHours) * time.Hour).After(now)
}

// certificate is the behaviour shared by both certificate resources after creation: stateless,
// except that a refresh records an opened renewal window.
type certificate struct{ stateless }

func (certificate) windowOpen(state, inputs resource.PropertyMap) bool {
	endV := plugin.Plain(state["validityEndTime"])
	if !endV.IsString() {
		return false
	}
	end, err := time.Parse(time.RFC3339, endV.StringValue())
	if err != nil {
		return false
	}
	early := plugin.Plain(inputs["earlyRenewalHours"])
	if !early.IsNumber() {
		early = plugin.Plain(state["earlyRenewalHours"])
	}
	validity := plugin.Plain(state["validityPeriodHours"])
	hours := 0
	if early.IsNumber() {
		hours = int(early.NumberValue())
	}
	v := 1
	if validity.IsNumber() {
		v = int(validity.NumberValue())
	}
	return readyForRenewal(end, hours, v, time.Now())
}

// MustReplace: a plain `pulumi up` inside the renewal window (or past expiry) re-issues the
// certificate; no `--refresh` needed.
func (c certificate) MustReplace(state, news resource.PropertyMap) string {
	if c.windowOpen(state, news) {
		return "readyForRenewal"
	}
	return ""
}

// Read (refresh) records readyForRenewal when the window has opened; it never resets it.
func (c certificate) Read(_ plugin.Call, _ string, _ plugin.Args, state resource.PropertyMap) (resource.PropertyMap, error) {
	out := state.Copy()
	if c.windowOpen(state, state) {
		out["readyForRenewal"] = resource.NewBoolProperty(true)
	}
	return out, nil
}

type selfSignedCert struct{ certificate }

var selfSignedCertSchema = &plugin.Schema{Token: "tls:index/selfSignedCert:SelfSignedCert", Fields: append(certFields(),
	plugin.Field{Name: "privateKeyPem", Kind: plugin.String, Replaces: true},
	plugin.Field{Name: "privateKeyPemWo", Kind: plugin.String, Replaces: true},
	plugin.Field{Name: "privateKeyPemWoVersion", Kind: plugin.Integer, Replaces: true},
	plugin.Field{Name: "setAuthorityKeyId", Kind: plugin.Bool, Default: resource.NewBoolProperty(false), Replaces: true},
	plugin.Field{Name: "subject", Kind: plugin.Object, Fields: subjectFields, Replaces: true},
	plugin.Field{Name: "dnsNames", Kind: plugin.StringList, Replaces: true},
	plugin.Field{Name: "ipAddresses", Kind: plugin.StringList, Validate: validIPs, Replaces: true},
	plugin.Field{Name: "uris", Kind: plugin.StringList, Validate: validURIs, Replaces: true},
)}

func (selfSignedCert) Schema() *plugin.Schema { return selfSignedCertSchema }
func (selfSignedCert) Outputs() []string      { return certOutputs("keyAlgorithm") }

func (selfSignedCert) Validate(in resource.PropertyMap) []plugin.Failure {
	fs := exactlyOneKey(in, "privateKeyPem")
	args := plugin.Args{M: in}
	if args.Bool("isCaCertificate") && subjectName(args.Obj("subject")).String() == "" && plugin.Known(in["subject"]) {
		fs = append(fs, plugin.Failure{Property: "subject",
			Reason: "a CA certificate must have at least one subject field (RFC 5280 §4.1.2.6)"})
	}
	if args.Bool("setAuthorityKeyId") && !args.Bool("setSubjectKeyId") && !args.Bool("isCaCertificate") {
		fs = append(fs, plugin.Failure{Property: "setAuthorityKeyId",
			Reason: "a self-signed authority key id is its own subject key id: set setSubjectKeyId or isCaCertificate too"})
	}
	return fs
}

func (selfSignedCert) Create(_ plugin.Call, in plugin.Args) (string, resource.PropertyMap, error) {
	key, err := keyFromInputs(in, "privateKeyPem")
	if err != nil {
		return "", nil, err
	}
	dns, ips, uris := sans(in)
	template := &x509.Certificate{Subject: subjectName(in.Obj("subject")), DNSNames: dns, IPAddresses: ips, URIs: uris}
	if in.Bool("setAuthorityKeyId") {
		if template.AuthorityKeyId, err = subjectKeyID(key.Public()); err != nil {
			return "", nil, err
		}
	}
	id, out, err := issue(in, template, nil, key.Public(), key)
	if err != nil {
		return "", nil, err
	}
	alg, _ := algorithmOf(key.Public())
	out["keyAlgorithm"] = resource.NewStringProperty(alg)
	keepSecretInputs(out, "privateKeyPem")
	return id, out, nil
}

type locallySignedCert struct{ certificate }

var locallySignedCertSchema = &plugin.Schema{Token: "tls:index/locallySignedCert:LocallySignedCert", Fields: append(certFields(),
	plugin.Field{Name: "certRequestPem", Kind: plugin.String, Required: true, Replaces: true},
	plugin.Field{Name: "caCertPem", Kind: plugin.String, Required: true, Replaces: true},
	plugin.Field{Name: "caPrivateKeyPem", Kind: plugin.String, Replaces: true},
	plugin.Field{Name: "caPrivateKeyPemWo", Kind: plugin.String, Replaces: true},
	plugin.Field{Name: "caPrivateKeyPemWoVersion", Kind: plugin.Integer, Replaces: true},
)}

func (locallySignedCert) Schema() *plugin.Schema { return locallySignedCertSchema }
func (locallySignedCert) Outputs() []string      { return certOutputs("caKeyAlgorithm") }

func (locallySignedCert) Validate(in resource.PropertyMap) []plugin.Failure {
	fs := exactlyOneKey(in, "caPrivateKeyPem")
	args := plugin.Args{M: in}
	if v := in["certRequestPem"]; plugin.Known(v) {
		if _, err := parseCSR(args.Str("certRequestPem")); err != nil {
			fs = append(fs, plugin.Failure{Property: "certRequestPem", Reason: "property certRequestPem: " + err.Error()})
		}
	}
	if v := in["caCertPem"]; plugin.Known(v) {
		if _, err := parseCertificate(args.Str("caCertPem")); err != nil {
			fs = append(fs, plugin.Failure{Property: "caCertPem", Reason: "property caCertPem: " + err.Error()})
		}
	}
	return fs
}

func parseCSR(text string) (*x509.CertificateRequest, error) {
	block, _ := pem.Decode([]byte(text))
	if block == nil || block.Type != "CERTIFICATE REQUEST" {
		return nil, errors.New("not a PEM CERTIFICATE REQUEST")
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parsing the certificate request: %w", err)
	}
	return csr, nil
}

func parseCertificate(text string) (*x509.Certificate, error) {
	block, rest := pem.Decode([]byte(text))
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("not a PEM CERTIFICATE")
	}
	if next, _ := pem.Decode(rest); next != nil {
		return nil, errors.New("holds more than one PEM block: give the issuing CA certificate alone")
	}
	return x509.ParseCertificate(block.Bytes)
}

func (locallySignedCert) Create(c plugin.Call, in plugin.Args) (string, resource.PropertyMap, error) {
	csr, err := parseCSR(in.Str("certRequestPem"))
	if err != nil {
		return "", nil, fmt.Errorf("certRequestPem: %w", err)
	}
	caCert, err := parseCertificate(in.Str("caCertPem"))
	if err != nil {
		return "", nil, fmt.Errorf("caCertPem: %w", err)
	}
	caKey, err := keyFromInputs(in, "caPrivateKeyPem")
	if err != nil {
		return "", nil, err
	}
	if !caCert.IsCA {
		c.Log(diag.Warning, "caCertPem is not a CA certificate (basicConstraints CA:FALSE): clients will not accept what it signs")
	}
	if in.Bool("isCaCertificate") && csr.Subject.String() == "" {
		return "", nil, errors.New("certRequestPem: a CA certificate must have at least one subject field (RFC 5280 §4.1.2.6)")
	}
	// RawSubject: the CSR's distinguished name byte for byte (a parsed Subject would drop
	// attributes Go does not model, such as emailAddress).
	template := &x509.Certificate{RawSubject: csr.RawSubject, DNSNames: csr.DNSNames, IPAddresses: csr.IPAddresses,
		URIs: csr.URIs, EmailAddresses: csr.EmailAddresses}
	id, out, err := issue(in, template, caCert, csr.PublicKey, caKey)
	if err != nil {
		return "", nil, err
	}
	alg, _ := algorithmOf(caKey.Public())
	out["caKeyAlgorithm"] = resource.NewStringProperty(alg)
	keepSecretInputs(out, "caPrivateKeyPem")
	return id, out, nil
}

type certRequest struct{ stateless }

var certRequestSchema = &plugin.Schema{Token: "tls:index/certRequest:CertRequest", Fields: []plugin.Field{
	{Name: "privateKeyPem", Kind: plugin.String, Replaces: true},
	{Name: "privateKeyPemWo", Kind: plugin.String, Replaces: true},
	{Name: "privateKeyPemWoVersion", Kind: plugin.Integer, Replaces: true},
	{Name: "subject", Kind: plugin.Object, Fields: subjectFields, Replaces: true},
	{Name: "dnsNames", Kind: plugin.StringList, Replaces: true},
	{Name: "ipAddresses", Kind: plugin.StringList, Validate: validIPs, Replaces: true},
	{Name: "uris", Kind: plugin.StringList, Validate: validURIs, Replaces: true},
}}

func (certRequest) Schema() *plugin.Schema { return certRequestSchema }
func (certRequest) Outputs() []string      { return []string{"certRequestPem", "keyAlgorithm"} }
func (certRequest) Validate(in resource.PropertyMap) []plugin.Failure {
	return exactlyOneKey(in, "privateKeyPem")
}

func (certRequest) Create(_ plugin.Call, in plugin.Args) (string, resource.PropertyMap, error) {
	key, err := keyFromInputs(in, "privateKeyPem")
	if err != nil {
		return "", nil, err
	}
	dns, ips, uris := sans(in)
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: subjectName(in.Obj("subject")), DNSNames: dns, IPAddresses: ips, URIs: uris}, key)
	if err != nil {
		return "", nil, fmt.Errorf("creating the certificate request: %w", err)
	}
	out := in.M.Copy()
	out["certRequestPem"] = resource.NewStringProperty(pemString("CERTIFICATE REQUEST", der))
	alg, _ := algorithmOf(key.Public())
	out["keyAlgorithm"] = resource.NewStringProperty(alg)
	keepSecretInputs(out, "privateKeyPem")
	return stateID(string(der)), out, nil
}
