package repo

// The release scan reads each object it needs once, in a pipeline of git
// processes that run side by side: `git log --first-parent --format='%H %T
// %P'` (answered from the commit-graph, without inflating commits), then
// one `git cat-file --batch` per level of the tree: root trees, the
// environments/ trees that changed, the environment trees that changed,
// and last the commits, second parents and release blobs of the commits
// that change a release file. A commit whose environments/ tree is its
// parent's costs one small tree read; a tree or blob version is read once
// however many commits share it. `git log --raw -- environments/` read
// every tree twice (once per side of each diff) and cost twice the whole
// `git log` baseline on its own.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/modelgit/modelgit/manifests"
)

// fifo is an unbounded queue between two pipeline stages: a bounded one
// could deadlock, since `git cat-file --buffer` holds its answers until
// more questions come or its input ends.
type fifo[T any] struct {
	mu     sync.Mutex
	cond   *sync.Cond
	items  []T
	closed bool
}

func newFifo[T any]() *fifo[T] {
	q := &fifo[T]{}
	q.cond = sync.NewCond(&q.mu)
	return q
}

func (q *fifo[T]) push(v T) {
	q.mu.Lock()
	q.items = append(q.items, v)
	q.mu.Unlock()
	q.cond.Signal()
}

func (q *fifo[T]) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.cond.Broadcast()
}

// pop waits for the next item; false once the queue is closed and empty.
func (q *fifo[T]) pop() (T, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.items) == 0 && !q.closed {
		q.cond.Wait()
	}
	var zero T
	if len(q.items) == 0 {
		return zero, false
	}
	v := q.items[0]
	q.items[0] = zero
	q.items = q.items[1:]
	return v, true
}

// scanNode is one first-parent commit as the scan sees it.
type scanNode struct {
	hash, tree plumbing.Hash
	time       time.Time // committer time
	parents    []plumbing.Hash
	// stop marks the commit the scan stops at: only its trees are read,
	// as the parent side of the commit before it.
	stop    bool
	envTree plumbing.Hash
	askEnv  bool
	envs    map[string]plumbing.Hash // environment → its tree
}

// subDiff is one environment tree that a commit changes.
type subDiff struct {
	env            string
	newSub, oldSub plumbing.Hash
	askNew, askOld bool
}

type scanItem struct {
	node    *scanNode
	subs    []subDiff
	changes []RawChange
	want    []plumbing.Hash
}

// treeEntries calls fn with each entry of a raw tree object.
func treeEntries(raw []byte, fn func(mode, name string, h plumbing.Hash)) error {
	for len(raw) > 0 {
		sp := bytes.IndexByte(raw, ' ')
		nul := bytes.IndexByte(raw, 0)
		if sp < 0 || nul < sp || len(raw) < nul+21 {
			return errors.New("malformed tree object")
		}
		var h plumbing.Hash
		copy(h[:], raw[nul+1:nul+21])
		fn(string(raw[:sp]), string(raw[sp+1:nul]), h)
		raw = raw[nul+21:]
	}
	return nil
}

// treeEntry is one entry of a raw tree object.
type treeEntry struct {
	name []byte
	dir  bool
	hash []byte
}

// nextEntry splits the first entry off a raw tree object.
func nextEntry(raw []byte) (treeEntry, []byte, error) {
	sp := bytes.IndexByte(raw, ' ')
	nul := bytes.IndexByte(raw, 0)
	if sp < 1 || nul < sp || len(raw) < nul+21 {
		return treeEntry{}, nil, errors.New("malformed tree object")
	}
	return treeEntry{name: raw[sp+1 : nul], dir: raw[0] == '4', hash: raw[nul+1 : nul+21]}, raw[nul+21:], nil
}

// compareEntries orders tree entries as git does: a directory's name
// sorts as if it ended with "/".
func compareEntries(a, b treeEntry) int {
	n := min(len(a.name), len(b.name))
	if c := bytes.Compare(a.name[:n], b.name[:n]); c != 0 {
		return c
	}
	ca, cb := byte(0), byte(0)
	if len(a.name) > n {
		ca = a.name[n]
	} else if a.dir {
		ca = '/'
	}
	if len(b.name) > n {
		cb = b.name[n]
	} else if b.dir {
		cb = '/'
	}
	return int(ca) - int(cb)
}

