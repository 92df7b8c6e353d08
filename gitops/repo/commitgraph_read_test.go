package repo

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
)

// historyWithGraph builds, with git, a history of branches merged into
// main (some with --no-ff, some fast-forwarded), committer dates that go
// back now and then (a skewed clock), and a commit-graph that covers only
// part of it: a single file after the first third, a split layer on top
// after the second, and nothing for the last commits. It returns the
// repository and every commit made, oldest first.
func historyWithGraph(t *testing.T, seed uint64) (*Repo, []string) {
	t.Helper()
	r := newRepo(t)
	rnd := rand.New(rand.NewPCG(seed, 1))
	var all []string
	date := int64(1700000000)
	mk := func(msg string) {
		date += int64(rnd.IntN(100)) - 20 // goes back one time in five
		out, err := runEnv(r.Root, []string{fmt.Sprintf("GIT_COMMITTER_DATE=%d +0000", date)}, "commit", "--allow-empty", "-q", "-m", msg)
		if err != nil {
			t.Fatalf("git commit: %v\n%s", err, out)
		}
		all = append(all, run(t, r.Root, "rev-parse", "HEAD"))
	}
	mk("root")
	const n = 30
	for i := 1; i < n; i++ {
		switch {
		case rnd.IntN(4) == 0:
			b := fmt.Sprintf("b%d", i)
			run(t, r.Root, "checkout", "-q", "-b", b)
			for k := rnd.IntN(3) + 1; k > 0; k-- {
				mk(fmt.Sprintf("%s-%d", b, k))
			}
			run(t, r.Root, "checkout", "-q", "main")
			if rnd.IntN(2) == 0 {
				mk(fmt.Sprintf("main-%d", i)) // main moves on: a real merge
			}
			if out, err := runEnv(r.Root, []string{fmt.Sprintf("GIT_COMMITTER_DATE=%d +0000", date+1)}, "merge", "-q", "--no-ff", "--no-edit", b); err != nil {
				t.Fatalf("git merge: %v\n%s", err, out)
			}
			all = append(all, run(t, r.Root, "rev-parse", "HEAD"))
		default:
			mk(fmt.Sprintf("main-%d", i))
		}
		switch i {
		case n / 3:
			run(t, r.Root, "commit-graph", "write", "--reachable")
		case 2 * n / 3:
			run(t, r.Root, "commit-graph", "write", "--reachable", "--split=no-merge")
		}
	}
	return r, all
}

func runEnv(dir string, env []string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// revListTimes is what git says: `git rev-list --first-parent --timestamp`.
func revListTimes(t *testing.T, dir string, tip plumbing.Hash) []FPTime {
	t.Helper()
	var out []FPTime
	cmd := exec.Command("git", "rev-list", "--first-parent", "--timestamp", tip.String())
	cmd.Dir = dir
	stdout, err := cmd.Output() // stderr: git's warnings about grafts or a damaged commit-graph
	if err != nil {
		t.Fatalf("git rev-list: %v", err)
	}
	for _, l := range strings.Split(strings.TrimSpace(string(stdout)), "\n") {
		ft, err := parseTimestampLine(l, tip)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ft)
	}
	return out
}

// gitLines is what git says of every commit: its first-parent line with
// committer times, computed from one `git log --format='%H %ct %P'`.
func gitLines(t *testing.T, dir string) map[plumbing.Hash][]FPTime {
	t.Helper()
	type node struct {
		time   int64
		parent string
	}
	nodes := map[string]node{}
	for _, l := range strings.Split(run(t, dir, "log", "--all", "--format=%H %ct %P"), "\n") {
		f := strings.Fields(l)
		var n node
		fmt.Sscan(f[1], &n.time)
		if len(f) > 2 {
			n.parent = f[2]
		}
		nodes[f[0]] = n
	}
	lines := map[plumbing.Hash][]FPTime{}
	for h := range nodes {
		var line []FPTime
		for c := h; c != ""; c = nodes[c].parent {
			line = append(line, FPTime{Hash: plumbing.NewHash(c), Time: time.Unix(nodes[c].time, 0).UTC()})
		}
		lines[plumbing.NewHash(h)] = line
	}
	return lines
}

