package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/modelgit/modelgit/manifests"
)

// sha256sum runs the real sha256sum on path and returns "sha256:<hex>".
func sha256sum(t *testing.T, path string) manifests.Digest {
	t.Helper()
	if _, err := exec.LookPath("sha256sum"); err != nil {
		t.Fatalf("sha256sum not found (install it: apt-get install -y coreutils): %v", err)
	}
	out, err := exec.Command("sha256sum", path).Output()
	if err != nil {
		t.Fatalf("sha256sum %s: %v", path, err)
	}
	hex, _, _ := strings.Cut(string(out), " ")
	return manifests.MustParseDigest("sha256:" + hex)
}

// writeTree creates files (slash paths → content) under dir in the given
// order of paths.
func writeTree(t *testing.T, dir string, files map[string]string, order []string) {
	t.Helper()
	for _, p := range order {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(files[p]), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

var sampleTree = map[string]string{
	"model.safetensors":   strings.Repeat("w", 3<<20),
	"config.json":         `{"layers": 12}`,
	"tokenizer/vocab.txt": "a\nb\nc\n",
	"tokenizer/merges":    "",
	"a-b":                 "sorts between a and a/…",
	"a/b":                 "nested",
	"z/y/x/deep.bin":      "deep",
}

func keys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func TestHashMatchesSha256sum(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	big := filepath.Join(dir, "big.bin")
	writeRandomFile(t, big, 9<<20+123, 7)
	writeTree(t, dir, map[string]string{"empty": "", "small.txt": "hello\n"}, []string{"empty", "small.txt"})
	for _, name := range []string{"big.bin", "empty", "small.txt"} {
		p := filepath.Join(dir, name)
		res, err := (&Hasher{}).Hash(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		fi, _ := os.Stat(p)
		if want := sha256sum(t, p); res.Digest != want || res.Size != fi.Size() || res.IsDir || res.Files != 1 {
			t.Errorf("Hash(%s) = %+v, want digest %s size %d", name, res, want, fi.Size())
		}
	}
}

func TestHashDirListingMatchesSha256sum(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, sampleTree, keys(sampleTree))
	res, err := (&Hasher{}).Hash(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	// Build the expected listing independently, from sha256sum.
	paths := keys(sampleTree) // byte order
	var want strings.Builder
	var total int64
	for _, p := range paths {
		full := filepath.Join(dir, filepath.FromSlash(p))
		fmt.Fprintf(&want, "%s %d %s\n", sha256sum(t, full), len(sampleTree[p]), p)
		total += int64(len(sampleTree[p]))
	}
	if got := string(res.Tree.Listing()); got != want.String() {
		t.Errorf("listing:\n%s\nwant:\n%s", got, want.String())
	}
	if !res.IsDir || res.Files != len(paths) || res.Size != total || res.Digest != manifests.FromBytes([]byte(want.String())) {
		t.Errorf("result = %+v", res)
	}
	if res.MediaType() != manifests.MediaTypeTree {
		t.Errorf("MediaType() = %q", res.MediaType())
	}
}

func TestHashDirDeterministic(t *testing.T) {
	ctx := context.Background()
	order := keys(sampleTree)
	reversed := append([]string{}, order...)
	sort.Sort(sort.Reverse(sort.StringSlice(reversed)))
	var digests []manifests.Digest
	for i, o := range [][]string{order, reversed} {
		dir := t.TempDir()
		writeTree(t, dir, sampleTree, o)
		for _, workers := range []int{1, 4} {
			res, err := (&Hasher{Workers: workers}).Hash(ctx, dir)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("order %d workers %d: %s", i, workers, res.Digest)
			digests = append(digests, res.Digest)
		}
	}
	for _, d := range digests[1:] {
		if d != digests[0] {
			t.Fatalf("tree digests differ: %v", digests)
		}
	}
}

func TestHashFollowsSymlinks(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"real/f": "x", "file": "y"}, []string{"real/f", "file"})
	if err := os.Symlink("real", filepath.Join(dir, "linkdir")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("file", filepath.Join(dir, "linkfile")); err != nil {
		t.Fatal(err)
	}
	res, err := (&Hasher{}).Hash(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, e := range res.Tree.Entries {
		paths = append(paths, e.Path)
	}
	if got, want := strings.Join(paths, ","), "file,linkdir/f,linkfile,real/f"; got != want {
		t.Errorf("paths = %s, want %s", got, want)
	}
}

func TestHashErrors(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T, dir string) string // returns the path to hash
		wantErr []string
	}{
		{
			name:    "missing file",
			setup:   func(t *testing.T, dir string) string { return filepath.Join(dir, "nope.bin") },
			wantErr: []string{`hashing "`, `nope.bin": no such file or directory`},
		},
		{
			name: "directory symlink loop",
			setup: func(t *testing.T, dir string) string {
				writeTree(t, dir, map[string]string{"m/a/f": "x"}, []string{"m/a/f"})
				mustSymlink(t, "..", filepath.Join(dir, "m", "a", "up"))
				return filepath.Join(dir, "m")
			},
			wantErr: []string{`symlink loop: directory "`, `m/a/up" is "`},
		},
		{
			name: "dangling symlink",
			setup: func(t *testing.T, dir string) string {
				writeTree(t, dir, map[string]string{"m/f": "x"}, []string{"m/f"})
				mustSymlink(t, "gone.bin", filepath.Join(dir, "m", "broken"))
				return filepath.Join(dir, "m")
			},
			wantErr: []string{`m/broken": dangling symlink to "gone.bin"`},
		},
		{
			name: "dangling symlink given directly",
			setup: func(t *testing.T, dir string) string {
				mustSymlink(t, "gone.bin", filepath.Join(dir, "broken"))
				return filepath.Join(dir, "broken")
			},
			wantErr: []string{`broken": dangling symlink to "gone.bin"`},
		},
		{
			name: "socket",
			setup: func(t *testing.T, dir string) string {
				sock := filepath.Join(dir, "m", "s.sock")
				if err := os.MkdirAll(filepath.Dir(sock), 0o755); err != nil {
					t.Fatal(err)
				}
				l, err := net.Listen("unix", sock)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { l.Close() })
				return filepath.Join(dir, "m")
			},
			wantErr: []string{`s.sock" is a socket: only regular files and directories can be hashed`},
		},
		{
			name:    "device",
			setup:   func(t *testing.T, dir string) string { return "/dev/null" },
			wantErr: []string{`"/dev/null" is a character device`},
		},
		{
			name: "newline in a file name",
			setup: func(t *testing.T, dir string) string {
				writeTree(t, dir, map[string]string{"m/bad\nname": "x"}, []string{"m/bad\nname"})
				return filepath.Join(dir, "m")
			},
			wantErr: []string{`contains a newline, which a tree listing cannot hold`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.setup(t, t.TempDir())
			_, err := (&Hasher{}).Hash(context.Background(), p)
			if err == nil {
				t.Fatal("Hash succeeded, want an error")
			}
			if testing.Verbose() {
				t.Log(err)
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error = %q\nwant it to contain %q", err, want)
				}
			}
		})
	}
}

