package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/modelgit/modelgit/gitops/forge"
	"github.com/modelgit/modelgit/gitops/forge/githubfake"
)

// startForge starts the in-process GitHub fake over a new bare repository
// beside the registry. The fake's git server logs every request through
// the standard logger; the story silences it.
func (q *quickstart) startForge() (*githubfake.Server, error) {
	log.SetOutput(io.Discard)
	bare := filepath.Join(q.root, "github", "acme", "models.git")
	if err := os.MkdirAll(filepath.Dir(bare), 0o755); err != nil {
		return nil, err
	}
	r, err := git.PlainInitWithOptions(bare, &git.PlainInitOptions{Bare: true, InitOptions: git.InitOptions{DefaultBranch: plumbing.Main}})
	if err != nil {
		return nil, fmt.Errorf("quickstart: creating the forge's repository: %w", err)
	}
	_ = r
	return githubfake.Start(githubfake.Options{Owner: "acme", Repo: "models", GitDir: bare, DefaultBranch: "main"})
}

// reviewedForge is the story's GitHub: the forge client, the fake that
// serves it, and the clone that pulls what it merges.
type reviewedForge struct {
	q          *quickstart
	fake       *githubfake.Server
	fg         forge.Forge
	clone      *git.Repository
	shownCheck bool
}

// promotionStory moves the registered versions through dev, staging and
// production with pull requests on the fake forge, merging each as a
// reviewer would.
func (q *quickstart) promotionStory(fake *githubfake.Server) error {
	rf, err := q.publish(fake)
	if err != nil {
		return err
	}
	q.say("promotion is a pull request; a version enters production only through dev and staging")
	if err := q.modelgitExpect(false, "promote", "fraud-detector@0.1.1+data.2", "--to", "staging"); err != nil {
		return err
	}
	for _, env := range []string{"dev", "staging", "production"} {
		if err := rf.step("promote", "fraud-detector@0.1.1+data.2", "--to", env); err != nil {
			return err
		}
	}
	for _, env := range []string{"dev", "staging"} {
		if err := rf.step("promote", "fraud-detector@0.2.0+data.2", "--to", env); err != nil {
			return err
		}
	}

	q.say("production: the new version as a 10%% canary beside the running one")
	if err := rf.step("promote", "fraud-detector@0.2.0+data.2", "--to", "production", "--strategy", "canary", "--weight", "10"); err != nil {
		return err
	}
	// A moment while the canary served, for `which --at` below.
	time.Sleep(1100 * time.Millisecond)
	q.canaryAt = time.Now()
	time.Sleep(1100 * time.Millisecond)
	if err := q.modelgit("status"); err != nil {
		return err
	}
	q.say("what Flux applies on the production GPU cluster (kustomize build clusters/gpu-prod)")
	if err := q.showCanary(); err != nil {
		return err
	}

	q.say("the canary looks good: complete it")
	if err := rf.step("promote", "fraud-detector@0.2.0+data.2", "--to", "production", "--strategy", "canary", "--weight", "100"); err != nil {
		return err
	}

	q.say("something is wrong after all: roll back to the version before, found in history")
	if err := rf.step("rollback", "fraud-detector", "--env", "production"); err != nil {
		return err
	}
	if err := q.modelgit("status"); err != nil {
		return err
	}
	if err := q.modelgit("render", "--check"); err != nil {
		return err
	}
	return q.auditStory()
}

// publish pushes the registry to the story's GitHub.
func (q *quickstart) publish(fake *githubfake.Server) (*reviewedForge, error) {
	out := q.opts.IO.Out
	fg, err := forge.NewGitHub(forge.GitHubOptions{Repository: "acme/models", BaseURL: fake.URL()})
	if err != nil {
		return nil, err
	}
	clone, err := git.PlainOpen(q.repo)
	if err != nil {
		return nil, err
	}
	if _, err := clone.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{fake.GitURL()}}); err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "\n%s git push origin main   # the registry now lives on GitHub (an in-process fake at %s)\n", q.opts.IO.ColorScheme().Gray("$"), fake.URL())
	if err := clone.Push(&git.PushOptions{RemoteName: "origin"}); err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return nil, fmt.Errorf("quickstart: pushing main: %w", err)
	}
	return &reviewedForge{q: q, fake: fake, fg: fg, clone: clone}, nil
}

