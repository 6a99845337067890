package rlscheck

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The trees in testdata/nodetrees were read from a PostgreSQL 15 database
// migrated by `server migrate up` (the shipped policies) plus the weakenings
// the rules must recognize: `policy.TABLE.NAME.using.tree` is pg_policy.polqual
// as text, `.sql` beside it what pg_get_expr makes of it; default.* is a
// pg_attrdef.adbin, view.* a pg_rewrite.ev_action.
func readTree(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "nodetrees", name+".tree"))
	require.NoError(t, err)
	return string(b)
}

func parseTree(t testing.TB, name string) *Node {
	t.Helper()
	n, err := ParseNode(readTree(t, name))
	require.NoError(t, err, name)
	return n
}

// TestParseRealNodeTrees parses every captured tree and writes it back: the
// output is the input byte for byte, so no token, field or nesting is lost.
func TestParseRealNodeTrees(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "nodetrees", "*.tree"))
	require.NoError(t, err)
	require.Greater(t, len(files), 40)
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		v, err := ParseNodeTree(string(b))
		require.NoError(t, err, f)
		require.Equal(t, string(b), v.String(), f)
		again, err := ParseNodeTree(v.String())
		require.NoError(t, err)
		require.True(t, v.equal(again), f)
		nodes := 0
		v.Walk(func(*Node) bool { nodes++; return true })
		require.Positive(t, nodes, f)
	}
}

func TestParseNodeTreeFields(t *testing.T) {
	t.Parallel()
	// tenant_id = (SELECT app.current_tenant_id())
	n := parseTree(t, "policy.projects.projects_isolation.using")
	require.Equal(t, "OPEXPR", n.Type)
	require.Equal(t, uint32(2972), n.OID("opno")) // uuid = uuid
	args := n.Nodes("args")
	require.Len(t, args, 2)
	require.Equal(t, "VAR", args[0].Type)
	attno, ok := args[0].Int("varattno")
	require.True(t, ok)
	require.Equal(t, int64(1), attno)
	require.Equal(t, "SUBLINK", args[1].Type)
	kind, _ := args[1].Int("subLinkType")
	require.Equal(t, int64(subLinkExpr), kind)
	q := args[1].Child("subselect")
	require.Equal(t, "QUERY", q.Type)
	require.True(t, q.IsNull("rtable"))
	tl := q.Nodes("targetList")
	require.Len(t, tl, 1)
	require.Equal(t, "FUNCEXPR", tl[0].Child("expr").Type)
	require.Equal(t, "current_tenant_id", tl[0].Str("resname"))

	// The same predicate on another table with the column at the same
	// position is the same expression wherever it was written.
	require.True(t, n.Equal(parseTree(t, "policy.tasks.tasks_isolation.using")))
	require.False(t, n.Equal(parseTree(t, "policy.projects.projects_writers_delete.using")))

	// id = id: both sides are the same Var.
	self := parseTree(t, "policy.cap.w_self_id.using")
	sargs := self.Nodes("args")
	require.True(t, sargs[0].Equal(sargs[1]))

	// BoolExpr writes its operator as a word.
	or := parseTree(t, "policy.tenants.tenants_visible.using")
	require.Equal(t, "BOOLEXPR", or.Type)
	require.Equal(t, "or", or.Str("boolop"))
	require.Len(t, or.Nodes("args"), 3)
}

func TestParseNodeTreeTokens(t *testing.T) {
	t.Parallel()
	// A string constant with blanks, brackets, a backslash and quotes, and
	// integers in an ARRAY[...]: datums keep their bytes (text is a
	// varlena: 4-byte header, then the characters).
	n := parseTree(t, "policy.cap.w_escapes.using")
	var texts []string
	var ints []int64
	n.Walk(func(c *Node) bool {
		if c.Type != "CONST" {
			return true
		}
		k := constOf(c)
		switch c.OID("consttype") {
		case oidText:
			texts = append(texts, string(k.payload))
		case oidInt4:
			i, ok := k.int()
			require.True(t, ok)
			ints = append(ints, i)
		}
		return true
	})
	require.Equal(t, []string{`a b(c){d}\e "f"`, ""}, texts)
	require.Equal(t, []int64{1, -2, 300000}, ints)

	// Column aliases written with escapes: ":x y" and "1st".
	alias := parseTree(t, "policy.cap.w_alias.using")
	var names []string
	alias.Walk(func(c *Node) bool {
		if c.Type == "TARGETENTRY" {
			names = append(names, c.Str("resname"))
		}
		return true
	})
	require.Equal(t, []string{":x y", "1st"}, names)

	// A view's rewrite rule is a list of Query nodes.
	v, err := ParseNodeTree(readTree(t, "view.cap_names"))
	require.NoError(t, err)
	require.Equal(t, ValueList, v.Kind)
	require.Equal(t, "QUERY", v.Nodes()[0].Type)
}

func TestParseNodeTreeErrors(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		"", "{", "}", "{OPEXPR", "{OPEXPR :opno", "{OPEXPR opno 1}", "{:opno 1}", "(", "({A}",
		"{CONST :constvalue 4 [ 1 0", "{CONST :constvalue x [ 1 ]}", "{CONST :constvalue 4 [ 999 ]}",
		"{A} {B}", ")", strings.Repeat("{A :b ", 2000),
	} {
		_, err := ParseNodeTree(in)
		require.Error(t, err, "%q", in)
	}
	v, err := ParseNodeTree("<>")
	require.NoError(t, err)
	require.Equal(t, ValueNull, v.Kind)
}

// FuzzParseNodeTree: the parser never panics, and what it accepts it writes
// back as a text that parses to the same tree. Seeds: testdata/fuzz and the
// captured trees.
func FuzzParseNodeTree(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "nodetrees", "*.tree"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err == nil {
			f.Add(string(b))
		}
	}
	f.Fuzz(func(t *testing.T, in string) {
		v, err := ParseNodeTree(in)
		if err != nil {
			return
		}
		out := v.String()
		again, err := ParseNodeTree(out)
		if err != nil {
			t.Fatalf("written form does not parse: %v\nin:  %q\nout: %q", err, in, out)
		}
		if !v.equal(again) {
			t.Fatalf("round trip changed the tree\nin:  %q\nout: %q", in, out)
		}
	})
}
