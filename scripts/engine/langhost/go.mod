module apiproxy.local/engine/langhost

go 1.26

// The host's own go.mod points pkg and sdk at sibling directories (replace ../../..) and
// requires the placeholder v3.0.0-00010101000000-000000000000; outside pulumi/pulumi those
// replaces are ignored, so pin every version of both to the release that matches the host.
replace (
	github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e
	github.com/pulumi/pulumi/pkg/v3 => github.com/pulumi/pulumi/pkg/v3 v3.200.0
	github.com/pulumi/pulumi/sdk/v3 => github.com/pulumi/pulumi/sdk/v3 v3.200.0
)
