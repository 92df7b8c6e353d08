package gitops

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"reflect"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/modelgit/modelgit/manifests"
)

// ReleaseChangesForTest lists, newest first, each first-parent commit of
// tip that changes a release file and its changes ("path old new"), as
// the pipeline scan finds them (fast) and as `git log --raw` does.
func ReleaseChangesForTest(ctx context.Context, dir, tip string, envs []string) (fast, slow []string, err error) {
	line := func(c *fpCommit, ch rawChange) string {
		return fmt.Sprintf("%s %s %s %s", c.Hash, ch.Path, ch.Old, ch.New)
	}
	_, err = scanReleases(ctx, dir, plumbing.NewHash(tip), plumbing.ZeroHash, envs, "", false, func(c *fpCommit) error {
		for _, ch := range c.Changes {
			fast = append(fast, line(c, ch))
		}
		if _, ok := c.objects[c.Hash]; !ok {
			return fmt.Errorf("commit %s was not read", c.Hash)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	var paths []string
	for _, e := range envs {
		paths = append(paths, manifests.EnvironmentsDir+"/"+e+"/")
	}
	err = scanFirstParent(ctx, dir, plumbing.NewHash(tip), plumbing.ZeroHash, paths, nil, func(c *fpCommit) error {
		for _, ch := range c.Changes {
			if _, _, ok := splitReleasePath(ch.Path); ok {
				slow = append(slow, line(c, ch))
			}
		}
		return nil
	})
	return fast, slow, err
}

// CachedEventFieldsForTest are the numbers of fields of AuditEvent and of
// the cache's copy of it, which lacks From and To, and of a released
// version and the cache's copy of it.
func CachedEventFieldsForTest() (event, cached, version, cachedV int) {
	return reflect.TypeFor[AuditEvent]().NumField(), reflect.TypeFor[cachedEvent]().NumField(),
		reflect.TypeFor[manifests.ReleasedVersion]().NumField(), reflect.TypeFor[cachedVersion]().NumField()
}

// scanFirstParent is the scan audit made before scanReleases, kept as the
// reference the pipeline is tested against. It lists, newest first, the first-parent commits of rev
// (optionally from "since..": exclusive lower bound) that change paths,
// with their changes, and fetches for each its objects (the commit, the
// second parent of a merge, and every changed blob under environments/ not
// fetched before). fn runs on the caller's goroutine in order; returning
// errStopScan ends the scan early without error.
func scanFirstParent(ctx context.Context, dir string, rev, since plumbing.Hash, paths []string, extra []string, fn func(*fpCommit) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	args := []string{"log", "--first-parent", "--root", "--no-renames", "--raw", "--no-abbrev", "--format=%x01%H %P"}
	args = append(args, extra...)
	args = append(args, rev.String())
	if !since.IsZero() {
		args = append(args, "^"+since.String())
	}
	args = append(args, "--")
	args = append(args, paths...)
	log := exec.CommandContext(ctx, "git", args...)
	log.Dir = dir
	var logErr bytes.Buffer
	log.Stderr = &logErr
	logOut, err := log.StdoutPipe()
	if err != nil {
		return fmt.Errorf("starting git log: %w", err)
	}
	if err := log.Start(); err != nil {
		return fmt.Errorf("starting git log: %w (install git: apt-get install -y git)", err)
	}
	cf, err := startCatFile(ctx, dir)
	if err != nil {
		cancel()
		_ = log.Wait()
		return err
	}
	defer func() {
		// Kill what still runs (an early stop or an error), then reap.
		cancel()
		_ = log.Wait()
		_ = cf.cmd.Wait()
	}()

	pending := make(chan *fpCommit, 4096)
	done := make(chan *fpCommit, 256)
	readErr := make(chan error, 2)
	// Reader: parse git log, ask cat-file for the objects.
	go func() {
		defer close(pending)
		defer cf.inC.Close()
		asked := map[plumbing.Hash]bool{}
		var cur *fpCommit
		flush := func() bool {
			if cur == nil {
				return true
			}
			ask := func(h plumbing.Hash) {
				if h.IsZero() || asked[h] {
					return
				}
				asked[h] = true
				cur.want = append(cur.want, h)
				cf.in.WriteString(h.String())
				cf.in.WriteByte('\n')
			}
			ask(cur.Hash)
			if len(cur.Parents) > 1 {
				ask(cur.Parents[1])
			}
			for _, c := range cur.Changes {
				if strings.HasPrefix(c.Path, manifests.EnvironmentsDir+"/") {
					ask(c.New)
					ask(c.Old)
				}
			}
			select {
			case pending <- cur:
			case <-ctx.Done():
				return false
			}
			cur = nil
			return true
		}
		sc := bufio.NewScanner(logOut)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "\x01"):
				if !flush() {
					return
				}
				f := strings.Fields(line[1:])
				if len(f) == 0 {
					continue
				}
				cur = &fpCommit{Hash: plumbing.NewHash(f[0])}
				for _, p := range f[1:] {
					cur.Parents = append(cur.Parents, plumbing.NewHash(p))
				}
			case strings.HasPrefix(line, ":") && cur != nil:
				meta, p, ok := strings.Cut(line, "\t")
				f := strings.Fields(meta)
				if !ok || len(f) < 5 {
					continue
				}
				cur.Changes = append(cur.Changes, rawChange{Path: p, Old: plumbing.NewHash(f[2]), New: plumbing.NewHash(f[3])})
			}
		}
		flush()
		if err := sc.Err(); err != nil {
			readErr <- fmt.Errorf("reading git log: %w", err)
			return
		}
		if err := cf.in.Flush(); err != nil {
			readErr <- fmt.Errorf("writing to git cat-file: %w", err)
		}
	}()
	// Fetcher: read the objects in the order they were asked for.
	go func() {
		defer close(done)
		for c := range pending {
			c.objects = make(map[plumbing.Hash][]byte, len(c.want))
			for _, h := range c.want {
				b, err := cf.read(h)
				if err != nil {
					readErr <- err
					return
				}
				c.objects[h] = b
			}
			select {
			case done <- c:
			case <-ctx.Done():
				return
			}
		}
	}()
	for c := range done {
		if err := fn(c); err != nil {
			cancel()
			for range done { //nolint:revive // drain so the fetcher ends
			}
			if errors.Is(err, errStopScan) {
				return nil
			}
			return err
		}
	}
	select {
	case err := <-readErr:
		return err
	default:
	}
	if err := log.Wait(); err != nil {
		return fmt.Errorf("running git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(logErr.String()))
	}
	return nil
}
