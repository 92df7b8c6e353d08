package gitops

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/modelgit/modelgit/gitops/repo"
	"github.com/modelgit/modelgit/gitops/signing"
	"github.com/modelgit/modelgit/manifests"
)

// TrustRoot is where a chain of trust starts: the repository's own first
// commit (the zero value), a pinned commit whose signers and history the
// verifier vouches for, or the fingerprint of the key the first commit
// must be signed with (for verifiers that do not trust the repository's
// own start).
type TrustRoot struct {
	Commit plumbing.Hash
	// Key is an SSH key fingerprint (SHA256:…) or an OpenPGP fingerprint
	// (hex), as verify and history print them.
	Key string
	// Spec is the root as given, for messages.
	Spec string
}

// ParseTrustRoot reads a trust root as given to --trust-root or in git
// config modelgit.trustRoot: "SHA256:…" (an SSH key fingerprint),
// "openpgp:HEX" (an OpenPGP key fingerprint), or a revision. "" is the
// repository's first commit.
func (r *Repository) ParseTrustRoot(spec string) (TrustRoot, error) {
	spec = strings.TrimSpace(spec)
	switch {
	case spec == "":
		return TrustRoot{}, nil
	case strings.HasPrefix(spec, "SHA256:"):
		return TrustRoot{Key: spec, Spec: spec}, nil
	case strings.HasPrefix(strings.ToLower(spec), "openpgp:"):
		fp := strings.ToUpper(spec[len("openpgp:"):])
		if fp == "" || strings.Trim(fp, "0123456789ABCDEF") != "" {
			return TrustRoot{}, fmt.Errorf("trust root %q: want openpgp:<hex fingerprint>", spec)
		}
		return TrustRoot{Key: fp, Spec: spec}, nil
	}
	h, err := r.repo.Resolve(spec)
	if err != nil {
		return TrustRoot{}, fmt.Errorf("trust root %q: want a commit, SHA256:<ssh key fingerprint> or openpgp:<fingerprint>: %w", spec, errors.Unwrap(err))
	}
	return TrustRoot{Commit: h, Spec: spec}, nil
}

// ConfiguredTrustRoot is the trust root git config modelgit.trustRoot
// names in this repository, or the first commit when it names none.
func (r *Repository) ConfiguredTrustRoot() (TrustRoot, error) {
	cfg, err := signing.ReadGitConfig(r.repo.Root)
	if err != nil {
		return TrustRoot{}, fmt.Errorf("reading git config: %w", err)
	}
	root, err := r.ParseTrustRoot(cfg.TrustRoot)
	if err != nil {
		return TrustRoot{}, fmt.Errorf("git config modelgit.trustRoot: %w", err)
	}
	return root, nil
}

// trustKey names a set of signers by the blobs of allowed_signers and
// allowed_signers.asc (zero: the file is absent); nobody is the empty set
// a chain gives a history its trust root does not vouch for.
type trustKey struct {
	signers, keys plumbing.Hash
	nobody        bool
}

// TrustChain answers, for any commit, which signers are in force there:
// trust evolves only through trusted commits. The signers in force after
// a commit are
//
//   - at a root commit: its own allowed_signers (the repository's start is
//     the trust root), or, with a pinned key, its own allowed_signers only
//     when it is signed by that key, else nobody; with a pinned commit, a
//     root commit the pin does not reach trusts nobody;
//   - at the pinned commit and its ancestors: the pinned commit's;
//   - at any other commit: its own allowed_signers when they are those of
//     its first parent, or when the commit is signed by a signer in force
//     at its first parent, or when it is a merge that takes them unchanged
//     from a parent where they were in force; otherwise those in force at
//     its first parent (the change is not valid, and the commit is
//     reported since it touches policies/).
//
// Files are parsed once per blob (tree entry hash), not per commit.
type TrustChain struct {
	r      *Repository
	root   TrustRoot
	pinned map[plumbing.Hash]bool
	state  map[plumbing.Hash]trustKey // signers in force after a commit
	own    map[plumbing.Hash]trustKey // a commit's own trust files
	files  map[plumbing.Hash]trustKey // policies/ tree → its trust files
	parsed map[trustKey]*Trust
	bad    map[trustKey]error
	// shallow are the commits whose parents a shallow clone lacks: the
	// chain cannot start there unless the trust root vouches for them.
	shallow map[plumbing.Hash]bool
	// lined: the first-parent line of the first commit asked was
	// computed; full: a whole history was (prepareFull); walked counts the
	// commits walks computed one by one.
	lined, full bool
	walked      int
	budget      int // walkBudget; tests lower it
	// commits and blobs were read ahead through git (prefetch).
	commits map[plumbing.Hash]*object.Commit
	blobs   map[plumbing.Hash][]byte
}

