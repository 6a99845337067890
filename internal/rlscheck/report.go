package rlscheck

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// RuleResult is one rule's outcome in the JSON report.
type RuleResult struct {
	ID       string `json:"id"`
	Title    string `json:"title"`
	Status   string `json:"status"` // "ok" or "fail"
	Findings int    `json:"findings"`
}

// jsonReport is the --json document. Keys are stable; new keys may be added.
type jsonReport struct {
	Clean        bool         `json:"clean"`
	Database     string       `json:"database"`
	ConnectedAs  string       `json:"connected_as"`
	RuntimeRoles []string     `json:"runtime_roles"`
	AdminRoles   []string     `json:"admin_roles"`
	TenantTables []string     `json:"tenant_tables"`
	Rules        []RuleResult `json:"rules"`
	Findings     []Finding    `json:"findings"`
}

// Results returns every rule with its outcome, in report order.
func (r Report) Results() []RuleResult {
	out := make([]RuleResult, len(Rules))
	for i, rule := range Rules {
		n := len(r.ByRule(rule.ID))
		out[i] = RuleResult{ID: rule.ID, Title: rule.Title, Status: "ok", Findings: n}
		if n > 0 {
			out[i].Status = "fail"
		}
	}
	return out
}

// WriteJSON writes the report as one JSON document.
func (r Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	findings := r.Findings
	if findings == nil {
		findings = []Finding{}
	}
	return enc.Encode(jsonReport{
		Clean: r.Clean(), Database: r.Database, ConnectedAs: r.ConnectedAs,
		RuntimeRoles: nonNil(r.RuntimeRoles), AdminRoles: nonNil(r.AdminRoles), TenantTables: nonNil(r.TenantTables),
		Rules: r.Results(), Findings: findings,
	})
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// WriteText writes the report for people: every rule with ok or FAIL, and
// under each failed rule the objects, what is wrong and what to do.
func (r Report) WriteText(w io.Writer) error {
	var b strings.Builder
	none := func(s []string) string {
		if len(s) == 0 {
			return "(none)"
		}
		return strings.Join(s, ", ")
	}
	fmt.Fprintf(&b, "rls-check: database %s, connected as %s\n", r.Database, r.ConnectedAs)
	fmt.Fprintf(&b, "  runtime role(s): %s\n", none(r.RuntimeRoles))
	fmt.Fprintf(&b, "  admin role(s):   %s\n", none(r.AdminRoles))
	fmt.Fprintf(&b, "  tenant tables:   %s\n\n", none(r.TenantTables))
	width := 0
	for _, rule := range Rules {
		width = max(width, len(rule.ID))
	}
	failed := 0
	for _, res := range r.Results() {
		if res.Status == "ok" {
			fmt.Fprintf(&b, "ok    %-*s  %s\n", width, res.ID, res.Title)
			continue
		}
		failed++
		fmt.Fprintf(&b, "FAIL  %-*s  %s\n", width, res.ID, res.Title)
		for _, f := range r.ByRule(res.ID) {
			fmt.Fprintf(&b, "      - %s\n", f.Object)
			fmt.Fprintf(&b, "        %s\n", f.Message)
			if f.Fix != "" {
				fmt.Fprintf(&b, "        fix: %s\n", f.Fix)
			}
		}
	}
	fmt.Fprintln(&b)
	if r.Clean() {
		fmt.Fprintf(&b, "%d rules, all passed\n", len(Rules))
	} else {
		fmt.Fprintf(&b, "%d rules, %d failed, %d finding(s)\n", len(Rules), failed, len(r.Findings))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteRules lists the rules with their descriptions.
func WriteRules(w io.Writer) error {
	var b strings.Builder
	for _, rule := range Rules {
		fmt.Fprintf(&b, "%s\n  %s\n", rule.ID, rule.Title)
		for _, line := range wrap(rule.Description, 76) {
			fmt.Fprintf(&b, "    %s\n", line)
		}
		fmt.Fprintln(&b)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func wrap(s string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(s) {
		if line != "" && len(line)+1+len(word) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}
