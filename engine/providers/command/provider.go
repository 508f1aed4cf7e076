package command

import (
	"apiproxy.local/engine/providers/internal/plugin"
)

// New returns the `command` provider at the version the SDK asks for. It has no provider
// configuration, like upstream.
func New(version string) *plugin.Provider {
	return &plugin.Provider{
		Name:    "command",
		Version: version,
		Resources: map[string]plugin.Resource{
			localCommandSchema.Token:  commandResource{schema: localCommandSchema, run: runLocal},
			remoteCommandSchema.Token: commandResource{schema: remoteCommandSchema, run: runRemote},
			copyToRemoteSchema.Token:  copyToRemote{},
			copyFileSchema.Token:      copyFile{},
		},
		Functions: map[string]plugin.Function{
			localRunSchema.Token: {Schema: localRunSchema, Invoke: localRun},
		},
		Config: &plugin.Schema{Token: "pulumi:providers:command"},
	}
}
