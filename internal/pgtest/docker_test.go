package pgtest

import (
	"context"
	"testing"
	"time"
)

// TestDockerProbeIsBounded: on a machine with a docker client but no
// engine (CI's), the probe must give up quickly so the tests fall through
// to the next source instead of hanging.
func TestDockerProbeIsBounded(t *testing.T) {
	t.Parallel()
	start := time.Now()
	err := dockerHealthy(context.Background())
	elapsed := time.Since(start)
	if err == nil {
		t.Skip("a Docker engine answers here; nothing to bound")
	}
	if elapsed > dockerProbeTimeout+2*time.Second {
		t.Fatalf("docker probe took %s (bound %s): %v", elapsed, dockerProbeTimeout, err)
	}
	t.Logf("no Docker engine: probe gave up after %s: %v", elapsed.Round(time.Millisecond), err)
}
