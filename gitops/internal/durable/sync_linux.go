//go:build linux

package durable

import (
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// syncFiles makes the data of the files durable. When they all live in one
// directory (so on one file system) that is one syncfs(2) of it: one
// journal commit instead of one per file. Since Linux 5.8 syncfs reports
// writeback errors of the file system, as fsync does for a file.
func syncFiles(names []string) error {
	dir := filepath.Dir(names[0])
	for _, n := range names[1:] {
		if filepath.Dir(n) != dir {
			return fsyncEach(names)
		}
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := unix.Syncfs(int(d.Fd())); err != nil {
		return &os.PathError{Op: "syncfs", Path: dir, Err: err}
	}
	return nil
}
