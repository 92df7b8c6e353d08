package register

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/modelgit/modelgit/gitops/repo"
	"github.com/modelgit/modelgit/gitops/store"
	"github.com/modelgit/modelgit/manifests"
)

// checkInputs checks every input of a register before anything is read
// whole, hashed or stored, so that a bad one costs nothing and leaves
// nothing behind (a /dev/zero as --pipeline used to be refused only after
// the weights were stored):
//
//   - an artifact or --data is a regular file or a directory whose every
//     file is regular (no named pipe, device or socket, at any depth);
//   - a metadata file (--metrics, --params, --schema, --config) is a
//     regular file of at most manifests.MaxMetadataFileSize bytes, opened
//     without blocking so a named pipe cannot hang register in open(2);
//   - no two artifacts have the same file name, which pull would write to
//     one path.
//
// Nothing here reads a file's content.
func checkInputs(h *store.Hasher, opts RegisterOptions, artifacts []input, others ...input) error {
	for _, in := range append(append([]input(nil), artifacts...), others...) {
		if err := checkInput(h, opts, in); err != nil {
			return err
		}
	}
	return sameNames(artifacts)
}

func checkInput(h *store.Hasher, opts RegisterOptions, in input) error {
	if in.path == "" {
		return nil
	}
	if _, err := artifactName(in.path); err != nil {
		return fmt.Errorf("%s %q: %w", in.flag, in.path, err)
	}
	fi, err := os.Stat(in.path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("%s %q: no such file or directory", in.flag, in.path)
	case err != nil:
		return fmt.Errorf("%s %q: %w", in.flag, in.path, err)
	case in.fileOnly && fi.IsDir():
		return fmt.Errorf("%s %q: is a directory, want a file", in.flag, in.path)
	case in.fileOnly:
		f, fi, err := store.OpenRegular(in.path)
		if err != nil {
			return fmt.Errorf("%s %q: %w", in.flag, in.path, err)
		}
		f.Close()
		if fi.Size() > manifests.MaxMetadataFileSize {
			return fmt.Errorf("%s: %w", in.flag, tooLarge(in.path, fi.Size()))
		}
		return nil
	}
	if _, err := h.Check(in.path); err != nil {
		// Worded as the hash or store that would have failed.
		verb := "adding"
		if in.kind == "" || opts.DryRun {
			verb = "hashing"
		}
		return fmt.Errorf("registering %q: %s: %s %q: %w", opts.Model, in.flag, verb, in.path, err)
	}
	return nil
}

// sameNames refuses two artifacts with the same file name (compared
// without case, as a case-insensitive file system would): pull writes
// every artifact of a version under its name in one directory, so one
// would overwrite the other.
func sameNames(artifacts []input) error {
	seen := map[string]input{}
	for _, in := range artifacts {
		if in.path == "" {
			continue
		}
		name, _ := artifactName(in.path) // checked by checkInput
		key := strings.ToLower(name)
		if prev, ok := seen[key]; ok {
			return fmt.Errorf("%s %q and %s %q have the same file name %q: pull writes a version's artifacts side by side under their names, so one would overwrite the other; rename one of them", prev.flag, prev.path, in.flag, in.path, name)
		}
		seen[key] = in
	}
	return nil
}

// artifactName is the name a version manifest records for the artifact
// (or data set) at p, and pull writes it under: the base name of the
// absolute path, so "." and "model/.." name the directory they are, not
// "." or "..", which no manifest can hold. The root directory has no name
// and is refused.
func artifactName(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", fmt.Errorf("naming the artifact: %w", err)
	}
	name := filepath.Base(abs)
	if name == "." || name == ".." || name == string(filepath.Separator) || name == filepath.VolumeName(abs)+string(filepath.Separator) || strings.ContainsAny(name, `/\`) {
		return "", fmt.Errorf("is the root directory, which has no name to record in the version manifest or pull under; give the path of a directory or file inside it")
	}
	return name, nil
}

// openMetadata opens a metadata file (metrics, params, feature schema,
// inference config) without blocking, refusing what is not a regular file
// and a file larger than manifests.MaxMetadataFileSize before reading it.
func openMetadata(path string) (*os.File, error) {
	f, fi, err := store.OpenRegular(path)
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w", path, err)
	}
	if fi.Size() > manifests.MaxMetadataFileSize {
		f.Close()
		return nil, tooLarge(path, fi.Size())
	}
	return f, nil
}

func tooLarge(path string, size int64) error {
	return fmt.Errorf("%q: the file is larger than %d bytes (1 MiB, it has %d or more), the limit for metadata files (metrics, params, feature schema, inference config): they are small by nature; is this the right file?", path, manifests.MaxMetadataFileSize, size)
}

// lockWait tells the user that register waits for another git or
// modelgit process (several registers at once take turns on the
// repository's locks, for up to 10 s each).
func (r *repository) lockWait(msg string) { r.Log().Warningf("%s", msg) }

// staleFiles returns the files of a version's commit at head whose work-tree
// file or index entry a crash or a full disk after the branch moved left
// behind: the version manifest (immutable) when its file or index entry
// differs from the commit, and the model file, which a user may be
// editing, only when it is missing from the work tree or its file matches
// the commit but its index entry does not. What repairWorktree restores.
func (r *repository) staleFiles(head plumbing.Hash, versionPath, modelPath string) []repo.File {
	var out []repo.File
	for _, p := range []string{versionPath, modelPath} {
		want, err := r.Repo().ReadFile(head, p)
		if err != nil {
			continue // not committed at head
		}
		cur, err := r.Repo().ReadWorktreeFile(p) // through os.Root: no symlink out
		same := err == nil && string(cur) == string(want)
		switch {
		case same && r.indexHas(p, want):
			continue
		case p == modelPath && err == nil && !same:
			continue // edited by the user: theirs
		}
		out = append(out, repo.File{Path: p, Content: want})
	}
	return out
}