// diffTrees calls fn with each file (not directory) entry whose blob
// differs between two raw tree objects; a zero hash is an absent side.
// It merges the two sorted lists without building either.
func diffTrees(newT, oldT []byte, fn func(name []byte, newH, oldH plumbing.Hash)) error {
	var n, o treeEntry
	var err error
	hash := func(b []byte) (h plumbing.Hash) { copy(h[:], b); return h }
	for len(newT) > 0 || len(oldT) > 0 {
		// Most entries are the same on both sides: skip them whole.
		if nul := bytes.IndexByte(newT, 0); nul >= 0 && len(newT) >= nul+21 && len(oldT) >= nul+21 && bytes.Equal(newT[:nul+21], oldT[:nul+21]) {
			newT, oldT = newT[nul+21:], oldT[nul+21:]
			continue
		}
		c := 0
		switch {
		case len(newT) == 0:
			c = 1
		case len(oldT) == 0:
			c = -1
		default:
			if n, _, err = nextEntry(newT); err != nil {
				return err
			}
			if o, _, err = nextEntry(oldT); err != nil {
				return err
			}
			c = compareEntries(n, o)
		}
		if c <= 0 {
			if n, newT, err = nextEntry(newT); err != nil {
				return err
			}
		}
		if c >= 0 {
			if o, oldT, err = nextEntry(oldT); err != nil {
				return err
			}
		}
		switch {
		case c < 0:
			if !n.dir {
				fn(n.name, hash(n.hash), plumbing.ZeroHash)
			}
		case c > 0:
			if !o.dir {
				fn(o.name, plumbing.ZeroHash, hash(o.hash))
			}
		case n.dir != o.dir:
			if !n.dir {
				fn(n.name, hash(n.hash), plumbing.ZeroHash)
			}
			if !o.dir {
				fn(o.name, plumbing.ZeroHash, hash(o.hash))
			}
		case !n.dir && !bytes.Equal(n.hash, o.hash):
			fn(n.name, hash(n.hash), hash(o.hash))
		}
	}
	return nil
}

// ScanReleases calls fn, newest first, with each first-parent commit of
// tip that changes a release file (environments/<env>/<model>.yaml) of
// one of envs (and of model, when not ""), with its changes and objects.
// The scan stops before stop when it is not zero (stop's trees are read
// as the parent side); reached says whether stop was found on the
// first-parent history (when not, the whole history was scanned). With
// lite, only the release blobs are read, not the commits. Returning
// ErrStopScan from fn ends the scan early without error.
func (r *Repo) ScanReleases(ctx context.Context, tip, stop plumbing.Hash, envs []string, model string, lite bool, fn func(*FPCommit) error) (reached bool, err error) {
	res, err := r.ScanReleasesTimed(ctx, tip, stop, envs, model, lite, fn)
	return res.Reached, err
}

// FPTime is a first-parent commit and its committer time.
type FPTime struct {
	Hash plumbing.Hash
	Time time.Time
}

// ScanResult is what a release scan found besides the commits it handed
// over.
type ScanResult struct {
	// Reached says whether the stop commit was found on the first-parent
	// history.
	Reached bool
	// Listed is every first-parent commit the scan listed, newest first,
	// with its committer time (the stop commit last, when reached): what
	// time on the first-parent line is computed from. It is complete only
	// when the scan was not ended early.
	Listed []FPTime
}

// ScanReleasesTimed is ScanReleases, also returning the first-parent
// commits listed with their committer times.
func (r *Repo) ScanReleasesTimed(ctx context.Context, tip, stop plumbing.Hash, envs []string, model string, lite bool, fn func(*FPCommit) error) (res ScanResult, err error) {
	res.Reached, res.Listed, err = r.scanReleases(ctx, tip, stop, envs, model, lite, fn)
	return res, err
}

// FirstParentTimes lists the first-parent history of tip, newest first,
// with each commit's committer time (`git rev-list --first-parent
// --timestamp`, answered from the commit-graph when there is one).
func (r *Repo) FirstParentTimes(ctx context.Context, tip plumbing.Hash) ([]FPTime, error) {
	out, err := gitCmd(ctx, r.Root, "rev-list", "--first-parent", "--timestamp", tip.String())
	if err != nil || out == "" {
		return nil, err
	}
	lines := strings.Split(out, "\n")
	list := make([]FPTime, 0, len(lines))
	for _, l := range lines {
		ts, h, ok := strings.Cut(l, " ")
		sec, err := strconv.ParseInt(ts, 10, 64)
		if !ok || err != nil || len(h) != 40 {
			return nil, fmt.Errorf("reading git rev-list --first-parent --timestamp %s: unexpected line %q", tip, l)
		}
		list = append(list, FPTime{Hash: plumbing.NewHash(h), Time: time.Unix(sec, 0).UTC()})
	}
	return list, nil
}

