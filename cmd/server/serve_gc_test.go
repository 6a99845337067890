package main

import "testing"

// TestGCPercent: serve sets GOGC=200 unless the operator set GOGC.
func TestGCPercent(t *testing.T) {
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	if pct, set := gcPercent(getenv); !set || pct != 200 {
		t.Fatalf("GOGC unset: got %d, %v; want 200, true", pct, set)
	}
	env["GOGC"] = "100"
	if _, set := gcPercent(getenv); set {
		t.Fatal("GOGC set: serve must leave the runtime's value alone")
	}
}
