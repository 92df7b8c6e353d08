//go:build !unix

package repo

import (
	"os"
)

// mappedFile is a file read into memory (mapped, on unix).
type mappedFile struct{ data []byte }

func mapFile(name string) (*mappedFile, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	return &mappedFile{data: data}, nil
}

func (m *mappedFile) Close() error { return nil }
