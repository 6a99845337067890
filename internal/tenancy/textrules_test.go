package tenancy_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/pgtenant/pgtenant/db"
	"github.com/pgtenant/pgtenant/internal/pgtest"
	"github.com/pgtenant/pgtenant/internal/tenancy"
	"github.com/pgtenant/pgtenant/internal/tenancy/rules"
)

// pgClass writes the runes in as a PostgreSQL regular expression bracket
// body (\uXXXX and \UXXXXXXXX escapes, ranges of consecutive runes).
func pgClass(in func(rune) bool) string {
	esc := func(r rune) string {
		if r > 0xffff {
			return fmt.Sprintf(`\U%08x`, r)
		}
		return fmt.Sprintf(`\u%04x`, r)
	}
	var b strings.Builder
	for r := rune(1); r <= 0x10ffff; r++ {
		if !in(r) {
			continue
		}
		hi := r
		for hi < 0x10ffff && in(hi+1) {
			hi++
		}
		b.WriteString(esc(r))
		if hi > r {
			b.WriteString("-" + esc(hi))
		}
		r = hi
	}
	return b.String()
}

// TestTextRuleClassesAreTheSchemas: the character classes of app.text_ok
// and app.valid_email, in the repeatable functions file and in the
// migration that first created them, are the Go rule's (rules.Forbidden,
// rules.Blank, with Go's Unicode tables): one rule, not two that drift.
func TestTextRuleClassesAreTheSchemas(t *testing.T) {
	t.Parallel()
	multi := pgClass(func(r rune) bool { return rules.Forbidden(r, true) })
	single := pgClass(func(r rune) bool { return rules.Forbidden(r, false) })
	blank := pgClass(rules.Blank)
	for _, file := range []string{"policies/00_functions.sql", "schema/0011_text_rules.up.sql"} {
		fsys := fs.FS(db.Policies)
		if strings.HasPrefix(file, "schema/") {
			fsys = db.Schema
		}
		b, err := fs.ReadFile(fsys, file)
		require.NoError(t, err)
		sql := string(b)
		for name, re := range map[string]string{
			multi:  `THEN p_text !~ '\[([^']*)\]'`,
			single: `ELSE p_text !~ '\[([^']*)\]'`,
			blank:  `p_text ~ '\[\^([^']*)\]'`,
		} {
			m := regexp.MustCompile(re).FindStringSubmatch(sql)
			require.NotNil(t, m, "%s: %s", file, re)
			require.Equal(t, name, m[1], "%s: %s", file, re)
		}
		m := regexp.MustCompile(`p_email !~ '\[(\\u[^']*)\]'`).FindStringSubmatch(sql)
		require.NotNil(t, m, "%s: app.valid_email's blank class", file)
		require.Equal(t, blank, m[1], file)
	}
}

// sqlBool evaluates a boolean SQL expression of $1 as the runtime role.
func sqlBool(t *testing.T, conn *pgx.Conn, expr string, arg any) bool {
	t.Helper()
	var ok bool
	require.NoError(t, conn.QueryRow(context.Background(), "SELECT "+expr, arg).Scan(&ok), expr)
	return ok
}

// checkViolation reports whether err is a check constraint's refusal.
func checkViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23514"
}

// tryExec runs one statement in a transaction it rolls back (an admin
// write would need its audit row at COMMIT) and returns its error.
func tryExec(t *testing.T, conn *pgx.Conn, sql string, args ...any) error {
	t.Helper()
	ctx := context.Background()
	tx, err := conn.Begin(ctx)
	require.NoError(t, err)
	defer func() { require.NoError(t, tx.Rollback(ctx)) }()
	_, err = tx.Exec(ctx, sql, args...)
	return err
}

