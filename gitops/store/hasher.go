package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/modelgit/modelgit/gitops/internal/durable"
	"github.com/modelgit/modelgit/manifests"
)

// hashBufSize is the read buffer of a plain hash pass; buffers are pooled
// so memory stays at Workers × 1 MiB whatever the number of files.
const hashBufSize = 1 << 20

var bufPool = sync.Pool{New: func() any { b := make([]byte, hashBufSize); return &b }}

// copyBuf is io.CopyBuffer with a pooled 1 MiB buffer.
func copyBuf(dst io.Writer, src io.Reader) (int64, error) {
	b := bufPool.Get().(*[]byte)
	defer bufPool.Put(b)
	return io.CopyBuffer(dst, src, *b)
}

// Result describes a hashed file or directory.
type Result struct {
	// Path is the path that was hashed, as given.
	Path string
	// IsDir is true for a directory, whose Digest is its tree digest.
	IsDir  bool
	Digest manifests.Digest
	// Size is the file size, or the total size of a directory's files.
	Size int64
	// Files is 1 for a file, the number of files for a directory.
	Files int
	// Tree lists a directory's files; nil for a file, and for a
	// directory whose digest came whole from the stat cache (unchanged).
	Tree *Tree
}

// MediaType returns manifests.MediaTypeTree for a directory and "" for a
// file, whose media type the caller knows better.
func (r Result) MediaType() string {
	if r.IsDir {
		return manifests.MediaTypeTree
	}
	return ""
}

// Hasher hashes files and directory trees. The zero value is ready to use.
type Hasher struct {
	// Workers is how many files are hashed at once; 0 means
	// runtime.NumCPU().
	Workers int
	// Cache, when set, skips reading files whose stat is unchanged.
	Cache *StatCache
	// Progress, when set, receives the bytes hashed.
	Progress Progress

	mu     sync.Mutex
	walked map[string]walkResult // by Check, for the next run of the path
}

// walkResult is a directory walk Check made.
type walkResult struct {
	fi    fs.FileInfo
	files []file
}

// file is a regular file found by the walk.
type file struct {
	abs string      // path to open
	rel string      // slash-separated path inside the tree
	fi  fs.FileInfo // stat (symlinks followed) before reading
}

// Hash hashes the file or directory at path without storing anything.
func (h *Hasher) Hash(ctx context.Context, path string) (Result, error) {
	return h.run(ctx, nil, path)
}

// Add hashes the file or directory at path and stores it in st: a file as
// one blob (through st's Ingester when it has one, in a single read); a
// directory as one blob per file plus its listing blob.
func (h *Hasher) Add(ctx context.Context, st Store, path string) (Result, error) {
	return h.run(ctx, st, path)
}

