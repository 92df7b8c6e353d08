package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/modelgit/modelgit/gitops/internal/durable"
	"github.com/modelgit/modelgit/gitops/store"
)

// RegistrationsFile is where which keeps, under the git directory, the
// commit that registered each version manifest it looked up: a commit
// that has the manifest and whose first parent has not. That is a fact
// about two trees, true whatever branch is asked about; a caller uses an
// entry only when its commit is on the first-parent line it asks about
// (manifests are never removed, so the registration on that line is
// then that commit). A missing or damaged file is empty: which searches
// the history again and writes it anew.
const RegistrationsFile = "modelgit/registrations"

// maxRegistrationsFile bounds what is read of the file.
const maxRegistrationsFile = 16 << 20

// registrationsRecord is the file's JSON.
type registrationsRecord struct {
	// Added maps a manifest's path to its registration commit.
	Added map[string]string `json:"added"`
}

func (r *Ledger) registrationsPath(ctx context.Context) (string, error) {
	dir, err := r.gitCommonDir(ctx)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, filepath.FromSlash(RegistrationsFile)), nil
}

// KnownRegistrations reads the registrations which found before, by
// manifest path; empty when there are none or the file does not read.
func (r *Ledger) KnownRegistrations(ctx context.Context) map[string]plumbing.Hash {
	out := map[string]plumbing.Hash{}
	file, err := r.registrationsPath(ctx)
	if err != nil {
		return out
	}
	rec, err := readRegistrations(file)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			r.Log().Warningf("%s does not read (%v); which looks the registrations up again", file, err)
		}
		return out
	}
	for p, c := range rec.Added {
		if plumbing.IsHash(c) {
			out[p] = plumbing.NewHash(c)
		}
	}
	return out
}

// readRecord reads a file of .git/modelgit, refusing one larger than max
// bytes. It opens as store.OpenRegular does, so a named pipe does not
// block the open and the file checked is the file read; what is not a
// regular file is no record of ours (it is replaced when written), and
// the error is store.ErrNotRegular.
func readRecord(name string, max int64) ([]byte, error) {
	f, _, err := store.OpenRegular(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("larger than %d bytes", max)
	}
	return data, nil
}

func readRegistrations(file string) (*registrationsRecord, error) {
	data, err := readRecord(file, maxRegistrationsFile)
	if err != nil {
		return nil, err
	}
	var rec registrationsRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		return nil, err
	}
	return &rec, nil
}

// AddRegistrations records registrations found (manifest path →
// registration commit) beside those the file holds; one that cannot be
// written is only a warning: the next which searches again.
func (r *Ledger) AddRegistrations(ctx context.Context, found map[string]plumbing.Hash) {
	if len(found) == 0 {
		return
	}
	file, err := r.registrationsPath(ctx)
	if err != nil {
		r.Log().Warningf("cannot record the registrations found: %v", err)
		return
	}
	rec, err := readRegistrations(file)
	if err != nil || rec.Added == nil {
		rec = &registrationsRecord{Added: map[string]string{}}
	}
	for p, c := range found {
		rec.Added[p] = c.String()
	}
	b, err := json.Marshal(rec)
	if err == nil && len(b) > maxRegistrationsFile {
		// Keep only this run's: the file stays bounded.
		rec.Added = map[string]string{}
		for p, c := range found {
			rec.Added[p] = c.String()
		}
		b, err = json.Marshal(rec)
	}
	if err == nil {
		err = os.MkdirAll(filepath.Dir(file), 0o755)
	}
	if err == nil {
		err = durable.WriteFile(file, append(b, '\n'), 0o644, nil)
	}
	if err != nil {
		r.Log().Warningf("cannot record the registrations found in %s: %v", file, err)
	}
}
