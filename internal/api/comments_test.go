package api_test

import (
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/pgtenant/pgtenant/internal/tenancy"
)

// TestCommentsAPI: the task comments routes, with positive controls and
// denials (the per-role matrix is in TestRBACMatrix).
func TestCommentsAPI(t *testing.T) {
	t.Parallel()
	f := setup(t)
	base := "/v1/tenants/tenant-a/projects/" + f.ProjectA.String() + "/tasks/" + f.TaskA.String() + "/comments"

	r := f.Do(t, alice, "POST", base, map[string]any{"body": "Ship it.\nAfter the review."})
	require.Equal(t, 201, r.Status, string(r.Body))
	var c tenancy.Comment
	r.JSON(t, &c)
	require.Equal(t, base+"/"+c.ID.String(), r.Header.Get("Location"))
	require.Equal(t, alice, c.AuthorEmail)
	require.Equal(t, f.TaskA, c.TaskID)

	// Any member reads, oldest first, paged.
	var page tenancy.Page[tenancy.Comment]
	r = f.Do(t, vera, "GET", base+"?limit=1", nil)
	require.Equal(t, 200, r.Status, string(r.Body))
	r.JSON(t, &page)
	require.Len(t, page.Items, 1)
	require.Equal(t, "a comment", page.Items[0].Body)
	require.Empty(t, page.Items[0].AuthorEmail, "a Client Viewer does not see a co-member's email")
	r = f.Do(t, alice, "GET", base+"?limit=1", nil)
	var byPartner tenancy.Page[tenancy.Comment]
	r.JSON(t, &byPartner)
	require.Equal(t, alice, byPartner.Items[0].AuthorEmail, "a Partner sees it")
	require.NotNil(t, page.NextCursor)
	r = f.Do(t, vera, "GET", base+"?limit=1&cursor="+*page.NextCursor, nil)
	r.JSON(t, &page)
	require.Len(t, page.Items, 1)
	require.Equal(t, c.ID, page.Items[0].ID)
	require.Equal(t, "Ship it.\nAfter the review.", page.Items[0].Body)
	require.Equal(t, c.AuthorID, page.Items[0].AuthorID)
	require.Nil(t, page.NextCursor)

	// The viewer reads but does not write; bad bodies are 422.
	r = f.Do(t, vera, "POST", base, map[string]any{"body": "me too"})
	require.Equal(t, 403, r.Status)
	for _, body := range []string{"", "   ", strings.Repeat("x", 4001), "bell\x07"} {
		r = f.Do(t, alice, "POST", base, map[string]any{"body": body})
		require.Equal(t, 422, r.Status, "%q", body)
		require.Equal(t, tenancy.CodeValidation, r.Problem(t).Code)
	}

	// An Owner who is no member comments; members do not learn the
	// Owner's email through it (the users policy shows co-members only).
	r = f.Do(t, olga, "POST", base, map[string]any{"body": "from ops"})
	require.Equal(t, 201, r.Status, string(r.Body))
	r = f.Do(t, alice, "GET", base, nil)
	r.JSON(t, &page)
	require.Len(t, page.Items, 3)
	require.Equal(t, "from ops", page.Items[2].Body)
	require.Empty(t, page.Items[2].AuthorEmail)
	require.NotNil(t, page.Items[2].AuthorID)

	// Denials: a task under another project, B's task and comment through
	// A, a task that does not exist: all 404, reading or writing.
	other := "/v1/tenants/tenant-a/projects/"
	for _, path := range []string{
		other + f.ProjectB.String() + "/tasks/" + f.TaskA.String() + "/comments",
		other + f.ProjectA.String() + "/tasks/" + f.TaskB.String() + "/comments",
		other + f.ProjectB.String() + "/tasks/" + f.TaskB.String() + "/comments",
		other + f.ProjectA.String() + "/tasks/" + uuid.NewString() + "/comments",
	} {
		for _, method := range []string{"GET", "POST"} {
			r = f.Do(t, alice, method, path, map[string]any{"body": "x"})
			require.Equal(t, 404, r.Status, "%s %s: %s", method, path, r.Body)
			require.Equal(t, tenancy.CodeNotFound, r.Problem(t).Code)
		}
	}
	r = f.Do(t, alice, "DELETE", base+"/"+f.CommentB.String(), nil)
	require.Equal(t, 404, r.Status, "B's comment through A's task")
	r = f.Do(t, bob, "GET", "/v1/tenants/tenant-b/projects/"+f.ProjectB.String()+"/tasks/"+f.TaskB.String()+"/comments", nil)
	r.JSON(t, &page)
	require.Len(t, page.Items, 1, "B's comment untouched")
	r = f.Do(t, alice, "GET", base+"/"+c.ID.String(), nil)
	require.Equal(t, 200, r.Status, "the Location of a new comment answers GET")
	var one tenancy.Comment
	r.JSON(t, &one)
	require.Equal(t, c, one)
	require.Equal(t, c.ETag(), r.Header.Get("ETag"))
	r = f.Do(t, alice, "GET", base+"/"+f.CommentB.String(), nil)
	require.Equal(t, 404, r.Status, "B's comment through A's task")

	r = f.Do(t, alice, "DELETE", base+"/"+c.ID.String(), nil)
	require.Equal(t, 204, r.Status)
	r = f.Do(t, alice, "DELETE", base+"/"+c.ID.String(), nil)
	require.Equal(t, 404, r.Status)

	// Deleting the task deletes its comments.
	r = f.Do(t, alice, "DELETE", "/v1/tenants/tenant-a/projects/"+f.ProjectA.String()+"/tasks/"+f.TaskA.String(), nil)
	require.Equal(t, 204, r.Status)
	var n int
	require.NoError(t, super(t, f).QueryRow(t.Context(), "SELECT count(*) FROM task_comments WHERE task_id = $1", f.TaskA).Scan(&n))
	require.Zero(t, n)
}
