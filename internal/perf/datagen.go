// Package perf is pgtenant's performance machinery: a deterministic,
// skewed data generator that feeds COPY (this file; cmd/loadgen is its
// command), and, in the test files, the database-level benchmarks
// (bench_test.go), the scale benchmark (scale_test.go), the EXPLAIN test
// that fails on a sequential scan of a tenant table (explain_test.go) and
// the HTTP benchmark (http_test.go). docs/benchmarks.md says how to run
// them and shows the last results.
//
// The generator opens no connection: it writes PostgreSQL COPY text, which
// a caller streams into COPY ... FROM STDIN (the tests through pgx, the
// command through psql). Everything it writes is a pure function of the
// Spec, so a benchmark can recompute any row's id, owner or position
// without reading the database.
package perf

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// Spec describes a generated dataset.
type Spec struct {
	// Tenants is the number of tenants (>= 1).
	Tenants int
	// Projects, Tasks and Comments (on tasks) are totals over all tenants.
	// Every tenant gets at least one project when Projects >= Tenants.
	Projects, Tasks, Comments int64
	// Members is the number of memberships (one user each); 0 picks
	// max(2*Tenants, Projects/20). Every tenant gets at least one, a
	// partner, when Members >= Tenants.
	Members int64
	// Skew is the Zipf exponent of tenant sizes: tenant i gets a share
	// proportional to 1/(i+1)^Skew, so tenant 0 is the largest. 1 over 10k
	// tenants gives tenant 0 about 10% of all rows, the top 10 about 30%.
	// 0 is uniform.
	Skew float64
	// Seed varies ids; the same Spec always yields the same rows.
	Seed uint64
}

// Dataset is a Spec with its per-tenant counts worked out.
type Dataset struct {
	Spec
	projects []int64 // per tenant
	tasks    []int64
	comments []int64
	members  []int64
	// memberBase[i] is the global index of tenant i's first membership.
	memberBase []int64
}

// Epoch is the created_at of the first generated row; rows follow at fixed
// steps so that keyset order is creation order.
var Epoch = time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)

// Steps between consecutive rows of one tenant.
const (
	projectStep = 61 * time.Second
	taskStep    = 13 * time.Second
	commentStep = 5 * time.Second
	memberStep  = 7 * time.Minute
)

// NewDataset validates spec and allocates its rows to tenants.
func NewDataset(spec Spec) (*Dataset, error) {
	if spec.Tenants < 1 || spec.Tenants > 10_000_000 {
		return nil, errors.New("perf: Tenants must be between 1 and 10,000,000")
	}
	if spec.Projects < 0 || spec.Tasks < 0 || spec.Comments < 0 || spec.Members < 0 || spec.Skew < 0 {
		return nil, errors.New("perf: negative counts or skew")
	}
	if spec.Tasks > 0 && spec.Projects == 0 {
		return nil, errors.New("perf: tasks need projects")
	}
	if spec.Comments > 0 && spec.Tasks == 0 {
		return nil, errors.New("perf: comments need tasks")
	}
	if spec.Members == 0 {
		spec.Members = max(2*int64(spec.Tenants), spec.Projects/20)
	}
	w := make([]float64, spec.Tenants)
	for i := range w {
		w[i] = math.Pow(float64(i+1), -spec.Skew)
	}
	d := &Dataset{Spec: spec}
	d.projects = allocate(spec.Projects, w, nil)
	// Tasks only go to tenants that have projects.
	d.tasks = allocate(spec.Tasks, w, d.projects)
	// Comments only go to tenants that have tasks.
	d.comments = allocate(spec.Comments, w, d.tasks)
	d.members = allocate(spec.Members, w, nil)
	d.memberBase = make([]int64, spec.Tenants)
	var n int64
	for i, m := range d.members {
		d.memberBase[i] = n
		n += m
	}
	return d, nil
}

