package store

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/modelgit/modelgit/gitops/internal/durable"
	"github.com/modelgit/modelgit/manifests"
)

// racyWindow is how recent a file's mtime or ctime may be and still be
// cached. This is git's "racy git" problem: file systems record times with
// a granularity (1 s on ext3 and HFS+, 2 s on FAT, coarse clock ticks
// elsewhere), so a file rewritten with the same size within the same tick
// as it was hashed keeps its size and mtime, and a cache keyed on them
// would return the old digest. A file whose times are older than the
// window when it is hashed can only change by getting a later mtime and
// ctime, which the key sees; younger files are simply hashed again next
// time.
const racyWindow = 2 * time.Second

// cacheFormat versions the file; another version is ignored.
const cacheFormat = 1

// StatCache remembers file digests by path and stat data (size, mtime,
// inode, ctime) so unchanged files are not read again, and directory
// digests by the stat data of every file in them (getDir, setDir), so an
// unchanged directory of many small files costs one stat per file and one
// lookup. It is safe for concurrent use. Changes are kept in memory until
// Save.
//
// The file entries and the directory entries are kept in two files (the
// directory entries in FILE.dirs): a directory hit does not need the file
// entries, which are read from disk only when a file is looked up.
type StatCache struct {
	file      string
	mu        sync.Mutex
	loaded    bool // entries read from file
	entries   map[string]cacheEntry
	dirty     bool
	dirs      map[string]dirEntry
	dirsDirty bool
	now       func() time.Time // for tests
}

type cacheEntry struct {
	Size   int64            `json:"size"`
	Mtime  int64            `json:"mtime"` // ns since the epoch
	Inode  uint64           `json:"ino"`
	Ctime  int64            `json:"ctime"` // ns since the epoch
	Digest manifests.Digest `json:"digest"`
}

type cacheFile struct {
	Format  int                   `json:"format"`
	Entries map[string]cacheEntry `json:"entries"`
}

// dirEntry is what the cache knows of a directory: its tree digest, total
// size and number of files, when the stat data of its files digests to
// Key (dirKey), and the file store whose blob directory had the stat data
// Blobs before an add that found every blob of it there.
type dirEntry struct {
	Key    manifests.Digest `json:"key"`
	Digest manifests.Digest `json:"digest"`
	Size   int64            `json:"size"`
	Files  int              `json:"files"`
	// Store is the absolute directory of the file store that held every
	// blob (the files and the listing); "" when none is known.
	Store string     `json:"store,omitempty"`
	Blobs cacheEntry `json:"blobs"`
}

type dirsFile struct {
	Format int                 `json:"format"`
	Dirs   map[string]dirEntry `json:"dirs"`
}

// OpenStatCache loads the cache kept in file. A missing, unreadable or
// corrupt file yields an empty cache: it is only a cache.
func OpenStatCache(file string) (*StatCache, error) {
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, fmt.Errorf("opening stat cache %q: %w", file, err)
	}
	c := &StatCache{file: abs, entries: map[string]cacheEntry{}, dirs: map[string]dirEntry{}, now: time.Now}
	if b, err := os.ReadFile(abs + ".dirs"); err == nil {
		var df dirsFile
		if json.Unmarshal(b, &df) == nil && df.Format == cacheFormat && df.Dirs != nil {
			c.dirs = df.Dirs
		}
	}
	return c, nil
}

// load reads the file entries on first use; c.mu is held.
func (c *StatCache) load() {
	if c.loaded {
		return
	}
	c.loaded = true
	b, err := os.ReadFile(c.file)
	if err != nil {
		return
	}
	var cf cacheFile
	if json.Unmarshal(b, &cf) == nil && cf.Format == cacheFormat && cf.Entries != nil {
		for k, e := range c.entries { // set before the load: newer
			cf.Entries[k] = e
		}
		c.entries = cf.Entries
	}
}

func keyOf(fi fs.FileInfo) cacheEntry {
	ino, ctime := inodeCtime(fi)
	return cacheEntry{Size: fi.Size(), Mtime: fi.ModTime().UnixNano(), Inode: ino, Ctime: ctime}
}

// Get returns the digest cached for the file at path (made absolute) if fi,
// its current stat, matches what was cached.
func (c *StatCache) Get(path string, fi fs.FileInfo) (manifests.Digest, bool) {
	if c == nil {
		return manifests.Digest{}, false
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return manifests.Digest{}, false
	}
	k := keyOf(fi)
	c.mu.Lock()
	c.load()
	e, ok := c.entries[abs]
	c.mu.Unlock()
	if !ok || e.Digest.IsZero() {
		return manifests.Digest{}, false
	}
	d := e.Digest
	e.Digest = manifests.Digest{}
	if e != k {
		return manifests.Digest{}, false
	}
	return d, true
}

