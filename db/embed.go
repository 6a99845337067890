// Package db embeds pgtenant's SQL so the server binary migrates itself:
// versioned schema migrations (golang-migrate layout) and the repeatable
// policy files that are re-applied whenever their contents change.
package db

import "embed"

// Schema holds the golang-migrate migrations, NNNN_name.up.sql / .down.sql.
//
//go:embed schema/*.sql
var Schema embed.FS

// Policies holds the RLS policies and grants, applied in lexical order after
// the schema migrations. Every file is idempotent.
//
//go:embed policies/*.sql
var Policies embed.FS
