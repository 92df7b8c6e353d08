package gitops_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/check"
	"github.com/modelgit/modelgit/gitops/register"
	"github.com/modelgit/modelgit/gitops/signing"
	"github.com/modelgit/modelgit/manifests"
)

var initFiles = []string{
	".github/workflows/modelgit.yml",
	".gitignore",
	"environments/.gitkeep",
	"modelgit.yaml",
	"models/.gitkeep",
	"policies/allowed_signers",
}

func TestInitSigned(t *testing.T) {
	t.Parallel()
	key, pub := sshKey(t, "alice@example.com")
	signer, err := signing.LoadSSHSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	id := gitops.Identity{Signature: alice, Signer: signer}
	line, _, err := gitops.AllowedSignerEntry(id)
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(t.TempDir(), "new", "gitops")
	opts := register.InitOptions{AllowedSigner: line, Identity: alice, Signer: signer}
	res, err := register.Init(ctx, root, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Created || res.Commit.IsZero() || len(res.Skipped) != 0 {
		t.Errorf("Init: %+v", res)
	}
	if !slices.Equal(res.Written, initFiles) {
		t.Errorf("Written = %v, want %v", res.Written, initFiles)
	}
	if got := git(t, root, "rev-parse", "HEAD"); got != res.Commit.String() {
		t.Errorf("HEAD = %s, want %s", got, res.Commit)
	}
	if st := git(t, root, "status", "--porcelain", "--untracked-files=all"); st != "" {
		t.Errorf("work tree not clean after Init:\n%s", st)
	}
	if got := strings.Split(git(t, root, "ls-files"), "\n"); !slices.Equal(got, initFiles) {
		t.Errorf("git ls-files = %v", got)
	}
	allowed, err := os.ReadFile(filepath.Join(root, "policies", "allowed_signers"))
	if err != nil || !strings.Contains(string(allowed), pub[:40]) {
		t.Errorf("allowed_signers does not hold the key: %s", allowed)
	}
	// git accepts the signature with the allowed_signers Init wrote.
	git(t, root, "-c", "gpg.ssh.allowedSignersFile="+filepath.Join(root, "policies", "allowed_signers"), "verify-commit", "HEAD")
	reg, err := gitops.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := check.Verify(ctx, reg, check.VerifyOptions{})
	if err != nil || !rep.OK() || rep.Governed != 1 {
		t.Errorf("Verify after Init: %+v, %v", rep, err)
	}

	// Running it again writes and commits nothing.
	again, err := register.Init(ctx, root, opts)
	if err != nil {
		t.Fatal(err)
	}
	if again.Created || len(again.Written) != 0 || !again.Commit.IsZero() || !slices.Equal(again.Skipped, initFiles) {
		t.Errorf("second Init: %+v", again)
	}
	if got := git(t, root, "rev-parse", "HEAD"); got != res.Commit.String() {
		t.Errorf("second Init moved HEAD to %s", got)
	}
}

func TestInitKeepsExistingFiles(t *testing.T) {
	t.Parallel()
	root := filepath.Join(t.TempDir(), "gitops")
	git(t, "", "init", "-q", root)
	mine := "apiVersion: modelgit.dev/v1alpha1\nkind: Config\nstore: file:///mnt/models\nenvironments:\n  - name: prod\n"
	writeFile(t, filepath.Join(root, "modelgit.yaml"), mine)
	writeFile(t, filepath.Join(root, ".gitignore"), "*.pyc\n")

	res, err := register.Init(ctx, root, register.InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Created || !res.Commit.IsZero() {
		t.Errorf("Init in an existing repository without a signer: %+v", res)
	}
	if !slices.Equal(res.Skipped, []string{".gitignore", "modelgit.yaml"}) {
		t.Errorf("Skipped = %v", res.Skipped)
	}
	for p, want := range map[string]string{"modelgit.yaml": mine, ".gitignore": "*.pyc\n"} {
		if b, err := os.ReadFile(filepath.Join(root, p)); err != nil || string(b) != want {
			t.Errorf("%s was overwritten: %q", p, b)
		}
	}
	for _, p := range res.Written {
		if _, err := os.Stat(filepath.Join(root, p)); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	if n, _, err := runErr(root, nil, "", "git", "rev-parse", "--verify", "-q", "HEAD"); err == nil {
		t.Errorf("Init without a signer committed %s", n)
	}
	// Nothing partial lies around.
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".modelgit-tmp-") {
			t.Errorf("temp file left behind: %s", p)
		}
		return err
	})
	if res, err := register.Init(ctx, root, register.InitOptions{}); err != nil || len(res.Written) != 0 {
		t.Errorf("second Init: %+v, %v", res, err)
	}
}

