package register

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/render"
	"github.com/modelgit/modelgit/gitops/repo"
	"github.com/modelgit/modelgit/gitops/signing"
	"github.com/modelgit/modelgit/gitops/store"
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
	// Store, when set, is the artifact store written into modelgit.yaml
	// (oci://REGISTRY/REPO or file://DIR) instead of the default local to
	// the clone. An existing modelgit.yaml naming another store is an
	// error: changing stores is an edit plus `modelgit store copy`.
	Store string
	// ClusterStore, when set, is written as environments[].clusterStore
	// of every environment: where the clusters read a file:// store (a
	// volume holding its blobs/sha256/), so promotion can render a
	// storage URI they load. Only for a file:// store.
	ClusterStore string
	// FluxURL, when set, is written as flux.url: the URL the clusters'
	// Flux clones this repository from, for an origin Flux cannot clone
	// (a local path) or none yet. An existing modelgit.yaml naming
	// another is an error.
	FluxURL string
	// Identity and Signer make the initial commit; without a Signer the
	// files are written but not committed.
	Identity object.Signature
	Signer   signing.Signer
	// UseEnclosingRoot lays the repository out at the root of the Git
	// repository enclosing dir, when dir is below it (init run without a
	// directory, from a subdirectory), instead of refusing.
	UseEnclosingRoot bool
}

// InitResult says what Init did.
type InitResult struct {
	Root    string
	Created bool // a new Git repository was created
	Written []string
	Skipped []string // files that existed and were left alone
	// Committed are the files of the commit: those written, plus those an
	// earlier run wrote without committing (no key then), plus
	// policies/allowed_signers when the signer was added to it.
	Committed []string
	// Uncommitted are the files Init would have committed with a Signer.
	Uncommitted []string
	// SignerAdded is true when the signer's line (or OpenPGP key) was
	// added to an allowed-signers file that existed.
	SignerAdded bool
	// SignerNotAllowed, when not empty, is the line policies/allowed_signers
	// needs for the signer's commits to be trusted, which Init did not add
	// because the file committed at HEAD already trusts other signers:
	// adding oneself is a change for them to review.
	SignerNotAllowed string
	// Store is the store modelgit.yaml names (the default when it names
	// none); LocalStore is true when it is a directory inside the clone,
	// which no teammate, CI job or cluster can read.
	Store      string
	LocalStore bool
	Commit     plumbing.Hash
	// NoClusters, when not empty, says why clusters/ was not laid out (no
	// clone URL for Flux yet) and what to do: print it as a warning.
	NoClusters string
}

// ErrInsideRepository is wrapped by Init when the directory it is given is
// inside a Git repository but not its root.
var ErrInsideRepository = errors.New("inside another Git repository")

