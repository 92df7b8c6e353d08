package check

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/manifests"
)

// checkCommit checks one commit as Verify and Check do: when it touches a
// governed directory (governed is then true), that it is signed by a
// signer judge trusts (a forge's merge that adds nothing of its own needs
// no signature) and that it modifies or deletes no registered version.
// The caller picks the judge: Verify the signers in force at each
// commit's parent, Check those in force at the base branch, never those
// of the pull request being judged.
func (r *repository) checkCommit(c *object.Commit, judge signatureJudge) (governed bool, findings []Finding, err error) {
	touched, err := r.touchesGoverned(c)
	if err != nil || touched == "" {
		return false, nil, err
	}
	s, err := judge(c)
	if err != nil {
		return true, nil, err
	}
	if !s.Trusted {
		// A forge's clean merge brings nothing of its own, whether it is
		// unsigned or signed with the forge's key (GitHub's web-flow key,
		// the fake's merge key), which allowed_signers need not trust.
		neutral, err := mergeAddsNothing(c)
		if err != nil {
			return true, nil, err
		}
		if neutral {
			s.Trusted = true
		}
	}
	if !s.Trusted {
		reason := s.Reason
		if reason == "" {
			reason = "not signed by an allowed signer"
		}
		findings = append(findings, Finding{Commit: c.Hash.String(), Check: "signature", Message: fmt.Sprintf("%s (%s)", reason, gitops.FirstLine(c.Message))})
	}
	fs, err := r.immutability(c)
	if err != nil {
		return true, nil, err
	}
	return true, append(findings, fs...), nil
}

// walk visits every commit reachable from tip once.
func (r *repository) walk(tip plumbing.Hash, fn func(*object.Commit) error) error {
	c, err := r.Repo().CommitObject(tip)
	if err != nil {
		return fmt.Errorf("reading commit %s: %w", tip, err)
	}
	it := object.NewCommitPreorderIter(c, nil, nil)
	defer it.Close()
	return it.ForEach(fn)
}

// subtree returns the hash of a top-level directory in c's tree, or zero.
func subtree(c *object.Commit, dir string) (plumbing.Hash, error) {
	tree, err := c.Tree()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	e, err := tree.FindEntry(dir)
	if errors.Is(err, object.ErrEntryNotFound) || errors.Is(err, object.ErrDirectoryNotFound) {
		return plumbing.ZeroHash, nil
	}
	if err != nil {
		return plumbing.ZeroHash, err
	}
	return e.Hash, nil
}

// touchesGoverned returns the first governed directory c changes relative
// to its first parent, or "".
func (r *repository) touchesGoverned(c *object.Commit) (string, error) {
	var parent *object.Commit
	if c.NumParents() > 0 {
		p, err := c.Parent(0)
		if err != nil {
			return "", err
		}
		parent = p
	}
	for _, dir := range manifests.GovernedDirs {
		h, err := subtree(c, dir)
		if err != nil {
			return "", err
		}
		var ph plumbing.Hash
		if parent != nil {
			if ph, err = subtree(parent, dir); err != nil {
				return "", err
			}
		}
		if h != ph {
			return dir, nil
		}
	}
	return "", nil
}

// immutability reports registered version manifests that c modifies or
// deletes relative to its first parent.
func (r *repository) immutability(c *object.Commit) ([]Finding, error) {
	if c.NumParents() == 0 {
		return nil, nil
	}
	parent, err := c.Parent(0)
	if err != nil {
		return nil, err
	}
	ph, err := subtree(parent, manifests.ModelsDir)
	if err != nil || ph.IsZero() {
		return nil, err
	}
	if h, err := subtree(c, manifests.ModelsDir); err != nil || h == ph {
		return nil, err
	}
	before, err := versionBlobs(parent)
	if err != nil {
		return nil, err
	}
	after, err := versionBlobs(c)
	if err != nil {
		return nil, err
	}
	var out []Finding
	for p, h := range before {
		switch a, ok := after[p]; {
		case !ok:
			out = append(out, Finding{Commit: c.Hash.String(), Path: p, Check: "immutable", Message: "deletes a registered version (versions are append-only; deprecate instead)"})
		case a != h:
			out = append(out, Finding{Commit: c.Hash.String(), Path: p, Check: "immutable", Message: "modifies a registered version (versions are immutable; register a new one)"})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// versionBlobs maps models/*/versions/*.yaml to blob hashes in c.
func versionBlobs(c *object.Commit) (map[string]plumbing.Hash, error) {
	tree, err := c.Tree()
	if err != nil {
		return nil, err
	}
	models, err := tree.Tree(manifests.ModelsDir)
	if errors.Is(err, object.ErrDirectoryNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := map[string]plumbing.Hash{}
	for _, m := range models.Entries {
		if m.Mode.IsFile() {
			continue
		}
		vt, err := models.Tree(m.Name + "/versions")
		if err != nil {
			continue
		}
		for _, v := range vt.Entries {
			if v.Mode.IsFile() && strings.HasSuffix(v.Name, ".yaml") {
				out[manifests.VersionsDir(m.Name)+"/"+v.Name] = v.Hash
			}
		}
	}
	return out, nil
}

// committedSymlinks reports the symbolic links c adds (or changes) in a
// governed path (manifests.NoSymlinkPaths) relative to its first parent:
// a link there could lead a command out of the clone, or make one
// manifest stand for another. Equal subtrees are skipped by hash.
func (r *repository) committedSymlinks(c *object.Commit) ([]Finding, error) {
	tree, err := c.Tree()
	if err != nil {
		return nil, err
	}
	var ptree *object.Tree
	if c.NumParents() > 0 {
		p, err := c.Parent(0)
		if err != nil {
			return nil, err
		}
		if ptree, err = p.Tree(); err != nil {
			return nil, err
		}
	}
	var out []Finding
	var walk func(p string, e object.TreeEntry, pe *object.TreeEntry) error
	walk = func(p string, e object.TreeEntry, pe *object.TreeEntry) error {
		if pe != nil && pe.Hash == e.Hash && pe.Mode == e.Mode {
			return nil
		}
		switch e.Mode {
		case filemode.Symlink:
			target, _ := r.Repo().ReadBlob(e.Hash)
			out = append(out, Finding{Commit: c.Hash.String(), Path: p, Check: "symlink", Message: fmt.Sprintf("a symbolic link (to %q) in a governed path: modelgit refuses to follow it; commit the file or directory itself", string(target))})
		case filemode.Dir:
			t, err := r.Repo().TreeObject(e.Hash)
			if err != nil {
				return err
			}
			var pt *object.Tree
			if pe != nil && pe.Mode == filemode.Dir {
				if pt, err = r.Repo().TreeObject(pe.Hash); err != nil {
					return err
				}
			}
			for _, ce := range t.Entries {
				var pce *object.TreeEntry
				if pt != nil {
					if x, err := pt.FindEntry(ce.Name); err == nil {
						pce = x
					}
				}
				if err := walk(p+"/"+ce.Name, ce, pce); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for _, name := range manifests.NoSymlinkPaths {
		e, err := tree.FindEntry(name)
		if err != nil {
			continue
		}
		var pe *object.TreeEntry
		if ptree != nil {
			if x, err := ptree.FindEntry(name); err == nil {
				pe = x
			}
		}
		if err := walk(name, *e, pe); err != nil {
			return nil, err
		}
	}
	return out, nil
}
