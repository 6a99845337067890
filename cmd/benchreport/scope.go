package main

import (
	"fmt"
	"math"
	"path/filepath"
)

// The rows of the database-level table, in order.
var scopeVariants = []struct{ op, variant, desc string }{
	{"read", "floor", "bare pooled query, `WHERE tenant_id = $1`, no RLS (the floor)"},
	{"read", "scoped", "`txscope.Read`: app.enter pipelined with `ProjectListFirst`"},
	{"read", "scoped-noguard", "the same without the guard (no proof, no seal, no session reset: the schema before issue 10)"},
	{"read", "pipelined-setconfig", "yardstick: `set_config` pipelined with the page, under RLS, no identity check"},
	{"read", "unpipelined", "naive: BEGIN; set_config; page; COMMIT (4 round trips)"},
	{"write", "plain", "BEGIN; INSERT … RETURNING; COMMIT, unscoped (the write floor)"},
	{"write", "scoped", "`txscope.Write` + `ProjectCreate`"},
}

func scopeName(op string, clients int, variant string) string {
	return fmt.Sprintf("Scope/op=%s/clients=%d/variant=%s", op, clients, variant)
}

func ratioUnit(op string) string {
	if op == "write" {
		return "x-plain"
	}
	return "x-floor"
}

func writeScope(w writer, r *results) {
	w("## Database level (`make bench`)\n\n")
	if r == nil {
		w("No results yet (`docs/bench/scope.txt`): run `make bench`.\n\n")
		return
	}
	w("A 20-row page of a tenant's projects and a one-row insert, through txscope and through the unscoped\n")
	w("baselines, at 1 and 4 concurrent clients (pools of 4 connections), %d runs each (results of %s).\n\n",
		r.runs(scopeName("read", 1, "floor"), "req/s"), r.when.Format("2006-01-02"))
	scopeTable(w, r)
	scopeTargets(w, r)
}

func scopeTable(w writer, r *results) {
	w("| operation | variant | clients | req/s | µs/op | round trips/op | ratio vs floor |\n")
	w("| --- | --- | ---: | ---: | ---: | ---: | ---: |\n")
	for _, clients := range []int{1, 4} {
		for _, v := range scopeVariants {
			n := scopeName(v.op, clients, v.variant)
			ratio := "1.00 (floor)"
			if v.variant != "floor" && v.variant != "plain" {
				ratio = num(r.med(n, ratioUnit(v.op)), 2) + " " + ratioUnit(v.op)
			}
			w("| %s | %s | %d | %s | %s | %s | %s |\n", v.op, v.desc, clients, thousands(r.med(n, "req/s")),
				num(r.med(n, "ns/op")/1e3, 0), num(r.med(n, "roundtrips/op"), 0), ratio)
		}
	}
	w("\n")
}

func scopeTargets(w writer, r *results) {
	rtRead := r.med(scopeName("read", 1, "scoped"), "roundtrips/op")
	rtW, rtP := r.med(scopeName("write", 1, "scoped"), "roundtrips/op"), r.med(scopeName("write", 1, "plain"), "roundtrips/op")
	w("Targets (issue 14; the summary table above has them all):\n\n")
	for _, c := range []int{1, 4} {
		x, y := r.med(scopeName("read", c, "scoped"), "x-floor"), vsSetConfig(r, c)
		w("- %s: scoped read >= 0.7x the floor: %s (%s); >= 0.9x the `pipelined-setconfig` yardstick: %s (%s).\n",
			clients(c), verdictOf(x, 0.7), ratio(x), verdictOf(y, 0.9), ratio(y))
	}
	xw := r.med(scopeName("write", 1, "scoped"), "x-plain")
	w("- 1 client: scoped write >= 0.8x the plain transaction: %s (%s; %s at 4 clients).\n", verdictOf(xw, 0.8), ratio(xw),
		ratio(r.med(scopeName("write", 4, "scoped"), "x-plain")))
	w("- Round trips: a one-query read %s like the floor (%s); a write %s, the plain transaction %s (%s); identity, membership\n",
		num(rtRead, 0), verdict(rtRead == 1), num(rtW, 0), num(rtP, 0), verdict(rtW <= rtP))
	w("  and role checks add none (they run inside app.enter, in the same pipeline; `TestRoundTrips` pins the counts).\n\n")
	writeGuard(w, r)
}

