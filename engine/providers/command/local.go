package command

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"apiproxy.local/engine/providers/internal/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

var loggingField = plugin.Field{Name: "logging", Kind: plugin.String,
	Enum: []string{logStdout, logStderr, logStdoutAndStderr, logNone}}

const unsupportedAssets = "collecting files a command wrote as Pulumi assets is not implemented; " +
	"read them with a separate step or copy them with remote.CopyToRemote"

// localFields: the inputs of local.Command and of the local run invoke (besides the commands).
func localFields() []plugin.Field {
	return []plugin.Field{
		{Name: "stdin", Kind: plugin.String},
		loggingField,
		{Name: "interpreter", Kind: plugin.StringList},
		{Name: "dir", Kind: plugin.String},
		{Name: "environment", Kind: plugin.StringMap},
		{Name: "addPreviousOutputInEnv", Kind: plugin.Bool},
		{Name: "assetPaths", Kind: plugin.StringList, Unsupported: unsupportedAssets},
		{Name: "archivePaths", Kind: plugin.StringList, Unsupported: unsupportedAssets},
	}
}

var localCommandSchema = &plugin.Schema{Token: "command:local:Command", Fields: append(localFields(),
	plugin.Field{Name: "triggers", Kind: plugin.AnyList, Replaces: true},
	plugin.Field{Name: "create", Kind: plugin.String},
	plugin.Field{Name: "update", Kind: plugin.String},
	plugin.Field{Name: "delete", Kind: plugin.String},
)}

var localRunSchema = &plugin.Schema{Token: "command:local:run", Fields: append(localFields(),
	plugin.Field{Name: "command", Kind: plugin.String, Required: true},
)}

// killGrace: after cancellation, the process group gets SIGTERM, then SIGKILL after this.
const killGrace = 5 * time.Second

// runLocal runs command through the interpreter (default /bin/sh -c) in dir, with the
// provider's environment plus `environment` plus the previous outputs.
func runLocal(c plugin.Call, in plugin.Args, command string, prev previous) (string, string, error) {
	interpreter := in.StrList("interpreter")
	if len(interpreter) == 0 {
		interpreter = []string{"/bin/sh", "-c"}
	}
	cmd := exec.CommandContext(c.Ctx, interpreter[0], append(interpreter[1:], command)...) //nolint:gosec // running it is the point
	cmd.Dir = in.Str("dir")
	cmd.Env = os.Environ()
	for _, kv := range append(in.StrMap("environment"), prev.env(in)...) {
		cmd.Env = append(cmd.Env, kv[0]+"="+kv[1])
	}
	if in.Str("stdin") != "" {
		cmd.Stdin = strings.NewReader(in.Str("stdin"))
	}
	// Its own process group, so a cancelled `pulumi up` stops the whole command tree.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = killGrace
	out := newCapture(c, in.Str("logging"))
	cmd.Stdout, cmd.Stderr = out.streams()
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) && c.Ctx.Err() != nil {
			err = c.Ctx.Err()
		}
		return "", "", out.failure(err, command)
	}
	stdout, stderr := out.result()
	return stdout, stderr, nil
}

func localRun(c plugin.Call, in plugin.Args) (resource.PropertyMap, error) {
	stdout, stderr, err := runLocal(c, in, in.Str("command"), previous{})
	if err != nil {
		return nil, err
	}
	return outputsWith(in, stdout, stderr), nil
}
