package durable

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Temp is a file being written that gets a final name only on Commit.
// Until then it has a name starting with its prefix, in its directory.
type Temp struct {
	*os.File
	fsys dirFS  // where path is: the host, or an os.Root
	path string // the temp file's name in fsys
	done bool
}

// dirFS is what a durable write does to a file system: the host's
// (hostFS), or one confined to an os.Root, whose methods these are.
type dirFS interface {
	OpenFile(name string, flag int, perm fs.FileMode) (*os.File, error)
	Open(name string) (*os.File, error)
	MkdirAll(name string, perm fs.FileMode) error
	Rename(oldname, newname string) error
	Remove(name string) error
}

// hostFS is dirFS over the host's paths.
type hostFS struct{}

func (hostFS) OpenFile(name string, flag int, perm fs.FileMode) (*os.File, error) {
	return os.OpenFile(name, flag, perm)
}
func (hostFS) Open(name string) (*os.File, error)           { return os.Open(name) }
func (hostFS) MkdirAll(name string, perm fs.FileMode) error { return os.MkdirAll(name, perm) }
func (hostFS) Rename(oldname, newname string) error         { return os.Rename(oldname, newname) }
func (hostFS) Remove(name string) error                     { return os.Remove(name) }

// CreateTemp creates a new temp file in dir whose name starts with prefix,
// opened for reading and writing with O_EXCL, mode 0600, and the extra
// open flags flag (0, or e.g. O_DIRECT; the caller handles a refusal).
func CreateTemp(dir, prefix string, flag int) (*Temp, error) {
	return createTemp(hostFS{}, dir, prefix, flag)
}

func createTemp(fsys dirFS, dir, prefix string, flag int) (*Temp, error) {
	for range 100 {
		var b [8]byte
		_, _ = rand.Read(b[:])
		name := filepath.Join(dir, prefix+hex.EncodeToString(b[:]))
		f, err := fsys.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL|flag, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return &Temp{File: f, fsys: fsys, path: name}, nil
	}
	return nil, fmt.Errorf("creating a temp file in %q: too many name collisions", dir)
}

// Commit gives t the mode perm, fsyncs it, closes it, renames it to name
// and fsyncs name's directory (and t's, when that is another one). On an
// error before the rename t is removed; Commit is the end of t either way.
// before, when not nil, runs between the close and the rename (a test's
// crash point).
func (t *Temp) Commit(name string, perm fs.FileMode, before func()) error {
	if t.done {
		return fmt.Errorf("committing %q: already committed or discarded", t.Name())
	}
	if err := t.Chmod(perm); err != nil {
		t.Discard()
		return err
	}
	if err := t.Sync(); err != nil {
		t.Discard()
		return err
	}
	if err := t.Close(); err != nil {
		t.Discard()
		return err
	}
	if before != nil {
		before()
	}
	if err := t.fsys.Rename(t.path, name); err != nil {
		t.Discard()
		return err
	}
	t.done = true
	dir, tdir := filepath.Dir(name), filepath.Dir(t.path)
	if err := syncDir(t.fsys, dir); err != nil {
		return err
	}
	if tdir != dir {
		return syncDir(t.fsys, tdir)
	}
	return nil
}

// Discard closes and removes t unless it was committed. It is safe to call
// more than once, and after Commit (deferred by every writer).
func (t *Temp) Discard() {
	if t.done {
		return
	}
	t.done = true
	t.Close()
	t.fsys.Remove(t.path)
}

// SyncDir fsyncs directory dir, so the names created, renamed or removed
// in it survive a crash. File systems that cannot sync a directory are
// not an error.
func SyncDir(dir string) error { return syncDir(hostFS{}, dir) }

func syncDir(fsys dirFS, dir string) error {
	d, err := fsys.Open(dir)
	if err != nil {
		return fmt.Errorf("opening directory %q: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, errors.ErrUnsupported) && !errors.Is(err, syscall.EINVAL) {
		return fmt.Errorf("syncing directory %q: %w", dir, err)
	}
	return nil
}

// Options adjust WriteFile.
type Options struct {
	// TempDir is where the temp file is made; "" means name's directory.
	// It must be on name's file system.
	TempDir string
	// Prefix starts the temp file's name; "" means ".tmp-".
	Prefix string
	// BeforeRename, when not nil, runs between the write and the rename.
	BeforeRename func()
}

// withDefaults is o (nil: the zero Options) with the temp file in dir and
// named ".tmp-…" unless o says otherwise.
func (o *Options) withDefaults(dir string) Options {
	var d Options
	if o != nil {
		d = *o
	}
	if d.TempDir == "" {
		d.TempDir = dir
	}
	if d.Prefix == "" {
		d.Prefix = ".tmp-"
	}
	return d
}

// WriteFile writes data to name with mode perm, durably: a temp file in
// name's directory (or opts.TempDir), written, fsynced, given its mode,
// renamed over name, and the directory fsynced. name's directory is
// created when missing. A nil opts means the defaults.
func WriteFile(name string, data []byte, perm fs.FileMode, opts *Options) error {
	return writeFile(hostFS{}, name, data, perm, opts)
}

// WriteFileIn is WriteFile confined to root (an os.Root): name, and
// opts.TempDir when set, are relative to root, and neither the file, its
// temp file nor the directories made for them can be reached through a
// symbolic link that leads outside root. os.Root (Go 1.24+) is used rather
// than resolving the path first (securejoin): it opens each component
// relative to the last with the kernel's help, so a link swapped in
// between a check and the write cannot redirect it either.
func WriteFileIn(root *os.Root, name string, data []byte, perm fs.FileMode, opts *Options) error {
	return writeFile(root, name, data, perm, opts)
}

// writeFile is WriteFile and WriteFileIn: in fsys, name's directory made,
// a temp file written and committed over name.
func writeFile(fsys dirFS, name string, data []byte, perm fs.FileMode, opts *Options) error {
	dir := filepath.Dir(name)
	if err := fsys.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	o := opts.withDefaults(dir)
	t, err := createTemp(fsys, o.TempDir, o.Prefix, 0)
	if err != nil {
		return err
	}
	defer t.Discard()
	if _, err := t.Write(data); err != nil {
		return err
	}
	return t.Commit(name, perm, o.BeforeRename)
}

// SymlinkError is a symbolic link found where modelgit follows none.
type SymlinkError struct {
	// Link is the link's path relative to the root, slash-separated;
	// Target is what it points to.
	Link, Target string
}

func (e *SymlinkError) Error() string {
	return fmt.Sprintf("%s is a symbolic link (to %q): modelgit does not follow symbolic links in the repository's governed paths; replace it with the file or directory itself", e.Link, e.Target)
}

// NoLinks returns a *SymlinkError when a component of name (relative to
// root) that exists is a symbolic link, the last one included.
func NoLinks(root *os.Root, name string) error {
	parts := strings.Split(filepath.ToSlash(filepath.Clean(name)), "/")
	for i := range parts {
		p := strings.Join(parts[:i+1], "/")
		fi, err := root.Lstat(filepath.FromSlash(p))
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			target, _ := root.Readlink(filepath.FromSlash(p))
			return &SymlinkError{Link: p, Target: target}
		}
	}
	return nil
}
