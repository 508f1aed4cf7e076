module github.com/hashicorp/terraform-provider-tls/shim

go 1.25

// Versions are raised by the provider module's own go.mod (MVS); these are floors only.
require (
	github.com/hashicorp/terraform-plugin-framework v1.19.0
	github.com/hashicorp/terraform-provider-tls v1.2.1-0.20260130152455-857b38cda3fc
)