func writeExperiments(w writer, base *results, files []string) {
	if len(files) == 0 {
		return
	}
	w("## A trade-off not taken: app.enter as SECURITY DEFINER\n\n")
	w("Measured with `make bench-experiments` (`-perf.sql`: `bench/experiments/enter_security_definer.sql` applied as the\n")
	w("superuser to the benchmark database after loading; never by migrations). Same benchmark, same interleaved floor;\n")
	w("medians; raw results in `docs/bench/experiment-*.txt`.\n\n")
	w("| change | read x-floor (1 client) | read x-floor (4) | pipelined-setconfig x-floor (1) | write x-plain (1) | write x-plain (4) |\n")
	w("| --- | ---: | ---: | ---: | ---: | ---: |\n")
	row := func(name string, r *results) {
		w("| %s | %s | %s | %s | %s | %s |\n", name,
			num(r.med(scopeName("read", 1, "scoped"), "x-floor"), 2), num(r.med(scopeName("read", 4, "scoped"), "x-floor"), 2),
			num(r.med(scopeName("read", 1, "pipelined-setconfig"), "x-floor"), 2),
			num(r.med(scopeName("write", 1, "scoped"), "x-plain"), 2), num(r.med(scopeName("write", 4, "scoped"), "x-plain"), 2))
	}
	if base != nil {
		row("app.enter as the runtime role, under RLS (the schema as migrated; scope.txt)", base)
	}
	for _, f := range files {
		if r := load(f); r != nil {
			_, desc := experimentName(f, "experiment-")
			row(desc, r)
		}
	}
	w("\n")
}

func writeAnalysis(w writer, dir string) {
	w("## Where the time goes\n\n")
	w("Round trips are not the gap: a scoped read is one round trip like the floor, a scoped write three like the plain\n")
	w("transaction (`TestRoundTrips`). Nor is the Go side (the HTTP section: the server process used about half a core\n")
	w("under wrk, JWT and JSON a few percent of it). What remains is PostgreSQL's CPU per request, which loopback makes\n")
	w("visible. `make bench-profile` (`BenchmarkDatabaseProfile`, raw output at the end of this section) counts every\n")
	w("statement a scoped read and write run, nested ones included, with `pg_stat_statements`:\n\n")
	w("1. **app.enter is most of it.** The context statement executes in %s on average over the profile's reads and\n", analysisEnter)
	w("   writes (a write's share locks on its tenant and membership rows, issue 12, add %s to a write's), for one proof\n", analysisLocks)
	w("   check, three index probes (user, tenant, membership), the settings and their seal, and the session reset. The\n")
	w("   floor's whole page executes in %s. The nested statements add up to about half of app.enter: the rest is\n", analysisFloor)
	w("   PostgreSQL's fixed cost per statement (ExecutorStart, expression set-up, SPI, the SECURITY DEFINER switch),\n")
	w("   paid by each of its statements. The lookups themselves are cheap (%s each): checking identity,\n", analysisProbes)
	w("   membership, role and tenant status in the database on every request costs statements, not index work.\n")
	w("2. **The seal check, once per statement.** `app.context()` (PL/pgSQL, SECURITY DEFINER: it reads the key) runs\n")
	w("   its one query in %s of execution, some 25-35 µs per call in all (a loop of 5,000 EXECUTEs); a read's page\n", analysisSeal)
	w("   pays it once, a write five times (the FOR SHARE lookup of the membership applies the UPDATE policies too, and\n")
	w("   the INSERT checks its restrictive policies and, for RETURNING, the SELECT ones).\n")
	w("3. **The page** executes in %s in its context, generic plan, no planning (`EXPLAIN (ANALYZE, BUFFERS)` below: the\n", analysisPage)
	w("   same index scan of `projects_page_idx` as the floor, under the policies' two initPlans).\n")
	w("4. **Writes** pay the share locks and the seal checks above: the scoped INSERT executes in %s against %s for the\n", analysisInsert, analysisPlainInsert)
	w("   plain one. That is why the scoped write is further from its target than the read, and further than when the\n")
	w("   issue was filed: the guard (issue 10) and the share locks (issue 12) landed since.\n\n")
	w("### Levers (issue 14)\n\n")
	w("Each measured before it was kept: backend CPU per request from `/proc` while pgbench ran the pipelined read at\n")
	w("one client (medians of interleaved rounds, a loaded shared machine: read the ratios), or `make bench-profile`.\n\n")
	w("| lever | measured | kept |\n| --- | --- | --- |\n")
	for _, l := range levers {
		w("| %s | %s | %s |\n", l[0], l[1], l[2])
	}
	w("\n")
	if prof := readTrim(filepath.Join(dir, "profile.txt")); prof != "" {
		w("### The profile (`make bench-profile`, docs/bench/profile.txt)\n\n```text\n%s\n```\n\n", prof)
	}
}

// The numbers the analysis quotes, from docs/bench/profile.txt of the
// final run (make bench-profile); update them with it.
const (
	analysisEnter       = "160 µs"
	analysisLocks       = "about 60 µs"
	analysisFloor       = "16 µs (plus 26 µs of planning: its `LIMIT $2` earns it a custom plan on every execution, as the scoped page's did)"
	analysisProbes      = "4 to 7 µs"
	analysisSeal        = "9 µs"
	analysisPage        = "40 µs"
	analysisInsert      = "224 µs"
	analysisPlainInsert = "55 µs"
)

