package perf

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

func TestDatasetShape(t *testing.T) {
	t.Parallel()
	d, err := NewDataset(Spec{Tenants: 100, Projects: 10_000, Tasks: 5_000, Comments: 3_000, Skew: 1, Seed: 1})
	require.NoError(t, err)
	var projects, tasks, comments, members int64
	for i := 0; i < d.Tenants; i++ {
		require.GreaterOrEqual(t, d.TenantProjects(i), int64(1), "every tenant has a project")
		require.GreaterOrEqual(t, d.TenantMembers(i), int64(1), "every tenant has a member")
		projects += d.TenantProjects(i)
		tasks += d.TenantTasks(i)
		members += d.TenantMembers(i)
		for k := int64(0); k < d.TenantTasks(i); k++ {
			j := d.TaskProject(i, k)
			require.True(t, j >= 0 && j < d.TenantProjects(i))
		}
		comments += d.TenantComments(i)
		for k := int64(0); k < d.TenantComments(i); k++ {
			j := d.CommentTask(i, k)
			require.True(t, j >= 0 && j < d.TenantTasks(i), "a comment is on a task of its tenant")
		}
	}
	require.Equal(t, int64(10_000), projects)
	require.Equal(t, int64(5_000), tasks)
	require.Equal(t, int64(3_000), comments)
	require.Equal(t, d.Members, members)
	// Skewed: tenant 0 is the largest, by far.
	require.Greater(t, d.TenantProjects(0), 10*d.TenantProjects(99))
	require.Equal(t, "partner", d.MemberRole(0))
}

func TestDatasetDeterministicAndUnique(t *testing.T) {
	t.Parallel()
	spec := Spec{Tenants: 20, Projects: 2_000, Tasks: 2_000, Comments: 1_000, Skew: 1, Seed: 9}
	a, err := NewDataset(spec)
	require.NoError(t, err)
	b, err := NewDataset(spec)
	require.NoError(t, err)
	var bufA, bufB bytes.Buffer
	require.NoError(t, a.WriteScript(&bufA, true, true))
	require.NoError(t, b.WriteScript(&bufB, true, true))
	require.Equal(t, bufA.String(), bufB.String())

	seen := map[uuid.UUID]bool{}
	for _, tb := range a.Tables() {
		var buf bytes.Buffer
		_, err := tb.WriteTo(&buf)
		require.NoError(t, err)
		lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
		require.Len(t, lines, int(tb.Rows), tb.Name)
		for _, l := range lines {
			f := strings.Split(l, "\t")
			require.Len(t, f, len(tb.Columns), tb.Name)
			if tb.Name == "memberships" {
				continue // (tenant_id, user_id): both ids exist elsewhere
			}
			col := 0
			if tb.Name == "projects" || tb.Name == "tasks" || tb.Name == "task_comments" {
				col = 1
			}
			id := uuid.MustParse(f[col])
			require.False(t, seen[id], "duplicate id in %s", tb.Name)
			seen[id] = true
		}
	}
	require.Contains(t, bufA.String(), "COPY projects (tenant_id, id, name, description, created_at, updated_at) FROM STDIN WITH (FREEZE);\n")
	require.Contains(t, bufA.String(), "SET session_replication_role = replica;")
}

func TestNewDatasetRejectsBadSpecs(t *testing.T) {
	t.Parallel()
	for _, s := range []Spec{{Tenants: 0}, {Tenants: 1, Projects: -1}, {Tenants: 1, Tasks: 5}, {Tenants: 1, Projects: 1, Comments: 5}} {
		_, err := NewDataset(s)
		require.Error(t, err)
	}
}
