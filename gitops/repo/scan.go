package repo

// The release scan reads each object it needs once, in a pipeline of git
// processes that run side by side: the commits that may change the path,
// from the commit-graph's Bloom filters (graphScan; `git log
// --first-parent --format='%H %T %ct %P' -- <path>` for those newer than
// it, or all without one), then one `git cat-file --batch` per level of
// the tree: root trees, the
// environments/ trees that changed, the environment trees that changed,
// and last the commits, second parents and release blobs of the commits
// that change a release file. A commit whose environments/ tree is its
// parent's costs one small tree read; a tree version is read once however
// many commits share it, a blob version once while the scan holds it
// (heldBlobs, scan_held.go). `git log --raw -- environments/` read
// every tree twice (once per side of each diff) and cost twice the whole
// `git log` baseline on its own. How a scan that most often stops early
// bounds its reading ahead, and skips what its caller no longer asks
// about, is in scan_back.go.

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
	forget  []plumbing.Hash // blobs handed over before, let go after it (heldBlobs)
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
	res, err := r.scanReleases(ctx, tip, stop, envs, model, scanOpts{lite: lite}, nil, fn)
	return res.Reached, err
}

// scanOpts are how a scan runs: lite reads no commits (ScanReleases),
// list lists the first-parent line (ScanReleasesTimed), ahead bounds
// how far the stages read ahead of the caller (0: unbounded).
type scanOpts struct {
	lite, list bool
	ahead      int
	open       *OpenPaths
}

// ScanResult is what a release scan found besides the commits it handed
// over.
type ScanResult struct {
	// Reached says whether the stop commit was found on the first-parent
	// history.
	Reached bool
	// Listed is every first-parent commit of tip down to stop, newest
	// first, with its committer time (the stop commit last, when
	// reached): what time on the first-parent line is computed from.
	Listed []FPTime
	// CommitGraph says whether the scan wrote the commit-graph with
	// changed paths, or why it could not (it went on without).
	CommitGraph struct {
		Written bool
		Err     error
	}
	// admitted counts the commits a bounded scan listed.
	admitted int
}

// ScanReleasesTimed is ScanReleases, also returning the first-parent
// commits of tip down to stop with their committer times.
func (r *Repo) ScanReleasesTimed(ctx context.Context, tip, stop plumbing.Hash, envs []string, model string, lite bool, fn func(*FPCommit) error) (res ScanResult, err error) {
	return r.scanReleases(ctx, tip, stop, envs, model, scanOpts{lite: lite, list: true}, nil, fn)
}

// ScanReleasesListed is ScanReleasesTimed with listed called with the
// first-parent commits (res.Listed, res.Reached) before the first commit
// is handed to fn: a caller that dates each commit on the first-parent
// line (whose time depends on every older commit) can then do so as the
// commits come, rather than hold them all until the scan ends. An error
// from listed ends the scan with it.
func (r *Repo) ScanReleasesListed(ctx context.Context, tip, stop plumbing.Hash, envs []string, model string, lite bool, listed func(ScanResult) error, fn func(*FPCommit) error) (res ScanResult, err error) {
	return r.scanReleases(ctx, tip, stop, envs, model, scanOpts{lite: lite, list: true}, listed, fn)
}

// Brought lists the commits a merge with parents first and second brings
// into the first-parent history: those reachable from second but not from
// first (`git rev-list first..second`, the second-parent side from the
// merge base), newest first.
func (r *Repo) Brought(ctx context.Context, first, second plumbing.Hash) ([]plumbing.Hash, error) {
	return revList(ctx, r.Root, "--topo-order", first.String()+".."+second.String())
}

// scanPlan is what a scan settles before it walks: the first-parent
// commits down to stop (when asked), whether stop is on that line, the
// path-limited log to run and stop's tree.
type scanPlan struct {
	listed   []FPTime
	reached  bool
	logArgs  []string // nil: no log, the commit-graph lists every commit
	stopTree plumbing.Hash
	// graphNodes are listed after the log's commits, from the
	// commit-graph (graphScan).
	graphNodes []graphNode
	// graph is the commit-graph they come from: their positions are in
	// it (another may be mapped meanwhile, if git writes one).
	graph *commitGraph
}

