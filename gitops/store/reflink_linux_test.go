//go:build linux

package store

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/modelgit/modelgit/manifests"
)

// xfsMount mounts a fresh 320 MiB XFS image (reflinks on, as mkfs.xfs
// makes them by default) on a loop device for the test and returns the
// mount point. Mounting needs root and loop devices, as CI's machine has;
// elsewhere the test is skipped, with the reason.
func xfsMount(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting an XFS image on a loop device needs root (CI runs as root)")
	}
	if _, err := os.Stat("/dev/loop-control"); err != nil {
		t.Skip("no loop devices here (/dev/loop-control: a container without them); CI's machine has them")
	}
	mkfs, err := exec.LookPath("mkfs.xfs")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/mkfs.xfs"); serr != nil {
			t.Fatal("mkfs.xfs is missing: apt-get install -y xfsprogs")
		}
		mkfs = "/usr/sbin/mkfs.xfs"
	}
	img := filepath.Join(t.TempDir(), "xfs.img")
	if err := os.WriteFile(img, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, 320<<20); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(mkfs, "-q", "-f", img).CombinedOutput(); err != nil {
		t.Fatalf("mkfs.xfs: %v\n%s", err, out)
	}
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-o", "loop", img, mnt).CombinedOutput(); err != nil {
		t.Fatalf("mounting an XFS image (needs loop devices): %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v\n%s", mnt, err, out)
		}
	})
	return mnt
}

func freeBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return int64(st.Bavail) * st.Bsize
}

// TestIngestReflink: on a file system with reflinks, a file beside the
// store is cloned, not copied: the blob takes no space of its own, holds
// the file's bytes, and keeps them when the file is overwritten later.
// From another file system it is copied as usual.
func TestIngestReflink(t *testing.T) {
	mnt := xfsMount(t)
	ctx := context.Background()
	const size = 64<<20 + 123
	data := patterned(size)
	src := filepath.Join(mnt, "model.safetensors")
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	want := manifests.FromBytes(data)

	t.Run("same file system", func(t *testing.T) {
		st := NewFile(filepath.Join(mnt, "store"))
		before := freeBytes(t, mnt)
		res, err := (&Hasher{}).Add(ctx, st, src)
		if err != nil {
			t.Fatal(err)
		}
		if res.Digest != want {
			t.Fatalf("digest %s, want %s", res.Digest, want)
		}
		if used := before - freeBytes(t, mnt); used > 4<<20 {
			t.Errorf("storing a %d-byte file used %d bytes: copied, not cloned", size, used)
		}
		// Copy on write: overwriting the source leaves the blob whole.
		if err := writeAt(src, bytes.Repeat([]byte{0xff}, 1<<20), 0); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(st.Path(want))
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("blob after the source was overwritten: %d bytes, equal %v, %v", len(got), bytes.Equal(got, data), err)
		}
		if err := os.WriteFile(src, data, 0o644); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("restore", func(t *testing.T) {
		st := NewFile(filepath.Join(mnt, "store3"))
		if _, err := (&Hasher{}).Add(ctx, st, src); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(mnt, "out", "model.safetensors")
		before := freeBytes(t, mnt)
		if err := Restore(ctx, st, want, "", out); err != nil {
			t.Fatal(err)
		}
		if used := before - freeBytes(t, mnt); used > 4<<20 {
			t.Errorf("restoring a %d-byte blob used %d bytes: copied, not cloned", size, used)
		}
		if got, err := os.ReadFile(out); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("restored file: %d bytes, equal %v, %v", len(got), bytes.Equal(got, data), err)
		}
		// A blob corrupted in the store is caught, clone or not.
		blob := st.Path(want)
		if err := os.Chmod(blob, 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := os.OpenFile(blob, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteAt([]byte{0}, size/2)
		f.Close()
		bad := filepath.Join(mnt, "out", "bad.safetensors")
		var mismatch *DigestMismatchError
		if err := Restore(ctx, st, want, "", bad); !errors.As(err, &mismatch) {
			t.Fatalf("Restore of a corrupt blob = %v, want a digest mismatch", err)
		}
		if _, err := os.Stat(bad); !os.IsNotExist(err) {
			t.Errorf("%s exists after a failed restore (%v)", bad, err)
		}
	})

	// The clone is hashed, not the source: a write to the source after
	// the clone changes nothing stored, and the name is the clone's hash.
	t.Run("written while hashed", func(t *testing.T) {
		st := NewFile(filepath.Join(mnt, "store2"))
		p := &resizeProgress{path: src, after: 1 << 20, resize: func(p string) error { return writeAt(p, []byte("changed"), 3<<20) }}
		writeOld(t, src, data)
		res, err := (&Hasher{Progress: p}).Add(ctx, st, src)
		if e := p.err.Load(); e != nil {
			t.Fatal(*e)
		}
		if err != nil {
			t.Fatalf("Add of a file written while its clone is hashed: %v", err)
		}
		got, err := os.ReadFile(st.Path(res.Digest))
		if err != nil {
			t.Fatal(err)
		}
		if res.Digest != want || manifests.FromBytes(got) != res.Digest {
			t.Fatalf("digest %s (want %s, the bytes at the clone); the blob's bytes hash to %s", res.Digest, want, manifests.FromBytes(got))
		}
		if err := os.RemoveAll(filepath.Join(mnt, "store2")); err != nil { // its extents would fill the image
			t.Fatal(err)
		}
		writeOld(t, src, data)
	})

	t.Run("other file system", func(t *testing.T) {
		st := NewFile(t.TempDir())
		res, err := (&Hasher{}).Add(ctx, st, src)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(st.Path(res.Digest))
		if res.Digest != want || err != nil || !bytes.Equal(got, data) {
			t.Fatalf("copy across file systems: digest %s (want %s), %d bytes, %v", res.Digest, want, len(got), err)
		}
	})
}
