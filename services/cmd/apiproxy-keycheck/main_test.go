package main

import (
	"strings"
	"testing"
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