// TestEmailRuleIsTheDatabases: for every confusable of issue 11 (and a few
// plain addresses), the database's normalization and validity are the
// Go rule's; the users_email_check constraint, in raw SQL as the admin
// role, takes exactly the addresses Go would store; and app.enter, as the
// runtime role with a valid proof, resolves none of them to kate's row but
// kate's own ASCII spellings.
func TestEmailRuleIsTheDatabases(t *testing.T) {
	t.Parallel()
	d := pgtest.New(t)
	ctx := context.Background()
	fx := d.Fixtures(t)
	kate := fx.User(t, pgtest.KateEmail)
	runtime := pgtest.Conn(t, d.RuntimeURL)
	admin := pgtest.Conn(t, d.AdminURL)
	inputs := []string{"alice@example.com", "a.b+tag@x.example", "A@B", "a@b@c", "ab", "@b.c", "ok@xn--bcher-kva.example",
		"  Kate@ACME.com  ", "kate@acme.com\r\n", strings.Repeat("a", 309) + "@example.com", strings.Repeat("a", 310) + "@example.com"}
	for _, c := range pgtest.Confusables {
		inputs = append(inputs, c.Email)
	}
	for _, in := range inputs {
		goNorm := rules.NormalizeEmail(in)
		var dbNorm string
		require.NoError(t, runtime.QueryRow(ctx, "SELECT app.fold_email($1)", in).Scan(&dbNorm))
		require.Equal(t, goNorm, dbNorm, "normalization of %q", in)
		goValid := rules.ValidEmail(goNorm)
		require.Equal(t, goValid, sqlBool(t, runtime, "app.valid_email($1)", goNorm), "validity of %q", goNorm)

		// The constraint takes the normalized form of a valid address and
		// nothing else (not the raw input, unless it is already normal).
		for _, stored := range []string{in, goNorm} {
			err := tryExec(t, admin, "INSERT INTO users (email) VALUES ($1) ON CONFLICT (email) DO NOTHING", stored)
			if goValid && stored == goNorm {
				require.NoError(t, err, "users_email_check takes %q", stored)
			} else {
				require.True(t, checkViolation(err), "users_email_check refuses %q: %v", stored, err)
			}
		}

		// app.enter never finds kate's row for another spelling.
		var user *string
		proof := d.Proof(t, in, "", false)
		require.NoError(t, runtime.QueryRow(ctx, "SELECT user_id::text FROM app.enter($1, '', false, $2)", in, proof).Scan(&user))
		if goNorm == pgtest.KateEmail {
			require.NotNil(t, user, "positive control: %q is kate", in)
			require.Equal(t, kate.String(), *user)
		} else {
			require.Nil(t, user, "%q must not sign in as kate (or anyone)", in)
		}
	}
}