// TestInitLaysOutFluxWhenTheForgeIsKnown: with --github, init writes
// clusters/<cluster>/ (the kustomization and flux-system/) at once, so
// Flux can be bootstrapped before the first promotion, and render --check
// agrees with what it wrote.
func TestInitLaysOutFluxWhenTheForgeIsKnown(t *testing.T) {
	key, pub := sshKey(t, "alice@example.com")
	signer, err := signing.LoadSSHSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(t.TempDir(), "gitops")
	res, err := register.Init(ctx, root, register.InitOptions{
		AllowedSigner: `alice@example.com namespaces="git" ` + pub,
		Identity:      alice, Signer: signer,
		Forge: &manifests.Forge{Type: "github", Repository: "acme/models"},
	})
	if err != nil {
		t.Fatal(err)
	}
	written := strings.Join(res.Written, " ")
	for _, want := range []string{"clusters/gpu-prod/kustomization.yaml", "clusters/gpu-prod/flux-system/gotk-sync.yaml", "rendered/production/kustomization.yaml"} {
		if !strings.Contains(written, want) {
			t.Errorf("init did not write %s: %s", want, written)
		}
	}
	sync, err := os.ReadFile(filepath.Join(root, "clusters", "gpu-prod", "flux-system", "gotk-sync.yaml"))
	if err != nil || !strings.Contains(string(sync), "url: https://github.com/acme/models.git") {
		t.Errorf("gotk-sync.yaml = %s, %v", sync, err)
	}
	reg, err := gitops.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	stale, err := reg.StaleRendered()
	if err != nil || len(stale) != 0 {
		t.Errorf("CheckRendered after init = %v, %v", stale, err)
	}
}

