package command

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"apiproxy.local/engine/providers/internal/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// connectionFields: remote.Connection (and, without `proxy`, remote.ProxyConnection) with the
// SDK's defaults, filled in at check time as upstream does.
func connectionFields(withProxy bool) []plugin.Field {
	fs := []plugin.Field{
		{Name: "host", Kind: plugin.String, Required: true},
		{Name: "port", Kind: plugin.Integer, Default: resource.NewNumberProperty(22), Validate: func(v resource.PropertyValue) string {
			if n := v.NumberValue(); n < 1 || n > 65535 {
				return fmt.Sprintf("must be a TCP port (1-65535), got %v", n)
			}
			return ""
		}},
		{Name: "user", Kind: plugin.String, Default: resource.NewStringProperty("root")},
		{Name: "password", Kind: plugin.String},
		{Name: "privateKey", Kind: plugin.String},
		{Name: "privateKeyPassword", Kind: plugin.String},
		{Name: "agentSocketPath", Kind: plugin.String},
		{Name: "dialErrorLimit", Kind: plugin.Integer, Default: resource.NewNumberProperty(10)},
		{Name: "perDialTimeout", Kind: plugin.Integer, Default: resource.NewNumberProperty(15)},
		{Name: "hostKey", Kind: plugin.String, Validate: func(v resource.PropertyValue) string {
			if _, _, _, _, err := ssh.ParseAuthorizedKey([]byte(v.StringValue())); err != nil {
				return fmt.Sprintf("is not a public key in authorized_keys format (\"ssh-ed25519 AAAA…\"): %v", err)
			}
			return ""
		}},
	}
	if withProxy {
		fs = append(fs, plugin.Field{Name: "proxy", Kind: plugin.Object, Fields: connectionFields(false)})
	}
	return fs
}

// dial backoff, as upstream: 100 ms, ×1.5 per failure, at most 5 s between attempts.
const (
	dialBackoffStart = 100 * time.Millisecond
	dialBackoffMax   = 5 * time.Second
)

// clientConfig builds the SSH client configuration of one connection object.
func clientConfig(c plugin.Call, conn plugin.Args) (*ssh.ClientConfig, func(), error) {
	cfg := &ssh.ClientConfig{User: conn.Str("user"), Timeout: time.Duration(conn.Int("perDialTimeout")) * time.Second}
	cleanup := func() {}
	if conn.Has("privateKey") {
		var signer ssh.Signer
		var err error
		if conn.Has("privateKeyPassword") {
			signer, err = ssh.ParsePrivateKeyWithPassphrase([]byte(conn.Str("privateKey")), []byte(conn.Str("privateKeyPassword")))
		} else {
			signer, err = ssh.ParsePrivateKey([]byte(conn.Str("privateKey")))
		}
		if err != nil {
			return nil, cleanup, fmt.Errorf("connection.privateKey: %w", err)
		}
		cfg.Auth = append(cfg.Auth, ssh.PublicKeys(signer))
	}
	if conn.Has("password") {
		password := conn.Str("password")
		cfg.Auth = append(cfg.Auth, ssh.Password(password),
			ssh.KeyboardInteractive(func(_, _ string, questions []string, _ []bool) ([]string, error) {
				answers := make([]string, len(questions))
				for i := range answers {
					answers[i] = password
				}
				return answers, nil
			}))
	}
	socket := conn.Str("agentSocketPath")
	if socket == "" {
		socket = os.Getenv("SSH_AUTH_SOCK")
	}
	if socket != "" {
		a, err := net.Dial("unix", socket)
		if err != nil {
			return nil, cleanup, fmt.Errorf("connecting to the SSH agent at %s: %w", socket, err)
		}
		cleanup = func() { _ = a.Close() }
		cfg.Auth = append(cfg.Auth, ssh.PublicKeysCallback(agent.NewClient(a).Signers))
	}
	if conn.Has("hostKey") {
		key, _, _, _, err := ssh.ParseAuthorizedKey([]byte(conn.Str("hostKey")))
		if err != nil {
			cleanup()
			return nil, func() {}, fmt.Errorf("connection.hostKey: %w", err)
		}
		pinned := ssh.FixedHostKey(key)
		cfg.HostKeyCallback = func(hostname string, remote net.Addr, offered ssh.PublicKey) error {
			if err := pinned(hostname, remote, offered); err != nil {
				return permanent{fmt.Errorf("host key of %s is %s %s, not the pinned connection.hostKey %s",
					hostname, offered.Type(), ssh.FingerprintSHA256(offered), ssh.FingerprintSHA256(key))}
			}
			return nil
		}
		cfg.HostKeyAlgorithms = hostKeyAlgorithms(key.Type())
	} else {
		c.Log(diag.Warning, fmt.Sprintf("connection.hostKey is not set: the host key of %s is not verified "+
			"(pin it to refuse a machine in the middle)", conn.Str("host")))
		cfg.HostKeyCallback = ssh.InsecureIgnoreHostKey() //nolint:gosec // the SDK's documented default without hostKey; warned above
	}
	return cfg, cleanup, nil
}

