package rlscheck

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// This file reads pg_node_tree text: the form in which Postgres stores
// parsed expressions in its catalogs (pg_policy.polqual and polwithcheck,
// pg_attrdef.adbin, pg_constraint.conbin, pg_index.indexprs, pg_trigger.tgqual,
// pg_rewrite.ev_action). It is what src/backend/nodes/outfuncs.c writes and
// read.c reads back:
//
//	{OPEXPR :opno 2972 :opfuncid 2956 ... :args ({VAR :varno 1 ...} {SUBLINK ...}) :location 514}
//
// A node is `{NAME :field value :field value ...}`; a value is another node,
// a list `( ... )` (of nodes, of values, or `(i 1 2)`, `(o 16 23)`, `(b 3)`
// for integer, oid and bitmap lists), `<>` for NULL, or one token (a number,
// `true`/`false`, a quoted "string", a bare name). Const values carry their
// datum as `LEN [ b0 b1 ... ]`. Tokens are separated by blanks and by the four
// brackets; a backslash makes the next character literal.
//
// The parser is generic: it keeps every field of every node type, so it reads
// node types it was never told about (new ones in a later Postgres) and the
// rules pick out the fields they understand. No cgo: pg_query_go, the usual
// way to parse SQL from Go, needs it, and it parses SQL text, not the
// analyzed trees Postgres stores (oids already resolved, no search_path
// left to guess).

// maxNodeDepth bounds nesting, so a hostile or corrupt input fails with an
// error rather than exhausting the stack. Stored expressions nest a few
// dozen levels at most.
const maxNodeDepth = 1000

// Node is one parsed node: its type name as Postgres writes it (OPEXPR,
// VAR, SUBLINK, QUERY, ...) and its fields in order.
type Node struct {
	Type   string
	Fields []Field
}

// Field is one `:name value` pair of a node.
type Field struct {
	Name  string
	Value Value
}

// ValueKind says what a Value holds.
type ValueKind int

// Value kinds.
const (
	ValueNull  ValueKind = iota // <>
	ValueToken                  // a number, a bare word, a "string" (Token holds it unescaped, quotes kept)
	ValueNode                   // {...}
	ValueList                   // (...)
	ValueDatum                  // LEN [ b0 b1 ... ] (a Const's value)
)

// Value is a field's value or a list element.
type Value struct {
	Kind ValueKind
	// Token is the token text with backslash escapes removed.
	Token string
	Node  *Node
	// List holds the elements of a list; ListTag is 'i', 'o', 'b' or 'x'
	// for the typed lists Postgres writes as `(i 1 2)`, 0 for others.
	List    []Value
	ListTag byte
	// Datum holds a Const's bytes (Token holds the length as written).
	Datum []byte
	// Extra holds further tokens of a field written as several (arrays of
	// plan nodes, which stored expressions do not contain).
	Extra []string
	// raw is the token as written, escapes included, so String gives back
	// the input byte for byte.
	raw string
}

// ParseNodeTree parses one pg_node_tree text: a node, or a list of nodes
// (pg_rewrite.ev_action, pg_index.indexprs).
func ParseNodeTree(s string) (Value, error) {
	p := &nodeParser{src: s}
	v, err := p.value(0)
	if err != nil {
		return Value{}, err
	}
	if tok, ok := p.next(); ok {
		return Value{}, p.errorf("unexpected %q after the tree", tok)
	}
	return v, nil
}

// ParseNode parses a pg_node_tree text that must be a single node.
func ParseNode(s string) (*Node, error) {
	v, err := ParseNodeTree(s)
	if err != nil {
		return nil, err
	}
	if v.Kind != ValueNode {
		return nil, errors.New("node tree: not a node")
	}
	return v.Node, nil
}

type nodeParser struct {
	src string
	pos int
	// peeked holds a token read ahead.
	peeked    string
	hasPeeked bool
}

func (p *nodeParser) errorf(format string, args ...any) error {
	return fmt.Errorf("node tree: offset %d: %s", p.pos, fmt.Sprintf(format, args...))
}

