package register

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/render"
	"github.com/modelgit/modelgit/gitops/repo"
	"github.com/modelgit/modelgit/gitops/signing"
	"github.com/modelgit/modelgit/manifests"
	"github.com/modelgit/modelgit/templates"
)

// InitOptions configure Init.
type InitOptions struct {
	// AllowedSigner is a line for policies/allowed_signers, e.g.
	// `alice@example.com namespaces="git" ssh-ed25519 AAAA…`: the first
	// signer trusted to change the repository.
	AllowedSigner string
	// AllowedKey is an armored OpenPGP public key for
	// policies/allowed_signers.asc.
	AllowedKey []byte
	// Forge, when set, is written into modelgit.yaml: where promotion pull
	// requests are opened.
	Forge *manifests.Forge
	// Identity and Signer make the initial commit; without a Signer the
	// files are written but not committed.
	Identity object.Signature
	Signer   signing.Signer
}

// InitResult says what Init did.
type InitResult struct {
	Root    string
	Created bool // a new Git repository was created
	Written []string
	Skipped []string // files that existed and were left alone
	Commit  plumbing.Hash
	// NoClusters, when not empty, says why clusters/ was not laid out (no
	// clone URL for Flux yet) and what to do: print it as a warning.
	NoClusters string
}

// Init lays out a modelgit GitOps repository in dir: modelgit.yaml with
// the environments dev, staging and production, models/, environments/,
// policies/allowed_signers and the GitHub workflow. It creates the Git
// repository when dir is not in one, never overwrites a file, and commits
// what it wrote when given a Signer. Running it again converges.
func Init(ctx context.Context, dir string, opts InitOptions) (*InitResult, error) {
	res := &InitResult{}
	rp, err := repo.Open(dir)
	if errors.Is(err, repo.ErrNotRepository) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("creating %q: %w", dir, err)
		}
		rp, err = repo.Init(dir)
		res.Created = true
	}
	if err != nil {
		return nil, err
	}
	res.Root = rp.Root
	var files []repo.File
	err = fs.WalkDir(templates.Init(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		content, err := fs.ReadFile(templates.Init(), p)
		if err != nil {
			return err
		}
		switch p {
		case manifests.ConfigFile:
			if f := opts.Forge; f != nil {
				content = append(content, []byte(fmt.Sprintf("# Where promotion pull requests are opened.\nforge:\n  type: %s\n  repository: %s\n", f.Type, f.Repository))...)
				if f.URL != "" {
					content = append(content, []byte(fmt.Sprintf("  url: %s\n", f.URL))...)
				}
				if _, err := manifests.ParseConfig(manifests.ConfigFile, content); err != nil {
					return fmt.Errorf("--forge: %w", err)
				}
			}
		case manifests.AllowedSignersFile:
			if opts.AllowedSigner != "" {
				content = append(content, []byte(opts.AllowedSigner+"\n")...)
			}
		}
		files = append(files, repo.File{Path: p, Content: content})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the init templates: %w", err)
	}
	if len(opts.AllowedKey) > 0 {
		files = append(files, repo.File{Path: manifests.AllowedKeysFile, Content: opts.AllowedKey})
	}
	// With a clone URL Flux can follow (the forge, or origin), lay out
	// clusters/<cluster>/ too, so Flux can be bootstrapped on the clusters
	// before the first promotion.
	flux, noClusters, err := initialFluxFiles(rp, files)
	if err != nil {
		return nil, err
	}
	res.NoClusters = noClusters
	files = append(files, flux...)
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	var todo []repo.File
	for _, f := range files {
		// Through the work tree's os.Root, refusing symbolic links in
		// governed paths: init never reads or writes through a link.
		cur, err := rp.ReadWorktreeFile(f.Path)
		switch {
		case err == nil && bytes.Equal(cur, f.Content):
			res.Skipped = append(res.Skipped, f.Path)
		case err == nil:
			res.Skipped = append(res.Skipped, f.Path)
		case errors.Is(err, os.ErrNotExist):
			todo = append(todo, f)
		default:
			return nil, fmt.Errorf("initializing %q: %w", rp.Root, err)
		}
	}
	if len(todo) == 0 {
		return res, nil
	}
	for _, f := range todo {
		res.Written = append(res.Written, f.Path)
	}
	if opts.Signer == nil {
		for _, f := range todo {
			if err := rp.WriteWorktreeFile(f.Path, f.Content, 0o644); err != nil {
				return nil, err
			}
		}
		return res, nil
	}
	head, _, err := rp.Head()
	if err != nil {
		return nil, err
	}
	sig := opts.Identity
	res.Commit, err = rp.Commit(ctx, repo.CommitRequest{
		Files:          todo,
		Message:        repo.FormatMessage("Initialize modelgit repository", "", []repo.Trailer{{Key: "Initialized-by", Value: gitops.FormatIdentity(sig)}}),
		Author:         sig,
		Committer:      sig,
		Signer:         opts.Signer,
		ExpectedParent: head,
	})
	return res, err
}

// initialFluxFiles renders the clusters of the configuration Init writes
// (or finds), when a repository URL for Flux is known; otherwise it says
// why it rendered nothing.
func initialFluxFiles(rp *repo.Repo, files []repo.File) (out []repo.File, why string, err error) {
	var cfgData []byte
	if cur, err := rp.ReadWorktreeFile(manifests.ConfigFile); err == nil {
		cfgData = cur
	} else {
		for _, f := range files {
			if f.Path == manifests.ConfigFile {
				cfgData = f.Content
			}
		}
	}
	cfg, err := manifests.ParseConfig(manifests.ConfigFile, cfgData)
	if err != nil {
		return nil, "", err
	}
	url := gitops.FluxURL(cfg, rp)
	if url == "" {
		if len(cfg.Clusters) == 0 {
			return nil, "", nil
		}
		return nil, fmt.Sprintf("%s/ was not laid out: Flux needs the URL to clone this repository from, and there is no forge.repository in %s and no git remote origin; %s, then run modelgit render (render and promote fail until then)", manifests.ClustersDir, manifests.ConfigFile, gitops.FluxURLHelp), nil
	}
	rendered, err := render.All(render.Input{Config: cfg, RepoURL: url, Models: map[string]*manifests.Model{}, Versions: map[string]*manifests.ModelVersion{}})
	if err != nil {
		return nil, "", fmt.Errorf("rendering the clusters of %s: %w", manifests.ConfigFile, err)
	}
	for _, f := range rendered {
		out = append(out, repo.File{Path: f.Path, Content: f.Content})
	}
	return out, "", nil
}
