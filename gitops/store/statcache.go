package store

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
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
// inode, ctime) so unchanged files are not read again. It is safe for
// concurrent use. Changes are kept in memory until Save.
type StatCache struct {
	file    string
	mu      sync.Mutex
	entries map[string]cacheEntry
	dirty   bool
	now     func() time.Time // for tests
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

// OpenStatCache loads the cache kept in file. A missing, unreadable or
// corrupt file yields an empty cache: it is only a cache.
func OpenStatCache(file string) (*StatCache, error) {
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, fmt.Errorf("opening stat cache %q: %w", file, err)
	}
	c := &StatCache{file: abs, entries: map[string]cacheEntry{}, now: time.Now}
	b, err := os.ReadFile(abs)
	if err != nil {
		return c, nil
	}
	var cf cacheFile
	if json.Unmarshal(b, &cf) == nil && cf.Format == cacheFormat && cf.Entries != nil {
		c.entries = cf.Entries
	}
	return c, nil
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
	limit := c.now().Add(-racyWindow).UnixNano()
	if k.Mtime > limit || k.Ctime > limit {
		return
	}
	k.Digest = d
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries[abs] != k {
		c.entries[abs] = k
		c.dirty = true
	}
}

// Len returns the number of cached files.
func (c *StatCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// Save writes the cache back to its file (temp file, then rename) if it
// changed.
func (c *StatCache) Save() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.dirty {
		return nil
	}
	b, err := json.Marshal(cacheFile{Format: cacheFormat, Entries: c.entries})
	if err != nil {
		return fmt.Errorf("saving stat cache %q: %w", c.file, err)
	}
	if err := durable.WriteFile(c.file, b, 0o644, &durable.Options{Prefix: tempPrefix}); err != nil {
		return fmt.Errorf("saving stat cache %q: %w", c.file, err)
	}
	c.dirty = false
	return nil
}