// NewTrustChain returns the chain of trust from root.
func (r *Repository) NewTrustChain(root TrustRoot) (*TrustChain, error) {
	ch := &TrustChain{
		r: r, root: root,
		budget: walkBudget,
		state:  map[plumbing.Hash]trustKey{},
		own:    map[plumbing.Hash]trustKey{},
		files:  map[plumbing.Hash]trustKey{},
		parsed: map[trustKey]*Trust{},
		bad:    map[trustKey]error{},
	}
	var err error
	if ch.shallow, err = r.repo.ShallowCommits(); err != nil {
		return nil, err
	}
	if !root.Commit.IsZero() {
		lines, err := r.repo.TopoParents(context.Background(), root.Commit)
		if err != nil {
			return nil, fmt.Errorf("reading the history of the trust root %s: %w", root.Spec, err)
		}
		ch.pinned = map[plumbing.Hash]bool{}
		for _, l := range lines {
			ch.pinned[l[0]] = true
		}
	}
	return ch, nil
}

// Root is where the chain starts.
func (ch *TrustChain) Root() TrustRoot { return ch.root }

// Pinned reports whether h is the pinned trust root or one of its
// ancestors: history the verifier vouches for by pinning it.
func (ch *TrustChain) Pinned(h plumbing.Hash) bool { return ch.pinned[h] }

// InForce returns the signers in force after commit h.
func (ch *TrustChain) InForce(h plumbing.Hash) (*Trust, error) {
	k, err := ch.stateOf(h)
	if err != nil {
		return nil, err
	}
	return ch.trust(k)
}

// AtParent returns the signers c is judged by: those in force at its
// first parent. For a root commit they are its own (the start of the
// chain); why is then set when the trust root does not vouch for it.
func (ch *TrustChain) AtParent(c *object.Commit) (t *Trust, why string, err error) {
	if c.NumParents() > 0 {
		t, err := ch.InForce(c.ParentHashes[0])
		return t, "", err
	}
	k, err := ch.stateOf(c.Hash)
	if err != nil {
		return nil, "", err
	}
	if k.nobody {
		return ch.nobodyTrust(), ch.unvouched(c), nil
	}
	t, err = ch.trust(k)
	return t, "", err
}

// Judge is the one answer to "is c signed by a signer in force before
// it?": c's signature against the signers in force at its first parent.
// A commit the trust root pins is trusted by the pin.
func (ch *TrustChain) Judge(c *object.Commit) (SignatureInfo, error) {
	if ch.Pinned(c.Hash) {
		// Its parents may be past the edge of a shallow clone: the pin's
		// signers say who signed it, the pin that it is trusted.
		t, err := ch.InForce(c.Hash)
		if err != nil {
			return SignatureInfo{}, err
		}
		s := SignatureOf(c, t)
		s.Trusted, s.Reason = true, ""
		return s, nil
	}
	t, why, err := ch.AtParent(c)
	if err != nil {
		return SignatureInfo{}, err
	}
	s := SignatureOf(c, t)
	if why != "" {
		s.Trusted, s.Reason = false, why
	}
	return s, nil
}

// CommitJudge judges a commit's signature.
type CommitJudge interface {
	Judge(c *object.Commit) (SignatureInfo, error)
}

