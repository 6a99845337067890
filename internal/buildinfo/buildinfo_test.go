package buildinfo

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestStampedValuesWin(t *testing.T) {
	version, revision = "v1.2.3-4-gabcdef0-dirty", "abcdef0123456789"
	t.Cleanup(func() { version, revision = "", "" })
	i := Get()
	require.Equal(t, "v1.2.3-4-gabcdef0-dirty", i.Version)
	require.Equal(t, "abcdef0123456789", i.Revision)
	require.True(t, i.Modified)
	require.Equal(t, runtime.Version(), i.GoVersion)
	require.Contains(t, i.String(), "pgtenant v1.2.3-4-gabcdef0-dirty\nrevision abcdef0123456789 (modified)\n")
}

func TestUnstamped(t *testing.T) {
	i := Info{Version: "(devel)", GoVersion: "go1.26.8"}
	require.Equal(t, "pgtenant (devel)\nrevision unknown (built without VCS stamping; `make build` passes it with -ldflags)\ngo go1.26.8\n", i.String())
}
