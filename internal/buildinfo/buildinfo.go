// Package buildinfo says which build of pgtenant is running: the module
// version and the VCS revision Go stamps into the binary, or the values
// the build passed with -ldflags when Go could not stamp them (a build
// with -buildvcs=false, as CI runs, or from a source tree without .git,
// as in the container build).
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// Set by the build (Makefile, Containerfile):
//
//	-ldflags "-X github.com/pgtenant/pgtenant/internal/buildinfo.version=v1.2.3
//	          -X github.com/pgtenant/pgtenant/internal/buildinfo.revision=<commit>"
//
// They win over what Go stamped.
var (
	version  string
	revision string
)

// Info describes the running binary.
type Info struct {
	// Version is the module version ("v1.2.3", a pseudo-version, or
	// "(devel)" for a build from a work tree without stamping).
	Version string
	// Revision is the VCS commit, "" when unknown.
	Revision string
	// Time is the commit time (RFC 3339) when Go stamped it.
	Time string
	// Modified: the work tree had uncommitted changes.
	Modified bool
	// GoVersion is the toolchain that built the binary.
	GoVersion string
}

// Get reads the binary's build information.
func Get() Info {
	info := Info{Version: "(devel)", GoVersion: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			info.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				info.Revision = s.Value
			case "vcs.time":
				info.Time = s.Value
			case "vcs.modified":
				info.Modified = s.Value == "true"
			}
		}
	}
	if version != "" {
		info.Version = version
	}
	if revision != "" {
		info.Revision = revision
		info.Modified = strings.HasSuffix(version, "-dirty")
	}
	return info
}

// String is what `server version` prints: one "key value" per line.
func (i Info) String() string {
	rev := i.Revision
	switch {
	case rev == "":
		rev = "unknown (built without VCS stamping; `make build` passes it with -ldflags)"
	case i.Modified:
		rev += " (modified)"
	}
	s := fmt.Sprintf("pgtenant %s\nrevision %s\n", i.Version, rev)
	if i.Time != "" {
		s += "committed " + i.Time + "\n"
	}
	return s + "go " + i.GoVersion + "\n"
}