// HistoryJudge judges the signatures of one history (tip's) the way
// audit, report, history, show and which answer them: each commit by the
// signers in force at its first parent on the chain of trust (TrustChain)
// from the trust root git config modelgit.trustRoot names, or the first
// commit, as verify and check read it. A key that added itself is not
// trusted, nor is anything it signs; a key removed later stays trusted for
// what it signed while it was allowed (these commands answer what was
// trusted when a commit was made; verify also judges by the signers at the
// tip), and valid-before/valid-after bound it as in git verify-commit.
//
// The chain is computed on first use (or Prepare), once, along tip's
// first-parent line: two git processes, and allowed_signers read and
// parsed only where it changes. Judge is then safe for concurrent use
// (calls are serialised); for a commit of that line it reads nothing from
// the repository, for a commit of a merged branch it reads that branch
// back to the line.
type HistoryJudge struct {
	r    *Repository
	tip  plumbing.Hash
	root TrustRoot
	// shallow is the sorted edge of a shallow clone ("" when whole).
	shallow string
	mu      sync.Mutex
	chain   *TrustChain
	err     error
	// unjudged says why no commit can be judged: a shallow clone lacks
	// the history the chain starts from.
	unjudged string
}

// NewHistoryJudge returns the judge of tip's history from the configured
// trust root; nothing is read from the history yet.
func (r *Repository) NewHistoryJudge(tip plumbing.Hash) (*HistoryJudge, error) {
	root, err := r.ConfiguredTrustRoot()
	if err != nil {
		return nil, err
	}
	edge, err := r.repo.ShallowCommits()
	if err != nil {
		return nil, err
	}
	var shallow []string
	for h := range edge {
		shallow = append(shallow, h.String())
	}
	slices.Sort(shallow)
	return &HistoryJudge{r: r, tip: tip, root: root, shallow: strings.Join(shallow, " ")}, nil
}

// RootKey names the trust root the verdicts depend on (with the history
// itself, which a commit's hash names): a cache of verdicts keeps them
// only under the same key.
func (j *HistoryJudge) RootKey() string {
	k := "trust root: the first commit"
	switch {
	case !j.root.Commit.IsZero():
		k = "trust root commit " + j.root.Commit.String()
	case j.root.Key != "":
		k = "trust root key " + j.root.Key
	}
	if j.shallow != "" {
		// What a shallow clone could not judge, a deeper one can.
		k += "; shallow at " + j.shallow
	}
	return k
}

// Prepare computes the chain of trust over tip's history now (Judge does
// on first use): call it before judging from several goroutines while
// another reads the repository, which go-git does not allow concurrently.
func (j *HistoryJudge) Prepare() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.prepare()
}

func (j *HistoryJudge) prepare() error {
	if j.chain != nil || j.err != nil {
		return j.err
	}
	ch, err := j.r.NewTrustChain(j.root)
	if err == nil {
		_, err = ch.InForce(j.tip)
	}
	if err == nil {
		// Parse every set of signers in force now, so that judging reads
		// nothing later (an error is kept, and Judge returns it then).
		ch.nobodyTrust()
		for _, k := range ch.state {
			_, _ = ch.trust(k)
		}
	}
	if err != nil && j.shallow != "" && ch != nil {
		// A shallow clone can still be audited: its signatures are shown
		// as not judged, with what to do, rather than failing the command.
		j.unjudged = "not judged: " + err.Error()
		j.chain = ch
		return nil
	}
	if err != nil {
		j.err = fmt.Errorf("reading the signers in force along the history of %s (the chain of trust): %w", Short(j.tip), err)
		return j.err
	}
	j.chain = ch
	return nil
}

// Judge judges c, a commit of tip's history, by the signers in force at
// its first parent.
func (j *HistoryJudge) Judge(c *object.Commit) (SignatureInfo, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.prepare(); err != nil {
		return SignatureInfo{}, err
	}
	if j.unjudged != "" {
		s := SignatureOf(c, j.chain.nobodyTrust())
		s.Trusted, s.Reason = false, j.unjudged
		return s, nil
	}
	return j.chain.Judge(c)
}