// releasePathspec is the one path the scan's log is limited to: git uses
// the changed-path Bloom filters for a single literal pathspec only.
func releasePathspec(envs []string, model string) string {
	switch {
	case len(envs) == 1 && model != "":
		return manifests.ReleaseFile(envs[0], model)
	case len(envs) == 1:
		return manifests.EnvironmentsDir + "/" + envs[0]
	}
	return manifests.EnvironmentsDir
}

// planScan lists the first-parent history of tip down to stop when list
// is set or stop is not zero (reached: stop is on it), writes the
// commit-graph with changed paths when that history is long and has none
// (res.CommitGraph), and builds the path-limited log: `git log
// --first-parent -- environments/`, from tip down to stop when stop was
// reached. Every commit between two that the log lists leaves the release
// files as the older one has them, so each listed commit's changes are
// the diff of its release files against the next one listed (for the
// oldest, against stop, or against nothing at the root).
func (r *Repo) planScan(ctx context.Context, tip, stop plumbing.Hash, envs []string, model string, list bool, res *ScanResult) (*scanPlan, error) {
	p := &scanPlan{}
	if list || !stop.IsZero() {
		var err error
		if stop.IsZero() {
			p.listed, err = r.FirstParentTimes(ctx, tip)
		} else {
			p.listed, p.reached, err = r.firstParentDownTo(ctx, tip, stop)
		}
		if err != nil {
			return nil, err
		}
		res.CommitGraph.Written, res.CommitGraph.Err = r.EnsureChangedPaths(ctx, len(p.listed))
	}
	p.logArgs = []string{"log", "--first-parent", "--format=%H %T %ct %P", tip.String()}
	if p.reached && !stop.IsZero() {
		p.logArgs = append(p.logArgs, "^"+stop.String())
		t, err := gitCmd(ctx, r.Root, "rev-parse", stop.String()+"^{tree}")
		if err != nil {
			return nil, err
		}
		p.stopTree = plumbing.NewHash(t)
	}
	spec := releasePathspec(envs, model)
	if nodes, from, ok := r.graphScan(ctx, tip, stop, p, spec); ok {
		p.graphNodes = nodes
		if from == tip {
			p.logArgs = nil
		} else {
			p.logArgs = append(p.logArgs[:4:4], "^"+from.String())
		}
	}
	if p.logArgs != nil {
		p.logArgs = append(p.logArgs, "--", spec)
	}
	return p, nil
}

// graphScan lists the commits of the scan from the commit-graph's Bloom
// filters (commitGraph.scanNodes) instead of `git log`, which
// reads and compares the trees of every commit the filters cannot rule
// out, and which the scan's own stages read again: on 62,000 commits
// git log -- environments took 2.3 s of CPU of a cold audit's 5. The
// commits newer than the commit-graph are still git log's: from, the
// newest commit of the line the commit-graph holds, is where its list
// starts (tip when it holds tip). ok is false when it cannot list them
// (no commit-graph, no filters, stop newer than the commit-graph): the
// log lists every one.
func (r *Repo) graphScan(ctx context.Context, tip, stop plumbing.Hash, p *scanPlan, spec string) (nodes []graphNode, from plumbing.Hash, ok bool) {
	g := r.openCommitGraph(ctx)
	if g == nil {
		return nil, plumbing.ZeroHash, false
	}
	if !p.reached {
		stop = plumbing.ZeroHash
	}
	from = tip
	if !g.has(tip) {
		line := p.listed
		if line == nil {
			var err error
			if line, err = r.FirstParentTimes(ctx, tip); err != nil {
				return nil, plumbing.ZeroHash, false
			}
		}
		i := slices.IndexFunc(line, func(ft FPTime) bool { return g.has(ft.Hash) || ft.Hash == stop })
		if i < 0 || line[i].Hash == stop && !g.has(stop) {
			return nil, plumbing.ZeroHash, false
		}
		from = line[i].Hash
	}
	if nodes, ok = g.scanNodes(from, stop, spec); !ok {
		return nil, plumbing.ZeroHash, false
	}
	p.graph = g
	return nodes, from, true
}

// errStopped is run's word for a scan fn ended with ErrStopScan.
var errStopped = errors.New("scan stopped")