// TestFirstParentFromCommitGraph: the first-parent line read from the
// commit-graph (with git rev-list for the commits it does not hold yet)
// is git's, from every commit made, whole and down to a stop commit; a
// stop off the line is not reached.
func TestFirstParentFromCommitGraph(t *testing.T) {
	for seed := range uint64(2) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r, all := historyWithGraph(t, seed)
			ctx := context.Background()
			g := r.openCommitGraph(ctx)
			if g == nil || len(g.layers) != 2 || !g.has(plumbing.NewHash(all[len(all)/2])) || g.has(plumbing.NewHash(all[len(all)-1])) {
				t.Fatalf("want a commit-graph of two layers holding all but the newest commits")
			}
			lines := gitLines(t, r.Root)
			if main := plumbing.NewHash(run(t, r.Root, "rev-parse", "main")); !slices.Equal(lines[main], revListTimes(t, r.Root, main)) {
				t.Fatal("the oracle disagrees with git rev-list --first-parent --timestamp")
			}
			for _, c := range all {
				tip := plumbing.NewHash(c)
				want := lines[tip]
				got, reached, err := r.firstParentDownTo(ctx, tip, plumbing.ZeroHash)
				if err != nil || reached || !slices.Equal(got, want) {
					t.Fatalf("from %s: got %d commits (reached %v, %v), want git's %d", c[:7], len(got), reached, err, len(want))
				}
				stop := want[len(want)/2].Hash
				got, reached, err = r.firstParentDownTo(ctx, tip, stop)
				if err != nil || !reached || !slices.Equal(got, want[:len(want)/2+1]) {
					t.Fatalf("from %s down to %s: got %d commits (reached %v, %v), want %d", c[:7], stop.String()[:7], len(got), reached, err, len(want)/2+1)
				}
			}
			// A commit off main's line (a branch's) is never reached.
			tip := plumbing.NewHash(run(t, r.Root, "rev-parse", "main"))
			line := lines[tip]
			off := 0
			for _, c := range all {
				if slices.ContainsFunc(line, func(ft FPTime) bool { return ft.Hash.String() == c }) {
					continue
				}
				off++
				got, reached, err := r.firstParentDownTo(ctx, tip, plumbing.NewHash(c))
				if err != nil || reached || !slices.Equal(got, line) {
					t.Fatalf("down to %s, off the line: got %d commits (reached %v, %v), want the whole line", c[:7], len(got), reached, err)
				}
			}
			if off == 0 {
				t.Fatal("no commit off main's first-parent line")
			}
		})
	}
}

// TestFirstParentGraphNotRead: where git would not read the commit-graph
// (replace refs, grafts, a shallow clone, core.commitGraph=false) or it is
// damaged, the line is git's all the same.
func TestFirstParentGraphNotRead(t *testing.T) {
	base, all := historyWithGraph(t, 7)
	for _, c := range []struct {
		name  string
		spoil func(t *testing.T, r *Repo)
	}{
		{"replace ref", func(t *testing.T, r *Repo) {
			run(t, r.Root, "replace", "--graft", all[len(all)/2], all[1])
		}},
		{"packed replace ref", func(t *testing.T, r *Repo) {
			run(t, r.Root, "replace", "--graft", all[len(all)/2], all[1])
			run(t, r.Root, "pack-refs", "--all")
		}},
		{"grafts", func(t *testing.T, r *Repo) {
			writeFile(t, filepath.Join(r.Root, ".git", "info", "grafts"), all[len(all)/2]+" "+all[1]+"\n")
		}},
		{"shallow", func(t *testing.T, r *Repo) {
			writeFile(t, filepath.Join(r.Root, ".git", "shallow"), all[len(all)/2]+"\n")
		}},
		{"core.commitGraph=false", func(t *testing.T, r *Repo) {
			run(t, r.Root, "config", "core.commitGraph", "false")
		}},
		{"damaged", func(t *testing.T, r *Repo) {
			chain := filepath.Join(r.Root, ".git", "objects", "info", "commit-graphs")
			layers, _ := filepath.Glob(filepath.Join(chain, "graph-*.graph"))
			for _, l := range layers {
				if err := os.Truncate(l, 100); err != nil {
					t.Fatal(err)
				}
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "copy")
			if out, err := exec.Command("cp", "-a", base.Root, dir).CombinedOutput(); err != nil {
				t.Fatalf("cp: %v\n%s", err, out)
			}
			r, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			c.spoil(t, r)
			if r, err = Open(dir); err != nil { // a new Repo: nothing asked yet
				t.Fatal(err)
			}
			for _, h := range []string{all[len(all)-1], all[len(all)/2], all[len(all)/2+1]} {
				tip := plumbing.NewHash(h)
				want := revListTimes(t, r.Root, tip)
				got, _, err := r.firstParentDownTo(context.Background(), tip, plumbing.ZeroHash)
				if err != nil || !slices.Equal(got, want) {
					t.Fatalf("from %s: got %d commits (%v), want git's %d", h[:7], len(got), err, len(want))
				}
			}
		})
	}
}