func (ch *TrustChain) unvouched(c *object.Commit) string {
	if ch.root.Key != "" {
		return fmt.Sprintf("commit %s starts the history but is not signed by the trust root key %s", Short(c.Hash), ch.root.Key)
	}
	return fmt.Sprintf("commit %s starts a history the trust root %s does not reach", Short(c.Hash), ch.root.Spec)
}

func (ch *TrustChain) nobodyTrust() *Trust {
	t, _ := ch.trust(trustKey{nobody: true})
	return t
}

// stateOf computes the signers in force after h. The first commit asked
// has its first-parent line computed at once (prepareLine); any other is
// computed parents first back to commits already known (walk), and when
// such walks grow long, the whole history is (prepareFull).
func (ch *TrustChain) stateOf(h plumbing.Hash) (trustKey, error) {
	if k, ok := ch.state[h]; ok {
		return k, nil
	}
	if !ch.lined {
		ch.lined = true
		if err := ch.prepareLine(h); err != nil {
			return trustKey{}, err
		}
		if k, ok := ch.state[h]; ok {
			return k, nil
		}
	}
	return ch.compute(h)
}

// compute is walk, but once the walks have computed walkBudget commits
// one by one, the signers after every commit of h's history are listed
// at once instead (prepareFull), which costs two git processes over the
// whole history: a history whose merged branches are long.
func (ch *TrustChain) compute(h plumbing.Hash) (trustKey, error) {
	k, err := ch.walk(h, !ch.full)
	if !errors.Is(err, errWalkBudget) {
		return k, err
	}
	ch.full = true
	if err := ch.prepareFull(h); err != nil {
		return trustKey{}, err
	}
	return ch.walk(h, false)
}

// walkBudget is how many commits walks compute one by one (two trees read
// each) before the whole history is listed.
const walkBudget = 2000

var errWalkBudget = errors.New("walk budget spent")

// walk computes the signers in force after h, parents first, without
// recursion (histories are long). With budget, it stops with
// errWalkBudget once the walks have computed walkBudget commits; what it
// computed stays known.
func (ch *TrustChain) walk(h plumbing.Hash, budget bool) (trustKey, error) {
	if k, ok := ch.state[h]; ok {
		return k, nil
	}
	commits := map[plumbing.Hash]*object.Commit{}
	stack := []plumbing.Hash{h}
	for len(stack) > 0 {
		top := stack[len(stack)-1]
		if _, ok := ch.state[top]; ok {
			stack = stack[:len(stack)-1]
			delete(commits, top)
			continue
		}
		if ch.pinned[top] {
			k, err := ch.filesAt(ch.root.Commit)
			if err != nil {
				return trustKey{}, err
			}
			ch.state[top] = k
			stack = stack[:len(stack)-1]
			continue
		}
		if budget && ch.walked >= ch.budget {
			return trustKey{}, errWalkBudget
		}
		c := commits[top]
		if c == nil {
			var err error
			if c, err = ch.commitObject(top); err != nil {
				return trustKey{}, fmt.Errorf("reading commit %s for the chain of trust (a shallow clone lacks it: fetch the whole history, or pin a trust root it has): %w", top, err)
			}
			commits[top] = c
		}
		waiting := false
		for _, p := range c.ParentHashes {
			if _, ok := ch.state[p]; !ok {
				stack = append(stack, p)
				waiting = true
			}
		}
		if waiting {
			continue
		}
		k, err := ch.step(c)
		if err != nil {
			return trustKey{}, err
		}
		ch.state[top] = k
		ch.walked++
		delete(commits, top)
		stack = stack[:len(stack)-1]
	}
	return ch.state[h], nil
}

