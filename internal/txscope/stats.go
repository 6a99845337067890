package txscope

import "github.com/jackc/pgx/v5/pgxpool"

// Stats returns the statistics of the pools the scope opened, by name:
// "runtime" (DATABASE_URL) and "admin" (ADMIN_DATABASE_URL). It reads
// counters only (pgxpool.Stat), no connection; metrics call it on every
// scrape.
func (s *Scope) Stats() map[string]*pgxpool.Stat {
	out := map[string]*pgxpool.Stat{}
	if s.pool != nil {
		out["runtime"] = s.pool.Stat()
	}
	if s.admin != nil {
		out["admin"] = s.admin.Stat()
	}
	return out
}