func (r *Repo) scanReleases(ctx context.Context, tip, stop plumbing.Hash, envs []string, model string, opts scanOpts, listed func(ScanResult) error, fn func(*FPCommit) error) (res ScanResult, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	plan, err := r.planScan(ctx, tip, stop, envs, model, opts.list, &res)
	if err != nil {
		return res, err
	}
	res.Reached, res.Listed = plan.reached, plan.listed
	if listed != nil {
		if err := listed(res); err != nil {
			return res, err
		}
	}
	s := &releaseScan{ctx: ctx, cancel: cancel, envs: envs, model: model, lite: opts.lite, ahead: opts.ahead, hold: r.scanHold, wantEnv: map[string]bool{}}
	if opts.open != nil && plan.graphNodes != nil {
		s.open, s.openKeys = opts.open, newPathKeys(plan.graph)
	}
	if plan.reached && !stop.IsZero() {
		s.stop = &scanNode{hash: stop, tree: plan.stopTree, stop: true}
	}
	for _, e := range envs {
		s.wantEnv[e] = true
	}
	var log *exec.Cmd
	var logErr bytes.Buffer
	var logOut io.Reader
	if plan.logArgs != nil {
		log = exec.CommandContext(ctx, "git", readingArgs(plan.logArgs...)...)
		log.Dir = r.Root
		log.Stderr = &logErr
		if logOut, err = log.StdoutPipe(); err != nil {
			return res, fmt.Errorf("starting git log: %w", err)
		}
		if err := log.Start(); err != nil {
			return res, fmt.Errorf("starting git log: %w (install git: apt-get install -y git)", err)
		}
	}
	var cfs []*CatFile
	defer func() {
		cancel()
		if log != nil {
			_ = log.Wait()
		}
		for _, cf := range cfs {
			_ = cf.cmd.Wait()
		}
	}()
	for range 4 {
		// A bounded scan waits for its caller: git must then answer each
		// question as it comes (no --buffer), and each stage sends its
		// questions before it waits (fifo.popFlushing).
		cf, err := startCatFile(ctx, r.Root, s.ahead == 0)
		if err != nil {
			return res, err
		}
		cfs = append(cfs, cf)
	}
	err = s.run(logOut, plan.graphNodes, cfs, fn)
	res.admitted = s.admitted
	if errors.Is(err, errStopped) {
		return res, nil // the deferred cancel ends git log
	} else if err != nil {
		return res, err
	}
	if log == nil {
		return res, nil
	}
	if err := log.Wait(); err != nil {
		return res, fmt.Errorf("running git %s: %w: %s", strings.Join(plan.logArgs, " "), err, strings.TrimSpace(logErr.String()))
	}
	return res, nil
}

// run runs the stages and hands each commit to fn; ErrStopScan from fn
// ends it early, without error.
func (s *releaseScan) run(logOut io.Reader, graph []graphNode, cfs []*CatFile, fn func(*FPCommit) error) error {
	s.cfRoot, s.cfEnv, s.cfSub, s.cfObj = cfs[0], cfs[1], cfs[2], cfs[3]
	s.qRoot, s.qEnv, s.qSub, s.qObj = newFifo[*scanNode](), newFifo[*scanNode](), newFifo[*scanItem](), newFifo[*scanItem]()
	s.flow = sync.NewCond(&s.flowMu)
	s.closeQueues = sync.OnceFunc(func() {
		s.qRoot.close()
		s.qEnv.close()
		s.qSub.close()
		s.qObj.close()
		s.flowMu.Lock()
		s.flowClosed = true
		s.flowMu.Unlock()
		s.flow.Broadcast()
	})
	var wg sync.WaitGroup
	wg.Go(func() { s.listCommits(logOut, graph) })
	wg.Go(s.readRootTrees)
	wg.Go(s.readEnvironmentsTrees)
	wg.Go(s.diffEnvironmentTrees)
	fnErr := s.handOver(fn)
	wg.Wait()
	s.mu.Lock()
	err := s.firstErr
	s.mu.Unlock()
	switch {
	case fnErr != nil && errors.Is(fnErr, ErrStopScan):
		s.cancel()
		return errStopped
	case fnErr != nil:
		return fnErr
	case err != nil:
		return err
	}
	return s.ctx.Err()
}

