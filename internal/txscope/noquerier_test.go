package txscope_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestNoQuerierOutsideScope enforces the package's guarantee on the whole
// module: outside internal/txscope, no non-test code builds a querier
// (dbgen.New, Queries.WithTx) or opens a pool; only the listed packages may
// open a raw connection, and none of them serves tenant data.
func TestNoQuerierOutsideScope(t *testing.T) {
	t.Parallel()
	root := moduleRoot(t)
	// Packages that may call pgx.Connect / pgx.ConnectConfig, and why.
	rawConnOK := map[string]string{
		"internal/txscope":    "owns the pools",
		"internal/migrations": "runs as the owner role; applies DDL, reads bookkeeping",
		"internal/pglocal":    "bootstraps roles in a local development cluster",
		"internal/pgtest":     "test harness",
		"internal/rlscheck":   "reads the system catalogs",
		"internal/faults":     "fault tests and the soak: a private cluster's superuser seeds, kills backends, checks acknowledged writes",
	}
	var violations []string
	scanned := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "node_modules", ".devdb", ".bench", "bin", "scratch":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		pkg := filepath.ToSlash(filepath.Dir(rel))
		if pkg == "internal/dbgen" {
			return nil
		}
		scanned++
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		names := map[string]string{} // local name -> import path
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			name := p[strings.LastIndex(p, "/")+1:]
			if p == "github.com/jackc/pgx/v5" {
				name = "pgx"
			}
			if imp.Name != nil {
				name = imp.Name.Name
			}
			names[name] = p
			if p == "github.com/jackc/pgx/v5/pgxpool" && pkg != "internal/txscope" {
				violations = append(violations, rel+": imports pgxpool")
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			x, ok := sel.X.(*ast.Ident)
			if !ok {
				if sel.Sel.Name == "WithTx" && pkg != "internal/txscope" {
					violations = append(violations, rel+": calls WithTx")
				}
				return true
			}
			switch names[x.Name] {
			case "github.com/pgtenant/pgtenant/internal/dbgen":
				if sel.Sel.Name == "New" && pkg != "internal/txscope" {
					violations = append(violations, rel+": calls dbgen.New")
				}
			case "github.com/jackc/pgx/v5":
				if (sel.Sel.Name == "Connect" || sel.Sel.Name == "ConnectConfig") && rawConnOK[pkg] == "" {
					violations = append(violations, rel+": calls pgx."+sel.Sel.Name)
				}
			}
			return true
		})
		return nil
	})
	require.NoError(t, err)
	require.Greater(t, scanned, 20, "the scan must see the module's code")
	require.Empty(t, violations)
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(".")
	require.NoError(t, err)
	for !fileExists(filepath.Join(dir, "go.mod")) {
		parent := filepath.Dir(dir)
		require.NotEqual(t, parent, dir, "no go.mod above the test")
		dir = parent
	}
	return dir
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
