// pulumi-resource-tls: api-proxy-security's own provider for the resource types of
// @pulumi/tls, for machines where the upstream plugin cannot be installed (docs/engine.md).
package main

import (
	"fmt"
	"os"

	"apiproxy.local/engine/providers/tls"
)

// Version is stamped at build time (-X main.Version=…) with the version the SDK requests.
var Version = "0.0.0-dev"

func main() {
	if err := tls.New(Version).Serve(); err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-resource-tls: %v\n", err)
		os.Exit(1)
	}
}