// hostKeyAlgorithms: the signature algorithms that prove a key of this type. An RSA host key
// signs with SHA-2 (RFC 8332); OpenSSH ≥ 8.8 refuses the SHA-1 "ssh-rsa" signature.
func hostKeyAlgorithms(keyType string) []string {
	if keyType == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	}
	return []string{keyType}
}

// permanent marks an error that another attempt cannot fix (a host key that is not the pinned
// one): it is not retried.
type permanent struct{ error }

func (p permanent) Unwrap() error { return p.error }

// retry calls attempt until it succeeds, the context ends, or it has failed more than limit
// times (limit < 0: no limit).
func retry(c plugin.Call, what string, limit int, attempt func() error) error {
	delay := dialBackoffStart
	for n := 1; ; n++ {
		err := attempt()
		if err == nil {
			return nil
		}
		var stop permanent
		if errors.As(err, &stop) {
			return fmt.Errorf("%s: %w", what, err)
		}
		if limit >= 0 && n > limit {
			return fmt.Errorf("%s: after %d failed attempts: %w", what, n, err)
		}
		total := "inf"
		if limit >= 0 {
			total = strconv.Itoa(limit)
		}
		c.Status(fmt.Sprintf("%s %d/%s failed: retrying (%v)", what, n, total, err))
		select {
		case <-c.Ctx.Done():
			return fmt.Errorf("%s: %w (last error: %v)", what, c.Ctx.Err(), err)
		case <-time.After(delay):
		}
		delay = min(time.Duration(float64(delay)*1.5), dialBackoffMax)
	}
}

// dialSSH connects to connection (through its proxy when set) and returns the client.
func dialSSH(c plugin.Call, conn plugin.Args) (*ssh.Client, error) {
	cfg, cleanup, err := clientConfig(c, conn)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	addr := net.JoinHostPort(conn.Str("host"), strconv.Itoa(conn.Int("port")))
	limit := conn.Int("dialErrorLimit")
	if !conn.Has("proxy") {
		var client *ssh.Client
		err := retry(c, "Dial "+addr, limit, func() error {
			var err error
			client, err = dialContext(c.Ctx, addr, cfg, nil)
			return err
		})
		return client, err
	}
	proxyConn := conn.Obj("proxy")
	proxyClient, err := dialSSH(c, proxyConn)
	if err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}
	var client *ssh.Client
	err = retry(c, "Dial "+addr+" from proxy", limit, func() error {
		var err error
		client, err = dialContext(c.Ctx, addr, cfg, proxyClient)
		return err
	})
	if err != nil {
		_ = proxyClient.Close()
		return nil, err
	}
	go func() { _ = client.Wait(); _ = proxyClient.Close() }()
	return client, nil
}

// dialContext opens TCP (directly or through a jump host) and runs the SSH handshake, all
// within the per-dial timeout and the request's context.
func dialContext(ctx context.Context, addr string, cfg *ssh.ClientConfig, via *ssh.Client) (*ssh.Client, error) {
	if cfg.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.Timeout)
		defer cancel()
	}
	var tcp net.Conn
	var err error
	if via != nil {
		tcp, err = via.DialContext(ctx, "tcp", addr)
	} else {
		tcp, err = (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return nil, err
	}
	if deadline, ok := ctx.Deadline(); ok {
		_ = tcp.SetDeadline(deadline)
	}
	stop := context.AfterFunc(ctx, func() { _ = tcp.Close() })
	sshConn, chans, reqs, err := ssh.NewClientConn(tcp, addr, cfg)
	stop()
	if err != nil {
		_ = tcp.Close()
		if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
			err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return nil, err
	}
	_ = tcp.SetDeadline(time.Time{})
	return ssh.NewClient(sshConn, chans, reqs), nil
}