// next returns the next raw token (escapes still in), as read.c's pg_strtok.
func (p *nodeParser) next() (string, bool) {
	if p.hasPeeked {
		p.hasPeeked = false
		return p.peeked, true
	}
	s := p.src
	i := p.pos
	for i < len(s) && (s[i] == ' ' || s[i] == '\n' || s[i] == '\t') {
		i++
	}
	if i >= len(s) {
		p.pos = i
		return "", false
	}
	start := i
	switch s[i] {
	case '(', ')', '{', '}':
		i++
	default:
		for i < len(s) && !isNodeDelim(s[i]) {
			if s[i] == '\\' && i+1 < len(s) {
				i += 2
			} else {
				i++
			}
		}
	}
	p.pos = i
	return s[start:i], true
}

func (p *nodeParser) peek() (string, bool) {
	if !p.hasPeeked {
		tok, ok := p.next()
		if !ok {
			return "", false
		}
		p.peeked, p.hasPeeked = tok, true
	}
	return p.peeked, true
}

func isNodeDelim(c byte) bool {
	switch c {
	case ' ', '\n', '\t', '(', ')', '{', '}':
		return true
	}
	return false
}

// unescape removes the backslashes outfuncs.c's outToken adds.
func unescape(tok string) string {
	if !strings.Contains(tok, `\`) {
		return tok
	}
	var b strings.Builder
	for i := 0; i < len(tok); i++ {
		if tok[i] == '\\' && i+1 < len(tok) {
			i++
		}
		b.WriteByte(tok[i])
	}
	return b.String()
}

func (p *nodeParser) value(depth int) (Value, error) {
	if depth > maxNodeDepth {
		return Value{}, p.errorf("nested deeper than %d", maxNodeDepth)
	}
	tok, ok := p.next()
	if !ok {
		return Value{}, p.errorf("unexpected end")
	}
	switch tok {
	case "{":
		n, err := p.node(depth + 1)
		return Value{Kind: ValueNode, Node: n}, err
	case "(":
		return p.list(depth + 1)
	case "<>":
		return Value{Kind: ValueNull}, nil
	case ")", "}":
		return Value{}, p.errorf("unexpected %q", tok)
	}
	v := Value{Kind: ValueToken, Token: unescape(tok), raw: tok}
	// A Const's datum: `LEN [ b0 b1 ... ]`.
	if next, ok := p.peek(); ok && next == "[" {
		p.hasPeeked = false
		return p.datum(v.Token)
	}
	return v, nil
}

func (p *nodeParser) datum(length string) (Value, error) {
	n, err := strconv.ParseUint(length, 10, 31)
	if err != nil {
		return Value{}, p.errorf("bad datum length %q", length)
	}
	v := Value{Kind: ValueDatum, Token: length, Datum: make([]byte, 0, min(n, 1<<16))}
	for {
		tok, ok := p.next()
		if !ok {
			return Value{}, p.errorf("unterminated datum")
		}
		if tok == "]" {
			break
		}
		b, err := strconv.ParseInt(tok, 10, 16)
		if err != nil || b < -128 || b > 255 {
			return Value{}, p.errorf("bad datum byte %q", tok)
		}
		v.Datum = append(v.Datum, byte(b))
	}
	return v, nil
}

func (p *nodeParser) list(depth int) (Value, error) {
	v := Value{Kind: ValueList}
	if tok, ok := p.peek(); ok && len(tok) == 1 && strings.ContainsRune("iobx", rune(tok[0])) {
		p.hasPeeked = false
		v.ListTag = tok[0]
	}
	for {
		tok, ok := p.peek()
		if !ok {
			return Value{}, p.errorf("unterminated list")
		}
		if tok == ")" {
			p.hasPeeked = false
			return v, nil
		}
		e, err := p.value(depth)
		if err != nil {
			return Value{}, err
		}
		v.List = append(v.List, e)
	}
}

func (p *nodeParser) node(depth int) (*Node, error) {
	tok, ok := p.next()
	if !ok {
		return nil, p.errorf("unterminated node")
	}
	if isNodeDelim(tok[0]) || tok[0] == ':' {
		return nil, p.errorf("node without a type name")
	}
	n := &Node{Type: unescape(tok)}
	for {
		tok, ok := p.next()
		if !ok {
			return nil, p.errorf("unterminated node %s", n.Type)
		}
		if tok == "}" {
			return n, nil
		}
		if tok[0] != ':' || len(tok) == 1 {
			return nil, p.errorf("node %s: expected a :field, got %q", n.Type, tok)
		}
		f := Field{Name: tok[1:]}
		next, ok := p.peek()
		if !ok {
			return nil, p.errorf("unterminated node %s", n.Type)
		}
		if next == "}" {
			// A field written with nothing after it (only plan nodes do
			// that). Otherwise the next token is the value whatever it
			// looks like: a column alias may well start with a colon.
			f.Value = Value{Kind: ValueNull}
			n.Fields = append(n.Fields, f)
			continue
		}
		v, err := p.value(depth)
		if err != nil {
			return nil, err
		}
		// Further bare tokens belong to the same field (attribute-number
		// arrays of plan nodes).
		for {
			t, ok := p.peek()
			if !ok || isNodeDelim(t[0]) || t[0] == ':' {
				break
			}
			p.hasPeeked = false
			v.Extra = append(v.Extra, t)
		}
		f.Value = v
		n.Fields = append(n.Fields, f)
	}
}

// Get returns the value of field name, and whether the node has it.
func (n *Node) Get(name string) (Value, bool) {
	if n == nil {
		return Value{}, false
	}
	for _, f := range n.Fields {
		if f.Name == name {
			return f.Value, true
		}
	}
	return Value{}, false
}

// Child returns field name when it holds a node, else nil.
func (n *Node) Child(name string) *Node {
	v, _ := n.Get(name)
	if v.Kind == ValueNode {
		return v.Node
	}
	return nil
}

// Nodes returns the nodes of list field name (nil when absent or NULL).
func (n *Node) Nodes(name string) []*Node {
	v, _ := n.Get(name)
	return v.Nodes()
}

// Nodes returns the nodes of a list value; other elements are skipped.
func (v Value) Nodes() []*Node {
	if v.Kind != ValueList {
		return nil
	}
	var out []*Node
	for _, e := range v.List {
		if e.Kind == ValueNode {
			out = append(out, e.Node)
		}
	}
	return out
}

// Int returns field name as an integer; ok is false when it is absent or
// not a number.
func (n *Node) Int(name string) (int64, bool) {
	v, ok := n.Get(name)
	if !ok || v.Kind != ValueToken {
		return 0, false
	}
	i, err := strconv.ParseInt(v.Token, 10, 64)
	return i, err == nil
}

// OID returns field name as an object id (0 when absent or not an oid).
func (n *Node) OID(name string) uint32 {
	v, ok := n.Get(name)
	if !ok || v.Kind != ValueToken {
		return 0
	}
	i, err := strconv.ParseUint(v.Token, 10, 32)
	if err != nil {
		return 0
	}
	return uint32(i)
}

// Bool returns field name as a boolean (false when absent).
func (n *Node) Bool(name string) bool {
	v, ok := n.Get(name)
	return ok && v.Kind == ValueToken && v.Token == "true"
}

// Str returns a token field as written, unescaped ("" when absent or NULL).
func (n *Node) Str(name string) string {
	v, ok := n.Get(name)
	if !ok || v.Kind != ValueToken {
		return ""
	}
	return v.Token
}

// IsNull reports whether field name is absent or <>.
func (n *Node) IsNull(name string) bool {
	v, ok := n.Get(name)
	return !ok || v.Kind == ValueNull || (v.Kind == ValueList && len(v.List) == 0)
}

// Walk calls fn for n and every node below it, depth first; fn returning
// false skips the node's children.
func (n *Node) Walk(fn func(*Node) bool) {
	if n == nil || !fn(n) {
		return
	}
	for _, f := range n.Fields {
		f.Value.walk(fn)
	}
}

// Walk calls fn for every node in v.
func (v Value) Walk(fn func(*Node) bool) { v.walk(fn) }

func (v Value) walk(fn func(*Node) bool) {
	switch v.Kind {
	case ValueNode:
		v.Node.Walk(fn)
	case ValueList:
		for _, e := range v.List {
			e.walk(fn)
		}
	}
}

// Equal reports whether two trees are the same expression: same node
// types and field values, ignoring where in the SQL text they were written
// (location fields).
func (n *Node) Equal(m *Node) bool {
	if n == nil || m == nil {
		return n == m
	}
	if n.Type != m.Type {
		return false
	}
	a, b := n.semanticFields(), m.semanticFields()
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || !a[i].Value.equal(b[i].Value) {
			return false
		}
	}
	return true
}

func (n *Node) semanticFields() []Field {
	out := make([]Field, 0, len(n.Fields))
	for _, f := range n.Fields {
		if f.Name != "location" && f.Name != "stmt_location" && f.Name != "stmt_len" {
			out = append(out, f)
		}
	}
	return out
}

func (v Value) equal(w Value) bool {
	if v.Kind != w.Kind || v.Token != w.Token || v.ListTag != w.ListTag ||
		string(v.Datum) != string(w.Datum) || len(v.List) != len(w.List) || len(v.Extra) != len(w.Extra) {
		return false
	}
	for i := range v.Extra {
		if v.Extra[i] != w.Extra[i] {
			return false
		}
	}
	if v.Kind == ValueNode {
		return v.Node.Equal(w.Node)
	}
	for i := range v.List {
		if !v.List[i].equal(w.List[i]) {
			return false
		}
	}
	return true
}

// String writes the tree back in Postgres's own notation (a parse of the
// result gives an equal tree); tests use it to prove nothing is lost.
func (v Value) String() string {
	var b strings.Builder
	v.write(&b)
	return b.String()
}

// String writes the node in Postgres's notation.
func (n *Node) String() string { return Value{Kind: ValueNode, Node: n}.String() }

func (v Value) write(b *strings.Builder) {
	switch v.Kind {
	case ValueNull:
		b.WriteString("<>")
	case ValueToken:
		if v.raw != "" {
			b.WriteString(v.raw)
		} else {
			b.WriteString(escapeToken(v.Token))
		}
	case ValueDatum:
		b.WriteString(v.Token)
		b.WriteString(" [ ")
		for _, c := range v.Datum {
			// Postgres writes the bytes as signed chars on most platforms.
			b.WriteString(strconv.Itoa(int(int8(c))))
			b.WriteByte(' ')
		}
		b.WriteByte(']')
	case ValueNode:
		b.WriteByte('{')
		b.WriteString(escapeToken(v.Node.Type))
		for _, f := range v.Node.Fields {
			b.WriteString(" :")
			b.WriteString(f.Name)
			b.WriteByte(' ')
			f.Value.write(b)
		}
		b.WriteByte('}')
	case ValueList:
		b.WriteByte('(')
		if v.ListTag != 0 {
			b.WriteByte(v.ListTag)
			if len(v.List) > 0 {
				b.WriteByte(' ')
			}
		}
		for i, e := range v.List {
			if i > 0 {
				b.WriteByte(' ')
			}
			e.write(b)
		}
		b.WriteByte(')')
	}
	for _, e := range v.Extra {
		b.WriteByte(' ')
		b.WriteString(e)
	}
}

// escapeToken is outfuncs.c's outToken, for tokens built in Go.
func escapeToken(s string) string {
	if s == "" {
		return "<>"
	}
	var b strings.Builder
	if s[0] == '<' || s[0] == '"' || (s[0] >= '0' && s[0] <= '9') ||
		((s[0] == '+' || s[0] == '-') && len(s) > 1 && (s[1] >= '0' && s[1] <= '9' || s[1] == '.')) {
		b.WriteByte('\\')
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\n', '\t', '(', ')', '{', '}', '\\':
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
