// Package shim exposes the upstream TLS provider to pulumi-tls's bridge.
//
// pulumi-tls replaces github.com/hashicorp/terraform-provider-tls/shim with ./shim, a nested
// module that the module zip does not carry. This stand-in lives under the upstream module's
// path, so importing its internal/provider package is allowed.
package shim

import (
	"github.com/hashicorp/terraform-plugin-framework/provider"
	upstream "github.com/hashicorp/terraform-provider-tls/internal/provider"
)

// NewProvider returns the upstream terraform-provider-tls framework provider.
func NewProvider() provider.Provider {
	return upstream.New()
}
