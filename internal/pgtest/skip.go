package pgtest

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// SkipLogEnv names a file that SkipSuite appends to; `make test` sets it
// and lists the skipped suites at the end of its output, where a skip is
// seen without -v.
const SkipLogEnv = "PGTENANT_SKIP_LOG"

// SkipSuite skips t because a whole suite cannot run on this machine
// (suite names it, reason says what is missing, enable how to get it), or
// fails t when the environment variable require is "1" (CI sets those).
func SkipSuite(t testing.TB, suite, reason, enable, require string) {
	t.Helper()
	msg := fmt.Sprintf("%s not run: %s; to run it: %s", suite, reason, enable)
	if os.Getenv(require) == "1" {
		t.Fatalf("%s=1: %s", require, msg)
	}
	if path := os.Getenv(SkipLogEnv); path != "" {
		line := fmt.Sprintf("%s: %s\n    to run it: %s (%s=1 turns this skip into a failure)\n", suite, reason, enable, require)
		// One short O_APPEND write per line: concurrent test processes do
		// not interleave within it.
		if f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600); err == nil {
			_, _ = f.WriteString(strings.ReplaceAll(line, "\n    ", " | "))
			_ = f.Close()
		}
	}
	t.Skip(msg)
}