// prepareLine computes the signers in force after every commit of tip's
// first-parent line from two git processes run at once: the line itself
// (shared with the clock of the same command: repo.FirstParentTimes) and
// its commits that change something under policies/ relative to their
// first parent (answered from the commit-graph's changed-path Bloom
// filters). Every other commit of the line has its first parent's trust
// files, so step would give it its first parent's signers: it gets them
// without being read. Only the commits listed (and the first) are decoded
// and judged in Go, their merged branches with them (compute). Commits
// off the line are computed when asked (stateOf).
func (ch *TrustChain) prepareLine(tip plumbing.Hash) error {
	ctx := context.Background()
	var line []repo.FPTime
	var lineErr error
	var wg sync.WaitGroup
	wg.Go(func() { line, lineErr = ch.r.repo.FirstParentTimes(ctx, tip) })
	touching, err := ch.r.repo.FirstParentTouching(ctx, tip, manifests.PoliciesDir)
	wg.Wait()
	if lineErr != nil {
		return fmt.Errorf("listing the history of %s for the chain of trust: %w", Short(tip), lineErr)
	}
	if err != nil {
		return fmt.Errorf("listing the changes to %s/: %w", manifests.PoliciesDir, err)
	}
	var judged []plumbing.Hash
	for i, ft := range line {
		if touching[ft.Hash] || i == len(line)-1 {
			judged = append(judged, ft.Hash)
		}
	}
	if err := ch.prefetch(ctx, judged); err != nil {
		return err
	}
	for i := len(line) - 1; i >= 0; i-- {
		h := line[i].Hash
		if _, ok := ch.state[h]; ok {
			continue
		}
		switch {
		case ch.pinned[h]:
			k, err := ch.filesAt(ch.root.Commit)
			if err != nil {
				return err
			}
			ch.state[h] = k
			continue
		case ch.shallow[h]:
			return shallowEdge(h)
		case i < len(line)-1 && !touching[h]:
			ch.state[h] = ch.state[line[i+1].Hash]
			continue
		}
		if _, err := ch.compute(h); err != nil {
			return err
		}
	}
	return nil
}

func shallowEdge(h plumbing.Hash) error {
	return fmt.Errorf("commit %s is the edge of a shallow clone: the chain of trust needs the history before it; fetch the whole history (git fetch --unshallow, or fetch-depth: 0 in actions/checkout), or pin a trust root it contains (--trust-root, git config modelgit.trustRoot)", Short(h))
}

// prepareFull computes the signers in force after every commit of tip's
// history from two git processes: the commits with their parents in
// topological order, and those that touch the trust files. Only the
// latter (and root commits) are decoded and judged in Go; every other
// commit keeps its first parent's signers. Decoding every commit and tree
// in Go instead took tens of seconds on 50,000 commits.
func (ch *TrustChain) prepareFull(tip plumbing.Hash) error {
	ctx := context.Background()
	lines, err := ch.r.repo.TopoParents(ctx, tip)
	if err != nil {
		return fmt.Errorf("listing the history of %s for the chain of trust: %w", Short(tip), err)
	}
	touching, err := ch.r.repo.Touching(ctx, tip, manifests.AllowedSignersFile, manifests.AllowedKeysFile)
	if err != nil {
		return fmt.Errorf("listing the changes to %s: %w", manifests.AllowedSignersFile, err)
	}
	for _, l := range lines {
		h, parents := l[0], l[1:]
		if _, ok := ch.state[h]; ok {
			continue
		}
		if ch.pinned[h] {
			k, err := ch.filesAt(ch.root.Commit)
			if err != nil {
				return err
			}
			ch.state[h] = k
			continue
		}
		if ch.shallow[h] {
			return shallowEdge(h)
		}
		known := true
		for _, p := range parents {
			if _, ok := ch.state[p]; !ok {
				known = false // a parent a shallow clone lacks: walk says so
			}
		}
		if !known {
			return nil
		}
		if len(parents) > 0 && !touching[h] {
			ch.state[h] = ch.state[parents[0]]
			continue
		}
		c, err := ch.commitObject(h)
		if err != nil {
			return fmt.Errorf("reading commit %s: %w", h, err)
		}
		k, err := ch.step(c)
		if err != nil {
			return err
		}
		ch.state[h] = k
	}
	return nil
}

