package tenancy_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const module = "github.com/pgtenant/pgtenant/"

// pkg is what `go list -json` says of a package (non-test files only).
type pkg struct {
	ImportPath string
	Dir        string
	GoFiles    []string
	Imports    []string // direct
	Deps       []string // transitive
}

// The layers. Transports decode, call the domain, encode; the domain runs
// the scopes; only the scope holds the database.
const (
	lAPI       = "internal/api"
	lDashboard = "internal/dashboard"
	lHTTPX     = "internal/httpx"
	lServer    = "internal/server"
	lTenancy   = "internal/tenancy"
	lRules     = "internal/tenancy/rules"
	lTxscope   = "internal/txscope"
	lDBGen     = "internal/dbgen"
	lAuth      = "internal/auth"
	lCmdServer = "cmd/server"
	lTestKit   = "internal/pgtest/kit" // test support: may use every layer
)

// violations applies the layering lRules to the module's packages (paths
// relative to the module).
func violations(pkgs map[string]pkg) []string {
	var out []string
	bad := func(format string, args ...any) {
		out = append(out, strings.ReplaceAll(fmt.Sprintf(format, args...), module, ""))
	}
	imports := func(p pkg, target string) bool { return slices.Contains(p.Imports, module+target) }
	dependsOn := func(p pkg, target string) bool { return slices.Contains(p.Deps, module+target) }
	for name, p := range pkgs {
		switch name {
		case lAPI, lDashboard, lHTTPX:
			for _, low := range []string{lTxscope, lDBGen} {
				if imports(p, low) {
					bad("%s imports %s: transports reach the database only through %s", name, low, lTenancy)
				}
			}
		}
		if name == lAPI || name == lDashboard || name == lHTTPX {
			for _, t := range []string{lAPI, lDashboard} {
				if t != name && dependsOn(p, t) {
					bad("%s depends on %s: a transport never depends on another transport", name, t)
				}
			}
		}
		if name == lTenancy || name == lRules || name == lTxscope || name == lDBGen || name == lAuth || name == lHTTPX {
			for _, up := range []string{lAPI, lDashboard, lServer} {
				if dependsOn(p, up) {
					bad("%s depends on %s, a layer above it", name, up)
				}
			}
		}
		if (name == lTenancy || name == lTxscope || name == lDBGen || name == lRules) && (dependsOn(p, lHTTPX) || slices.Contains(p.Deps, "github.com/labstack/echo/v4")) {
			bad("%s depends on the HTTP layer", name)
		}
		if (name == lTxscope || name == lDBGen) && dependsOn(p, lTenancy) {
			bad("%s depends on %s, the layer above it", name, lTenancy)
		}
		if name == lAuth {
			for _, low := range []string{lTxscope, lDBGen, lTenancy} {
				if dependsOn(p, low) {
					bad("%s depends on %s: identity needs only the leaf %s", name, low, lRules)
				}
			}
		}
		if name == lRules {
			for _, imp := range p.Imports {
				// Not the standard library, nor Unicode normalization
				// (golang.org/x/text/unicode/norm: NFC for the text rule).
				if strings.Contains(imp, ".") && !strings.HasPrefix(imp, "golang.org/x/text/") {
					bad("%s imports %s: the rules are a leaf (standard library and golang.org/x/text only)", name, imp)
				}
			}
		}
		if imports(p, lTxscope) && !slices.Contains([]string{lTenancy, lCmdServer, lTestKit}, name) {
			bad("%s imports %s: only %s runs scopes (and %s opens one)", name, lTxscope, lTenancy, lCmdServer)
		}
		if imports(p, lDBGen) && !slices.Contains([]string{lTxscope, lTenancy}, name) {
			bad("%s imports %s: sqlc's types stay below the domain", name, lDBGen)
		}
	}
	sort.Strings(out)
	return out
}