// Init lays out a modelgit GitOps repository in dir: modelgit.yaml with
// the environments dev, staging and production, models/, environments/,
// policies/allowed_signers and the GitHub workflow. It creates the Git
// repository when dir is not in one, never overwrites a file, and commits
// when given a Signer. A registry is the root of a Git repository: dir
// inside a repository but not its root is refused (ErrInsideRepository)
// unless opts.UseEnclosingRoot says to lay out at that root.
//
// Running it again converges: with a Signer it commits what an earlier
// run without one only wrote, and adds the signer to an allowed-signers
// file that trusts nobody yet.
func Init(ctx context.Context, dir string, opts InitOptions) (*InitResult, error) {
	res := &InitResult{}
	rp, err := openForInit(dir, opts, res)
	if err != nil {
		return nil, err
	}
	res.Root = rp.Root
	head, _, err := rp.Head()
	if err != nil {
		return nil, err
	}
	files, err := templateFiles(opts)
	if err != nil {
		return nil, err
	}
	if len(opts.AllowedKey) > 0 {
		files = append(files, repo.File{Path: manifests.AllowedKeysFile, Content: opts.AllowedKey})
	}
	if err := checkStore(rp, opts, res); err != nil {
		return nil, err
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
	write, commit, err := planInit(rp, head, files, opts, res)
	if err != nil {
		return nil, err
	}
	if opts.Signer == nil || len(commit) == 0 {
		for _, f := range commit {
			res.Uncommitted = append(res.Uncommitted, f.Path)
		}
		for _, f := range write {
			if err := rp.WriteWorktreeFile(f.Path, f.Content, 0o644); err != nil {
				return nil, err
			}
		}
		return res, nil
	}
	for _, f := range commit {
		res.Committed = append(res.Committed, f.Path)
	}
	sig := opts.Identity
	subject := "Initialize modelgit repository"
	if len(res.Written) == 0 {
		subject = "Complete the modelgit repository"
	}
	res.Commit, err = rp.Commit(ctx, repo.CommitRequest{
		Files:          commit,
		Message:        repo.FormatMessage(subject, "", []repo.Trailer{{Key: "Initialized-by", Value: gitops.FormatIdentity(sig)}}),
		Author:         sig,
		Committer:      sig,
		Signer:         opts.Signer,
		ExpectedParent: head,
	})
	return res, err
}

// openForInit opens the repository at dir, or creates it; a dir below an
// existing repository's root is refused unless opts.UseEnclosingRoot.
func openForInit(dir string, opts InitOptions, res *InitResult) (*repo.Repo, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("initializing %q: %w", dir, err)
	}
	rp, err := repo.Open(abs)
	switch {
	case errors.Is(err, repo.ErrNotRepository):
		if err := os.MkdirAll(abs, 0o755); err != nil {
			return nil, fmt.Errorf("creating %q: %w", abs, err)
		}
		rp, err = repo.Init(abs)
		res.Created = true
	case err == nil && filepath.Clean(rp.Root) != filepath.Clean(abs) && !opts.UseEnclosingRoot:
		return nil, fmt.Errorf("initializing %s: %w %s, below its root: a modelgit registry is the root of a Git repository (models/, environments/ and policies/ at the top, where Flux and the Action look); "+
			"either lay it out at that root, beside your code (modelgit init %s), or make %s a repository of its own first (git init %s && modelgit init %s)",
			abs, ErrInsideRepository, rp.Root, rp.Root, abs, abs, abs)
	}
	if err != nil {
		return nil, err
	}
	return rp, nil
}