// step is the signers in force after c, its parents' being known.
func (ch *TrustChain) step(c *object.Commit) (trustKey, error) {
	own, err := ch.filesOf(c)
	if err != nil {
		return trustKey{}, err
	}
	if c.NumParents() == 0 {
		if ch.pinned != nil {
			return trustKey{nobody: true}, nil
		}
		t, err := ch.trust(own)
		if err != nil {
			return trustKey{}, fmt.Errorf("reading the allowed signers of the first commit %s: %w", Short(c.Hash), err)
		}
		if ch.root.Key != "" {
			s := SignatureOf(c, t)
			if !s.Trusted || !strings.EqualFold(s.Key, ch.root.Key) {
				return trustKey{nobody: true}, nil
			}
		}
		return own, nil
	}
	first := ch.state[c.ParentHashes[0]]
	parentFiles, err := ch.filesAt(c.ParentHashes[0])
	if err != nil {
		return trustKey{}, err
	}
	if own == parentFiles {
		return first, nil
	}
	if own == first {
		return own, nil
	}
	if _, err := ch.trust(own); err != nil {
		return first, nil // a file that does not parse never comes into force
	}
	t, err := ch.trust(first)
	if err != nil {
		return trustKey{}, err
	}
	if SignatureOf(c, t).Trusted {
		return own, nil
	}
	for _, p := range c.ParentHashes[1:] {
		pf, err := ch.filesAt(p)
		if err != nil {
			return trustKey{}, err
		}
		if pf == own && ch.state[p] == own {
			return own, nil
		}
	}
	return first, nil
}

// prefetch reads through git, in three batches, what step reads for
// commits: the commits, their policies/ trees and their parents', and the
// trust files these name; commitObject, filesAt and trust then find them.
// Commits it cannot read are left to go-git, which says why.
func (ch *TrustChain) prefetch(ctx context.Context, commits []plumbing.Hash) error {
	if len(commits) == 0 {
		return nil
	}
	names := make([]string, len(commits))
	for i, h := range commits {
		names[i] = h.String()
	}
	objs, err := ch.r.repo.ReadNamed(ctx, names)
	if err != nil {
		return err
	}
	ch.commits = map[plumbing.Hash]*object.Commit{}
	var trees []string
	seen := map[plumbing.Hash]bool{}
	for _, h := range commits {
		o, ok := objs[h.String()]
		if !ok || o.Type != plumbing.CommitObject {
			continue
		}
		c, err := repo.DecodeCommit(h, o.Data)
		if err != nil {
			return err
		}
		ch.commits[h] = c
		for _, x := range append([]plumbing.Hash{h}, c.ParentHashes...) {
			if _, ok := ch.own[x]; !ok && !seen[x] {
				seen[x] = true
				trees = append(trees, x.String()+":"+manifests.PoliciesDir)
			}
		}
	}
	if objs, err = ch.r.repo.ReadNamed(ctx, trees); err != nil {
		return err
	}
	ch.blobs = map[plumbing.Hash][]byte{}
	var blobs []string
	for _, name := range trees {
		h := plumbing.NewHash(strings.TrimSuffix(name, ":"+manifests.PoliciesDir))
		o, ok := objs[name]
		switch {
		case !ok && ch.commits[h] == nil:
			continue // a parent without policies/, or missing: go-git says which
		case !ok || o.Type != plumbing.TreeObject:
			// No policies/ there, or not a directory: no trust files,
			// as readFiles finds.
			ch.own[h] = trustKey{}
			continue
		}
		k, ok := ch.files[o.Hash]
		if !ok {
			t, err := repo.DecodeTree(o.Hash, o.Data)
			if err != nil {
				return err
			}
			k = policiesKey(t)
			ch.files[o.Hash] = k
			for _, b := range []plumbing.Hash{k.signers, k.keys} {
				if !b.IsZero() {
					blobs = append(blobs, b.String())
				}
			}
		}
		ch.own[h] = k
	}
	if objs, err = ch.r.repo.ReadNamed(ctx, blobs); err != nil {
		return err
	}
	for _, o := range objs {
		if o.Type == plumbing.BlobObject {
			ch.blobs[o.Hash] = o.Data
		}
	}
	return nil
}