// Brought lists the commits a merge with parents first and second brings
// into the first-parent history: those reachable from second but not from
// first (`git rev-list first..second`, the second-parent side from the
// merge base), newest first.
func (r *Repo) Brought(ctx context.Context, first, second plumbing.Hash) ([]plumbing.Hash, error) {
	return revList(ctx, r.Root, "--topo-order", first.String()+".."+second.String())
}

func (r *Repo) scanReleases(ctx context.Context, tip, stop plumbing.Hash, envs []string, model string, lite bool, fn func(*FPCommit) error) (reached bool, listed []FPTime, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s := &releaseScan{ctx: ctx, cancel: cancel, stop: stop, envs: envs, model: model, lite: lite, wantEnv: map[string]bool{}}
	for _, e := range envs {
		s.wantEnv[e] = true
	}
	logArgs := []string{"log", "--first-parent", "--format=%H %T %ct %P", tip.String()}
	log := exec.CommandContext(ctx, "git", logArgs...)
	log.Dir = r.Root
	var logErr bytes.Buffer
	log.Stderr = &logErr
	logOut, err := log.StdoutPipe()
	if err != nil {
		return false, nil, fmt.Errorf("starting git log: %w", err)
	}
	if err := log.Start(); err != nil {
		return false, nil, fmt.Errorf("starting git log: %w (install git: apt-get install -y git)", err)
	}
	var cfs []*CatFile
	defer func() {
		cancel()
		_ = log.Wait()
		for _, cf := range cfs {
			_ = cf.cmd.Wait()
		}
	}()
	for range 4 {
		cf, err := startCatFile(ctx, r.Root)
		if err != nil {
			return false, nil, err
		}
		cfs = append(cfs, cf)
	}
	s.cfRoot, s.cfEnv, s.cfSub, s.cfObj = cfs[0], cfs[1], cfs[2], cfs[3]
	s.qRoot, s.qEnv, s.qSub, s.qObj = newFifo[*scanNode](), newFifo[*scanNode](), newFifo[*scanItem](), newFifo[*scanItem]()
	s.closeQueues = sync.OnceFunc(func() { s.qRoot.close(); s.qEnv.close(); s.qSub.close(); s.qObj.close() })
	var wg sync.WaitGroup
	wg.Go(func() { s.listCommits(logOut) })
	wg.Go(s.readRootTrees)
	wg.Go(s.readEnvironmentsTrees)
	wg.Go(s.diffEnvironmentTrees)
	fnErr := s.handOver(fn)
	wg.Wait()
	s.mu.Lock()
	err, cut := s.firstErr, s.stopped
	s.mu.Unlock()
	listed = s.listed
	switch {
	case fnErr != nil && errors.Is(fnErr, ErrStopScan):
		return cut, listed, nil
	case fnErr != nil:
		return cut, listed, fnErr
	case err != nil:
		return cut, listed, err
	case ctx.Err() != nil:
		return cut, listed, ctx.Err()
	case cut:
		return true, listed, nil // the deferred cancel ends git log
	}
	if err := log.Wait(); err != nil {
		return false, listed, fmt.Errorf("running git %s: %w: %s", strings.Join(logArgs, " "), err, strings.TrimSpace(logErr.String()))
	}
	return false, listed, nil
}

// releaseScan is one run of ScanReleases: five stages, each on its own
// goroutine but the last, connected by queues and each asking its own
// `git cat-file --batch` for the objects the next stage reads.
type releaseScan struct {
	ctx     context.Context
	cancel  context.CancelFunc
	stop    plumbing.Hash
	envs    []string
	wantEnv map[string]bool
	model   string
	lite    bool

	cfRoot, cfEnv, cfSub, cfObj *CatFile
	qRoot, qEnv                 *fifo[*scanNode]
	qSub, qObj                  *fifo[*scanItem]
	closeQueues                 func()

	// listed is every commit listCommits read, newest first; read once
	// the stages are done.
	listed []FPTime

	mu       sync.Mutex
	firstErr error
	stopped  bool // the log was cut short on purpose
}

