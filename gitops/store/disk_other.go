//go:build !linux

package store

import (
	"errors"
	"fmt"
	"os"

	"github.com/modelgit/modelgit/gitops/internal/durable"
)

// createBlobTemp creates a temp file for a blob.
func createBlobTemp(dir string) (*durable.Temp, bool, error) {
	t, err := durable.CreateTemp(dir, tempPrefix, 0)
	return t, false, err
}

// diskWriter writes a blob's buffers in order; the final fsync does the
// rest.
type diskWriter struct{ f *os.File }

func newDiskWriter(f *os.File, direct bool) *diskWriter { return &diskWriter{f: f} }

// write writes b after what was written so far; its errors name the file.
func (w *diskWriter) write(b []byte) error {
	if _, err := w.f.Write(b); err != nil {
		return fmt.Errorf("writing %q: %w", w.f.Name(), err)
	}
	return nil
}

func alignedBuf(n int) []byte { return make([]byte, n) }

// startWriteback is a no-op where sync_file_range does not exist.
func startWriteback(*os.File, int64, int64) {}

// errCrossDevice is never returned here: nothing is cloned.
var errCrossDevice = errors.New("cross-device clone")

// cloneFrom clones on Linux only.
func cloneFrom(dst, src *os.File) error { return errors.ErrUnsupported }

// cloneFile clones on Linux only.
func cloneFile(dst *os.File, src string) bool { return false }
