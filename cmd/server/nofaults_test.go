//go:build !faultinject

package main

import "testing"

// TestNoFaultHookInProductionBuild: without the faultinject tag (make
// build, the image) no fault hook exists, so no header can make the server
// panic.
func TestNoFaultHookInProductionBuild(t *testing.T) {
	t.Parallel()
	if faultHook != nil {
		t.Fatal("a fault hook is compiled into a build without the faultinject tag")
	}
}