// allocate splits total over len(w) buckets in proportion to w, giving
// every eligible bucket (only[i] > 0, or all when only is nil) at least one
// when total allows.
func allocate(total int64, w []float64, only []int64) []int64 {
	out := make([]int64, len(w))
	eligible := func(i int) bool { return only == nil || only[i] > 0 }
	var sum float64
	var n int64
	for i := range w {
		if eligible(i) {
			sum += w[i]
			n++
		}
	}
	if total == 0 || n == 0 {
		return out
	}
	base := int64(0)
	if total >= n {
		base = 1
	}
	rest := total - base*n
	var given int64
	for i := range w {
		if !eligible(i) {
			continue
		}
		out[i] = base + int64(float64(rest)*w[i]/sum)
		given += out[i]
	}
	for i := 0; given < total; i = (i + 1) % len(w) {
		if eligible(i) {
			out[i]++
			given++
		}
	}
	return out
}

// TenantProjects, TenantTasks, TenantComments and TenantMembers are tenant
// i's row counts.
func (d *Dataset) TenantProjects(i int) int64 { return d.projects[i] }
func (d *Dataset) TenantTasks(i int) int64    { return d.tasks[i] }
func (d *Dataset) TenantComments(i int) int64 { return d.comments[i] }
func (d *Dataset) TenantMembers(i int) int64  { return d.members[i] }

// Row ids. Kinds keep the id spaces apart.
const (
	kindTenant = iota + 1
	kindUser
	kindProject
	kindTask
	kindComment
)

// TenantID is tenant i's id.
func (d *Dataset) TenantID(i int) uuid.UUID { return d.id(kindTenant, uint64(i), 0) }

// TenantSlug is tenant i's slug.
func (d *Dataset) TenantSlug(i int) string { return fmt.Sprintf("t%06d", i) }

// MemberEmail is the email of tenant i's k-th member; member 0 is a partner.
func (d *Dataset) MemberEmail(i int, k int64) string {
	return "m" + strconv.FormatInt(k, 10) + "@" + d.TenantSlug(i) + ".example"
}

// MemberRole is the role of tenant i's k-th member: even k partner, odd k
// client viewer.
func (d *Dataset) MemberRole(k int64) string {
	if k%2 == 0 {
		return "partner"
	}
	return "client_viewer"
}

// MemberUserID is the user id of tenant i's k-th member.
func (d *Dataset) MemberUserID(i int, k int64) uuid.UUID {
	return d.id(kindUser, uint64(d.memberBase[i]+k), 0)
}

// OwnerEmail is the one platform Owner of a dataset.
const OwnerEmail = "owner@perf.example"

// ProjectID is the id of tenant i's j-th project (in creation order).
func (d *Dataset) ProjectID(i int, j int64) uuid.UUID {
	return d.id(kindProject, uint64(i), uint64(j))
}

// ProjectCreatedAt is the created_at of tenant i's j-th project.
func (d *Dataset) ProjectCreatedAt(i int, j int64) time.Time {
	return Epoch.Add(time.Duration(i%3600)*time.Second + time.Duration(j)*projectStep)
}

// TaskProject is the index of the project that tenant i's k-th task belongs
// to. Tasks crowd the first projects (a cubic skew), so project 0 of a big
// tenant has many tasks.
func (d *Dataset) TaskProject(i int, k int64) int64 { return d.crowd(i, k, 0x7a5c, d.projects[i]) }

// CommentTask is the index of the task that tenant i's k-th comment is on,
// with the same skew: task 0 of a big tenant has many comments.
func (d *Dataset) CommentTask(i int, k int64) int64 { return d.crowd(i, k, 0xc033, d.tasks[i]) }

// crowd picks one of n parents for child k of tenant i, crowding the first
// ones (a cubic skew).
func (d *Dataset) crowd(i int, k int64, salt uint64, n int64) int64 {
	u := float64(splitmix(d.Seed^uint64(i)<<32^uint64(k)^salt)>>11) / (1 << 53)
	return min(int64(float64(n)*u*u*u), n-1)
}

// TaskID is the id of tenant i's k-th task.
func (d *Dataset) TaskID(i int, k int64) uuid.UUID { return d.id(kindTask, uint64(i), uint64(k)) }

// TaskCreatedAt is the created_at of tenant i's k-th task.
func (d *Dataset) TaskCreatedAt(i int, k int64) time.Time {
	return Epoch.Add(time.Duration(i%3600)*time.Second + time.Duration(k)*taskStep)
}

// CommentID is the id of tenant i's k-th comment.
func (d *Dataset) CommentID(i int, k int64) uuid.UUID { return d.id(kindComment, uint64(i), uint64(k)) }