// fail records the scan's first error and stops every stage.
func (s *releaseScan) fail(err error) {
	s.mu.Lock()
	if s.firstErr == nil && s.ctx.Err() == nil {
		s.firstErr = err
	}
	s.mu.Unlock()
	s.cancel()
	s.closeQueues()
}

// ask queues a question for cf.
func ask(cf *CatFile, h plumbing.Hash) {
	cf.in.WriteString(h.String())
	cf.in.WriteByte('\n')
}

// finish sends cf the questions still buffered and ends its input.
func finish(cf *CatFile) {
	_ = cf.in.Flush()
	cf.inC.Close()
}

// listCommits is stage 1: the first-parent list; ask for each root tree.
func (s *releaseScan) listCommits(logOut io.Reader) {
	defer s.qRoot.close()
	defer finish(s.cfRoot)
	sc := bufio.NewScanner(logOut)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 3 {
			continue
		}
		secs, _ := strconv.ParseInt(f[2], 10, 64)
		nd := &scanNode{hash: plumbing.NewHash(f[0]), tree: plumbing.NewHash(f[1]), time: time.Unix(secs, 0)}
		for _, p := range f[3:] {
			nd.parents = append(nd.parents, plumbing.NewHash(p))
		}
		nd.stop = !s.stop.IsZero() && nd.hash == s.stop
		s.listed = append(s.listed, FPTime{Hash: nd.hash, Time: nd.time.UTC()})
		ask(s.cfRoot, nd.tree)
		s.qRoot.push(nd)
		if nd.stop {
			s.mu.Lock()
			s.stopped = true
			s.mu.Unlock()
			return
		}
	}
	if err := sc.Err(); err != nil {
		s.fail(fmt.Errorf("reading git log: %w", err))
	}
}

// readRootTrees is stage 2: root trees → the environments/ tree; ask for
// it when it differs from the one before.
func (s *releaseScan) readRootTrees() {
	defer s.qEnv.close()
	defer finish(s.cfEnv)
	var last plumbing.Hash
	for {
		nd, ok := s.qRoot.pop()
		if !ok {
			return
		}
		raw, err := s.cfRoot.Read(nd.tree)
		if err != nil {
			s.fail(err)
			return
		}
		if err := treeEntries(raw, func(mode, name string, h plumbing.Hash) {
			if name == manifests.EnvironmentsDir && mode == "40000" {
				nd.envTree = h
			}
		}); err != nil {
			s.fail(fmt.Errorf("reading tree %s of commit %s: %w", nd.tree, nd.hash, err))
			return
		}
		if !nd.envTree.IsZero() && nd.envTree != last {
			nd.askEnv = true
			ask(s.cfEnv, nd.envTree)
		}
		last = nd.envTree
		s.qEnv.push(nd)
	}
}

// readEnvironmentsTrees is stage 3: environments/ trees → the environment
// trees each commit changes relative to its first parent (the next node).
func (s *releaseScan) readEnvironmentsTrees() {
	defer s.qSub.close()
	defer finish(s.cfSub)
	var pending *scanNode
	var lastEnvs map[string]plumbing.Hash
	lastSub := map[string]plumbing.Hash{}
	for {
		nd, ok := s.qEnv.pop()
		if !ok {
			break
		}
		switch {
		case nd.askEnv:
			raw, err := s.cfEnv.Read(nd.envTree)
			if err != nil {
				s.fail(err)
				return
			}
			nd.envs = map[string]plumbing.Hash{}
			if err := treeEntries(raw, func(mode, name string, h plumbing.Hash) {
				if mode == "40000" && s.wantEnv[name] {
					nd.envs[name] = h
				}
			}); err != nil {
				s.fail(fmt.Errorf("reading tree %s of commit %s: %w", nd.envTree, nd.hash, err))
				return
			}
		case nd.envTree.IsZero():
			nd.envs = nil
		default:
			nd.envs = lastEnvs
		}
		lastEnvs = nd.envs
		if pending != nil {
			s.emitSubDiffs(pending, nd.envs, lastSub)
		}
		if nd.stop {
			return
		}
		pending = nd
	}
	if pending != nil && s.ctx.Err() == nil {
		s.emitSubDiffs(pending, nil, lastSub) // the root commit (or a shallow clone's last)
	}
}

