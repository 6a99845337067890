package rlscheck

import "slices"

// Rules is every rule, in report order: the structural rules (rules.go),
// then those that read expressions as trees (rules_expr.go), then those
// that compare the database with the committed expectation
// (rules_drift.go). A new group of rules is one more slice here.
var Rules = slices.Concat(baseRules, expressionRules, driftRules)
