package tls

import (
	"context"
	"crypto"
	"crypto/sha1" //nolint:gosec // certificate fingerprint output, as upstream
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"time"

	"apiproxy.local/engine/providers/internal/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// New returns the `tls` provider at the version the SDK asks for.
func New(version string) *plugin.Provider {
	return &plugin.Provider{
		Name:    "tls",
		Version: version,
		Resources: map[string]plugin.Resource{
			privateKeySchema.Token:        privateKey{},
			selfSignedCertSchema.Token:    selfSignedCert{},
			certRequestSchema.Token:       certRequest{},
			locallySignedCertSchema.Token: locallySignedCert{},
		},
		Functions: map[string]plugin.Function{
			getPublicKeySchema.Token:   {Schema: getPublicKeySchema, Invoke: getPublicKey},
			getCertificateSchema.Token: {Schema: getCertificateSchema, Invoke: getCertificate},
		},
		Config: &plugin.Schema{Token: "pulumi:providers:tls", Fields: []plugin.Field{
			{Name: "proxy", Kind: plugin.Object, Fields: []plugin.Field{
				{Name: "fromEnv", Kind: plugin.Bool}, {Name: "password", Kind: plugin.String},
				{Name: "url", Kind: plugin.String}, {Name: "username", Kind: plugin.String},
			}, Unsupported: "getCertificate fetches URLs directly (tls:// and https:// without a proxy); " +
				"an HTTP proxy is not implemented"},
		}},
	}
}

var getPublicKeySchema = &plugin.Schema{Token: "tls:index/getPublicKey:getPublicKey", Fields: []plugin.Field{
	{Name: "privateKeyPem", Kind: plugin.String},
	{Name: "privateKeyOpenssh", Kind: plugin.String},
}}

func getPublicKey(_ plugin.Call, in plugin.Args) (resource.PropertyMap, error) {
	var key crypto.Signer
	var err error
	switch {
	case in.Has("privateKeyPem") == in.Has("privateKeyOpenssh"):
		return nil, errors.New("getPublicKey: set exactly one of privateKeyPem and privateKeyOpenssh")
	case in.Has("privateKeyPem"):
		if key, err = parsePrivateKeyPEM(in.Str("privateKeyPem")); err != nil {
			return nil, fmt.Errorf("getPublicKey: privateKeyPem: %w", err)
		}
	default:
		if key, err = parsePrivateKeyOpenSSH(in.Str("privateKeyOpenssh")); err != nil {
			return nil, fmt.Errorf("getPublicKey: privateKeyOpenssh: %w", err)
		}
	}
	pub := key.Public()
	alg, err := algorithmOf(pub)
	if err != nil {
		return nil, err
	}
	out, err := publicKeyOutputs(pub)
	if err != nil {
		return nil, err
	}
	der, _ := x509.MarshalPKIXPublicKey(pub)
	out["algorithm"] = resource.NewStringProperty(alg)
	out["id"] = resource.NewStringProperty(stateID(string(der)))
	for _, k := range []string{"privateKeyPem", "privateKeyOpenssh"} {
		if v, ok := in.Raw(k); ok {
			out[resource.PropertyKey(k)] = resource.MakeSecret(plugin.Plain(v))
		}
	}
	return out, nil
}

var getCertificateSchema = &plugin.Schema{Token: "tls:index/getCertificate:getCertificate", Fields: []plugin.Field{
	{Name: "content", Kind: plugin.String},
	{Name: "url", Kind: plugin.String},
	{Name: "verifyChain", Kind: plugin.Bool},
}}

// fetchTimeout bounds a getCertificate URL fetch.
const fetchTimeout = 30 * time.Second

func getCertificate(c plugin.Call, in plugin.Args) (resource.PropertyMap, error) {
	var certs []*x509.Certificate
	switch {
	case in.Has("content") == in.Has("url"):
		return nil, errors.New("getCertificate: set exactly one of content and url")
	case in.Has("content"):
		if in.Has("verifyChain") {
			return nil, errors.New("getCertificate: verifyChain applies to url only")
		}
		block, _ := pem.Decode([]byte(in.Str("content")))
		if block == nil || block.Type != "CERTIFICATE" {
			return nil, errors.New("getCertificate: content is not a PEM CERTIFICATE")
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("getCertificate: content: %w", err)
		}
		certs = []*x509.Certificate{cert}
	default:
		peer, err := fetchPeerCertificates(c.Ctx, in.Str("url"), !in.Has("verifyChain") || in.Bool("verifyChain"))
		if err != nil {
			return nil, fmt.Errorf("getCertificate: %w", err)
		}
		// As upstream: the topmost issuer first, the leaf last.
		certs = slices.Clone(peer)
		slices.Reverse(certs)
	}
	list := make([]resource.PropertyValue, len(certs))
	idText := ""
	for i, cert := range certs {
		sum := sha1.Sum(cert.Raw) //nolint:gosec // fingerprint output
		alg, _ := algorithmOf(cert.PublicKey)
		if alg == algED25519 {
			alg = "Ed25519"
		}
		list[i] = resource.NewObjectProperty(resource.PropertyMap{
			"certPem":            resource.NewStringProperty(pemString("CERTIFICATE", cert.Raw)),
			"isCa":               resource.NewBoolProperty(cert.IsCA),
			"issuer":             resource.NewStringProperty(cert.Issuer.String()),
			"maxPathLength":      resource.NewNumberProperty(float64(cert.MaxPathLen)),
			"notAfter":           resource.NewStringProperty(cert.NotAfter.Format(time.RFC3339)),
			"notBefore":          resource.NewStringProperty(cert.NotBefore.Format(time.RFC3339)),
			"publicKeyAlgorithm": resource.NewStringProperty(alg),
			"serialNumber":       resource.NewStringProperty(cert.SerialNumber.String()),
			"sha1Fingerprint":    resource.NewStringProperty(hex.EncodeToString(sum[:])),
			"signatureAlgorithm": resource.NewStringProperty(cert.SignatureAlgorithm.String()),
			"subject":            resource.NewStringProperty(cert.Subject.String()),
			"version":            resource.NewNumberProperty(float64(cert.Version)),
		})
		idText += hex.EncodeToString(sum[:])
	}
	out := in.M.Copy()
	out["certificates"] = resource.NewArrayProperty(list)
	out["id"] = resource.NewStringProperty(stateID(idText))
	return out, nil
}

// fetchPeerCertificates: `tls://host:port` or `https://host[:port]`, dialled directly.
func fetchPeerCertificates(ctx context.Context, raw string, verify bool) ([]*x509.Certificate, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("url: %w", err)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("url %q contains no host", raw)
	}
	port := u.Port()
	switch u.Scheme {
	case "https":
		if port == "" {
			port = "443"
		}
	case "tls":
		if port == "" {
			return nil, fmt.Errorf("port missing from url %q", raw)
		}
	default:
		return nil, fmt.Errorf("url %q: scheme must be https or tls", raw)
	}
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	d := tls.Dialer{NetDialer: &net.Dialer{}, Config: &tls.Config{ServerName: u.Hostname(), InsecureSkipVerify: !verify}} //nolint:gosec // verifyChain=false asks for exactly this
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(u.Hostname(), port))
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.(*tls.Conn).ConnectionState().PeerCertificates, nil
}