// templateFiles are the files init lays out, from the embedded templates
// with opts' store, forge and allowed signer filled in.
func templateFiles(opts InitOptions) ([]repo.File, error) {
	var files []repo.File
	err := fs.WalkDir(templates.Init(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		content, err := fs.ReadFile(templates.Init(), p)
		if err != nil {
			return err
		}
		switch p {
		case manifests.ConfigFile:
			if opts.Store != "" {
				if content, err = withStore(content, opts.Store); err != nil {
					return err
				}
			}
			if opts.ClusterStore != "" {
				if content, err = withClusterStore(content, opts.ClusterStore); err != nil {
					return err
				}
			}
			if opts.FluxURL != "" {
				content = append(content, []byte(fmt.Sprintf("# The URL the clusters' Flux clones this repository from.\nflux:\n  url: %s\n", opts.FluxURL))...)
				if _, err := manifests.ParseConfig(manifests.ConfigFile, content); err != nil {
					return fmt.Errorf("--flux-url: %w", err)
				}
			}
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
	return files, nil
}

// planInit sorts files into those to write to the work tree and those to
// commit, recording in res what was written and skipped.
func planInit(rp *repo.Repo, head plumbing.Hash, files []repo.File, opts InitOptions, res *InitResult) (write, commit []repo.File, err error) {
	for _, f := range files {
		// Through the work tree's os.Root, refusing symbolic links in
		// governed paths: init never reads or writes through a link.
		cur, err := rp.ReadWorktreeFile(f.Path)
		switch {
		case err == nil:
			res.Skipped = append(res.Skipped, f.Path)
			content, added, err := addSigner(rp, head, f.Path, cur, opts, res)
			if err != nil {
				return nil, nil, err
			}
			if added {
				write = append(write, repo.File{Path: f.Path, Content: content})
			}
			// A file an earlier run wrote but could not commit (no key
			// then), or that this run completes, is committed now; a
			// committed file edited since is the user's to commit.
			at, err := rp.ReadFile(head, f.Path)
			if head.IsZero() || err != nil || (added || f.Path == manifests.AllowedSignersFile) && !bytes.Equal(at, content) && !trustsAnyone(at) {
				commit = append(commit, repo.File{Path: f.Path, Content: content})
			}
		case errors.Is(err, os.ErrNotExist):
			res.Written = append(res.Written, f.Path)
			write = append(write, f)
			commit = append(commit, f)
		default:
			return nil, nil, fmt.Errorf("initializing %q: %w", rp.Root, err)
		}
	}
	return write, commit, nil
}

// withStore sets store: in the modelgit.yaml template to url.
func withStore(content []byte, url string) ([]byte, error) {
	const line = "store: " + store.DefaultURL + "\n"
	if !bytes.Contains(content, []byte(line)) {
		return nil, fmt.Errorf("the modelgit.yaml template has no %q line", strings.TrimSpace(line))
	}
	out := bytes.Replace(content, []byte(line), []byte("store: "+url+"\n"), 1)
	if _, err := manifests.ParseConfig(manifests.ConfigFile, out); err != nil {
		return nil, fmt.Errorf("--store %q: %w", url, err)
	}
	return out, nil
}

// withClusterStore sets clusterStore: uri under every environment of the
// modelgit.yaml template.
func withClusterStore(content []byte, uri string) ([]byte, error) {
	lines := strings.SplitAfter(string(content), "\n")
	in, n := false, 0
	var out strings.Builder
	for _, l := range lines {
		out.WriteString(l)
		switch {
		case l == "environments:\n":
			in = true
		case in && strings.HasPrefix(l, "  - name: "):
			out.WriteString("    clusterStore: " + uri + "\n")
			n++
		case in && l != "" && !strings.HasPrefix(l, " "):
			in = false
		}
	}
	if n == 0 {
		return nil, fmt.Errorf("the modelgit.yaml template has no environments")
	}
	if _, err := manifests.ParseConfig(manifests.ConfigFile, []byte(out.String())); err != nil {
		return nil, fmt.Errorf("--cluster-store %q: %w", uri, err)
	}
	return []byte(out.String()), nil
}

// checkStore refuses a --store, --cluster-store or --flux-url that an
// existing modelgit.yaml contradicts (changing one is an edit of that
// file), or a --cluster-store beside a store that is not file://, and
// records in res which store the repository uses.
func checkStore(rp *repo.Repo, opts InitOptions, res *InitResult) error {
	want, clusterStore := opts.Store, opts.ClusterStore
	res.Store = store.DefaultURL
	if want != "" {
		res.Store = want
	}
	cur, err := rp.ReadWorktreeFile(manifests.ConfigFile)
	if err == nil {
		cfg, err := manifests.ParseConfig(manifests.ConfigFile, cur)
		if err != nil {
			return err
		}
		have := cfg.Store
		if have == "" {
			have = store.DefaultURL
		}
		if want != "" && want != have {
			return fmt.Errorf("--store %s: %s already names store %s; change store: there (and copy what it holds: modelgit store copy %s %s)", want, manifests.ConfigFile, have, have, want)
		}
		res.Store = have
		for i, e := range cfg.Environments {
			if clusterStore != "" && e.ClusterStore != clusterStore {
				return fmt.Errorf("--cluster-store %s: %s exists and environments[%d] (%s) declares clusterStore %s; set clusterStore: under each environment there", clusterStore, manifests.ConfigFile, i, e.Name, gitops.QuoteOrNone(e.ClusterStore))
			}
		}
		if f := opts.FluxURL; f != "" && (cfg.Flux == nil || cfg.Flux.URL != f) {
			have := "none"
			if cfg.Flux != nil && cfg.Flux.URL != "" {
				have = cfg.Flux.URL
			}
			return fmt.Errorf("--flux-url %s: %s exists and names %s as flux.url; edit it there (nothing was written)", f, manifests.ConfigFile, have)
		}
	}
	if clusterStore != "" && !strings.HasPrefix(res.Store, "file://") {
		return fmt.Errorf("--cluster-store %s: only a file:// store needs one (it says where the clusters read the store's directory); store %s is read by KServe directly", clusterStore, res.Store)
	}
	res.LocalStore = IsLocalStore(res.Store)
	return nil
}

// IsLocalStore reports whether a store URL names a directory inside the
// clone (a relative file:// path, like the default): nobody else — a
// teammate, a CI job, a cluster — can read what it holds.
func IsLocalStore(url string) bool {
	if url == "" {
		return true
	}
	dir, ok := strings.CutPrefix(url, "file://")
	return ok && !filepath.IsAbs(filepath.FromSlash(dir))
}

// LocalStoreNote is the one line init prints about a store local to the
// clone: what it means and how to share.
func LocalStoreNote(url string) string {
	return fmt.Sprintf("store %s is local to this clone (git-ignored): teammates, CI and clusters cannot read its artifacts, and promote refuses it unless an environment declares clusterStore (init --cluster-store); to share them set store: in %s to oci://REGISTRY/REPO or a shared file:///DIR (modelgit init --store on a new repository) and modelgit store copy %s there", url, manifests.ConfigFile, url)
}

// addSigner returns the allowed-signers file at path with the signer of
// opts added, when it is one and does not trust the signer yet. It adds
// only while the file committed at HEAD trusts nobody (a repository being
// set up); otherwise it sets res.SignerNotAllowed and adds nothing.
func addSigner(rp *repo.Repo, head plumbing.Hash, path string, cur []byte, opts InitOptions, res *InitResult) ([]byte, bool, error) {
	if path != manifests.AllowedSignersFile || opts.AllowedSigner == "" || hasSSHKey(cur, opts.AllowedSigner) {
		return cur, false, nil
	}
	if at, err := rp.ReadFile(head, path); err == nil && !head.IsZero() && trustsAnyone(at) {
		res.SignerNotAllowed = opts.AllowedSigner
		return cur, false, nil
	}
	out := append([]byte{}, cur...)
	if len(out) > 0 && out[len(out)-1] != '\n' {
		out = append(out, '\n')
	}
	res.SignerAdded = true
	return append(out, []byte(opts.AllowedSigner+"\n")...), true, nil
}

// trustsAnyone reports whether an allowed_signers file has an entry (one
// that does not parse counts: it is not Init's to replace).
func trustsAnyone(file []byte) bool {
	signers, err := signing.ParseAllowedSigners(manifests.AllowedSignersFile, file)
	return err != nil || signers.Len() > 0
}

// hasSSHKey reports whether an allowed_signers file holds the key of line
// (its last two fields, "ssh-ed25519 AAAA…") on a line of its own.
func hasSSHKey(file []byte, line string) bool {
	f := strings.Fields(line)
	if len(f) < 2 {
		return false
	}
	key := f[len(f)-2] + " " + f[len(f)-1]
	for _, l := range strings.Split(string(file), "\n") {
		if l = strings.TrimSpace(l); !strings.HasPrefix(l, "#") && strings.Contains(l, key) {
			return true
		}
	}
	return false
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
	if len(cfg.Clusters) == 0 {
		return nil, "", nil
	}
	if url == "" {
		return nil, fmt.Sprintf("%s/ was not laid out: Flux needs the URL to clone this repository from, and there is no flux.url or forge.repository in %s and no git remote origin; %s, then run modelgit render (render and promote fail until then)", manifests.ClustersDir, manifests.ConfigFile, gitops.FluxURLHelp), nil
	}
	if err := manifests.ValidFluxURL(url); err != nil && (cfg.Flux == nil || cfg.Flux.URL == "") {
		// The origin remote (a local path, file://, scp-like): the
		// repository is still laid out; the clusters wait for a URL.
		return nil, fmt.Sprintf("%s/ was not laid out: the origin remote's %v; %s, then run modelgit render (render and promote fail until then)", manifests.ClustersDir, err, gitops.FluxURLHelp), nil
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