// TestTextRuleIsTheDatabases: the names and descriptions the Go rule
// accepts (as it stores them: NFC, a name trimmed) pass the database's
// rule, and whatever it refuses, the database refuses too: the constraint
// is not weaker than Go. Then the attack in raw SQL: a project named with
// U+200B alone, or a bidi override, written as the runtime role inside a
// context the server would have granted, is refused by the check
// constraint; an audit reason with U+2028 written as the admin role too.
func TestTextRuleIsTheDatabases(t *testing.T) {
	t.Parallel()
	d := pgtest.New(t)
	ctx := context.Background()
	runtime := pgtest.Conn(t, d.RuntimeURL)
	values := []string{
		"Apollo", "  Apollo  ", "", " ", "\u200b", "\u200b\u200b", "\u3164", "\u00a0\u2800", "\u3000", "a\u0085b", "a\u009bb",
		"evil\u202etxt.exe", "a\u2066b\u2069", "a\u2028b", "a\u2029b", "a\ufeffb", "a\u00adb", "Cafe\u0301", "\u212b ngstr\u00f6m",
		"ok \u00e9 🎉 日本", "line\nbreak", "tab\there", "a\x07b", "del\x7f", strings.Repeat("é", 200), strings.Repeat("é", 201),
		"\U000e0041tag", "\ufe0fvs", "a\u034fb",
	}
	for _, v := range values {
		clean, problem := rules.CleanText(v, 1, rules.MaxNameLen, false)
		const nameRule = "length(btrim($1)) BETWEEN 1 AND 200 AND app.text_ok($1, false, true)"
		if problem == "" {
			require.True(t, sqlBool(t, runtime, nameRule, strings.TrimSpace(clean)), "the database takes the name Go stores for %q", v)
		} else {
			require.False(t, sqlBool(t, runtime, nameRule, v), "the database refuses the name %q too (%s)", v, problem)
		}
		clean, problem = rules.CleanText(v, 0, rules.MaxDescriptionLen, true)
		const descRule = "length($1) <= 10000 AND app.text_ok($1, true, false)"
		if problem == "" {
			require.True(t, sqlBool(t, runtime, descRule, clean), "the database takes the description Go stores for %q", v)
		} else {
			require.False(t, sqlBool(t, runtime, descRule, v), "the database refuses the description %q too (%s)", v, problem)
		}
	}

	fx := d.Fixtures(t)
	tenant := fx.Tenant(t, "acme")
	alice := fx.User(t, "alice@acme.example")
	fx.Member(t, tenant, alice, "partner")
	proof := d.Proof(t, "alice@acme.example", "acme", false)
	for _, name := range []string{"\u200b", "evil\u202etxt.exe", "Cafe\u0301"} {
		err := pgx.BeginFunc(ctx, runtime, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "SELECT app.enter('alice@acme.example', 'acme', false, $1)", proof); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "INSERT INTO projects (name) VALUES ($1)", name)
			return err
		})
		require.True(t, checkViolation(err), "projects_name_check refuses %q: %v", name, err)
	}
	err := pgx.BeginFunc(ctx, runtime, func(tx pgx.Tx) error { // positive control
		if _, err := tx.Exec(ctx, "SELECT app.enter('alice@acme.example', 'acme', false, $1)", proof); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "INSERT INTO projects (name) VALUES ('Café')")
		return err
	})
	require.NoError(t, err)

	admin := pgtest.Conn(t, d.AdminURL)
	for reason, ok := range map[string]bool{"ticket 42": true, "ticket\u2028 42": false, "\u200b": false, "rollback \u202eok": false} {
		err := tryExec(t, admin, `INSERT INTO audit_log (actor_email, actor_role, reason, action) VALUES ('ops@x.example', 'cli', $1, 'test')`, reason)
		if ok {
			require.NoError(t, err, reason)
		} else {
			require.True(t, checkViolation(err), "audit_log_reason_check refuses %q: %v", reason, err)
		}
	}
}

// TestTextRuleInOperations: the operations apply the rule before any query
// (a 422 naming the field, or reason_required), and store text in NFC: a
// name typed with a combining accent is the precomposed name, so it
// collides with it (409), as a person would expect.
func TestTextRuleInOperations(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	for _, name := range []string{"\u200b", "\u3164", "a\u202eb", "a\u2028b", "a\u0085b"} {
		_, err := e.svc.CreateProject(ctx, alice, tenancy.ProjectInput{Name: name})
		requireCode(t, tenancy.CodeValidation, err, "%q", name)
	}
	_, err := e.svc.CreateProject(ctx, alice, tenancy.ProjectInput{Name: "Ok", Description: "two\nlines\u202e"})
	requireCode(t, tenancy.CodeValidation, err, "a description keeps newlines, not bidi overrides")
	p, err := e.svc.CreateProject(ctx, alice, tenancy.ProjectInput{Name: "Caf\u00e9", Description: "two\nlines\tand a tab"})
	require.NoError(t, err)
	require.Equal(t, "two\nlines\tand a tab", p.Description)
	_, err = e.svc.CreateProject(ctx, alice, tenancy.ProjectInput{Name: "Cafe\u0301"})
	requireCode(t, tenancy.CodeConflict, err, "NFC: the decomposed name is the same name")
	for _, reason := range []string{"\u200b", "ok\u202e", "line\u2028sep", "c1\u0085inside"} {
		_, err := e.svc.Owner(ctx, olga, reason)
		requireCode(t, tenancy.CodeReasonRequired, err, "%q", reason)
	}
	_, err = e.svc.Owner(ctx, olga, "Cafe\u0301 ticket")
	require.NoError(t, err, "positive control")
}
