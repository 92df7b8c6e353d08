package store

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/modelgit/modelgit/manifests"
)

// Memory is an in-memory Store for tests ("mem://").
type Memory struct {
	mu    sync.RWMutex
	blobs map[manifests.Digest][]byte
}

var (
	_ Store    = (*Memory)(nil)
	_ Ingester = (*Memory)(nil)
)

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory { return &Memory{blobs: map[manifests.Digest][]byte{}} }

// URL returns "mem://".
func (m *Memory) URL() string { return "mem://" }

// Len returns the number of stored blobs.
func (m *Memory) Len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.blobs)
}

func (m *Memory) get(d manifests.Digest) ([]byte, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	b, ok := m.blobs[d]
	if !ok {
		return nil, fmt.Errorf("%w: %s in mem://", ErrNotFound, d)
	}
	return b, nil
}

// Stat returns the size of blob d.
func (m *Memory) Stat(ctx context.Context, d manifests.Digest) (int64, error) {
	b, err := m.get(d)
	return int64(len(b)), err
}

// Open returns blob d; the reader verifies digest and size at EOF.
func (m *Memory) Open(ctx context.Context, d manifests.Digest) (io.ReadCloser, error) {
	b, err := m.get(d)
	if err != nil {
		return nil, err
	}
	return io.NopCloser(newVerifyReader(bytes.NewReader(b), d, int64(len(b)))), nil
}

// Put stores r under d after verifying it, unless d is already stored.
func (m *Memory) Put(ctx context.Context, d manifests.Digest, size int64, r io.Reader) error {
	if _, err := m.get(d); err == nil {
		return nil
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("storing blob %s: reading: %w", d, err)
	}
	if got := manifests.FromBytes(b); got != d || (size >= 0 && int64(len(b)) != size) {
		return fmt.Errorf("storing blob %s: %w", d, &DigestMismatchError{Want: d, Got: got, WantSize: size, GotSize: int64(len(b))})
	}
	m.set(d, b)
	return nil
}

// Ingest stores r and returns its digest and size.
func (m *Memory) Ingest(ctx context.Context, r io.Reader) (manifests.Digest, int64, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return manifests.Digest{}, 0, fmt.Errorf("ingesting blob: reading: %w", err)
	}
	d := manifests.FromBytes(b)
	m.set(d, b)
	return d, int64(len(b)), nil
}

func (m *Memory) set(d manifests.Digest, b []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.blobs[d]; !ok {
		m.blobs[d] = b
	}
}
