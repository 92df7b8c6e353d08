package gitops_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/check"
	"github.com/modelgit/modelgit/gitops/forge"
	"github.com/modelgit/modelgit/gitops/forge/githubfake"
	"github.com/modelgit/modelgit/gitops/forge/githubfake/githubfaketest"
	"github.com/modelgit/modelgit/gitops/promote"
	"github.com/modelgit/modelgit/gitops/register"
	"github.com/modelgit/modelgit/manifests"
)

// BenchmarkCheckLargeRepo judges one promotion pull request in a
// repository with 1,000 models (each released in dev) and 20,000
// commits, against the in-process GitHub fake. The history is generated
// with git fast-import; the pull request is a real signed promotion.
// Recorded in docs/benchmarks.md (target: ≤ 2 s per check).
func BenchmarkCheckLargeRepo(b *testing.B) {
	const models, commits = 1000, 20000
	f := newFixture(b)
	reg0 := f.reg
	bare := filepath.Join(b.TempDir(), "origin.git")
	git(b, ".", "init", "-q", "--bare", "-b", "main", bare)
	fake := githubfaketest.New(b, githubfake.Options{Owner: "acme", Repo: "models", GitDir: bare, DefaultBranch: "main"})
	if err := reg0.Repo().AddRemote("origin", fake.GitURL()); err != nil {
		b.Fatal(err)
	}
	o := f.options(base)
	o.Model = "m0000"
	o.Framework = "sklearn=1.5.2"
	first, err := register.Register(ctx, reg0, o)
	if err != nil {
		b.Fatal(err)
	}
	tmpl, err := os.ReadFile(filepath.Join(f.root, first.Version.Path))
	if err != nil {
		b.Fatal(err)
	}
	ver := first.Version.Manifest.Version
	modelTmpl, err := os.ReadFile(filepath.Join(f.root, manifests.ModelFile("m0000")))
	if err != nil {
		b.Fatal(err)
	}

	// One commit adds the models and their dev releases; the others each
	// edit one model's notes, so that every check walks a long history.
	var in bytes.Buffer
	mark := 0
	blob := func(data []byte) int {
		mark++
		fmt.Fprintf(&in, "blob\nmark :%d\ndata %d\n%s\n", mark, len(data), data)
		return mark
	}
	type file struct {
		path string
		mark int
	}
	var files []file
	for i := 1; i < models; i++ {
		m := fmt.Sprintf("m%04d", i)
		raw := bytes.Replace(tmpl, []byte("model: m0000"), []byte("model: "+m), 1)
		files = append(files, file{manifests.VersionFile(m, ver.String()), blob(raw)})
		files = append(files, file{manifests.ModelFile(m), blob(bytes.ReplaceAll(modelTmpl, []byte("m0000"), []byte(m)))})
		rel, err := gitops.NextRelease(nil, m, "dev", ver, manifests.FromBytes(raw), gitops.ReleaseChange{})
		if err != nil {
			b.Fatal(err)
		}
		relRaw, err := manifests.Marshal(rel)
		if err != nil {
			b.Fatal(err)
		}
		files = append(files, file{manifests.ReleaseFile("dev", m), blob(relRaw)})
	}
	when := int64(1_700_000_000)
	head := git(b, f.root, "rev-parse", "HEAD")
	commit := func(msg string, ops string) {
		when += 60
		mark++
		fmt.Fprintf(&in, "commit refs/heads/main\nmark :%d\ncommitter Bench <bench@example.com> %d +0000\ndata %d\n%s\n", mark, when, len(msg), msg)
		if head != "" {
			fmt.Fprintf(&in, "from %s\n", head)
			head = ""
		}
		in.WriteString(ops)
		in.WriteString("\n")
	}
	var ops strings.Builder
	for _, fl := range files {
		fmt.Fprintf(&ops, "M 100644 :%d %s\n", fl.mark, fl.path)
	}
	commit("Add models", ops.String())
	for i := 1; i < commits; i++ {
		m := fmt.Sprintf("m%04d", i%models)
		note := fmt.Sprintf("note %d\n", i)
		commit("Note on "+m, fmt.Sprintf("M 100644 inline notes/%s.txt\ndata %d\n%s\n", m, len(note), note))
	}
	cmd := exec.Command("git", "fast-import", "--quiet")
	cmd.Dir, cmd.Stdin = f.root, &in
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("git fast-import: %v\n%s", err, out)
	}
	git(b, f.root, "reset", "-q", "--hard", "main")
	reg := f.reopen()
	if _, err := reg.WriteRendered(); err != nil {
		b.Fatal(err)
	}
	git(b, f.root, "add", "-A")
	git(b, f.root, "commit", "-q", "-S", "-m", "Render")

	reg = f.reopen()
	git(b, f.root, "push", "-q", fake.GitURL(), "main")
	fg, err := forge.NewGitHub(forge.GitHubOptions{Repository: "acme/models", BaseURL: fake.URL()})
	if err != nil {
		b.Fatal(err)
	}
	res, err := promote.Promote(ctx, reg, promote.PromoteOptions{
		Ref: "m0500@" + ver.String(), Env: "staging",
		Identity: gitops.Identity{Signature: alice, Signer: f.signer},
		Forge:    fg, Remote: "origin",
	})
	if err != nil {
		b.Fatal(err)
	}
	fake.AddReview(res.PR.Number, "bob", forge.ReviewApproved, "")
	if n := git(b, f.root, "rev-list", "--count", "main"); n < fmt.Sprint(commits) {
		b.Logf("main has %s commits", n)
	}
	b.ResetTimer()
	for b.Loop() {
		rep, err := check.Check(ctx, reg, check.CheckOptions{PR: res.PR.Number, Forge: fg})
		if err != nil {
			b.Fatal(err)
		}
		if !rep.Passed {
			b.Fatalf("check failed: %+v", rep.Failed())
		}
	}
}
