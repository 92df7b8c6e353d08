package repo

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
)

// ErrNotRepository is returned by Open when no git repository encloses the
// path.
var ErrNotRepository = errors.New("not a git repository")

// ErrRefMoved is returned by Commit when the branch no longer points where
// the caller expected (compare-and-swap failure). The concrete error is a
// *RefMovedError.
var ErrRefMoved = errors.New("branch moved")

// RefMovedError tells which ref moved and where to.
type RefMovedError struct {
	Ref      string        // full ref name, e.g. refs/heads/main
	Expected plumbing.Hash // zero: the ref was expected not to exist
	Actual   plumbing.Hash // zero: the ref does not exist
}

func (e *RefMovedError) Error() string {
	exp, act := e.Expected.String(), e.Actual.String()
	if e.Expected.IsZero() {
		exp = "(absent)"
	}
	if e.Actual.IsZero() {
		act = "(absent)"
	}
	return fmt.Sprintf("updating %s: branch moved: expected %s, found %s (fetch or re-read and retry)", e.Ref, exp, act)
}

// Is makes errors.Is(err, ErrRefMoved) true.
func (e *RefMovedError) Is(target error) bool { return target == ErrRefMoved }

// Repo is a git repository with a worktree.
type Repo struct {
	// git is the go-git repository; nothing outside this package reaches
	// it, so that every git access is one of the named operations here.
	git *git.Repository
	// Root is the worktree root.
	Root string

	gitDir    string // per-worktree git directory (HEAD, index)
	commonDir string // shared git directory (objects, refs, packed-refs)

	// fp holds first-parent histories already listed, by tip
	// (FirstParentTimes): the clock and the chain of trust of one command
	// ask for the same one.
	fpMu sync.Mutex
	fp   map[plumbing.Hash]*fpListing

	// commonGit caches CommonDir.
	commonMu  sync.Mutex
	commonGit string

	// graph is the commit-graph mapped, once graphRead
	// (openCommitGraph).
	graphMu        sync.Mutex
	graph          *commitGraph
	graphRead      bool
	graphStampRead string

	// graphOff caches core.commitGraph=false (commitGraphOff).
	graphOffOnce sync.Once
	graphOff     bool

	// readers are the cat-file processes rounds of reads share
	// (readers.go), made once.
	readersOnce sync.Once
	readers     *readerPool

	// scanHold is the generation of the release blobs a scan holds
	// (heldBlobs); zero: heldGeneration. Tests lower it (SetScanHold).
	scanHold int
}

// SetScanHold sets how many recently used release blobs a release scan
// holds at least, besides each release file's last old side, before it
// lets one go (FPCommit.Forget); n <= 0 restores the default. Tests set 1
// to make every scan let go of, and read again, all it can.
func (r *Repo) SetScanHold(n int) { r.scanHold = n }

// Open opens the repository enclosing path, looking for .git upwards.
func Open(path string) (*Repo, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("opening repository %q: %w", path, err)
	}
	for dir := abs; ; {
		dot := filepath.Join(dir, ".git")
		if fi, err := os.Stat(dot); err == nil {
			gd := dot
			if !fi.IsDir() {
				gd, err = readGitFile(dot)
				if err != nil {
					return nil, err
				}
			}
			return openAt(dir, gd)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return nil, fmt.Errorf("opening repository: %s is not a git repository (run `git init` or `modelgit init`): %w", abs, ErrNotRepository)
		}
		dir = parent
	}
}

// readGitFile resolves a ".git" file ("gitdir: PATH") as used by linked
// worktrees and submodules.
func readGitFile(dot string) (string, error) {
	b, err := os.ReadFile(dot)
	if err != nil {
		return "", fmt.Errorf("reading %q: %w", dot, err)
	}
	rest, ok := strings.CutPrefix(strings.TrimSpace(string(b)), "gitdir:")
	if !ok {
		return "", fmt.Errorf("reading %q: no \"gitdir:\" line: %w", dot, ErrNotRepository)
	}
	gd := strings.TrimSpace(rest)
	if !filepath.IsAbs(gd) {
		gd = filepath.Join(filepath.Dir(dot), gd)
	}
	return filepath.Clean(gd), nil
}

