package gitops

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/modelgit/modelgit/gitops/signing"
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
	state  trustStates                // signers in force after a commit
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
		state:  newTrustStates(),
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
		for _, k := range ch.state.keysKnown() {
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
