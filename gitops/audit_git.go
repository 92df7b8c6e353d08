package gitops

// The audit scan shells out to git instead of walking history with go-git,
// for speed: on a 100,000-commit repository `git cat-file --batch` reads
// commits and trees several times faster than go-git's object decoding
// (2.1 s of CPU for go-git to read the 62,000 first-parent commits and
// their root trees, 0.7 s for cat-file), and the audit is measured against
// `git log --format='%H %(trailers)'` (docs/benchmarks.md). Everything
// else (tree diffs, signature verification, trailer parsing, release
// parsing) stays in Go. audit_scan.go holds the scan itself.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
)

// gitCmd runs git in dir and returns its trimmed standard output.
func gitCmd(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.Error
		if errors.As(err, &ee) {
			return "", fmt.Errorf("running git %s: %w (install git: apt-get install -y git)", args[0], err)
		}
		return "", fmt.Errorf("running git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}

// rawChange is one line of `git log --raw`: a path whose blob changed.
type rawChange struct {
	Path     string
	Old, New plumbing.Hash // zero: absent on that side
}

// fpCommit is one first-parent commit listed by the scan, with the changes
// it makes relative to its first parent and, once fetched, its objects.
type fpCommit struct {
	Hash    plumbing.Hash
	Parents []plumbing.Hash
	Changes []rawChange
	// objects holds the raw bytes of the commit, its second parent (when
	// a merge) and the release blobs first needed here.
	objects map[plumbing.Hash][]byte
	want    []plumbing.Hash // for the reference scan of the tests
}

// catFile is a running `git cat-file --batch`.
type catFile struct {
	cmd *exec.Cmd
	in  *bufio.Writer
	inC io.Closer
	out *bufio.Reader
}

func startCatFile(ctx context.Context, dir string) (*catFile, error) {
	cmd, in, out, err := startPiped(ctx, dir, "cat-file", "--batch", "--buffer")
	if err != nil {
		return nil, err
	}
	return &catFile{cmd: cmd, in: bufio.NewWriterSize(in, 64<<10), inC: in, out: bufio.NewReaderSize(out, 256<<10)}, nil
}

// startPiped starts `git ARGS…` in dir with its standard input and output
// as pipes, for the long-running cat-file processes the scans talk to.
func startPiped(ctx context.Context, dir string, args ...string) (*exec.Cmd, io.WriteCloser, io.ReadCloser, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	what := "starting git " + args[0]
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", what, err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", what, err)
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w (install git: apt-get install -y git)", what, err)
	}
	return cmd, in, out, nil
}

// read reads one object answered by cat-file.
func (c *catFile) read(want plumbing.Hash) ([]byte, error) {
	header, err := c.out.ReadString('\n')
	if err != nil {
		return nil, fmt.Errorf("reading object %s from git cat-file: %w", want, err)
	}
	f := strings.Fields(header)
	if len(f) == 2 && f[1] == "missing" {
		return nil, fmt.Errorf("reading object %s: missing from the repository (a shallow or partial clone? run `git fetch --unshallow`)", want)
	}
	if len(f) != 3 {
		return nil, fmt.Errorf("reading object %s from git cat-file: unexpected header %q", want, header)
	}
	n, err := strconv.Atoi(f[2])
	if err != nil {
		return nil, fmt.Errorf("reading object %s from git cat-file: unexpected header %q", want, header)
	}
	b := make([]byte, n+1)
	if _, err := io.ReadFull(c.out, b); err != nil {
		return nil, fmt.Errorf("reading object %s from git cat-file: %w", want, err)
	}
	return b[:n], nil
}

// errStopScan ends a scan early, without error, when its callback returns it.
var errStopScan = errors.New("stop scan")
