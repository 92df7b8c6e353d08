package repo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/modelgit/modelgit/gitops/internal/durable"
)

// createLock creates the lock file lock (git's NAME.lock protocol:
// O_EXCL), waiting up to lockTimeout while another process holds it, as
// when several registers run at once. onWait, when not nil, is told once
// when the wait has lasted lockNotice. what names the operation in errors.
func createLock(ctx context.Context, lock, what string, onWait func(string)) (*lockFile, error) {
	start := time.Now()
	delay := 2 * time.Millisecond
	told := false
	for {
		f, err := os.OpenFile(lock, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil {
			return &lockFile{f: f, path: lock}, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		waited := time.Since(start)
		if waited >= lockTimeout {
			return nil, fmt.Errorf("%s: %q exists: another git or modelgit process has held it for %s; if none is running (a killed one leaves it behind), remove the file and run the command again", what, lock, lockTimeout)
		}
		if !told && waited >= lockNotice && onWait != nil {
			onWait(fmt.Sprintf("waiting for %s: another git or modelgit process is using the repository", lock))
			told = true
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%s: waiting for %q: %w", what, lock, ctx.Err())
		case <-time.After(delay):
		}
		delay = min(2*delay, 50*time.Millisecond)
	}
}

// lockFile is a held NAME.lock: written and synced with write, renamed
// over NAME with commit, removed by release unless committed (deferred by
// every holder).
type lockFile struct {
	f         *os.File
	path      string
	committed bool
}

// write writes data into the lock file, syncs it and closes it.
func (l *lockFile) write(data []byte) error {
	if _, err := l.f.Write(data); err != nil {
		return fmt.Errorf("writing %q: %w", l.path, err)
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("syncing %q: %w", l.path, err)
	}
	if err := l.f.Close(); err != nil {
		return fmt.Errorf("closing %q: %w", l.path, err)
	}
	return nil
}

// commit renames the lock file over name: the update lands.
func (l *lockFile) commit(name string) error {
	if err := os.Rename(l.path, name); err != nil {
		return err
	}
	l.committed = true
	return nil
}

// release gives the lock up, removing the lock file, unless committed.
func (l *lockFile) release() {
	if !l.committed {
		l.f.Close()
		os.Remove(l.path)
	}
}

// branchRef returns the full ref name for branch, or HEAD's branch.
func (r *Repo) branchRef(branch string) (string, error) {
	if branch == "" {
		t, err := r.headTarget()
		if err != nil {
			return "", err
		}
		if t == "" {
			return "", errors.New("committing: HEAD is detached; name a branch")
		}
		return t, nil
	}
	name := plumbing.NewBranchReferenceName(strings.TrimPrefix(branch, "refs/heads/"))
	if err := validRefName(name.String()); err != nil {
		return "", err
	}
	return name.String(), nil
}

func validRefName(name string) error {
	bad := name == "" || strings.Contains(name, "..") || strings.ContainsAny(name, " ~^:?*[\\\x7f") ||
		strings.HasSuffix(name, "/") || strings.HasSuffix(name, ".lock") || strings.HasSuffix(name, ".") ||
		strings.Contains(name, "//") || strings.Contains(name, "@{") || strings.Contains(name, "/.")
	for _, c := range name {
		if c < 0x20 {
			bad = true
		}
	}
	if bad {
		return fmt.Errorf("using branch %q: invalid ref name (see `git check-ref-format`)", name)
	}
	return nil
}

// updateRef moves ref name from old (zero: must not exist) to new using
// git's lock-file protocol: create NAME.lock with O_EXCL, write and fsync
// it, check the current value under the lock (compare-and-swap), rename it
// over NAME. go-git's own SetReference/CheckAndSetReference truncate and
// rewrite the ref file in place, which a crash can leave empty or torn and
// which does not exclude a concurrent `git` process, so it is not used.
func (r *Repo) updateRef(ctx context.Context, name string, old, new plumbing.Hash, who object.Signature, msg string, onWait func(string)) error {
	refPath := filepath.Join(r.commonDir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(refPath), 0o755); err != nil {
		return fmt.Errorf("updating %s: %w", name, err)
	}
	// go-git's fetch and push read every file under refs/, this lock file
	// too while it is still empty: keep them out meanwhile. Other modelgit
	// processes take turns here; a git process holding the ref's lock is
	// waited for below.
	unlock, err := r.lockRemote()
	if err != nil {
		return fmt.Errorf("updating %s: %w", name, err)
	}
	defer unlock()
	lock, err := createLock(ctx, refPath+".lock", "updating "+name, onWait)
	if err != nil {
		return err
	}
	defer lock.release()
	if err := lock.write([]byte(new.String() + "\n")); err != nil {
		return fmt.Errorf("updating %s: %w", name, err)
	}
	cur, exists, err := r.readRef(name)
	if err != nil {
		return err
	}
	if (old.IsZero() && exists) || (!old.IsZero() && cur != old) {
		return &RefMovedError{Ref: name, Expected: old, Actual: cur}
	}
	checkpoint("ref-locked")
	if err := lock.commit(refPath); err != nil {
		return fmt.Errorf("updating %s: %w", name, err)
	}
	checkpoint("ref-updated")
	_ = durable.SyncDir(filepath.Dir(refPath)) // the rename is what matters
	// The reflog is a convenience: the ref has moved whatever happens here.
	line := fmt.Sprintf("%s %s %s <%s> %d %s\t%s\n", old, new, who.Name, who.Email, who.When.Unix(), who.When.Format("-0700"), msg)
	r.appendReflog(filepath.Join(r.commonDir, "logs", filepath.FromSlash(name)), line)
	if t, err := r.headTarget(); err == nil && t == name {
		r.appendReflog(filepath.Join(r.gitDir, "logs", "HEAD"), line)
	}
	return nil
}

func (r *Repo) appendReflog(p, line string) {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return
	}
	_, _ = f.WriteString(line)
	_ = f.Close()
}
