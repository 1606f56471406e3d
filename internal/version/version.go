// Package version holds the build's version, commit and date, set at link time by the Makefile and the
// Dockerfile with -ldflags -X.
package version

import (
	"fmt"
	"runtime"
)

// Set at link time; the defaults describe a plain `go build`.
var (
	// Version is the release version, such as v0.1.0, or a git description for development builds.
	Version = "dev"
	// Commit is the git commit the binary was built from.
	Commit = "unknown"
	// BuildDate is when the binary was built, in RFC 3339 UTC.
	BuildDate = "unknown"
)

// String describes the build on one line.
func String() string {
	return fmt.Sprintf("llmplatform %s (commit %s, built %s, %s)", Version, Commit, BuildDate, runtime.Version())
}
