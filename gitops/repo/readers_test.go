package repo

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
)

func idleReaders(r *Repo) []int {
	r.readers.mu.Lock()
	defer r.readers.mu.Unlock()
	var pids []int
	for _, c := range r.readers.idle {
		pids = append(pids, c.cmd.Process.Pid)
	}
	return pids
}

// TestReaders: rounds of reads share one cat-file process, which sees
// objects written after it started; a process whose round failed, or
// whose context ended while it was out, is not used again; rounds at
// once each get their own, and few are kept.
func TestReaders(t *testing.T) {
	r := newRepo(t)
	ctx := context.Background()
	commit := func(content string) string {
		writeFile(t, filepath.Join(r.Root, "f"), content)
		run(t, r.Root, "add", "-A")
		run(t, r.Root, "commit", "-q", "-m", content)
		return run(t, r.Root, "rev-parse", "HEAD")
	}
	read := func(ctx context.Context, names ...string) (map[string]Object, error) {
		t.Helper()
		return r.ReadNamed(ctx, names)
	}
	first := commit("one")
	if objs, err := read(ctx, first+":f", first+":missing"); err != nil || string(objs[first+":f"].Data) != "one" || len(objs) != 1 {
		t.Fatalf("read %v, %v", objs, err)
	}
	pids := idleReaders(r)
	if len(pids) != 1 {
		t.Fatalf("idle readers after a round: %v, want one", pids)
	}
	second := commit("two")
	objs, err := read(ctx, second+":f")
	if err != nil || string(objs[second+":f"].Data) != "two" {
		t.Fatalf("an object written after the reader started: %v, %v", objs, err)
	}
	if again := idleReaders(r); len(again) != 1 || again[0] != pids[0] {
		t.Fatalf("idle readers %v after a second round, want the same one %v", again, pids)
	}

	// A process that died: the round fails, and it is let go.
	p, _ := os.FindProcess(pids[0])
	_ = p.Kill()
	if _, err := read(ctx, first+":f"); err == nil {
		t.Fatal("a round on a killed reader succeeded")
	}
	if idle := idleReaders(r); len(idle) != 0 {
		t.Fatalf("a failed reader went back: %v", idle)
	}
	if objs, err := read(ctx, first+":f"); err != nil || string(objs[first+":f"].Data) != "one" {
		t.Fatalf("after a failed round: %v, %v", objs, err)
	}

	// A context that ends while the reader is out kills it.
	cctx, cancel := context.WithCancel(ctx)
	c, err := r.reader(cctx)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	_ = c.cmd.Wait() // killed
	c.Close()
	for _, pid := range idleReaders(r) {
		if pid == c.cmd.Process.Pid {
			t.Fatal("a reader whose context ended went back")
		}
	}
	if _, err := read(cctx, first+":f"); err == nil {
		t.Fatal("a round with an ended context succeeded")
	}

	// Rounds at once.
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Go(func() {
			objs, err := r.ReadObjects(ctx, []plumbing.Hash{plumbing.NewHash(first), plumbing.NewHash(second)})
			if err == nil && len(objs) != 2 {
				err = os.ErrNotExist
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if idle := idleReaders(r); len(idle) > maxIdleReaders {
		t.Fatalf("%d idle readers, want at most %d", len(idle), maxIdleReaders)
	}
}

// TestBatchHeader: the one parser of cat-file's headers reads what git
// writes and refuses what it does not.
func TestBatchHeader(t *testing.T) {
	id := strings.Repeat("ab", 20)
	oid, typ, size, err := batchHeader([]byte(id + " tree 123\n"))
	if err != nil || oid.String() != id || typ != plumbing.TreeObject || size != 123 {
		t.Errorf("a tree: %v %v %d %v", oid, typ, size, err)
	}
	if _, _, _, err := batchHeader([]byte("HEAD:x missing\n")); !errors.Is(err, errMissingObject) {
		t.Errorf("missing: %v", err)
	}
	if _, _, _, err := batchHeader([]byte("abc ambiguous\n")); !errors.Is(err, errAmbiguousName) {
		t.Errorf("ambiguous: %v", err)
	}
	for _, bad := range []string{"", "\n", id + "\n", id + " tree\n", id + " tree -1\n", id + " tree x\n", id + " thing 1\n", "abc blob 1\n"} {
		if _, _, _, err := batchHeader([]byte(bad)); err == nil || errors.Is(err, errMissingObject) {
			t.Errorf("%q: %v, want an unexpected header", bad, err)
		}
	}
}