// Set records d for the file at path, whose stat before it was read is fi.
// Files modified within racyWindow of now are not recorded (see
// racyWindow), and neither is anything else than a regular file.
func (c *StatCache) Set(path string, fi fs.FileInfo, d manifests.Digest) {
	if c == nil || !fi.Mode().IsRegular() || d.IsZero() {
		return
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return
	}
	k := keyOf(fi)
	if c.recent(k) {
		return
	}
	k.Digest = d
	c.mu.Lock()
	defer c.mu.Unlock()
	c.load()
	if c.entries[abs] != k {
		c.entries[abs] = k
		c.dirty = true
	}
}

// Len returns the number of cached files.
func (c *StatCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.load()
	return len(c.entries)
}

// Save writes the cache back to its files (temp file, then rename) if it
// changed.
func (c *StatCache) Save() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dirty {
		b, err := json.Marshal(cacheFile{Format: cacheFormat, Entries: c.entries})
		if err != nil {
			return fmt.Errorf("saving stat cache %q: %w", c.file, err)
		}
		if err := durable.WriteFile(c.file, b, 0o644, &durable.Options{Prefix: tempPrefix}); err != nil {
			return fmt.Errorf("saving stat cache %q: %w", c.file, err)
		}
		c.dirty = false
	}
	if c.dirsDirty {
		b, err := json.Marshal(dirsFile{Format: cacheFormat, Dirs: c.dirs})
		if err != nil {
			return fmt.Errorf("saving stat cache %q: %w", c.file+".dirs", err)
		}
		if err := durable.WriteFile(c.file+".dirs", b, 0o644, &durable.Options{Prefix: tempPrefix}); err != nil {
			return fmt.Errorf("saving stat cache %q: %w", c.file+".dirs", err)
		}
		c.dirsDirty = false
	}
	return nil
}

// recent reports whether k's mtime or ctime is within racyWindow of now:
// too recent to be trusted later (see racyWindow).
func (c *StatCache) recent(k cacheEntry) bool {
	limit := c.now().Add(-racyWindow).UnixNano()
	return k.Mtime > limit || k.Ctime > limit
}

// dirKey digests the stat data (path inside the directory, size, mtime,
// inode, ctime) of a directory's files, in walk order, for getDir and
// setDir. ok is false when a file's mtime or ctime is too recent to be
// trusted (see racyWindow): such a directory is not cached as a whole.
func (c *StatCache) dirKey(files []file) (key manifests.Digest, ok bool) {
	if c == nil {
		return manifests.Digest{}, false
	}
	dg := manifests.NewDigester()
	b := make([]byte, 0, 256)
	for _, f := range files {
		k := keyOf(f.fi)
		if c.recent(k) {
			return manifests.Digest{}, false
		}
		b = append(b[:0], f.rel...)
		b = append(b, 0)
		b = strconv.AppendInt(b, k.Size, 10)
		b = append(b, ' ')
		b = strconv.AppendInt(b, k.Mtime, 10)
		b = append(b, ' ')
		b = strconv.AppendUint(b, k.Inode, 10)
		b = append(b, ' ')
		b = strconv.AppendInt(b, k.Ctime, 10)
		b = append(b, '\n')
		dg.Write(b)
	}
	return dg.Digest(), true
}

// getDir returns what is cached for the directory at path when its files'
// stat data still digests to key.
func (c *StatCache) getDir(path string, key manifests.Digest) (dirEntry, bool) {
	if c == nil || key.IsZero() {
		return dirEntry{}, false
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return dirEntry{}, false
	}
	c.mu.Lock()
	e, ok := c.dirs[abs]
	c.mu.Unlock()
	if !ok || e.Key != key || e.Digest.IsZero() {
		return dirEntry{}, false
	}
	return e, true
}

// setDir records e for the directory at path.
func (c *StatCache) setDir(path string, e dirEntry) {
	if c == nil || e.Key.IsZero() || e.Digest.IsZero() {
		return
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dirs[abs] != e {
		c.dirs[abs] = e
		c.dirsDirty = true
	}
}

// blobsKey returns the stat data of st's blob directory, when st is a
// file store and its blob directory is old enough to be trusted (see
// racyWindow): adding or removing a blob changes its mtime and ctime, so
// while they are unchanged every blob seen there is still there.
func (c *StatCache) blobsKey(st Store) (store string, key cacheEntry, ok bool) {
	fst, isFile := st.(*File)
	if c == nil || !isFile {
		return "", cacheEntry{}, false
	}
	abs, err := filepath.Abs(fst.Dir())
	if err != nil {
		return "", cacheEntry{}, false
	}
	fi, err := os.Stat(fst.blobDir())
	if err != nil || !fi.IsDir() {
		return "", cacheEntry{}, false
	}
	key = keyOf(fi)
	if c.recent(key) {
		return "", cacheEntry{}, false
	}
	return abs, key, true
}