// listModule runs `go list -json ./...` at the module root.
func listModule(t *testing.T) map[string]pkg {
	t.Helper()
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	cmd := exec.Command("go", "list", "-json", "./...")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, stderr.String())
	pkgs := map[string]pkg{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else {
			require.NoError(t, err)
		}
		pkgs[strings.TrimPrefix(p.ImportPath, module)] = p
	}
	return pkgs
}

// TestLayering: transports -> lTenancy -> lTxscope/lDBGen -> db, checked on
// the module's real import graph (non-test code). The API and the
// lDashboard import neither lDBGen nor lTxscope and not each other; auth does
// not reach lTxscope; the domain knows no HTTP; only the domain imports
// sqlc's types.
func TestLayering(t *testing.T) {
	t.Parallel()
	pkgs := listModule(t)
	for _, want := range []string{lAPI, lDashboard, lHTTPX, lServer, lTenancy, lRules, lTxscope, lDBGen, lAuth, lCmdServer} {
		require.Contains(t, pkgs, want, "the layering test must see %s", want)
	}
	require.Empty(t, violations(pkgs))
}

// TestLayeringCatchesViolations: the lRules above report each kind of
// violation (so TestLayering cannot pass by checking nothing).
func TestLayeringCatchesViolations(t *testing.T) {
	t.Parallel()
	m := func(paths ...string) []string {
		out := make([]string, len(paths))
		for i, p := range paths {
			out[i] = module + p
		}
		return out
	}
	got := violations(map[string]pkg{
		lAPI:            {Imports: m(lTxscope, lTenancy), Deps: m(lTxscope, lTenancy, lDashboard)},
		lDashboard:      {Imports: m(lDBGen), Deps: m(lDBGen)},
		lAuth:           {Imports: m(lRules), Deps: m(lRules, lTenancy, lTxscope)},
		lTenancy:        {Imports: m(lHTTPX), Deps: m(lHTTPX, lTxscope)},
		lRules:          {Imports: []string{"strings", "github.com/google/uuid"}},
		lTxscope:        {Imports: m(lTenancy), Deps: m(lTenancy)},
		"internal/perf": {Imports: m(lTxscope)},
	})
	for _, want := range []string{
		"internal/api imports internal/txscope",
		"internal/api depends on internal/dashboard",
		"internal/dashboard imports internal/dbgen",
		"internal/auth depends on internal/txscope",
		"internal/auth depends on internal/tenancy",
		"internal/tenancy depends on the HTTP layer",
		"internal/tenancy/rules imports github.com/google/uuid",
		"internal/txscope depends on internal/tenancy",
		"internal/perf imports internal/txscope",
		"internal/dashboard imports internal/dbgen: sqlc",
	} {
		require.True(t, slices.ContainsFunc(got, func(v string) bool { return strings.HasPrefix(v, want) }), "%q not reported in:\n%s", want, strings.Join(got, "\n"))
	}
}

// TestCommandRunsNoTransaction: cmd/lServer only wires: it opens the scope
// and hands it to lTenancy. A transaction of its own would need a callback
// on *lTxscope.Tx or *lTxscope.AdminTx, so no non-test file there may name
// either type.
func TestCommandRunsNoTransaction(t *testing.T) {
	t.Parallel()
	p := listModule(t)[lCmdServer]
	require.NotEmpty(t, p.GoFiles)
	var found []string
	for _, f := range p.GoFiles {
		file, err := parser.ParseFile(token.NewFileSet(), filepath.Join(p.Dir, f), nil, parser.SkipObjectResolution)
		require.NoError(t, err)
		ast.Inspect(file, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				if x, ok := sel.X.(*ast.Ident); ok && x.Name == "txscope" && (sel.Sel.Name == "Tx" || sel.Sel.Name == "AdminTx") {
					found = append(found, f+": txscope."+sel.Sel.Name)
				}
			}
			return true
		})
	}
	require.Empty(t, found)
}
