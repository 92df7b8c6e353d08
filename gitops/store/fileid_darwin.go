package store

import (
	"io/fs"
	"syscall"
)

// inodeCtime returns the inode number and change time (ns) of fi.
func inodeCtime(fi fs.FileInfo) (ino uint64, ctime int64) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Ino, st.Ctimespec.Nano()
	}
	return 0, 0
}
