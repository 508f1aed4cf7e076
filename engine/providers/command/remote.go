package command

import (
	"errors"
	"fmt"
	"strings"

	"apiproxy.local/engine/providers/internal/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"golang.org/x/crypto/ssh"
)

var remoteCommandSchema = &plugin.Schema{Token: "command:remote:Command", Fields: []plugin.Field{
	{Name: "connection", Kind: plugin.Object, Required: true, Fields: connectionFields(true)},
	{Name: "triggers", Kind: plugin.AnyList, Replaces: true},
	{Name: "create", Kind: plugin.String},
	{Name: "update", Kind: plugin.String},
	{Name: "delete", Kind: plugin.String},
	{Name: "stdin", Kind: plugin.String},
	loggingField,
	{Name: "environment", Kind: plugin.StringMap},
	{Name: "addPreviousOutputInEnv", Kind: plugin.Bool},
}}

// acceptEnvHint: why a setenv request fails, and the way around it.
const acceptEnvHint = "this only works if the SSH server accepts the variable (sshd_config AcceptEnv); " +
	"alternatively prefix the command itself with VAR=value"

// runRemote runs command in one SSH exec session (interpreted by the remote login shell),
// with `environment` and the previous outputs sent as setenv requests.
func runRemote(c plugin.Call, in plugin.Args, command string, prev previous) (string, string, error) {
	client, err := dialSSH(c, in.Obj("connection"))
	if err != nil {
		return "", "", err
	}
	defer client.Close()
	session, err := client.NewSession()
	if err != nil {
		return "", "", fmt.Errorf("opening an SSH session: %w", err)
	}
	defer session.Close()
	for _, kv := range in.StrMap("environment") {
		if err := session.Setenv(kv[0], kv[1]); err != nil {
			return "", "", fmt.Errorf("could not set environment variable %q: %w (%s)", kv[0], err, acceptEnvHint)
		}
	}
	for _, kv := range prev.env(in) {
		if err := session.Setenv(kv[0], kv[1]); err != nil {
			c.Log(diag.Warning, fmt.Sprintf("could not set %s for this step: %v (%s)", kv[0], err, acceptEnvHint))
		}
	}
	if in.Str("stdin") != "" {
		session.Stdin = strings.NewReader(in.Str("stdin"))
	}
	out := newCapture(c, in.Str("logging"))
	session.Stdout, session.Stderr = out.streams()
	if err := session.Start(command); err != nil {
		return "", "", out.failure(err, command)
	}
	done := make(chan error, 1)
	go func() { done <- session.Wait() }()
	select {
	case err = <-done:
	case <-c.Ctx.Done():
		_ = session.Signal(ssh.SIGTERM)
		_ = client.Close()
		err = errors.Join(c.Ctx.Err(), <-done)
	}
	if err != nil {
		return "", "", out.failure(err, command)
	}
	stdout, stderr := out.result()
	return stdout, stderr, nil
}
