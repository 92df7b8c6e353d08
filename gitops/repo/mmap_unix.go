//go:build unix

package repo

import (
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// mappedFile is a file mapped read-only into memory: a walk reads it
// in place, with no system call per read.
type mappedFile struct {
	data []byte
}

func mapFile(name string) (*mappedFile, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() || fi.Size() == 0 || int64(int(fi.Size())) != fi.Size() {
		return nil, fmt.Errorf("%s: not a regular, non-empty file", name)
	}
	data, err := unix.Mmap(int(f.Fd()), 0, int(fi.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mapping %s: %w", name, err)
	}
	return &mappedFile{data: data}, nil
}

func (m *mappedFile) Close() error { return unix.Munmap(m.data) }

// fileID is fi's device and inode: a file replaced by another has
// another.
func fileID(fi os.FileInfo) [2]uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return [2]uint64{uint64(st.Dev), uint64(st.Ino)}
	}
	return [2]uint64{}
}