// levers: what issue 14 measured, with the decision.
var levers = [][3]string{
	{"`app.context()` answers at once when there is no seal (app.enter's own membership lookup called it twice before sealing)",
		"with the next lever: 334 → 301 µs per read (5 rounds)", "yes"},
	{"app.enter looks for planted state (SET ROLE, temp objects, prepared statements, cursors) in one statement, loops only when there is some",
		"(with the lever above)", "yes"},
	{"the timeouts set in the target list of the context statement, not in a statement of their own",
		"301 → 265 µs per read (same rounds)", "yes"},
	{"`plan_cache_mode = force_generic_plan` per tenant transaction: a page's `LIMIT $1` earned it a custom plan, planned on every execution",
		"page: 54 µs execution + 62 µs planning → 39 µs, no planning (bench-profile); `TestPagesUseTheGenericPlan`", "yes"},
	{"the owner-only membership policy renamed (`memberships_resolve`) so that Postgres ORs it first and skips memberships_read's initPlans",
		"app.enter alone: 170 → 157 µs (4 rounds)", "yes"},
	{"app.enter's resolution in two statements instead of six (proof and user; tenant, membership, settings and seal)",
		"scoped read 0.51x against 0.54x the floor (three interleaved runs of each build): bigger statements cost as much to set up", "no"},
	{"the seal check as a security-barrier view read by the policies instead of the PL/pgSQL function",
		"217 → 201 µs per read (5 rounds), within the noise", "no: every policy and rls-check's evaluator would change for no measurable gain"},
	{"HMAC from the built-in `sha256()` with precomputed pads instead of pgcrypto's `hmac()`",
		"pgcrypto hmac 1.0 µs a call, sha256 0.5 µs (100,000-call loop); a read computes three", "no: at most ~2 µs, for hand-written crypto"},
	{"app.enter as one SQL statement (a SQL function) instead of PL/pgSQL",
		"a SECURITY DEFINER SQL function is planned on every call: the seal query as one took 153 µs a call against 29-40 µs in PL/pgSQL (5,000 EXECUTEs)", "no"},
	{"caching identity resolution in the server",
		"the probes it would save cost 4-7 µs of execution each; a revoked membership or a suspended tenant must still take effect on the next request, so a cache would need the same probes to validate it", "no (not built)"},
	{"`app.text_ok` (the text rule of the check constraints) without STRICT, so that Postgres inlines it",
		"found in the final profile: STRICT with a CASE body, it is planned on every call (5.2 µs planning + 2.3 µs execution, twice per project insert)", "not done (found last; left for the next round)"},
	{"pgx statement cache modes",
		"not measured: pgtenant uses pgx's default (cache_statement: Bind and Execute of a prepared statement, the fewest messages); `make test-pgbouncer` runs the exec mode pgbouncer needs", "–"},
}

// writeGuard reports the guard's cost (variant guard: the scoped read with
// the guard against itself without, interleaved) and the non-member
// lookup timing (BenchmarkEnterNonMember).
func writeGuard(w writer, r *results) {
	g1, g4 := r.med(scopeName("read", 1, "guard"), "x-noguard"), r.med(scopeName("read", 4, "guard"), "x-noguard")
	if math.IsNaN(g1) {
		return
	}
	w("### The guard's cost\n\n")
	w("The scoped read with the unforgeable context (docs/security.md: proof check, session reset, sealed settings,\n")
	w("the seal checked by the policies) against the same read on a copy of the database migrated without it, run\n")
	w("interleaved in the same benchmark: **%s x at 1 client, %s x at 4** (throughput with the guard / without;\n", num(g1, 2), num(g4, 2))
	w("the budget was >= 0.90). The pipelined-setconfig and unpipelined yardsticks run on that copy too: with the guard a\n")
	w("context written with `set_config` is a forgery and reads nothing.\n\n")
	const lk = "EnterNonMember" // benchfmt names drop the "Benchmark" prefix
	if e := r.med(lk, "exists-p50-µs"); !math.IsNaN(e) {
		w("### A non-member's lookup of an existing and a missing tenant\n\n")
		w("`BenchmarkEnterNonMember`: 1,500 reads of each, interleaved, by a user who is a member of neither tenant (both\n")
		w("answer 404), on a 200-tenant dataset, with the guard and on the schema before it, in the same run. Medians:\n\n")
		w("| schema | existing tenant µs | missing tenant µs | existing / missing |\n| --- | ---: | ---: | ---: |\n")
		w("| before (tenant lookup under the tenants policy) | %s | %s | %s |\n", num(r.med(lk, "before-exists-p50-µs"), 1),
			num(r.med(lk, "before-missing-p50-µs"), 1), num(r.med(lk, "before-exists/missing"), 3))
		w("| now (same index probes on both paths) | %s | %s | %s |\n\n", num(e, 1), num(r.med(lk, "missing-p50-µs"), 1),
			num(r.med(lk, "exists/missing"), 3))
	}
}