func TestHashUnreadableFile(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads files whatever their mode")
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "secret.bin")
	if err := os.WriteFile(p, []byte("x"), 0o000); err != nil {
		t.Fatal(err)
	}
	_, err := (&Hasher{}).Hash(context.Background(), dir)
	if !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), `secret.bin": permission denied`) {
		t.Errorf("error = %v, want permission denied naming the file", err)
	}
}

func mustSymlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// storeOnly hides a store's Ingester, to exercise the hash-then-Put path.
type storeOnly struct{ Store }

func TestAddStoresEveryBlob(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	writeTree(t, dir, sampleTree, keys(sampleTree))
	for name, st := range map[string]Store{
		"file":      NewFile(t.TempDir()),
		"memory":    NewMemory(),
		"no-ingest": storeOnly{NewMemory()},
	} {
		t.Run(name, func(t *testing.T) {
			res, err := (&Hasher{}).Add(ctx, st, dir)
			if err != nil {
				t.Fatal(err)
			}
			want, err := (&Hasher{}).Hash(ctx, dir)
			if err != nil {
				t.Fatal(err)
			}
			if res.Digest != want.Digest {
				t.Fatalf("Add digest %s, Hash digest %s", res.Digest, want.Digest)
			}
			for _, e := range res.Tree.Entries {
				if size, err := st.Stat(ctx, e.Digest); err != nil || size != e.Size {
					t.Errorf("blob for %s: size %d, %v", e.Path, size, err)
				}
			}
			listing, err := readBlob(t, st, res.Digest)
			if err != nil || !bytes.Equal(listing, res.Tree.Listing()) {
				t.Errorf("listing blob: %v", err)
			}
			// A single file.
			f := filepath.Join(dir, "config.json")
			fr, err := (&Hasher{}).Add(ctx, st, f)
			if err != nil || fr.Digest != manifests.FromBytes([]byte(sampleTree["config.json"])) {
				t.Fatalf("Add file = %+v, %v", fr, err)
			}
		})
	}
}

// countProgress sums what it is told.
type countProgress struct {
	total, done atomic.Int64
	starts      atomic.Int32
	dones       atomic.Int32
}

func (c *countProgress) Start(_ string, total int64) { c.starts.Add(1); c.total.Store(total) }
func (c *countProgress) Add(n int64)                 { c.done.Add(n) }
func (c *countProgress) Done()                       { c.dones.Add(1) }

