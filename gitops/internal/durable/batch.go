package durable

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// Batch commits many temp files with one sync instead of two per file:
// each file is written and closed without an fsync; Commit makes all their
// data durable at once (one syncfs on Linux, one fsync per file
// elsewhere), then renames each to its final name and fsyncs each
// directory once. The guarantee is Commit's for every file: after a crash
// a final name holds the whole file or is absent. Add and Commit may be
// called from several goroutines.
type Batch struct {
	mu    sync.Mutex
	items []batchItem
}

type batchItem struct{ tmp, name string }

// Add gives t the mode perm and closes it; t becomes name when the batch
// is committed. t must not be used afterwards.
func (b *Batch) Add(t *Temp, name string, perm fs.FileMode) error {
	if t.done {
		return fmt.Errorf("adding %q to a batch: already committed or discarded", t.Name())
	}
	if err := t.Chmod(perm); err != nil {
		t.Discard()
		return err
	}
	if err := t.Close(); err != nil {
		t.Discard()
		return err
	}
	t.done = true
	b.mu.Lock()
	b.items = append(b.items, batchItem{tmp: t.Name(), name: name})
	b.mu.Unlock()
	return nil
}

// Len returns the number of files added and not yet committed.
func (b *Batch) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.items)
}

// Commit syncs every file added, renames each to its name, and fsyncs
// their directories. On an error the files not yet renamed are removed.
// The batch is empty afterwards and can be used again.
func (b *Batch) Commit() error {
	b.mu.Lock()
	items := b.items
	b.items = nil
	b.mu.Unlock()
	if len(items) == 0 {
		return nil
	}
	done := 0
	defer func() {
		for _, it := range items[done:] {
			os.Remove(it.tmp)
		}
	}()
	tmps := make([]string, len(items))
	for i, it := range items {
		tmps[i] = it.tmp
	}
	if err := syncFiles(tmps); err != nil {
		return err
	}
	dirs := map[string]bool{}
	for _, it := range items {
		if err := os.Rename(it.tmp, it.name); err != nil {
			return err
		}
		done++
		dirs[filepath.Dir(it.name)] = true
		dirs[filepath.Dir(it.tmp)] = true
	}
	for d := range dirs {
		if err := SyncDir(d); err != nil {
			return err
		}
	}
	return nil
}

// Discard removes every file added and not yet committed.
func (b *Batch) Discard() {
	b.mu.Lock()
	items := b.items
	b.items = nil
	b.mu.Unlock()
	for _, it := range items {
		os.Remove(it.tmp)
	}
}

// fsyncEach fsyncs each of the files.
func fsyncEach(names []string) error {
	for _, n := range names {
		f, err := os.Open(n)
		if err != nil {
			return err
		}
		err = f.Sync()
		f.Close()
		if err != nil {
			return err
		}
	}
	return nil
}