// CommentCreatedAt is the created_at of tenant i's k-th comment.
func (d *Dataset) CommentCreatedAt(i int, k int64) time.Time {
	return Epoch.Add(time.Duration(i%3600)*time.Second + time.Duration(k)*commentStep)
}

func (d *Dataset) id(kind, a, b uint64) uuid.UUID {
	x := splitmix(d.Seed ^ kind*0x9e3779b97f4a7c15)
	x = splitmix(x ^ a)
	hi := splitmix(x ^ b)
	lo := splitmix(hi ^ 0x5851f42d4c957f2d)
	var u uuid.UUID
	binary.BigEndian.PutUint64(u[:8], hi)
	binary.BigEndian.PutUint64(u[8:], lo)
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	return u
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// Table is one table's generated rows, in COPY text format.
type Table struct {
	Name    string
	Columns []string
	Rows    int64
	write   func(w *rowWriter)
}

// CopySQL is the COPY statement that reads this table's rows from STDIN.
// freeze adds FREEZE (valid only when the table was created or truncated
// in the same transaction; it saves the first reads from setting hint bits).
func (t Table) CopySQL(freeze bool) string {
	s := "COPY " + t.Name + " ("
	for i, c := range t.Columns {
		if i > 0 {
			s += ", "
		}
		s += c
	}
	s += ") FROM STDIN"
	if freeze {
		s += " WITH (FREEZE)"
	}
	return s
}

// WriteTo writes the table's rows in COPY text format.
func (t Table) WriteTo(w io.Writer) (int64, error) {
	rw := &rowWriter{w: bufio.NewWriterSize(w, 1<<20)}
	t.write(rw)
	if rw.err == nil {
		rw.err = rw.w.Flush()
	}
	return rw.n, rw.err
}

// Tables returns the dataset's tables in load order (parents first).
func (d *Dataset) Tables() []Table {
	var users int64
	for _, m := range d.members {
		users += m
	}
	return []Table{
		{"tenants", []string{"id", "slug", "name", "status", "created_at"}, int64(d.Tenants), d.writeTenants},
		{"users", []string{"id", "email", "display_name", "is_owner", "created_at"}, users + 1, d.writeUsers},
		{"memberships", []string{"tenant_id", "user_id", "role", "created_at"}, users, d.writeMemberships},
		{"projects", []string{"tenant_id", "id", "name", "description", "created_at", "updated_at"}, d.Projects, d.writeProjects},
		{"tasks", []string{"tenant_id", "id", "project_id", "title", "done", "created_at", "updated_at"}, d.Tasks, d.writeTasks},
		{"task_comments", []string{"tenant_id", "id", "task_id", "author_id", "body", "created_at"}, d.Comments, d.writeComments},
	}
}

func (d *Dataset) writeTenants(w *rowWriter) {
	for i := 0; i < d.Tenants && w.err == nil; i++ {
		w.uuid(d.TenantID(i))
		w.str(d.TenantSlug(i))
		w.str("Tenant " + strconv.Itoa(i))
		w.str("active")
		w.time(Epoch.Add(-time.Duration(d.Tenants-i) * time.Minute))
		w.end()
	}
}

func (d *Dataset) writeUsers(w *rowWriter) {
	for i := 0; i < d.Tenants && w.err == nil; i++ {
		for k := int64(0); k < d.members[i]; k++ {
			w.uuid(d.MemberUserID(i, k))
			w.str(d.MemberEmail(i, k))
			w.str("")
			w.str("f")
			w.time(Epoch)
			w.end()
		}
	}
	w.uuid(d.id(kindUser, math.MaxUint64, 0))
	w.str(OwnerEmail)
	w.str("Perf Owner")
	w.str("t")
	w.time(Epoch)
	w.end()
}

func (d *Dataset) writeMemberships(w *rowWriter) {
	for i := 0; i < d.Tenants && w.err == nil; i++ {
		tid := d.TenantID(i)
		for k := int64(0); k < d.members[i]; k++ {
			w.uuid(tid)
			w.uuid(d.MemberUserID(i, k))
			w.str(d.MemberRole(k))
			w.time(Epoch.Add(time.Duration(k) * memberStep))
			w.end()
		}
	}
}

func (d *Dataset) writeProjects(w *rowWriter) {
	for i := 0; i < d.Tenants && w.err == nil; i++ {
		tid := d.TenantID(i)
		for j := int64(0); j < d.projects[i]; j++ {
			at := d.ProjectCreatedAt(i, j)
			w.uuid(tid)
			w.uuid(d.ProjectID(i, j))
			w.str("Project " + strconv.FormatInt(j, 10))
			w.str("Generated project for benchmarks; a short description of typical length.")
			w.time(at)
			w.time(at)
			w.end()
		}
	}
}

func (d *Dataset) writeTasks(w *rowWriter) {
	for i := 0; i < d.Tenants && w.err == nil; i++ {
		tid := d.TenantID(i)
		for k := int64(0); k < d.tasks[i]; k++ {
			at := d.TaskCreatedAt(i, k)
			w.uuid(tid)
			w.uuid(d.TaskID(i, k))
			w.uuid(d.ProjectID(i, d.TaskProject(i, k)))
			w.str("Task " + strconv.FormatInt(k, 10))
			if k%3 == 0 {
				w.str("t")
			} else {
				w.str("f")
			}
			w.time(at)
			w.time(at)
			w.end()
		}
	}
}

// writeComments writes each tenant's comments, all by its first member (a
// partner).
func (d *Dataset) writeComments(w *rowWriter) {
	for i := 0; i < d.Tenants && w.err == nil; i++ {
		tid := d.TenantID(i)
		for k := int64(0); k < d.comments[i]; k++ {
			w.uuid(tid)
			w.uuid(d.CommentID(i, k))
			w.uuid(d.TaskID(i, d.CommentTask(i, k)))
			w.uuid(d.MemberUserID(i, 0))
			w.str("Comment " + strconv.FormatInt(k, 10))
			w.time(d.CommentCreatedAt(i, k))
			w.end()
		}
	}
}

// rowWriter appends COPY text fields. Generated values never contain a
// tab, newline or backslash, so no escaping is needed.
type rowWriter struct {
	w   *bufio.Writer
	buf []byte
	col int
	n   int64
	err error
}

func (r *rowWriter) sep() {
	if r.col > 0 {
		r.buf = append(r.buf, '\t')
	}
	r.col++
}

func (r *rowWriter) str(s string) { r.sep(); r.buf = append(r.buf, s...) }

func (r *rowWriter) uuid(u uuid.UUID) {
	r.sep()
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	r.buf = append(r.buf, b[:]...)
}

func (r *rowWriter) time(t time.Time) {
	r.sep()
	r.buf = t.AppendFormat(r.buf, "2006-01-02 15:04:05Z07:00")
}

func (r *rowWriter) end() {
	r.buf = append(r.buf, '\n')
	if r.err == nil {
		var n int
		n, r.err = r.w.Write(r.buf)
		r.n += int64(n)
	}
	r.buf, r.col = r.buf[:0], 0
}

// WriteScript writes the whole dataset as a psql script (COPY ... FROM
// stdin blocks, the format pg_dump uses), in one transaction, followed by
// ANALYZE. With truncate, the script first empties the six tables (and,
// being in the same transaction, loads WITH (FREEZE)). With noTriggers it
// sets session_replication_role = replica, which skips the foreign-key
// triggers (the generated rows are consistent by construction) and needs a
// superuser, like pg_dump --disable-triggers.
func (d *Dataset) WriteScript(w io.Writer, truncate, noTriggers bool) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	fmt.Fprintf(bw, "-- pgtenant generated dataset: %d tenants, %d projects, %d tasks, skew %g, seed %d\n",
		d.Tenants, d.Projects, d.Tasks, d.Skew, d.Seed)
	bw.WriteString("\\set ON_ERROR_STOP on\nSET synchronous_commit = off;\n")
	if noTriggers {
		bw.WriteString("SET session_replication_role = replica;\n")
	}
	bw.WriteString("BEGIN;\n")
	if truncate {
		bw.WriteString("TRUNCATE tenants, users, memberships, projects, tasks, task_comments;\n")
	}
	for _, t := range d.Tables() {
		bw.WriteString(t.CopySQL(truncate) + ";\n")
		if _, err := t.WriteTo(bw); err != nil {
			return err
		}
		bw.WriteString("\\.\n")
	}
	bw.WriteString("COMMIT;\nANALYZE tenants, users, memberships, projects, tasks, task_comments;\n")
	return bw.Flush()
}