// step runs modelgit with args, then has every pull request it opened
// approved and merged.
func (rf *reviewedForge) step(args ...string) error {
	if err := rf.q.modelgit(args...); err != nil {
		return err
	}
	return rf.mergeAll()
}

// mergeAll has rita approve each open modelgit pull request on its head
// and merges it, then pulls main. The first time, it shows what the
// Action reports before anyone reviewed.
func (rf *reviewedForge) mergeAll() error {
	q, out, cs := rf.q, rf.q.opts.IO.Out, rf.q.opts.IO.ColorScheme()
	prs, err := rf.fg.ListPullRequests(q.ctx, "open", "modelgit/")
	if err != nil {
		return err
	}
	for _, pr := range prs {
		n := strconv.Itoa(pr.Number)
		if !rf.shownCheck {
			rf.shownCheck = true
			if err := q.modelgitExpect(false, "check", "--pr", n); err != nil {
				return err
			}
		}
		fmt.Fprintf(out, "%s rita (a reviewer) approves pull request #%d on its head %s\n", cs.Gray("#"), pr.Number, pr.HeadSHA[:12])
		rf.fake.AddReview(pr.Number, "rita", forge.ReviewApproved, pr.HeadSHA)
		if err := q.modelgit("merge", "--pr", n); err != nil {
			return err
		}
	}
	w, err := rf.clone.Worktree()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%s git pull\n", cs.Gray("$"))
	if err := w.PullContext(q.ctx, &git.PullOptions{RemoteName: "origin", ReferenceName: plumbing.Main}); err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return fmt.Errorf("quickstart: pulling main: %w", err)
	}
	return nil
}

// auditStory reads the audit back: the last merge's trailers, the
// production audit, and what served while the canary ran.
func (q *quickstart) auditStory() error {
	out, cs := q.opts.IO.Out, q.opts.IO.ColorScheme()
	q.say("git log is the audit: who requested, who approved, what ran when")
	fmt.Fprintf(out, "%s git log -1 --format=%%B main   # the last merge\n", cs.Gray("$"))
	if msg, err := q.git("log", "-1", "--format=%B", "main"); err == nil {
		fmt.Fprint(out, msg)
	}
	if err := q.modelgit("audit", "--env", "production"); err != nil {
		return err
	}
	if err := q.modelgit("which", "--env", "production", "--at", q.canaryAt.Format(time.RFC3339)); err != nil {
		return err
	}
	return nil
}

// showCanary prints the InferenceService lines that carry the canary.
func (q *quickstart) showCanary() error {
	var buf strings.Builder
	f := q.opts.Factory
	saved := f.IOStreams.Out
	f.IOStreams.Out = &buf
	code := run(context.Background(), f, NewRootCmd(f), []string{"-C", q.repo, "render", "--cluster", "gpu-prod"})
	f.IOStreams.Out = saved
	fmt.Fprintf(q.opts.IO.Out, "%s modelgit -C ../registry render --cluster gpu-prod | grep …\n", q.opts.IO.ColorScheme().Gray("$"))
	if code != ExitOK {
		return fmt.Errorf("quickstart: render --cluster gpu-prod: exit status %d", code)
	}
	for _, l := range strings.Split(buf.String(), "\n") {
		t := strings.TrimSpace(l)
		for _, key := range []string{"kind: InferenceService", "canaryTrafficPercent", "storageUri", "nvidia.com/gpu", "modelgit.dev/version:"} {
			if strings.HasPrefix(t, key) || strings.Contains(t, key+":") {
				fmt.Fprintln(q.opts.IO.Out, l)
				break
			}
		}
	}
	return nil
}