// TestCommitGraphCycle: a commit-graph whose first parents loop (a damaged
// or forged file) ends the walk with ok false instead of running forever.
func TestCommitGraphCycle(t *testing.T) {
	r, all := historyWithGraph(t, 3)
	single := filepath.Join(r.Root, ".git", "objects", "info", "commit-graph")
	run(t, r.Root, "commit-graph", "write", "--reachable")
	data, err := os.ReadFile(single)
	if err != nil {
		t.Fatal(err)
	}
	l, err := parseGraphLayer(data, 0)
	if err != nil {
		t.Fatal(err)
	}
	g := &commitGraph{layers: []graphLayer{l}}
	tip := plumbing.NewHash(all[len(all)-1])
	pos, ok := g.find(tip)
	if !ok {
		t.Fatal("the tip is not in the commit-graph")
	}
	// The tip's first parent is the tip itself.
	d := l.cdat[int(pos)*graphCDATSize+graphHashLen:]
	d[0], d[1], d[2], d[3] = byte(pos>>24), byte(pos>>16), byte(pos>>8), byte(pos)
	if list, _, ok := g.line(tip, plumbing.ZeroHash); ok {
		t.Fatalf("a looping commit-graph gave a line of %d commits", len(list))
	}
}

func writeFile(t *testing.T, name, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// FuzzCommitGraph: any bytes as a commit-graph file either fail to parse
// or give a walk that ends, without a panic.
func FuzzCommitGraph(f *testing.F) {
	f.Add([]byte("CGPH\x01\x01\x03\x00"))
	// A real one: three commits, a merge, with changed paths.
	dir := f.TempDir()
	for _, args := range [][]string{
		{"init", "-q", "-b", "main"},
		{"-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "a"},
		{"checkout", "-q", "-b", "b"},
		{"-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "b"},
		{"checkout", "-q", "main"},
		{"-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "c"},
		{"-c", "user.name=t", "-c", "user.email=t@t", "merge", "-q", "--no-ff", "--no-edit", "b"},
		{"commit-graph", "write", "--reachable", "--changed-paths"},
	} {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			f.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, ".git", "objects", "info", "commit-graph"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := parseGraphLayer(data, 0)
		if err != nil {
			return
		}
		g := &commitGraph{layers: []graphLayer{l}}
		for i := uint32(0); i < l.n && i < 8; i++ {
			var h plumbing.Hash
			copy(h[:], l.oidl[i*graphHashLen:])
			g.line(h, plumbing.ZeroHash)
			g.scanNodes(h, plumbing.ZeroHash, "environments/production")
			if k, ok := g.keys("policies"); ok {
				g.mayChange(i, k)
			}
		}
	})
}

// TestMurmur3: git's murmur3_seeded_v2 is MurmurHash3's 32-bit hash; the
// known values of its reference implementation and git's t0095.
func TestMurmur3(t *testing.T) {
	for _, c := range []struct {
		in   string
		seed uint32
		want uint32
	}{
		{"", 0, 0},
		{"", 1, 0x514e28b7},
		{"Hello world!", 0, 0x627b0c2c},
		{"The quick brown fox jumps over the lazy dog", 0, 0x2e4ff723},
		{"Hello, world!", 0x9747b28c, 0x24884cba},
		{"The quick brown fox jumps over the lazy dog", 0x9747b28c, 0x2fa826cd},
	} {
		if got := murmur3([]byte(c.in), c.seed); got != c.want {
			t.Errorf("murmur3(%q, %#x) = %#x, want %#x", c.in, c.seed, got, c.want)
		}
	}
}

// bloomHistory builds, with git, a history of commits changing one or two
// of policies/, models/, environments/ (dev and production) and README,
// on main and on branches merged into it, two of them changing 600 more
// paths than git puts in a filter; a commit-graph with changed paths
// after a third of it, a split layer on top after two thirds, and nothing
// for the last commits.
func bloomHistory(t *testing.T) (*Repo, *rand.Rand) {
	t.Helper()
	r := newRepo(t)
	rnd := rand.New(rand.NewPCG(11, 1))
	files := []string{"policies/allowed_signers", "policies/gates/metrics.yaml", "models/m/1.yaml", "README", "environments/production/m.yaml", "environments/dev/m.yaml", "environments/production/n.yaml"}
	n := 0
	change := func(many bool) {
		n++
		if many {
			for i := range 600 {
				writeFile(t, filepath.Join(r.Root, "bulk", fmt.Sprintf("f%03d", i)), fmt.Sprint(n))
			}
		}
		for k := rnd.IntN(2) + 1; k > 0; k-- {
			writeFile(t, filepath.Join(r.Root, files[rnd.IntN(len(files))]), fmt.Sprint(n))
		}
		run(t, r.Root, "add", "-A")
		run(t, r.Root, "commit", "-q", "--allow-empty", "-m", fmt.Sprint("c", n))
	}
	change(false)
	for i := 1; i < 40; i++ {
		if rnd.IntN(4) == 0 {
			b := fmt.Sprint("b", i)
			run(t, r.Root, "checkout", "-q", "-b", b)
			change(false)
			change(false)
			run(t, r.Root, "checkout", "-q", "main")
			if rnd.IntN(2) == 0 {
				change(false)
			}
			run(t, r.Root, "merge", "-q", "--no-ff", "--no-edit", "-X", "theirs", b)
		} else {
			change(i == 9 || i == 29)
		}
		switch i {
		case 15:
			run(t, r.Root, "commit-graph", "write", "--reachable", "--changed-paths")
		case 30:
			run(t, r.Root, "commit-graph", "write", "--reachable", "--changed-paths", "--split=no-merge")
		}
	}
	return r, rnd
}

// TestScanFromBloomFilters: the release scan lists its commits from the
// commit-graph (and git log for those newer than it) and finds exactly
// the changes it finds with git log alone (core.commitGraph=false), from
// every commit of main's line, whole and down to a stop before, inside
// or after the commit-graph's part, and off the line.
func TestScanFromBloomFilters(t *testing.T) {
	r, _ := bloomHistory(t)
	line := strings.Fields(run(t, r.Root, "rev-list", "--first-parent", "main"))
	side := strings.Fields(run(t, r.Root, "rev-list", "main", "--not", "--first-parent", "main"))
	type scan struct{ tip, stop string }
	var scans []scan
	for i, tip := range line {
		if i%5 != 0 && i != 1 {
			continue // every fifth commit, and the newest two
		}
		scans = append(scans, scan{tip, ""})
		for _, j := range []int{i + 1, i + 5, i + 20, len(line) - 1} {
			if j < len(line) {
				scans = append(scans, scan{tip, line[j]})
			}
		}
		if len(side) > 0 {
			scans = append(scans, scan{tip, side[i%len(side)]})
		}
	}
	results := func() []string {
		var out []string
		for _, sc := range scans {
			stop := plumbing.ZeroHash
			if sc.stop != "" {
				stop = plumbing.NewHash(sc.stop)
			}
			got, res := scanChanges(t, r, plumbing.NewHash(sc.tip), stop)
			out = append(out, fmt.Sprintf("%s..%s reached %v: %s", sc.tip[:7], sc.stop, res.Reached, strings.Join(got, ", ")))
		}
		return out
	}
	if g := r.openCommitGraph(context.Background()); g == nil || len(g.layers) != 2 {
		t.Fatal("want a commit-graph of two layers")
	}
	withGraph := results()
	t.Setenv("GIT_CONFIG_COUNT", "1")
	t.Setenv("GIT_CONFIG_KEY_0", "core.commitGraph")
	t.Setenv("GIT_CONFIG_VALUE_0", "false")
	var err error
	if r, err = Open(r.Root); err != nil {
		t.Fatal(err)
	}
	if r.openCommitGraph(context.Background()) != nil {
		t.Fatal("core.commitGraph=false: the commit-graph is still read")
	}
	for i, want := range results() {
		if withGraph[i] != want {
			t.Fatalf("scan %d differs:\n with the commit-graph %s\n with git log alone   %s", i, withGraph[i], want)
		}
	}
}

// TestCommitGraphWrittenLater: a commit-graph written while a Repo is
// open (by git, or by another process) is read from then on.
func TestCommitGraphWrittenLater(t *testing.T) {
	r, _ := graphRepo(t)
	ctx := context.Background()
	if r.openCommitGraph(ctx) != nil {
		t.Fatal("a commit-graph before one was written")
	}
	run(t, r.Root, "commit-graph", "write", "--reachable", "--changed-paths")
	g := r.openCommitGraph(ctx)
	if g == nil {
		t.Fatal("the commit-graph written is not read")
	}
	if r.openCommitGraph(ctx) != g {
		t.Error("the same commit-graph was mapped again")
	}
}

// TestTouchingFromBloomFilters: the commits of the first-parent line that
// change policies/ (or a deeper directory), read from the commit-graph's
// Bloom filters and checked against the trees, are git rev-list's: with
// changes on main and on merged branches, a commit changing more paths
// than git puts in a filter, a split commit-graph and commits newer than
// it.
func TestTouchingFromBloomFilters(t *testing.T) {
	r, rnd := bloomHistory(t)
	ctx := context.Background()
	tips := strings.Fields(run(t, r.Root, "rev-list", "--all"))
	tips = slices.DeleteFunc(tips, func(string) bool { return rnd.IntN(3) > 0 })
	tips = append(tips, run(t, r.Root, "rev-parse", "main"))
	// The filters do the work: they rule out most commits for a path no
	// commit changes.
	g := r.openCommitGraph(ctx)
	_, hashes, _ := g.layers[0].bloomSettings()
	k, _ := newBloomKey("nothing", hashes)
	maybe, total := 0, 0
	for _, l := range g.layers {
		for i := range l.n {
			total++
			if g.mayChange(l.base+i, []bloomKey{k}) {
				maybe++
			}
		}
	}
	if total == 0 || maybe > total/10 {
		t.Fatalf("%d of %d commits may change a path none changes", maybe, total)
	}
	for _, dir := range []string{"policies", "policies/gates", "models", "bulk", "nothing"} {
		for _, tip := range tips {
			h := plumbing.NewHash(tip)
			line, err := r.FirstParentTimes(ctx, h)
			if err != nil {
				t.Fatal(err)
			}
			got, ok, err := r.touchingFromGraph(ctx, line, dir)
			if err != nil || !ok {
				t.Fatalf("%s from %s: the Bloom filters did not answer (%v)", dir, tip[:7], err)
			}
			want := map[plumbing.Hash]bool{}
			for _, l := range strings.Fields(run(t, r.Root, "rev-list", "--first-parent", tip, "--", dir)) {
				want[plumbing.NewHash(l)] = true
			}
			if !maps.Equal(got, want) {
				t.Fatalf("%s from %s: got %d commits, git rev-list %d", dir, tip[:7], len(got), len(want))
			}
		}
	}
}