// emitSubDiffs queues the environment trees nd changes against its
// parent's, asking for each tree not asked for just before.
func (s *releaseScan) emitSubDiffs(nd *scanNode, parent, lastSub map[string]plumbing.Hash) {
	var subs []subDiff
	for _, e := range s.envs {
		n, o := nd.envs[e], parent[e]
		if n == o {
			continue
		}
		d := subDiff{env: e, newSub: n, oldSub: o}
		if !n.IsZero() && n != lastSub[e] {
			d.askNew = true
			ask(s.cfSub, n)
		}
		if !o.IsZero() {
			d.askOld = true
			ask(s.cfSub, o)
		}
		lastSub[e] = o
		subs = append(subs, d)
	}
	if len(subs) > 0 {
		s.qSub.push(&scanItem{node: nd, subs: subs})
	}
}

// diffEnvironmentTrees is stage 4: environment trees → changed release
// files; ask for the commit, a merge's second parent and the release
// blobs.
func (s *releaseScan) diffEnvironmentTrees() {
	defer s.qObj.close()
	defer finish(s.cfObj)
	cur := map[string][]byte{} // env → its raw tree, the new side of the next change
	asked := map[plumbing.Hash]bool{}
	for {
		it, ok := s.qSub.pop()
		if !ok {
			return
		}
		for _, d := range it.subs {
			if err := s.diffSub(it, d, cur); err != nil {
				s.fail(err)
				return
			}
		}
		if len(it.changes) == 0 {
			continue
		}
		slices.SortFunc(it.changes, func(a, b RawChange) int { return strings.Compare(a.Path, b.Path) })
		want := func(h plumbing.Hash) {
			if h.IsZero() || asked[h] {
				return
			}
			asked[h] = true
			it.want = append(it.want, h)
			ask(s.cfObj, h)
		}
		if !s.lite {
			want(it.node.hash)
		}
		if !s.lite && len(it.node.parents) > 1 {
			want(it.node.parents[1])
		}
		for _, c := range it.changes {
			want(c.New)
			want(c.Old)
		}
		s.qObj.push(it)
	}
}

// diffSub adds to it the release files that differ between the two sides
// of one environment tree; cur holds each environment's tree as the new
// side of the next (older) change.
func (s *releaseScan) diffSub(it *scanItem, d subDiff, cur map[string][]byte) error {
	newT := cur[d.env]
	if d.askNew {
		raw, err := s.cfSub.Read(d.newSub)
		if err != nil {
			return err
		}
		newT = raw
	}
	if d.newSub.IsZero() {
		newT = nil
	}
	var oldT []byte
	if d.askOld {
		raw, err := s.cfSub.Read(d.oldSub)
		if err != nil {
			return err
		}
		oldT = raw
	}
	cur[d.env] = oldT
	prefix := manifests.EnvironmentsDir + "/" + d.env + "/"
	err := diffTrees(newT, oldT, func(name []byte, nh, oh plumbing.Hash) {
		if !bytes.HasSuffix(name, []byte(".yaml")) || s.model != "" && string(name) != s.model+".yaml" {
			return
		}
		it.changes = append(it.changes, RawChange{Path: prefix + string(name), Old: oh, New: nh})
	})
	if err != nil {
		return fmt.Errorf("reading the trees of %s at commit %s: %w", prefix, it.node.hash, err)
	}
	return nil
}

// handOver is stage 5, on the caller's goroutine: read the objects and
// hand each commit to fn; fn's error, if any, is returned.
func (s *releaseScan) handOver(fn func(*FPCommit) error) error {
	for {
		it, ok := s.qObj.pop()
		if !ok {
			return nil
		}
		c := &FPCommit{Hash: it.node.hash, Time: it.node.time, Parents: it.node.parents, Changes: it.changes, Objects: make(map[plumbing.Hash][]byte, len(it.want))}
		for _, h := range it.want {
			b, err := s.cfObj.Read(h)
			if err != nil {
				s.fail(err)
				return nil
			}
			c.Objects[h] = b
		}
		if s.ctx.Err() != nil {
			return nil
		}
		if err := fn(c); err != nil {
			s.cancel()
			s.closeQueues()
			return err
		}
	}
}