// releaseScan is one run of ScanReleases: five stages, each on its own
// goroutine but the last, connected by queues and each asking its own
// `git cat-file --batch` for the objects the next stage reads.
type releaseScan struct {
	ctx     context.Context
	cancel  context.CancelFunc
	stop    *scanNode // the stop commit, when the log ends above it
	envs    []string
	wantEnv map[string]bool
	model   string
	lite    bool
	hold    int // heldBlobs' generation; zero: heldGeneration

	cfRoot, cfEnv, cfSub, cfObj *CatFile
	qRoot, qEnv                 *fifo[*scanNode]
	qSub, qObj                  *fifo[*scanItem]
	closeQueues                 func()

	// ahead, when not 0, bounds the commits listed and not yet handed
	// over nor found to change nothing (inFlight): the first stage waits
	// for room (admit), each later stage says when a commit leaves
	// (leave).
	ahead      int
	flowMu     sync.Mutex
	flow       *sync.Cond
	inFlight   int
	admitted   int // every commit listed, for the tests
	flowClosed bool

	// open and openKeys (for the commit-graph the list came from), when
	// open is set, let the first stage skip the commits that leave every
	// open path alone (ScanReleasesBack).
	open     *OpenPaths
	openKeys pathKeys

	mu       sync.Mutex
	firstErr error
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

// listCommits is stage 1: the commits the path-limited log lists (when
// there is one), those the commit-graph lists after them, then the stop
// commit (the parent side of the oldest); ask for each root tree.
func (s *releaseScan) listCommits(logOut io.Reader, graph []graphNode) {
	defer s.qRoot.close()
	defer finish(s.cfRoot)
	if logOut != nil && !s.listLog(logOut) {
		return
	}
	// The commit-graph lists them much faster than git log did: the
	// stages after are given them only as fast as they take them.
	flush := func() { _ = s.cfRoot.in.Flush() }
	for i := range graph {
		if !s.mayTouchOpen(&graph[i]) {
			continue
		}
		if !s.admit(flush) {
			return
		}
		nd := graph[i].scanNode()
		ask(s.cfRoot, nd.tree)
		if !s.qRoot.pushBelow(nd, maxListed, flush) || s.ctx.Err() != nil {
			return
		}
	}
	if s.stop != nil && s.ctx.Err() == nil {
		ask(s.cfRoot, s.stop.tree)
		s.qRoot.push(s.stop)
	}
}

// maxListed bounds the commits listed from the commit-graph that wait for
// the next stage.
const maxListed = 1024

// listLog lists the log's commits; false when it failed.
func (s *releaseScan) listLog(logOut io.Reader) bool {
	sc := bufio.NewScanner(logOut)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 3 {
			continue
		}
		secs, _ := strconv.ParseInt(f[2], 10, 64)
		if !s.admit(func() { _ = s.cfRoot.in.Flush() }) {
			return false
		}
		nd := &scanNode{hash: plumbing.NewHash(f[0]), tree: plumbing.NewHash(f[1]), time: time.Unix(secs, 0)}
		for _, p := range f[3:] {
			nd.parents = append(nd.parents, plumbing.NewHash(p))
		}
		ask(s.cfRoot, nd.tree)
		s.qRoot.push(nd)
	}
	if err := sc.Err(); err != nil {
		s.fail(fmt.Errorf("reading git log: %w", err))
		return false
	}
	return true
}

