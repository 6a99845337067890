package main

import (
	"fmt"
	"math"
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
	read1, read4 := r.med(scopeName("read", 1, "scoped"), "x-floor"), r.med(scopeName("read", 4, "scoped"), "x-floor")
	rtRead := r.med(scopeName("read", 1, "scoped"), "roundtrips/op")
	rtW, rtP := r.med(scopeName("write", 1, "scoped"), "roundtrips/op"), r.med(scopeName("write", 1, "plain"), "roundtrips/op")
	w("Targets:\n\n")
	w("- One-query scoped read >= 0.9x the floor: %s (%s at 1 client, %s at 4). Round trips: %s, the same as the floor: %s.\n",
		verdict(read1 >= 0.9 && read4 >= 0.9), num(read1, 2), num(read4, 2), num(rtRead, 0), verdict(rtRead == 1))
	w("- Scoped write at most one round trip more than the plain transaction: %s (%s vs %s round trips; throughput %s x-plain at 1 client, %s at 4).\n",
		verdict(rtW <= rtP+1), num(rtW, 0), num(rtP, 0),
		num(r.med(scopeName("write", 1, "scoped"), "x-plain"), 2), num(r.med(scopeName("write", 4, "scoped"), "x-plain"), 2))
	w("- Identity, membership and role checks add no round trip: %s (they run inside app.enter, in the same pipeline).\n\n", verdict(rtRead == 1 && rtW <= rtP))
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

func writeAnalysis(w writer) {
	w("## Where the time goes\n\n")
	w("Round trips are not the gap: a scoped read is one round trip like the floor, a scoped write three like the plain\n")
	w("transaction (`TestRoundTrips` pins both). What remains is server CPU per request, which loopback makes visible (a\n")
	w("round trip here costs about 30 µs, the bare page about 20 µs of server time):\n\n")
	w("1. The policies themselves cost little: the `pipelined-setconfig` row (the context set from known ids with\n")
	w("   `set_config`, pipelined with the page, under every policy, on the copy without the guard) reaches about 0.7-0.8x.\n")
	w("   An earlier `app.current_tenant_id()` was a SQL SECURITY DEFINER function, which Postgres re-plans in every\n")
	w("   statement (the scoped read was 0.23x); the helpers are inlined SQL, and with the guard they read through\n")
	w("   `app.context()`, a PL/pgSQL function that checks the seal in one query (PL/pgSQL sets its expressions up again\n")
	w("   in every transaction, and a read scope runs each statement in its own, so its body is a single query).\n")
	w("2. `app.enter`: per request it finds the user by email, the tenant and the caller's membership (three index\n")
	w("   probes, the same on every path), which is the price of checking identity, membership, role and tenant status in\n")
	w("   the database on every request; the floor checks nothing.\n")
	w("3. The guard (docs/security.md): `app.enter` checks an HMAC proof, resets the session, drops planted state and\n")
	w("   seals the context with a second HMAC, and each statement checks the seal. It runs as SECURITY DEFINER (once a\n")
	w("   measured trade-off not taken), which took the registries' policies out of its lookups. Its cost is the\n")
	w("   `guard` row: about a quarter of the scoped read's throughput on this machine, over the 10%% budget the issue\n")
	w("   set. Per request that is roughly +55 µs in `app.enter` and +25 to +45 µs for the seal check of the statement\n")
	w("   (pgbench, one client, transactions of their own; noisy shared machine).\n\n")
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
	const lk = "BenchmarkEnterNonMember"
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
