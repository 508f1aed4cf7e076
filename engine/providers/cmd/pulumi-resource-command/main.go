// pulumi-resource-command: api-proxy-security's own provider for the resource types of
// @pulumi/command, for machines where the upstream plugin cannot be installed (docs/engine.md).
package main

import (
	"fmt"
	"os"

	"apiproxy.local/engine/providers/command"
)

// Version is stamped at build time (-X main.Version=…) with the version the SDK requests.
var Version = "0.0.0-dev"

func main() {
	if err := command.New(Version).Serve(); err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-resource-command: %v\n", err)
		os.Exit(1)
	}
}
