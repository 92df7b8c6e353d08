package store

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// OpenRegular opens the regular file p for reading and refuses anything
// else (a named pipe, a device, a socket) by its file type, naming it. It
// opens with O_NONBLOCK, so that a named pipe nobody writes to cannot
// block the open (open(2) of a FIFO waits for a writer, and a process
// waiting there does not even notice SIGINT), then checks with fstat what
// it opened: the check is of the file it reads, not of a name that may
// have been replaced meanwhile. O_NONBLOCK does not change how a regular
// file reads.
func OpenRegular(p string) (*os.File, fs.FileInfo, error) {
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, statError(p, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, unwrapPathError(err)
	}
	if fi.IsDir() {
		f.Close()
		return nil, nil, notRegular(fmt.Sprintf("%q is a directory, want a file", p))
	}
	if err := checkKind(p, fi); err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, fi, nil
}

// CheckInput checks, without reading any file's content, that p is a
// regular file or a directory whose every file (symlinks followed) is a
// regular file: what Hasher.Add can store. A caller storing several
// inputs checks them all first, so that a bad one costs nothing and
// leaves nothing in the store. The errors name the offending file but not
// p, which the caller names.
//
// Hasher.Check does the same and keeps the walk for the Hasher's next
// Hash or Add of p.
func CheckInput(p string) (fs.FileInfo, error) {
	fi, _, err := checkInput(p)
	return fi, err
}

func checkInput(p string) (fs.FileInfo, []file, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return nil, nil, statError(p, err)
	}
	if !fi.IsDir() {
		return fi, nil, checkKind(p, fi)
	}
	var files []file
	if err := walk(p, "", fi, nil, &files); err != nil {
		return nil, nil, err
	}
	return fi, files, nil
}

// ctxReader stops a copy soon after ctx is done: each Read first checks
// ctx, so a long hash or copy ends within one buffer of a cancel (Ctrl-C).
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