// TestInitCompletesAfterAKeyIsSet is the README's order gone wrong: init
// without a key writes the files and commits nothing; init again once a
// key is configured adds the key to policies/allowed_signers and commits
// everything, signed; a third run has nothing to do (#13).
func TestInitCompletesAfterAKeyIsSet(t *testing.T) {
	t.Parallel()
	root := filepath.Join(t.TempDir(), "gitops")
	first, err := register.Init(ctx, root, register.InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !first.Commit.IsZero() || !slices.Equal(first.Uncommitted, initFiles) {
		t.Fatalf("Init without a key: %+v", first)
	}
	key, pub := sshKey(t, "alice@example.com")
	signer, err := signing.LoadSSHSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	line := `alice@example.com namespaces="git" ` + pub
	opts := register.InitOptions{AllowedSigner: line, Identity: alice, Signer: signer}
	second, err := register.Init(ctx, root, opts)
	if err != nil {
		t.Fatal(err)
	}
	if second.Commit.IsZero() || !second.SignerAdded || len(second.Written) != 0 || !slices.Equal(second.Committed, initFiles) {
		t.Fatalf("Init with a key after one without: %+v", second)
	}
	if st := git(t, root, "status", "--porcelain", "--untracked-files=all"); st != "" {
		t.Errorf("work tree not clean:\n%s", st)
	}
	if got := git(t, root, "show", "HEAD:policies/allowed_signers"); !strings.Contains(got, line) {
		t.Errorf("committed allowed_signers lacks the key:\n%s", got)
	}
	reg, err := gitops.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := check.Verify(ctx, reg, check.VerifyOptions{}); err != nil || !rep.OK() {
		t.Errorf("Verify: %+v, %v", rep, err)
	}
	third, err := register.Init(ctx, root, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !third.Commit.IsZero() || third.SignerAdded || len(third.Uncommitted) != 0 {
		t.Errorf("third Init: %+v", third)
	}

	// Someone else's key is not added to a file that trusts alice already:
	// that is for alice to review.
	bobKey, bobPub := sshKey(t, "bob@example.com")
	bob, err := signing.LoadSSHSigner(bobKey)
	if err != nil {
		t.Fatal(err)
	}
	bobLine := `bob@example.com namespaces="git" ` + bobPub
	res, err := register.Init(ctx, root, register.InitOptions{AllowedSigner: bobLine, Identity: alice, Signer: bob})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Commit.IsZero() || res.SignerAdded || res.SignerNotAllowed != bobLine {
		t.Errorf("Init with a second key: %+v", res)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "policies", "allowed_signers")); strings.Contains(string(b), bobPub) {
		t.Errorf("bob's key was added:\n%s", b)
	}
}

// TestInitInASubdirectory: a directory inside another repository is
// refused (the registry is a repository's root), nothing is written, and
// the message says both ways out; without a directory (UseEnclosingRoot)
// init lays out at the root and says where (#13).
func TestInitInASubdirectory(t *testing.T) {
	t.Parallel()
	root := filepath.Join(t.TempDir(), "training")
	git(t, "", "init", "-q", root)
	sub := filepath.Join(root, "registry")
	_, err := register.Init(ctx, sub, register.InitOptions{})
	if !errors.Is(err, register.ErrInsideRepository) {
		t.Fatalf("Init(%s) = %v, want ErrInsideRepository", sub, err)
	}
	for _, want := range []string{"modelgit init " + root, "git init " + sub} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q: %v", want, err)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "modelgit.yaml")); err == nil {
		t.Error("modelgit.yaml written at the root")
	}
	if _, err := os.Stat(sub); err == nil {
		t.Error("the subdirectory was created")
	}
	res, err := register.Init(ctx, sub, register.InitOptions{UseEnclosingRoot: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Root != root {
		t.Errorf("Root = %s, want %s", res.Root, root)
	}
	// A repository of its own in the subdirectory is a registry.
	git(t, "", "init", "-q", sub)
	res, err = register.Init(ctx, sub, register.InitOptions{})
	if err != nil || res.Root != sub || !slices.Equal(res.Written, initFiles) {
		t.Errorf("Init in a nested repository: %+v, %v", res, err)
	}
}

// TestInitStore: --store is written into modelgit.yaml; the default store
// is reported local to the clone; a different --store than an existing
// modelgit.yaml names is refused (#13).
func TestInitStore(t *testing.T) {
	t.Parallel()
	root := filepath.Join(t.TempDir(), "gitops")
	res, err := register.Init(ctx, root, register.InitOptions{Store: "oci://ghcr.io/acme/models"})
	if err != nil {
		t.Fatal(err)
	}
	if res.LocalStore || res.Store != "oci://ghcr.io/acme/models" {
		t.Errorf("Init --store: %+v", res)
	}
	reg, err := gitops.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	if got := reg.Config().Store; got != "oci://ghcr.io/acme/models" {
		t.Errorf("store: %q", got)
	}
	if _, err := register.Init(ctx, root, register.InitOptions{Store: "file:///mnt/models"}); err == nil || !strings.Contains(err.Error(), "modelgit store copy oci://ghcr.io/acme/models file:///mnt/models") {
		t.Errorf("Init with another store: %v", err)
	}
	if _, err := register.Init(ctx, filepath.Join(t.TempDir(), "x"), register.InitOptions{Store: "s3://bucket"}); err == nil || !strings.Contains(err.Error(), "--store") {
		t.Errorf("Init --store s3://: %v", err)
	}
	local, err := register.Init(ctx, filepath.Join(t.TempDir(), "y"), register.InitOptions{})
	if err != nil || !local.LocalStore || local.Store != "file://.modelgit/store" {
		t.Errorf("Init without --store: %+v, %v", local, err)
	}
	for url, want := range map[string]bool{"file://.modelgit/store": true, "file://store": true, "file:///mnt/models": false, "oci://r/x": false, "": true} {
		if got := register.IsLocalStore(url); got != want {
			t.Errorf("IsLocalStore(%q) = %v", url, got)
		}
	}
}

// TestInitClusterStore: --cluster-store writes clusterStore under every
// environment, so promotion can render a URI the clusters read; it is
// refused beside an oci:// store (KServe reads that itself), or when an
// existing modelgit.yaml declares another; run again the same, it is a
// no-op (#13).
func TestInitClusterStore(t *testing.T) {
	t.Parallel()
	root := filepath.Join(t.TempDir(), "gitops")
	if _, err := register.Init(ctx, root, register.InitOptions{ClusterStore: "pvc://models/modelgit"}); err != nil {
		t.Fatal(err)
	}
	reg, err := gitops.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(reg.Config().Environments) == 0 {
		t.Fatal("no environments")
	}
	for _, e := range reg.Config().Environments {
		if e.ClusterStore != "pvc://models/modelgit" {
			t.Errorf("environment %s: clusterStore %q", e.Name, e.ClusterStore)
		}
	}
	if len(reg.Config().Clusters) == 0 {
		t.Error("the clusters of the template were lost")
	}
	if _, err := register.Init(ctx, root, register.InitOptions{ClusterStore: "pvc://models/modelgit"}); err != nil {
		t.Errorf("Init again with the same --cluster-store: %v", err)
	}
	if _, err := register.Init(ctx, root, register.InitOptions{ClusterStore: "s3://other"}); err == nil || !strings.Contains(err.Error(), "environments[0] (dev) declares clusterStore") {
		t.Errorf("Init with another --cluster-store: %v", err)
	}
	if _, err := register.Init(ctx, filepath.Join(t.TempDir(), "o"), register.InitOptions{Store: "oci://ghcr.io/acme/models", ClusterStore: "pvc://x/y"}); err == nil || !strings.Contains(err.Error(), "only a file:// store needs one") {
		t.Errorf("Init --store oci:// --cluster-store: %v", err)
	}
	if _, err := register.Init(ctx, filepath.Join(t.TempDir(), "b"), register.InitOptions{ClusterStore: "ftp://x"}); err == nil || !strings.Contains(err.Error(), "clusterStore") {
		t.Errorf("Init --cluster-store ftp://: %v", err)
	}
}

// TestInitFluxURL: an origin that is a local path (a team without a
// forge) is not one Flux can clone: init lays out everything but
// clusters/ and says how to give Flux a URL; --flux-url writes flux.url
// and clusters/ follows it; an existing modelgit.yaml is not rewritten.
func TestInitFluxURL(t *testing.T) {
	t.Parallel()
	root := filepath.Join(t.TempDir(), "gitops")
	git(t, "", "init", "-q", "-b", "main", root)
	git(t, root, "remote", "add", "origin", filepath.Join(t.TempDir(), "origin.git"))
	res, err := register.Init(ctx, root, register.InitOptions{})
	if err != nil {
		t.Fatalf("init with a local-path origin: %v", err)
	}
	if !strings.Contains(res.NoClusters, "is not one Flux can clone") || !strings.Contains(res.NoClusters, "--flux-url") {
		t.Errorf("NoClusters = %q, want why and how (--flux-url)", res.NoClusters)
	}
	if _, err := os.Stat(filepath.Join(root, "modelgit.yaml")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "clusters")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("clusters/ laid out for a URL Flux cannot clone: %v", err)
	}
	if _, err := register.Init(ctx, root, register.InitOptions{FluxURL: "https://git.example.com/acme/models.git"}); err == nil || !strings.Contains(err.Error(), "modelgit.yaml exists and names none as flux.url") {
		t.Errorf("--flux-url over an existing modelgit.yaml: %v", err)
	}

	other := filepath.Join(t.TempDir(), "gitops")
	git(t, "", "init", "-q", "-b", "main", other)
	git(t, other, "remote", "add", "origin", filepath.Join(t.TempDir(), "origin.git"))
	res, err = register.Init(ctx, other, register.InitOptions{FluxURL: "https://git.example.com/acme/models.git"})
	if err != nil {
		t.Fatal(err)
	}
	if res.NoClusters != "" {
		t.Errorf("NoClusters = %q with --flux-url", res.NoClusters)
	}
	reg, err := gitops.Open(other)
	if err != nil {
		t.Fatal(err)
	}
	if f := reg.Config().Flux; f == nil || f.URL != "https://git.example.com/acme/models.git" {
		t.Errorf("flux = %+v, want the --flux-url", f)
	}
	matches, _ := filepath.Glob(filepath.Join(other, "clusters", "*", "flux-system", "gotk-sync.yaml"))
	if len(matches) == 0 {
		t.Fatal("no clusters/*/flux-system/gotk-sync.yaml")
	}
	sync, err := os.ReadFile(matches[0])
	if err != nil || !strings.Contains(string(sync), "url: https://git.example.com/acme/models.git") {
		t.Errorf("%s does not follow --flux-url: %v\n%s", matches[0], err, sync)
	}
	if _, err := register.Init(ctx, filepath.Join(t.TempDir(), "bad"), register.InitOptions{FluxURL: "/srv/models.git"}); err == nil || !strings.Contains(err.Error(), "--flux-url") {
		t.Errorf("--flux-url with a path: %v", err)
	}
}
