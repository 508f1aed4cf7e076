package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The per-key limit flags are checked before anything else happens, and each error names its flag.
func TestServeRefusesBadRateFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--burst", "5"}, "--rate-per-second is required"},
		{[]string{"serve", "--rate-per-second", "100"}, "--burst is required"},
		{[]string{"serve", "--rate-per-second", "0", "--burst", "5"}, `--rate-per-second must be a positive integer, got "0"`},
		{[]string{"serve", "--rate-per-second", "-3", "--burst", "5"}, "--rate-per-second must be a positive integer"},
		{[]string{"serve", "--rate-per-second", "1.5", "--burst", "5"}, "--rate-per-second must be a positive integer"},
		{[]string{"serve", "--rate-per-second", "100", "--burst", "-1"}, `--burst must be an integer >= 0, got "-1"`},
		{[]string{"serve", "--rate-per-second", "100", "--burst", "many"}, "--burst must be an integer >= 0"},
	} {
		err := run(append(c.args, "--pepper-file", "/nonexistent/pepper"))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: got %v, want an error containing %q", c.args, err, c.want)
		}
	}
}

func TestServeAcceptsValidRateFlags(t *testing.T) {
	// Valid limits get past the flag checks; the missing pepper file is the next error.
	for _, burst := range []string{"0", "50"} {
		err := run([]string{"serve", "--rate-per-second", "100", "--burst", burst, "--pepper-file", "/nonexistent/pepper"})
		if err == nil || !strings.HasPrefix(err.Error(), "--pepper-file") {
			t.Errorf("burst %s: got %v, want the pepper-file error", burst, err)
		}
	}
}

func TestProvisionNeedsNoRateFlags(t *testing.T) {
	err := run([]string{"provision", "--pepper-file", "/nonexistent/pepper"})
	if err == nil || !strings.HasPrefix(err.Error(), "--pepper-file") {
		t.Errorf("got %v, want the pepper-file error", err)
	}
}

// TestMain runs main() itself when asked to by a test below (the real process: exit status,
// signals), and the tests otherwise.
func TestMain(m *testing.M) {
	if os.Getenv("APIPROXY_KEYCHECK_RUN_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// mainProcess is this test binary running main() with args.
func mainProcess(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "APIPROXY_KEYCHECK_RUN_MAIN=1")
	return cmd
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// jwtPolicy is a policy with one JWT route, name, of an issuer with one EC P-256 key.
func jwtPolicy(t *testing.T, route string) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := key.PublicKey.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding
	return fmt.Sprintf(`{
  "issuers": [{"name": "local", "issuer": "https://issuer.apiproxy.local",
    "keys": [{"jwk": {"kty": "EC", "crv": "P-256", "x": %q, "y": %q, "kid": "k1", "alg": "ES256", "use": "sig"}}]}],
  "routes": {%q: {"jwt": {"issuer": "local", "audiences": ["orders-api"]}}}
}`, enc.EncodeToString(raw[1:33]), enc.EncodeToString(raw[33:]), route)
}

const brokenPolicy = `{
  "issuers": [{"name": "local", "issuer": "https://issuer.apiproxy.local", "keys": []}],
  "routes": {"orders-jwt": {"apiKey": false, "jwt": {"issuer": "x", "audiences": ["orders-api"]}}}
}`

func TestServeRefusesABrokenPolicyFile(t *testing.T) {
	dir := t.TempDir()
	pepper := writeFile(t, dir, "pepper", strings.Repeat("p", 40))
	policy := writeFile(t, dir, "policy.json", brokenPolicy)
	args := []string{"serve", "--listen", "127.0.0.1:0", "--rate-per-second", "100", "--burst", "5", "--pepper-file", pepper, "--policy-file", policy}
	err := run(args)
	for _, want := range []string{"--policy-file: policy file " + policy, "issuers[0].keys: at least one key is required", `routes["orders-jwt"].jwt.issuer: unknown issuer "x"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("run: %v\nwant %q", err, want)
		}
	}
	// The process: a non-zero exit, the problem on stderr, before anything listens.
	var stderr bytes.Buffer
	cmd := mainProcess(args...)
	cmd.Stderr = &stderr
	err = cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() == 0 {
		t.Fatalf("exit: %v", err)
	}
	if !strings.Contains(stderr.String(), `routes["orders-jwt"].jwt.issuer: unknown issuer "x"`) {
		t.Fatalf("stderr: %s", stderr.String())
	}
	if err := run(append(args[:len(args)-1], filepath.Join(dir, "absent.json"))); err == nil || !strings.Contains(err.Error(), "--policy-file") {
		t.Fatalf("missing policy file: %v", err)
	}
}

func TestPolicyFileIsAServeFlag(t *testing.T) {
	err := run([]string{"provision", "--policy-file", "/etc/policy.json", "--pepper-file", "/nonexistent/pepper"})
	if err == nil || !strings.Contains(err.Error(), "--policy-file is a serve flag") {
		t.Fatalf("got %v", err)
	}
}

// syncBuffer collects a process's output while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}
func (b *syncBuffer) String() string { b.mu.Lock(); defer b.mu.Unlock(); return b.buf.String() }

// The running service: without a token a JWT route answers 401, an unknown route 500; SIGHUP
// swaps in a valid new file, and keeps the policy in force when the new file is broken.
func TestServeReloadsThePolicyOnSIGHUP(t *testing.T) {
	dir := t.TempDir()
	pepper := writeFile(t, dir, "pepper", strings.Repeat("p", 40))
	policy := writeFile(t, dir, "policy.json", jwtPolicy(t, "route-one"))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	var stdout, stderr syncBuffer
	cmd := mainProcess("serve", "--listen", addr, "--redis", filepath.Join(dir, "absent.sock"), "--rate-per-second", "100", "--burst", "5", "--pepper-file", pepper, "--policy-file", policy)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})
	status := func(route string) int {
		resp, err := http.Get("http://" + addr + "/auth/" + route)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if ok() {
				return
			}
		}
		t.Fatalf("timed out waiting for %s\nstdout:\n%s\nstderr:\n%s", what, stdout.String(), stderr.String())
	}
	waitFor("the service", func() bool { return status("route-one") == 401 })
	if got := status("route-two"); got != 500 {
		t.Fatalf("route-two before the reload: %d", got)
	}

	writeFile(t, dir, "policy.json", jwtPolicy(t, "route-two"))
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor("the new policy", func() bool { return status("route-two") == 401 })
	if got := status("route-one"); got != 500 {
		t.Fatalf("route-one after the reload: %d", got)
	}

	writeFile(t, dir, "policy.json", brokenPolicy)
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor("the refusal", func() bool { return strings.Contains(stdout.String(), "policy reload refused") })
	if !strings.Contains(stdout.String(), `unknown issuer \"x\"`) {
		t.Fatalf("the refusal does not name the problem:\n%s", stdout.String())
	}
	if got := status("route-two"); got != 401 {
		t.Fatalf("after a broken reload: %d, want the previous policy in force", got)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		done <- err // for the cleanup
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no exit after SIGTERM")
	}
}