func openAt(root, gitDir string) (*Repo, error) {
	common := gitDir
	if b, err := os.ReadFile(filepath.Join(gitDir, "commondir")); err == nil {
		common = strings.TrimSpace(string(b))
		if !filepath.IsAbs(common) {
			common = filepath.Join(gitDir, common)
		}
		common = filepath.Clean(common)
	}
	g, err := git.PlainOpenWithOptions(root, &git.PlainOpenOptions{EnableDotGitCommonDir: true})
	if err != nil {
		return nil, fmt.Errorf("opening repository %q: %w", root, err)
	}
	return &Repo{git: g, Root: root, gitDir: gitDir, commonDir: common}, nil
}

// Init creates a repository at path with default branch main, like
// `git init -b main`. An existing repository at path is opened instead.
func Init(path string) (*Repo, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("initialising repository %q: %w", path, err)
	}
	if _, err := os.Stat(filepath.Join(abs, ".git")); err == nil {
		return Open(abs)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("initialising repository %q: %w", abs, err)
	}
	_, err = git.PlainInitWithOptions(abs, &git.PlainInitOptions{
		InitOptions: git.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName("main")},
	})
	if err != nil {
		return nil, fmt.Errorf("initialising repository %q: %w", abs, err)
	}
	return Open(abs)
}

// Head returns the commit HEAD points to and the current branch name
// ("" when HEAD is detached). An unborn branch gives the zero hash.
func (r *Repo) Head() (plumbing.Hash, string, error) {
	ref, err := r.headTarget()
	if err != nil {
		return plumbing.ZeroHash, "", err
	}
	if ref == "" {
		h, err := r.detachedHead()
		return h, "", err
	}
	h, _, err := r.readRef(ref)
	if err != nil {
		return plumbing.ZeroHash, "", err
	}
	return h, strings.TrimPrefix(ref, "refs/heads/"), nil
}

// headTarget returns the ref HEAD points to, or "" for a detached HEAD.
func (r *Repo) headTarget() (string, error) {
	b, err := os.ReadFile(filepath.Join(r.gitDir, "HEAD"))
	if err != nil {
		return "", fmt.Errorf("reading HEAD: %w", err)
	}
	s := strings.TrimSpace(string(b))
	if t, ok := strings.CutPrefix(s, "ref:"); ok {
		return strings.TrimSpace(t), nil
	}
	return "", nil
}

func (r *Repo) detachedHead() (plumbing.Hash, error) {
	b, err := os.ReadFile(filepath.Join(r.gitDir, "HEAD"))
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("reading HEAD: %w", err)
	}
	s := strings.TrimSpace(string(b))
	if !plumbing.IsHash(s) {
		return plumbing.ZeroHash, fmt.Errorf("reading HEAD: invalid content %q", s)
	}
	return plumbing.NewHash(s), nil
}

// readRef reads a ref from its loose file or packed-refs, without caching.
func (r *Repo) readRef(name string) (plumbing.Hash, bool, error) {
	p := filepath.Join(r.commonDir, filepath.FromSlash(name))
	b, err := os.ReadFile(p)
	if err == nil {
		s := strings.TrimSpace(string(b))
		if !plumbing.IsHash(s) {
			return plumbing.ZeroHash, false, fmt.Errorf("reading ref %q: unexpected content %q", name, s)
		}
		return plumbing.NewHash(s), true, nil
	}
	if !errors.Is(err, os.ErrNotExist) && !isNotDir(err) {
		return plumbing.ZeroHash, false, fmt.Errorf("reading ref %q: %w", name, err)
	}
	packed, err := os.ReadFile(filepath.Join(r.commonDir, "packed-refs"))
	if errors.Is(err, os.ErrNotExist) {
		return plumbing.ZeroHash, false, nil
	}
	if err != nil {
		return plumbing.ZeroHash, false, fmt.Errorf("reading packed-refs: %w", err)
	}
	for _, line := range strings.Split(string(packed), "\n") {
		if line == "" || line[0] == '#' || line[0] == '^' {
			continue
		}
		h, n, ok := strings.Cut(line, " ")
		if ok && n == name && plumbing.IsHash(h) {
			return plumbing.NewHash(h), true, nil
		}
	}
	return plumbing.ZeroHash, false, nil
}

func isNotDir(err error) bool {
	var pe *os.PathError
	return errors.As(err, &pe) && strings.Contains(pe.Err.Error(), "not a directory")
}