// readRootTrees is stage 2: root trees → the environments/ tree; ask for
// it when it differs from the one before.
func (s *releaseScan) readRootTrees() {
	defer s.qEnv.close()
	defer finish(s.cfEnv)
	var last plumbing.Hash
	var buf []byte // each root tree is read into it, and kept only until the next
	for {
		nd, ok := s.qRoot.popFlushing(s.flusher(s.cfEnv))
		if !ok {
			return
		}
		raw, err := s.cfRoot.ReadInto(nd.tree, buf)
		buf = raw
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
	var buf []byte // each environments/ tree is read into it, and kept only until the next
	for {
		nd, ok := s.qEnv.popFlushing(s.flusher(s.cfSub))
		if !ok {
			break
		}
		switch {
		case nd.askEnv:
			raw, err := s.cfEnv.ReadInto(nd.envTree, buf)
			buf = raw
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
		if pending != nil && !s.emitSubDiffs(pending, nd.envs, lastSub) {
			s.leave()
		}
		if nd.stop {
			return
		}
		pending = nd
	}
	if pending != nil && s.ctx.Err() == nil && !s.emitSubDiffs(pending, nil, lastSub) { // the root commit (or a shallow clone's last)
		s.leave()
	}
}

// emitSubDiffs queues the environment trees nd changes against its
// parent's, asking for each tree not asked for just before; false when
// it changes none.
func (s *releaseScan) emitSubDiffs(nd *scanNode, parent, lastSub map[string]plumbing.Hash) bool {
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
	if len(subs) == 0 {
		return false
	}
	s.qSub.push(&scanItem{node: nd, subs: subs})
	return true
}

// diffEnvironmentTrees is stage 4: environment trees → changed release
// files; ask for the commit, a merge's second parent and the release
// blobs.
func (s *releaseScan) diffEnvironmentTrees() {
	defer s.qObj.close()
	defer finish(s.cfObj)
	cur := map[string][]byte{} // env → its raw tree, the new side of the next change
	var free treeBufs
	held := newHeldBlobs(s.hold)
	for {
		it, ok := s.qSub.popFlushing(s.flusher(s.cfObj))
		if !ok {
			return
		}
		for _, d := range it.subs {
			if err := s.diffSub(it, d, cur, &free); err != nil {
				s.fail(err)
				return
			}
		}
		it.changes = s.keepOpen(it.changes)
		if len(it.changes) == 0 {
			s.leave()
			continue
		}
		slices.SortFunc(it.changes, func(a, b RawChange) int { return strings.Compare(a.Path, b.Path) })
		want := func(h plumbing.Hash) {
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
			for _, h := range [2]plumbing.Hash{c.New, c.Old} {
				if !h.IsZero() && !held.use(h) {
					want(h)
				}
			}
			held.carry(c.Path, c.Old)
		}
		it.forget = held.done()
		s.qObj.push(it)
	}
}

// diffSub adds to it the release files that differ between the two sides
// of one environment tree; cur holds each environment's tree as the new
// side of the next (older) change. Trees are read into buffers from free
// and given back to it once neither side needs them.
func (s *releaseScan) diffSub(it *scanItem, d subDiff, cur map[string][]byte, free *treeBufs) error {
	newT := cur[d.env]
	if d.askNew || d.newSub.IsZero() {
		free.put(newT)
		newT = nil
	}
	if d.askNew {
		raw, err := s.cfSub.ReadInto(d.newSub, free.get())
		if err != nil {
			return err
		}
		newT = raw
	}
	var oldT []byte
	if d.askOld {
		raw, err := s.cfSub.ReadInto(d.oldSub, free.get())
		if err != nil {
			return err
		}
		oldT = raw
	}
	cur[d.env] = oldT
	defer free.put(newT)
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

// treeBufs are buffers for environment trees that no side holds any
// more: the scan reads one or two trees per change, each as large as the
// environment has release files, and would otherwise allocate them all.
type treeBufs struct{ free [][]byte }

func (f *treeBufs) get() []byte {
	if len(f.free) == 0 {
		return nil
	}
	b := f.free[len(f.free)-1]
	f.free = f.free[:len(f.free)-1]
	return b
}

func (f *treeBufs) put(b []byte) {
	if cap(b) > 0 {
		f.free = append(f.free, b[:0])
	}
}

// handOver is stage 5, on the caller's goroutine: read the objects and
// hand each commit to fn; fn's error, if any, is returned.
func (s *releaseScan) handOver(fn func(*FPCommit) error) error {
	for {
		it, ok := s.qObj.pop()
		if !ok {
			return nil
		}
		c := &FPCommit{Hash: it.node.hash, Time: it.node.time, Parents: it.node.parents, Changes: it.changes, Objects: make(map[plumbing.Hash][]byte, len(it.want)), Forget: it.forget}
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
		s.leave()
	}
}
