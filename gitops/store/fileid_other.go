//go:build !linux && !darwin

package store

import "io/fs"

// inodeCtime is unknown here: the stat cache relies on size and mtime.
func inodeCtime(fi fs.FileInfo) (ino uint64, ctime int64) { return 0, 0 }
