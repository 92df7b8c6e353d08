//go:build unix

package repo

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockRemote serialises go-git's fetches and pushes with each other and
// with updateRef in one repository, across goroutines and processes:
// go-git rewrites remote-tracking refs in place (truncate, then write) and
// reads every file under refs/ while negotiating, NAME.lock files
// included, so a fetch running beside another fetch, or beside a ref
// update whose lock file is not written yet, fails on a ref file that is
// empty for a moment ("ref file is empty"). The lock is flock(2) on
// <common git dir>/modelgit-refs.flock (not NAME.lock: the file stays and
// holds no state); the kernel drops the lock when the process dies, so a
// crash never leaves it held.
func (r *Repo) lockRemote() (unlock func(), err error) {
	p := filepath.Join(r.commonDir, "modelgit-refs.flock")
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening lock %q: %w", p, err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %q: %w", p, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
