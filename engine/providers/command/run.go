// Package command implements the resource types and functions of @pulumi/command 1.2.1:
// local.Command, the local run invoke, remote.Command, remote.CopyToRemote and the deprecated
// remote.CopyFile.
package command

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"sync"

	"apiproxy.local/engine/providers/internal/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// Logging values of the SDK's enums (local and remote alike).
const (
	logStdout          = "stdout"
	logStderr          = "stderr"
	logStdoutAndStderr = "stdoutAndStderr"
	logNone            = "none"
)

// Environment variables that carry the previous run's outputs into update and delete.
const (
	envPreviousStdout = "PULUMI_COMMAND_STDOUT"
	envPreviousStderr = "PULUMI_COMMAND_STDERR"
)

// previous is what the last successful run printed (empty on create).
type previous struct{ stdout, stderr string }

// env returns the PULUMI_COMMAND_* pairs to add: only when addPreviousOutputInEnv is not false
// and only for non-empty outputs, as upstream.
func (p previous) env(in plugin.Args) [][2]string {
	if in.Has("addPreviousOutputInEnv") && !in.Bool("addPreviousOutputInEnv") {
		return nil
	}
	var out [][2]string
	if p.stdout != "" {
		out = append(out, [2]string{envPreviousStdout, p.stdout})
	}
	if p.stderr != "" {
		out = append(out, [2]string{envPreviousStderr, p.stderr})
	}
	return out
}

// capture collects a command's output: each stream on its own, both interleaved (for error
// messages), and the lines `logging` selects as status messages to the engine.
type capture struct {
	mu             sync.Mutex
	stdout, stderr bytes.Buffer
	combined       bytes.Buffer
	call           plugin.Call
	logging        string
	partial        [2]string
}

func newCapture(c plugin.Call, logging string) *capture {
	if logging == "" {
		logging = logStdoutAndStderr
	}
	return &capture{call: c, logging: logging}
}

type stream struct {
	c     *capture
	index int
}

func (s stream) Write(p []byte) (int, error) {
	c := s.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if s.index == 0 {
		c.stdout.Write(p)
	} else {
		c.stderr.Write(p)
	}
	c.combined.Write(p)
	if c.logs(s.index) {
		text := c.partial[s.index] + string(p)
		lines := strings.Split(text, "\n")
		for _, line := range lines[:len(lines)-1] {
			c.call.Status(line)
		}
		c.partial[s.index] = lines[len(lines)-1]
	}
	return len(p), nil
}

func (c *capture) logs(index int) bool {
	switch c.logging {
	case logStdoutAndStderr:
		return true
	case logStdout:
		return index == 0
	case logStderr:
		return index == 1
	}
	return false
}

func (c *capture) streams() (io.Writer, io.Writer) { return stream{c, 0}, stream{c, 1} }

// result returns stdout and stderr with one trailing newline trimmed, as upstream.
func (c *capture) result() (string, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, rest := range c.partial {
		if rest != "" && c.logs(i) {
			c.call.Status(rest)
		}
	}
	return strings.TrimSuffix(c.stdout.String(), "\n"), strings.TrimSuffix(c.stderr.String(), "\n")
}

// failure is the error of a failed run: the cause, the command, and everything it printed.
func (c *capture) failure(err error, command string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return fmt.Errorf("%w: running %q:\n%s", err, shortCommand(command), c.combined.String())
}

// maxCommandInError bounds how much of a command an error repeats: a script delivered as the
// command would otherwise bury what it printed.
const maxCommandInError = 200

// shortCommand is the command for an error message: whole when short, else its first line
// cut to maxCommandInError characters with a count of what was left out.
func shortCommand(command string) string {
	if len(command) <= maxCommandInError && !strings.Contains(command, "\n") {
		return command
	}
	first, _, _ := strings.Cut(command, "\n")
	if len(first) > maxCommandInError {
		first = first[:maxCommandInError]
	}
	return fmt.Sprintf("%s … (%d more characters)", first, len(command)-len(first))
}

// runner runs one command string with the resource's inputs (local process or SSH session).
type runner func(c plugin.Call, in plugin.Args, command string, prev previous) (stdout, stderr string, err error)

// secretSources are the inputs whose values can reach stdout/stderr; when any is secret the
// outputs are secret too (upstream leaves them plain unless additionalSecretOutputs is set).
var secretSources = []string{"create", "update", "delete", "stdin", "environment", "interpreter", "dir", "command"}

func outputsWith(in plugin.Args, stdout, stderr string) resource.PropertyMap {
	out := in.M.Copy()
	wrap := resource.NewStringProperty
	for _, k := range secretSources {
		if in.IsSecret(k) {
			wrap = func(s string) resource.PropertyValue { return resource.MakeSecret(resource.NewStringProperty(s)) }
			break
		}
	}
	out["stdout"] = wrap(stdout)
	out["stderr"] = wrap(stderr)
	if v, ok := out["connection"]; ok && !v.IsSecret() {
		out["connection"] = resource.MakeSecret(v) // credentials: the SDK marks the output secret too
	}
	return out
}

func randomSuffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// commandResource is the create/update/delete life cycle shared by local and remote commands.
type commandResource struct {
	schema *plugin.Schema
	run    runner
}

func (r commandResource) Schema() *plugin.Schema { return r.schema }
func (commandResource) Outputs() []string        { return []string{"stdout", "stderr"} }

func (r commandResource) Create(c plugin.Call, in plugin.Args) (string, resource.PropertyMap, error) {
	id := c.URN.Name() + randomSuffix()
	if !in.Has("create") {
		return id, outputsWith(in, "", ""), nil
	}
	stdout, stderr, err := r.run(c, in, in.Str("create"), previous{})
	if err != nil {
		return "", nil, err
	}
	return id, outputsWith(in, stdout, stderr), nil
}

func (commandResource) Read(_ plugin.Call, _ string, _ plugin.Args, state resource.PropertyMap) (resource.PropertyMap, error) {
	return state, nil
}

func previousOf(state resource.PropertyMap) previous {
	str := func(k resource.PropertyKey) string {
		if v := plugin.Plain(state[k]); v.IsString() {
			return v.StringValue()
		}
		return ""
	}
	return previous{str("stdout"), str("stderr")}
}

// Update runs `update`, or `create` when there is no update command; with neither it only
// records the new inputs and keeps the previous outputs.
func (r commandResource) Update(c plugin.Call, _ string, in, _ plugin.Args, state resource.PropertyMap) (resource.PropertyMap, error) {
	command := in.Str("update")
	if command == "" {
		command = in.Str("create")
	}
	prev := previousOf(state)
	if command == "" {
		return outputsWith(in, prev.stdout, prev.stderr), nil
	}
	stdout, stderr, err := r.run(c, in, command, prev)
	if err != nil {
		return nil, err
	}
	return outputsWith(in, stdout, stderr), nil
}

// Delete runs `delete` with the inputs it was created with and the last outputs in its env.
func (r commandResource) Delete(c plugin.Call, _ string, in plugin.Args, state resource.PropertyMap) error {
	if !in.Has("delete") {
		return nil
	}
	_, _, err := r.run(c, in, in.Str("delete"), previousOf(state))
	return err
}