// commitObject reads commit h, read ahead or through go-git.
func (ch *TrustChain) commitObject(h plumbing.Hash) (*object.Commit, error) {
	if c, ok := ch.commits[h]; ok {
		return c, nil
	}
	return ch.r.repo.CommitObject(h)
}

// blob reads blob h, read ahead or through go-git.
func (ch *TrustChain) blob(h plumbing.Hash) ([]byte, error) {
	if b, ok := ch.blobs[h]; ok {
		return b, nil
	}
	return ch.r.repo.ReadBlob(h)
}

// filesAt is the trust files' blobs in commit h's tree.
func (ch *TrustChain) filesAt(h plumbing.Hash) (trustKey, error) {
	if k, ok := ch.own[h]; ok {
		return k, nil
	}
	c, err := ch.commitObject(h)
	if err != nil {
		return trustKey{}, fmt.Errorf("reading commit %s: %w", h, err)
	}
	return ch.filesOf(c)
}

// filesOf is the trust files' blobs in c's tree, read once per commit
// and parsed once per policies/ tree.
func (ch *TrustChain) filesOf(c *object.Commit) (trustKey, error) {
	if k, ok := ch.own[c.Hash]; ok {
		return k, nil
	}
	k, err := ch.readFiles(c)
	if err == nil {
		ch.own[c.Hash] = k
	}
	return k, err
}

func (ch *TrustChain) readFiles(c *object.Commit) (trustKey, error) {
	h := c.Hash
	tree, err := ch.r.repo.TreeObject(c.TreeHash) // c may be read ahead, without go-git's storer
	if err != nil {
		return trustKey{}, fmt.Errorf("reading the tree of %s: %w", Short(h), err)
	}
	e, err := tree.FindEntry(manifests.PoliciesDir)
	if err != nil || e.Mode != filemode.Dir {
		return trustKey{}, nil
	}
	if k, ok := ch.files[e.Hash]; ok {
		return k, nil
	}
	pt, err := ch.r.repo.TreeObject(e.Hash)
	if err != nil {
		return trustKey{}, fmt.Errorf("reading %s/ of %s: %w", manifests.PoliciesDir, Short(h), err)
	}
	k := policiesKey(pt)
	ch.files[e.Hash] = k
	return k, nil
}

// policiesKey names the trust files a policies/ tree holds.
func policiesKey(pt *object.Tree) trustKey {
	var k trustKey
	for _, te := range pt.Entries {
		if !te.Mode.IsFile() {
			continue
		}
		switch manifests.PoliciesDir + "/" + te.Name {
		case manifests.AllowedSignersFile:
			k.signers = te.Hash
		case manifests.AllowedKeysFile:
			k.keys = te.Hash
		}
	}
	return k
}

// trust parses the signers k names, once.
func (ch *TrustChain) trust(k trustKey) (*Trust, error) {
	if t, ok := ch.parsed[k]; ok {
		return t, nil
	}
	if err, ok := ch.bad[k]; ok {
		return nil, err
	}
	var signers, keys []byte
	var err error
	if !k.nobody && !k.signers.IsZero() {
		if signers, err = ch.blob(k.signers); err != nil {
			return nil, err
		}
	}
	if !k.nobody && !k.keys.IsZero() {
		if keys, err = ch.blob(k.keys); err != nil {
			return nil, err
		}
	}
	t, err := parseTrust(signers, keys)
	if err != nil {
		ch.bad[k] = err
		return nil, err
	}
	ch.parsed[k] = t
	return t, nil
}