// Check checks p as CheckInput does, without reading any file's content,
// and keeps the walk of a directory for the next Hash or Add of the same
// path, which then does not walk it again: a directory of 10,000 small
// files is stat-ed once, not twice.
func (h *Hasher) Check(p string) (fs.FileInfo, error) {
	fi, files, err := checkInput(p)
	if err != nil || !fi.IsDir() {
		return fi, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.walked == nil {
		h.walked = map[string]walkResult{}
	}
	h.walked[p] = walkResult{fi, files}
	return fi, nil
}

// checked returns (and forgets) the walk Check made of p.
func (h *Hasher) checked(p string) (walkResult, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	w, ok := h.walked[p]
	delete(h.walked, p)
	return w, ok
}

func (h *Hasher) run(ctx context.Context, st Store, p string) (Result, error) {
	verb := "hashing"
	if st != nil {
		verb = "adding"
	}
	prog := h.Progress
	if prog == nil {
		prog = NoProgress
	}
	var files []file
	w, ok := h.checked(p)
	fi := w.fi
	if ok {
		files = w.files
	} else {
		var err error
		if fi, err = os.Stat(p); err != nil {
			return Result{}, fmt.Errorf("%s %q: %w", verb, p, statError(p, err))
		}
	}
	if !fi.IsDir() {
		return h.runFile(ctx, st, p, fi, verb, prog)
	}
	if !ok {
		if err := walk(p, "", fi, nil, &files); err != nil {
			return Result{}, fmt.Errorf("%s %q: %w", verb, p, err)
		}
	}
	var total int64
	for _, f := range files {
		total += f.fi.Size()
	}
	prog.Start(filepath.Base(p), total)
	defer prog.Done()

	// An unchanged directory (every file's stat data as when it was last
	// hashed) is one lookup, and, for a file store whose blob directory
	// has not changed since it held every blob of it, no stat of any blob.
	dkey, cacheable := h.Cache.dirKey(files)
	// The blob directory as it is before any blob is looked at: if a blob
	// is added or removed from now on, this no longer matches next time.
	store, blobs, blobsOK := h.Cache.blobsKey(st)
	if e, ok := h.Cache.getDir(p, dkey); ok && cacheable {
		if st == nil || (blobsOK && e.Store != "" && store == e.Store && blobs == e.Blobs) {
			AddSkipped(prog, total)
			return Result{Path: p, IsDir: true, Digest: e.Digest, Size: e.Size, Files: e.Files}, nil
		}
	}
	res, err := h.runDir(ctx, st, p, files, verb, prog)
	if err != nil {
		return Result{}, err
	}
	if cacheable {
		e := dirEntry{Key: dkey, Digest: res.Digest, Size: res.Size, Files: res.Files}
		if st != nil && blobsOK {
			// Every blob is in st now; the blob directory's stat data from
			// before they were looked at says whether that is still so
			// next time (it does not match if any was added or removed).
			e.Store, e.Blobs = store, blobs
		} else if old, ok := h.Cache.getDir(p, dkey); ok && st == nil {
			e.Store, e.Blobs = old.Store, old.Blobs // hashing stores nothing, removes nothing
		}
		h.Cache.setDir(p, e)
	}
	return res, nil
}

// runFile hashes (and with st, stores) the single file p.
func (h *Hasher) runFile(ctx context.Context, st Store, p string, fi os.FileInfo, verb string, prog Progress) (Result, error) {
	if err := checkKind(p, fi); err != nil {
		return Result{}, fmt.Errorf("%s: %w", verb, err)
	}
	prog.Start(filepath.Base(p), fi.Size())
	defer prog.Done()
	e, err := h.file(ctx, st, file{abs: p, rel: filepath.Base(p), fi: fi}, prog, nil)
	if err != nil {
		return Result{}, fmt.Errorf("%s %q: %w", verb, p, err)
	}
	return Result{Path: p, Digest: e.Digest, Size: e.Size, Files: 1}, nil
}

// runDir hashes (and with st, stores) every file of the directory p, on
// h.workers() goroutines, then its tree listing.
func (h *Hasher) runDir(ctx context.Context, st Store, p string, files []file, verb string, prog Progress) (Result, error) {
	// Small files stored in a file store share one sync (durable.Batch):
	// two fsyncs per 4 KiB blob cost more than everything else together.
	var batch *durable.Batch
	if _, ok := st.(*File); ok {
		batch = new(durable.Batch)
		defer batch.Discard() // what a failure left unrenamed
	}
	entries := make([]Entry, len(files))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(h.workers())
	for i, f := range files {
		g.Go(func() error {
			e, err := h.file(gctx, st, f, prog, batch)
			if err != nil {
				return fmt.Errorf("%s %q: %w", verb, f.abs, err)
			}
			entries[i] = e
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return Result{}, err
	}
	if batch != nil {
		if err := batch.Commit(); err != nil {
			return Result{}, fmt.Errorf("%s %q: storing its small files: %w", verb, p, err)
		}
	}
	sortEntries(entries)
	tree := Tree{Entries: entries}
	listing := tree.Listing()
	res := Result{Path: p, IsDir: true, Digest: manifests.FromBytes(listing), Size: tree.Size(), Files: len(entries), Tree: &tree}
	if st != nil {
		if err := st.Put(ctx, res.Digest, int64(len(listing)), bytes.NewReader(listing)); err != nil {
			return Result{}, fmt.Errorf("%s %q: storing tree listing: %w", verb, p, err)
		}
	}
	return res, nil
}

func (h *Hasher) workers() int {
	if h.Workers > 0 {
		return h.Workers
	}
	return runtime.NumCPU()
}

// file hashes one file, and stores it when st is not nil, using the stat
// cache to skip reading unchanged files (and storing ones already stored).
// A small file for a file store joins batch, when not nil: it gets its
// name when the caller commits the batch.
func (h *Hasher) file(ctx context.Context, st Store, f file, prog Progress, batch *durable.Batch) (Entry, error) {
	if err := ctx.Err(); err != nil {
		return Entry{}, err
	}
	e := Entry{Path: f.rel, Size: f.fi.Size()}
	if d, ok := h.Cache.Get(f.abs, f.fi); ok {
		if st == nil {
			AddSkipped(prog, e.Size)
			e.Digest = d
			return e, nil
		}
		if _, err := st.Stat(ctx, d); err == nil {
			AddSkipped(prog, e.Size)
			e.Digest = d
			return e, nil
		} else if !errors.Is(err, ErrNotFound) {
			return Entry{}, err
		}
	}
	// Opened without blocking and checked again by fstat: the name may
	// have become a named pipe or a device since the walk.
	fd, _, err := OpenRegular(f.abs)
	if err != nil {
		return Entry{}, err
	}
	defer fd.Close()
	r := progressReader{ctxReader{ctx, fd}, prog}
	var n int64
	// Errors say what failed: reading the file, or the store's own step
	// (ingesting, storing), which names its blob or temp file.
	switch in, ok := st.(Ingester); {
	case st == nil:
		dg := manifests.NewDigester()
		n, err = copyBuf(dg, r)
		e.Digest = dg.Digest()
		if err != nil {
			err = fmt.Errorf("reading: %w", err)
		}
	case ok && batch != nil && e.Size <= smallMax:
		e.Digest, n, err = st.(*File).ingestSmall(ctx, r, e.Size, batch)
	case ok:
		cloned := false
		if fst, isFile := st.(*File); isFile && e.Size >= cloneMin {
			e.Digest, n, cloned, err = fst.ingestClone(ctx, fd, prog)
		}
		if !cloned {
			e.Digest, n, err = in.Ingest(ctx, r)
		}
	default:
		// A store without Ingester needs the digest first: hash, rewind,
		// store. Put skips the second read when the blob is there.
		dg := manifests.NewDigester()
		if n, err = copyBuf(dg, r); err != nil {
			err = fmt.Errorf("reading: %w", err)
			break
		}
		e.Digest = dg.Digest()
		if _, err = fd.Seek(0, io.SeekStart); err != nil {
			err = fmt.Errorf("rewinding: %w", err)
			break
		}
		err = st.Put(ctx, e.Digest, n, onlyReader{fd})
	}
	if ce := (*changedError)(nil); errors.As(err, &ce) {
		return Entry{}, ce
	}
	if err != nil {
		return Entry{}, err
	}
	if n != e.Size {
		return Entry{}, &changedError{before: e.Size, after: n}
	}
	// Cache only if the file did not change while it was read.
	if h.Cache != nil {
		if after, err := fd.Stat(); err == nil && keyOf(after) == keyOf(f.fi) {
			h.Cache.Set(f.abs, f.fi, e.Digest)
		}
	}
	return e, nil
}

// changedError reports a file whose size changed while it was read; what
// was read is not recorded in the tree.
type changedError struct{ before, after int64 }

func (e *changedError) Error() string {
	if e.before == e.after {
		return "file changed while it was read (written to in place): try again"
	}
	return fmt.Sprintf("file changed while it was read (%d bytes, then %d): try again", e.before, e.after)
}

// onlyReader hides the WriteTo of an *os.File, so copies use their own
// buffer size rather than io.Copy's 32 KiB.
type onlyReader struct{ io.Reader }

// onlyWriter hides the ReadFrom of an *os.File for the same reason.
type onlyWriter struct{ io.Writer }

// walk appends the regular files under dir (whose stat is fi, reached as
// rel) to files, in the order of their paths' components. Symlinks are
// followed; ancestors holds the directories on the current path, to
// detect loops. Each directory is read once through an os.Root, whose
// entries are stat-ed relative to the directory (fstatat, no path lookup:
// readDirStat), so a directory of many small files costs one stat per
// file; only a symlink is stat-ed again, by path, to follow it.
// Subdirectories are walked by up to GOMAXPROCS goroutines at once; the
// error returned is the one a walk in order meets first.
func walk(dir, rel string, fi fs.FileInfo, ancestors []walked, files *[]file) error {
	w := &walker{slots: make(chan struct{}, max(runtime.GOMAXPROCS(0)-1, 0))}
	got, err := w.dir(dir, rel, fi, ancestors)
	if *files == nil {
		*files = got
	} else {
		*files = append(*files, got...)
	}
	return err
}

// walker walks a directory tree; slots bounds the goroutines it starts.
type walker struct{ slots chan struct{} }

// walkItem is a file of a directory, or one of its subdirectories' walk.
type walkItem struct {
	file file
	sub  *subWalk
}

type subWalk struct {
	done  chan struct{}
	files []file
	err   error
}

// sub walks a subdirectory: in a goroutine of its own when a slot is
// free, else at once.
func (w *walker) sub(dir, rel string, fi fs.FileInfo, ancestors []walked) *subWalk {
	s := &subWalk{done: make(chan struct{})}
	select {
	case w.slots <- struct{}{}:
		go func() {
			defer close(s.done)
			defer func() { <-w.slots }()
			s.files, s.err = w.dir(dir, rel, fi, ancestors)
		}()
	default:
		s.files, s.err = w.dir(dir, rel, fi, ancestors)
		close(s.done)
	}
	return s
}

// dir lists the regular files under dir as walk does.
func (w *walker) dir(dir, rel string, fi fs.FileInfo, ancestors []walked) ([]file, error) {
	for _, a := range ancestors {
		if os.SameFile(a.fi, fi) {
			return nil, fmt.Errorf("symlink loop: directory %q is %q again", dir, a.path)
		}
	}
	// Clipped: subdirectories walked at once must not append into one
	// array.
	ancestors = append(slices.Clip(ancestors), walked{dir, fi})
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("reading directory %q: %w", dir, unwrapPathError(err))
	}
	defer root.Close()
	names, infos, err := readDirStat(root)
	if err != nil {
		return nil, fmt.Errorf("reading directory %q: %w", dir, unwrapPathError(err))
	}
	items := make([]walkItem, 0, len(names))
	var stop error // an entry of this directory that fails: no item after it
	for k, name := range names {
		abs := filepath.Join(dir, name)
		if strings.ContainsAny(name, "\n\r") {
			stop = fmt.Errorf("file name %q contains a newline, which a tree listing cannot hold: rename it", abs)
			break
		}
		fi, err := infos[k].fi, infos[k].err
		if err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			fi, err = os.Stat(abs)
		}
		if err != nil {
			stop = fmt.Errorf("%q: %w", abs, statError(abs, err))
			break
		}
		r := name // path.Join(rel, name): a name has no slash and is not . or ..
		if rel != "" {
			r = rel + "/" + name
		}
		if fi.IsDir() {
			s := w.sub(abs, r, fi, ancestors)
			items = append(items, walkItem{sub: s})
			if isDone(s.done) && s.err != nil {
				break // walked at once, and failed
			}
			continue
		}
		if err := checkKind(abs, fi); err != nil {
			stop = err
			break
		}
		items = append(items, walkItem{file: file{abs: abs, rel: r, fi: fi}})
	}
	n := 0
	for k, it := range items {
		if it.sub == nil {
			n++
			continue
		}
		<-it.sub.done
		if it.sub.err != nil {
			for _, later := range items[k+1:] {
				if later.sub != nil {
					<-later.sub.done // started here, ended here
				}
			}
			return nil, it.sub.err
		}
		n += len(it.sub.files)
	}
	if stop != nil {
		return nil, stop
	}
	out := make([]file, 0, n)
	for _, it := range items {
		if it.sub == nil {
			out = append(out, it.file)
		} else {
			out = append(out, it.sub.files...)
		}
	}
	return out, nil
}

func isDone(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// statChunk is the fewest entries a goroutine of readDirStat stats: below
// it, starting one costs more than it saves.
const statChunk = 256

type statResult struct {
	fi  fs.FileInfo
	err error
}

// readDirStat lists the directory root holds, sorted by name, with each
// entry's lstat (fstatat relative to it), as fs.ReadDir of root.FS() does,
// and skips, as it does, an entry removed before it was stat-ed. A large
// directory's entries are stat-ed by up to GOMAXPROCS goroutines at once:
// the re-run on an unchanged directory of 10,000 small files is mostly
// these stats, one per file, which no cache can spare (issue 16).
func readDirStat(root *os.Root) ([]string, []statResult, error) {
	d, err := root.Open(".")
	if err != nil {
		return nil, nil, err
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return nil, nil, err
	}
	slices.Sort(names)
	infos := make([]statResult, len(names))
	stat := func(lo, hi int) {
		for i := lo; i < hi; i++ {
			infos[i].fi, infos[i].err = root.Lstat(names[i])
		}
	}
	if n := min(runtime.GOMAXPROCS(0), len(names)/statChunk); n > 1 {
		var wg sync.WaitGroup
		per := (len(names) + n - 1) / n
		for lo := 0; lo < len(names); lo += per {
			wg.Go(func() { stat(lo, min(lo+per, len(names))) })
		}
		wg.Wait()
	} else {
		stat(0, len(names))
	}
	k := 0
	for i := range names {
		if errors.Is(infos[i].err, fs.ErrNotExist) {
			continue // removed since it was listed
		}
		names[k], infos[k] = names[i], infos[i]
		k++
	}
	return names[:k], infos[:k], nil
}

type walked struct {
	path string
	fi   fs.FileInfo
}

// checkKind accepts regular files only (directories are handled by the
// caller), naming what else was found.
func checkKind(p string, fi fs.FileInfo) error {
	m := fi.Mode()
	var kind string
	switch {
	case m.IsRegular():
		return nil
	case m&fs.ModeSocket != 0:
		kind = "a socket"
	case m&fs.ModeNamedPipe != 0:
		kind = "a named pipe"
	case m&fs.ModeCharDevice != 0:
		kind = "a character device"
	case m&fs.ModeDevice != 0:
		kind = "a device"
	default:
		kind = "not a regular file (" + m.Type().String() + ")"
	}
	return notRegular(fmt.Sprintf("%q is %s: only regular files and directories can be hashed", p, kind))
}

// ErrNotRegular matches (errors.Is) the errors of OpenRegular and the
// input checks for a path that is there but is not a regular file.
var ErrNotRegular = errors.New("not a regular file")

// notRegular is an error that says why a path is not a regular file and
// is ErrNotRegular.
type notRegular string

func (e notRegular) Error() string        { return string(e) }
func (e notRegular) Is(target error) bool { return target == ErrNotRegular }

// statError describes the error of os.Stat or os.Open of p without naming
// p (callers do), telling a dangling symlink from a missing file.
func statError(p string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		if li, lerr := os.Lstat(p); lerr == nil && li.Mode()&fs.ModeSymlink != 0 {
			target, _ := os.Readlink(p)
			return fmt.Errorf("dangling symlink to %q: %w", target, unwrapPathError(err))
		}
	}
	return unwrapPathError(err)
}

// unwrapPathError drops the op and path of an *fs.PathError, which our
// messages already name.
func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
