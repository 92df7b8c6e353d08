package repo

import (
	"fmt"
	"io"

	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// CommitObject reads and decodes commit h.
func (r *Repo) CommitObject(h plumbing.Hash) (*object.Commit, error) {
	return r.git.CommitObject(h)
}

// TreeObject reads and decodes tree h.
func (r *Repo) TreeObject(h plumbing.Hash) (*object.Tree, error) {
	return r.git.TreeObject(h)
}

// RemoteURL returns the first URL of remote name.
func (r *Repo) RemoteURL(name string) (string, error) {
	rm, err := r.git.Remote(name)
	if err != nil {
		return "", err
	}
	if len(rm.Config().URLs) == 0 {
		return "", nil
	}
	return rm.Config().URLs[0], nil
}

// HasRemote reports whether remote name is configured.
func (r *Repo) HasRemote(name string) bool {
	_, err := r.git.Remote(name)
	return err == nil
}

// AddRemote configures remote name with url.
func (r *Repo) AddRemote(name, url string) error {
	_, err := r.git.CreateRemote(&config.RemoteConfig{Name: name, URLs: []string{url}})
	return err
}

// IndexHas reports whether the index records path with exactly content.
func (r *Repo) IndexHas(path string, content []byte) bool {
	idx, err := r.git.Storer.Index()
	if err != nil {
		return false
	}
	e, err := idx.Entry(path)
	return err == nil && e.Hash == plumbing.ComputeHash(plumbing.BlobObject, content)
}

// ReadBlob returns the content of blob h.
func (r *Repo) ReadBlob(h plumbing.Hash) ([]byte, error) {
	b, err := r.git.BlobObject(h)
	if err != nil {
		return nil, fmt.Errorf("reading blob %s: %w", h, err)
	}
	rd, err := b.Reader()
	if err != nil {
		return nil, fmt.Errorf("reading blob %s: %w", h, err)
	}
	defer rd.Close()
	data, err := io.ReadAll(rd)
	if err != nil {
		return nil, fmt.Errorf("reading blob %s: %w", h, err)
	}
	return data, nil
}
