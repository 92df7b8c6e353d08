//go:build !linux

package store

import (
	"context"
	"os"

	"github.com/modelgit/modelgit/manifests"
)

// mapMin is the smallest file mapped on Linux; nothing is mapped here.
const mapMin = 1 << 20

// ingestFile maps files on Linux only; elsewhere mapped is false and the
// caller reads the file through Ingest.
func (s *File) ingestFile(ctx context.Context, src *os.File, size int64, prog Progress) (d manifests.Digest, n int64, mapped bool, err error) {
	return manifests.Digest{}, 0, false, nil
}

// hashFile maps files on Linux only; elsewhere mapped is false and the
// caller reads the file.
func hashFile(ctx context.Context, src *os.File, size int64, prog Progress) (d manifests.Digest, mapped bool, err error) {
	return manifests.Digest{}, false, nil
}

// boostProcs leaves GOMAXPROCS alone where files are not mapped.
func boostProcs(workers int) (restore func()) { return func() {} }