func TestHashReportsProgress(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, sampleTree, keys(sampleTree))
	p := &countProgress{}
	res, err := (&Hasher{Progress: p}).Add(context.Background(), NewFile(t.TempDir()), dir)
	if err != nil {
		t.Fatal(err)
	}
	if p.starts.Load() != 1 || p.dones.Load() != 1 || p.total.Load() != res.Size || p.done.Load() != res.Size {
		t.Errorf("progress: starts %d dones %d total %d done %d, want total=done=%d",
			p.starts.Load(), p.dones.Load(), p.total.Load(), p.done.Load(), res.Size)
	}
}

// TestReadDirStat: the names and lstat readDirStat gives a directory of
// more entries than one goroutine stats (so several do) are those
// fs.ReadDir gives through the same root, in the same order: files,
// directories, a symlink to each and a dangling one, a named pipe.
func TestReadDirStat(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	dir := t.TempDir()
	for i := range 3*statChunk + 7 {
		name := filepath.Join(dir, fmt.Sprintf("f-%04d", (i*7919)%10000))
		if err := os.WriteFile(name, bytes.Repeat([]byte{'x'}, i), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"sub", "b-dir"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, target := range map[string]string{"l-file": "f-0000", "l-dir": "sub", "l-gone": "nowhere"} {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe"), 0o644); err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	want, err := fs.ReadDir(root.FS(), ".")
	if err != nil {
		t.Fatal(err)
	}
	names, infos, err := readDirStat(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != len(want) || len(infos) != len(want) {
		t.Fatalf("%d names, %d stats; fs.ReadDir lists %d", len(names), len(infos), len(want))
	}
	for i, de := range want {
		wi, err := de.Info()
		if err != nil {
			t.Fatal(err)
		}
		gi := infos[i].fi
		if names[i] != de.Name() || infos[i].err != nil || gi.Name() != wi.Name() || gi.Size() != wi.Size() || gi.Mode() != wi.Mode() || !gi.ModTime().Equal(wi.ModTime()) || !os.SameFile(gi, wi) {
			t.Errorf("entry %d: %q %v (err %v); fs.ReadDir: %q %v", i, names[i], gi, infos[i].err, de.Name(), wi)
		}
	}
}

// TestOpenRegular: a regular file opens; a named pipe nobody writes to
// and a directory are refused at once, each with an error that is
// ErrNotRegular and names it; a missing file's error is not.
func TestOpenRegular(t *testing.T) {
	dir := t.TempDir()
	file, pipe := filepath.Join(dir, "f"), filepath.Join(dir, "p")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(pipe, 0o644); err != nil {
		t.Fatal(err)
	}
	f, fi, err := OpenRegular(file)
	if err != nil || fi.Size() != 1 {
		t.Fatalf("a regular file: %v, %v", fi, err)
	}
	f.Close()
	for _, p := range []string{pipe, dir} {
		f, _, err := OpenRegular(p)
		if err == nil {
			f.Close()
			t.Fatalf("%s opened", p)
		}
		if !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: %v; want an error that is ErrNotRegular and names it", p, err)
		}
	}
	if _, _, err := OpenRegular(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrNotRegular) {
		t.Errorf("a missing file: %v", err)
	}
}

// TestWalkConcurrent: a tree of many subdirectories, walked by several
// goroutines, lists its files in the order of their paths' components,
// as filepath.WalkDir does; with two named pipes in different
// subdirectories, the error names the one a walk in order meets first,
// every time.
func TestWalkConcurrent(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	dir := t.TempDir()
	var order []string
	for d := range 24 {
		for f := range 5 {
			p := fmt.Sprintf("d%02d/a/b/c/sub%d/f%d", d, f%2, f) // deep: siblings share a parent whose path has spare capacity
			order = append(order, p)
		}
	}
	tree := map[string]string{}
	for _, p := range order {
		tree[p] = p
	}
	writeTree(t, dir, tree, order)
	var want []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			want = append(want, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		fi, files, err := checkInput(dir)
		if err != nil || !fi.IsDir() {
			t.Fatal(err)
		}
		var got []string
		for _, f := range files {
			got = append(got, f.rel)
			if f.abs != filepath.Join(dir, filepath.FromSlash(f.rel)) {
				t.Fatalf("%s at %s", f.rel, f.abs)
			}
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("walked:\n%v\nwant:\n%v", got, want)
		}
	}
	for _, p := range []string{"d07/a/b/c/sub1/pipe", "d19/a/b/c/sub0/pipe"} {
		if err := syscall.Mkfifo(filepath.Join(dir, filepath.FromSlash(p)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for range 10 {
		_, _, err := checkInput(dir)
		if err == nil || !strings.Contains(err.Error(), filepath.Join("d07", "a", "b", "c", "sub1", "pipe")) {
			t.Fatalf("want the error of d07/a/b/c/sub1/pipe, got %v", err)
		}
	}
}
