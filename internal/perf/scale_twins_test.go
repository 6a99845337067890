package perf_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/pgtenant/pgtenant/internal/dbgen"
)

// TestScaleBareTwins checks what BenchmarkScale's isolation overhead rests
// on: a bare twin reads exactly the rows of the scoped page it is
// subtracted from, so scoped minus bare is the scope's work and not a
// different page. Positive control: at every deep cursor of the benchmark,
// and on the first pages, the scoped and the bare page hold the same ids in
// the same order, the dataset's. Denial: the scoped deep page read as a
// member of another tenant, with tenant 0's cursor, holds none of tenant 0's
// rows (tenant 0 has a full page after every cursor, so a scope that leaked
// would show them).
func TestScaleBareTwins(t *testing.T) {
	t.Parallel()
	s := setupScale(t, 5000)
	ctx := context.Background()
	ids := func(ps []dbgen.Project, err error) []uuid.UUID {
		t.Helper()
		require.NoError(t, err)
		out := make([]uuid.UUID, len(ps))
		for k, p := range ps {
			out[k] = p.ID
		}
		return out
	}
	want := func(tenant int, from, n int64) []uuid.UUID {
		out := make([]uuid.UUID, n)
		for k := range out {
			out[k] = s.d.ProjectID(tenant, from+int64(k))
		}
		return out
	}

	for i := range s.cursors {
		j := s.deepCursor(i)
		page := want(0, j+1, pageSize)
		require.Equal(t, page, ids(s.scopedDeep(ctx, 0, j)), "scoped deep page after project %d", j)
		require.Equal(t, page, ids(s.bareDeep(ctx, j)), "bare deep page after project %d", j)

		other, err := s.scopedDeep(ctx, 1, j)
		require.NoError(t, err)
		for _, p := range other {
			require.Equal(t, s.d.TenantID(1), p.TenantID, "tenant 1's scope read a row of another tenant after cursor %d", j)
		}
	}

	for _, tenant := range []int{0, 1, 7, s.d.Tenants - 1} {
		page := want(tenant, 0, min(pageSize, s.d.TenantProjects(tenant)))
		require.Equal(t, page, ids(s.scopedFirst(ctx, tenant)), "scoped first page of tenant %d", tenant)
		require.Equal(t, page, ids(s.bareQuery(ctx, floorReadSQL, s.d.TenantID(tenant), pageSize)), "bare first page of tenant %d", tenant)
	}
}
