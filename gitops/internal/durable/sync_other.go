//go:build !linux

package durable

// syncFiles makes the data of the files durable, one fsync each.
func syncFiles(names []string) error { return fsyncEach(names) }
