package gitops_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/audit"
	"github.com/modelgit/modelgit/gitops/ledger"
	"github.com/modelgit/modelgit/manifests"
)

// scenario is a GitOps repository whose history is built commit by commit
// with real git plumbing, so that every commit time is exact.
type scenario struct {
	t    *testing.T
	dir  string
	main string            // tip of main
	keys map[string]string // who → private key path
	pr   int
	ids  map[string]string // label → commit
}

func newScenario(t *testing.T) *scenario {
	need(t, "git", "apt-get install -y git")
	s := &scenario{t: t, dir: t.TempDir(), ids: map[string]string{}}
	git(t, s.dir, "init", "-q", "-b", "main")
	priv, pub := sshKey(t, "ci")
	git(t, s.dir, "config", "gpg.format", "ssh")
	git(t, s.dir, "config", "user.signingkey", priv)
	return s.withSigners("ci@example.com " + pub + "\n")
}

func (s *scenario) withSigners(allowed string) *scenario {
	s.commit("init", nil, map[string]string{
		"modelgit.yaml":            "apiVersion: modelgit.dev/v1alpha1\nkind: Config\nenvironments:\n  - name: dev\n  - name: staging\n  - name: production\n",
		"policies/allowed_signers": allowed,
	}, "Initialise", at("09:00"), "Ci <ci@example.com>", true)
	return s
}

// at is a time on 2026-03-03, UTC.
func at(hhmm string) time.Time {
	t, err := time.Parse(time.RFC3339, "2026-03-03T"+hhmm+":00Z")
	if err != nil {
		panic(err)
	}
	return t
}

// commit makes a commit on parents (nil: main's tip) with files changed
// ("" deletes) and moves main to it when it is a first-parent commit.
func (s *scenario) commit(label string, parents []string, files map[string]string, msg string, when time.Time, who string, sign bool) string {
	t := s.t
	t.Helper()
	if parents == nil && s.main != "" {
		parents = []string{s.main}
	}
	idx := filepath.Join(t.TempDir(), "index")
	env := []string{"GIT_INDEX_FILE=" + idx}
	if len(parents) > 0 {
		run(t, s.dir, env, "git", "read-tree", parents[len(parents)-1])
	}
	for p, content := range files {
		if content == "" {
			run(t, s.dir, env, "git", "update-index", "--force-remove", p)
			continue
		}
		f := filepath.Join(t.TempDir(), "blob")
		if err := os.WriteFile(f, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		blob := strings.TrimSpace(run(t, s.dir, nil, "git", "hash-object", "-w", f))
		run(t, s.dir, env, "git", "update-index", "--add", "--cacheinfo", "100644,"+blob+","+p)
	}
	tree := strings.TrimSpace(run(t, s.dir, env, "git", "write-tree"))
	name, email, _ := strings.Cut(strings.TrimSuffix(who, ">"), " <")
	date := fmt.Sprintf("%d +0000", when.Unix())
	cenv := []string{"GIT_AUTHOR_NAME=" + name, "GIT_AUTHOR_EMAIL=" + email, "GIT_COMMITTER_NAME=" + name, "GIT_COMMITTER_EMAIL=" + email,
		"GIT_AUTHOR_DATE=" + date, "GIT_COMMITTER_DATE=" + date}
	args := []string{"commit-tree", tree, "-m", msg}
	if sign {
		args = append(args, "-S")
	}
	for _, p := range parents {
		args = append(args, "-p", p)
	}
	h := strings.TrimSpace(run(t, s.dir, cenv, "git", args...))
	s.ids[label] = h
	return h
}

func (s *scenario) onMain(h string) { s.main = h; git(s.t, s.dir, "update-ref", "refs/heads/main", h) }

func release(model, env, strategy string, versions ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: modelgit.dev/v1alpha1\nkind: Release\nmodel: %s\nenvironment: %s\nstrategy: %s\nversions:\n", model, env, strategy)
	for _, v := range versions {
		f := strings.Fields(v) // version [weight] [role]
		fmt.Fprintf(&b, "  - version: %s\n    digest: %s\n", f[0], digestOf(model, f[0]))
		if len(f) > 1 {
			fmt.Fprintf(&b, "    weight: %s\n", f[1])
		}
		if len(f) > 2 {
			fmt.Fprintf(&b, "    role: %s\n", f[2])
		}
	}
	return b.String()
}

func manifest(model, version string) string {
	return fmt.Sprintf("apiVersion: modelgit.dev/v1alpha1\nkind: ModelVersion\nmodel: %s\nversion: %s\nartifacts:\n  weights:\n    path: model.bin\n    digest: sha256:%064d\n    size: 3\n    mediaType: application/octet-stream\ndata:\n  digest: sha256:%064x\nregisteredBy: Alice <alice@example.com>\nregisteredAt: 2026-03-03T09:00:00Z\n", model, version, 1, len(version))
}

var digests = map[string]string{}

func digestOf(model, version string) string { return digests[model+"@"+version] }

func (s *scenario) register(model, version, hhmm string) {
	m := manifest(model, version)
	d := manifests.FromBytes([]byte(m)).String()
	digests[model+"@"+version] = d
	msg := fmt.Sprintf("Register %s %s\n\nModel: %s\nModel-Version: %s\nModel-Digest: %s\nRegistered-by: Alice <alice@example.com>\n", model, version, model, version, d)
	s.onMain(s.commit("reg "+model+" "+version, nil, map[string]string{"models/" + model + "/versions/" + version + ".yaml": m}, msg, at(hhmm), "Ci <ci@example.com>", true))
}

// promote commits trailers on a branch off main five minutes before hhmm
// and merges it at hhmm: by modelgit (approvers given) or outside.
func (s *scenario) promote(label, env, model, version, prev, strategy, hhmm string, rel string, extra string, approvers []string, signMerge bool) {
	s.pr++
	tr := fmt.Sprintf("Model: %s\nModel-Version: %s\nModel-Digest: %s\nPrevious-Version: %s\nStrategy: %s\n%sEnvironment: %s\nRequested-by: Dana <dana@example.com>\n", model, version, digestOf(model, version), prev, strategy, extra, env)
	path := "environments/" + env + "/" + model + ".yaml"
	prc := s.commit(label+" pr", nil, map[string]string{path: rel}, "Promote "+model+" "+version+" to "+env+"\n\n"+tr, at(hhmm).Add(-5*time.Minute), "Dana <dana@example.com>", true)
	msg := fmt.Sprintf("Merge pull request #%d from acme/modelgit/promote/%s/%s-%s\n\nPromote %s %s to %s\n", s.pr, env, model, version, model, version, env)
	if approvers != nil {
		msg += "\n"
		for _, a := range approvers {
			msg += "Approved-by: " + a + "\n"
		}
		msg += fmt.Sprintf("Policy: policies/%s.yaml\nPull-Request: #%d\nChecked-Head: %s\n", env, s.pr, prc)
	}
	s.onMain(s.commit(label, []string{s.main, prc}, map[string]string{path: rel}, msg, at(hhmm), "Erin <erin@example.com>", signMerge))
}

// buildScenario: two models, canaries with changing weights, a forced
// promotion, a merge outside modelgit, a rollback, a reverted merge, an
// unsigned merge, a blue-green standby and switch.
func buildScenario(t *testing.T) *scenario {
	s := newScenario(t)
	s.onMain(s.ids["init"])
	s.register("fraud", "1.0.0", "09:10")
	s.register("fraud", "1.1.0", "09:20")
	s.register("churn", "2.0.0", "09:30")
	bob, carol := []string{"Bob <bob@example.com>"}, []string{"Bob <bob@example.com>", "Carol <carol@example.com>"}
	s.promote("P0", "dev", "fraud", "1.0.0", "none", "replace", "09:45", release("fraud", "dev", "replace", "1.0.0"), "", bob, true)
	s.promote("P1", "production", "fraud", "1.0.0", "none", "replace", "10:00", release("fraud", "production", "replace", "1.0.0"), "Forced: 1.0.0 has not run in staging\n", bob, true)
	s.promote("P2", "production", "churn", "2.0.0", "none", "replace", "11:00", release("churn", "production", "replace", "2.0.0"), "", nil, true)
	s.promote("P3", "production", "fraud", "1.1.0", "1.0.0", "canary weight=10", "12:00", release("fraud", "production", "canary", "1.0.0 90 stable", "1.1.0 10 canary"), "", carol, true)
	s.promote("P4", "production", "fraud", "1.1.0", "1.0.0", "canary weight=50", "13:00", release("fraud", "production", "canary", "1.0.0 50 stable", "1.1.0 50 canary"), "", carol, true)
	s.promote("P5", "production", "fraud", "1.0.0", "1.0.0", "replace", "14:00", release("fraud", "production", "replace", "1.0.0"), "Rollback: from 1.0.0\n", bob, true)
	s.onMain(s.commit("R", nil, map[string]string{"environments/production/churn.yaml": ""}, fmt.Sprintf("Revert \"Merge pull request #3\"\n\nThis reverts commit %s, reversing\nchanges made to %s.\n", s.ids["P2"], s.ids["P1"]), at("14:30"), "Erin <erin@example.com>", true))
	s.promote("P6", "production", "churn", "2.0.0", "none", "replace", "15:00", release("churn", "production", "replace", "2.0.0"), "", bob, false)
	s.register("churn", "2.1.0", "15:30")
	s.promote("P8", "production", "churn", "2.1.0", "2.0.0", "blue-green role=standby", "16:00", release("churn", "production", "blue-green", "2.0.0 100 active", "2.1.0 0 standby"), "", bob, true)
	s.promote("P9", "production", "churn", "2.1.0", "2.0.0", "blue-green role=active", "17:00", release("churn", "production", "blue-green", "2.1.0 100 active", "2.0.0 0 standby"), "", carol, true)
	git(t, s.dir, "reset", "-q", "--hard", "main")
	return s
}

func (s *scenario) label(commit string) string {
	for l, h := range s.ids {
		if h == commit {
			return l
		}
	}
	return "?" + commit
}

func TestWhichScenario(t *testing.T) {
	s := buildScenario(t)
	reg, err := gitops.Open(s.dir)
	if err != nil {
		t.Fatal(err)
	}
	// Each model: "model version[/weight/role]@since<-change ... last=change".
	tests := []struct {
		env, at string
		want    []string
	}{
		{"production", "09:59", nil},
		{"production", "10:00", []string{"fraud 1.0.0@10:00<-P1 last=P1"}},
		{"production", "11:30", []string{"churn 2.0.0@11:00<-P2 last=P2", "fraud 1.0.0@10:00<-P1 last=P1"}},
		{"production", "12:30", []string{"churn 2.0.0@11:00<-P2 last=P2", "fraud 1.0.0/90/stable@10:00<-P1 1.1.0/10/canary@12:00<-P3 last=P3"}},
		{"production", "13:30", []string{"churn 2.0.0@11:00<-P2 last=P2", "fraud 1.0.0/50/stable@10:00<-P1 1.1.0/50/canary@12:00<-P3 last=P4"}},
		{"production", "14:10", []string{"churn 2.0.0@11:00<-P2 last=P2", "fraud 1.0.0@10:00<-P1 last=P5"}},
		{"production", "14:45", []string{"fraud 1.0.0@10:00<-P1 last=P5"}},
		{"production", "15:10", []string{"churn 2.0.0@15:00<-P6 last=P6", "fraud 1.0.0@10:00<-P1 last=P5"}},
		{"production", "16:10", []string{"churn 2.0.0/100/active@15:00<-P6 2.1.0/0/standby@16:00<-P8 last=P8", "fraud 1.0.0@10:00<-P1 last=P5"}},
		{"production", "17:10", []string{"churn 2.1.0/100/active@17:00<-P9 2.0.0/0/standby@17:00<-P9 last=P9", "fraud 1.0.0@10:00<-P1 last=P5"}},
		{"dev", "17:10", []string{"fraud 1.0.0@09:45<-P0 last=P0"}},
		{"staging", "17:10", nil},
	}
	for _, tt := range tests {
		t.Run(tt.env+"@"+tt.at, func(t *testing.T) {
			res, err := audit.Which(ctx, reg, audit.WhichOptions{Env: tt.env, At: at(tt.at)})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range res.Models {
				line := m.Model
				for _, v := range m.Versions {
					line += " " + v.Version.String()
					if v.Weight != nil {
						line += fmt.Sprintf("/%d/%s", *v.Weight, v.Role)
					}
					if v.IntroducedBy != nil {
						line += "@" + v.Since.Format("15:04") + "<-" + s.label(v.IntroducedBy.Commit)
					}
					if v.Manifest == nil || !v.Manifest.DigestMatches || v.Manifest.RegistrationCommit == "" {
						t.Errorf("%s %s: chain incomplete: %+v", m.Model, v.Version, v.Manifest)
					}
				}
				if m.LastChange != nil {
					line += " last=" + s.label(m.LastChange.Commit)
				}
				got = append(got, line)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("which --env %s --at %s:\n got %q\nwant %q", tt.env, tt.at, got, tt.want)
			}
		})
	}
	// The chain of the canary at 12:30, exactly.
	res, err := audit.Which(ctx, reg, audit.WhichOptions{Env: "production", At: at("12:30"), Model: "fraud"})
	if err != nil {
		t.Fatal(err)
	}
	stable, canary := res.Models[0].Versions[0], res.Models[0].Versions[1]
	if e := stable.IntroducedBy; e.Forced != "1.0.0 has not run in staging" || e.Via != ledger.ViaModelgit || e.PullRequest != 2 || !slices.Equal(e.ApprovedBy, []string{"Bob <bob@example.com>"}) || e.RequestedBy != "Dana <dana@example.com>" {
		t.Errorf("stable introduced by %+v", e)
	}
	if e := canary.IntroducedBy; e.Strategy != "canary weight=10" || !e.Signature.Trusted || e.Signature.Signer != "ci@example.com" || len(e.ApprovedBy) != 2 || e.MergedBy != "Erin <erin@example.com>" {
		t.Errorf("canary introduced by %+v", e)
	}
	if mc := canary.Manifest; mc.RegistrationCommit != s.ids["reg fraud 1.1.0"] || !mc.Signature.Trusted || mc.DataHash == "" || len(mc.Artifacts) != 1 || mc.RegisteredBy != "Alice <alice@example.com>" {
		t.Errorf("canary manifest chain %+v", mc)
	}
	if res.Commit != s.ids["P3"] || !res.CommitTime.Equal(at("12:00")) || res.TimeBasis == "" {
		t.Errorf("commit in effect %s at %v, want P3 at 12:00", s.label(res.Commit), res.CommitTime)
	}
}

func TestAuditScenario(t *testing.T) {
	s := buildScenario(t)
	reg, err := gitops.Open(s.dir)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := audit.Audit(ctx, reg, audit.AuditOptions{Env: "production"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range rep.Events {
		sig := "signed"
		if !e.Signature.Trusted {
			sig = "UNSIGNED"
		}
		line := fmt.Sprintf("%s %s %s %s→%s %q via=%q pr=%d approvers=%d %s", e.Time.Format("15:04"), s.label(e.Commit), e.Model, e.FromVersion, e.ToVersion, e.Action, e.Via, e.PullRequest, len(e.ApprovedBy), sig)
		if e.Forced != "" {
			line += " forced"
		}
		if e.Reverts != "" {
			line += " reverts=" + s.label(e.Reverts)
		}
		got = append(got, line)
	}
	want := []string{
		`10:00 P1 fraud →1.0.0 "promote" via="modelgit merge" pr=2 approvers=1 signed forced`,
		`11:00 P2 churn →2.0.0 "promote" via="merged outside modelgit" pr=3 approvers=0 signed`,
		`12:00 P3 fraud 1.0.0→1.1.0 "promote" via="modelgit merge" pr=4 approvers=2 signed`,
		`13:00 P4 fraud 1.0.0→1.1.0 "promote" via="modelgit merge" pr=5 approvers=2 signed`,
		`14:00 P5 fraud 1.0.0→1.0.0 "rollback" via="modelgit merge" pr=6 approvers=1 signed`,
		`14:30 R churn 2.0.0→ "revert" via="direct commit" pr=0 approvers=0 signed reverts=P2`,
		`15:00 P6 churn →2.0.0 "promote" via="modelgit merge" pr=7 approvers=1 UNSIGNED`,
		`16:00 P8 churn 2.0.0→2.1.0 "promote" via="modelgit merge" pr=8 approvers=1 signed`,
		`17:00 P9 churn 2.0.0→2.1.0 "promote" via="modelgit merge" pr=9 approvers=2 signed`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("audit:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
	// --since/--until and --model filter.
	rep, err = audit.Audit(ctx, reg, audit.AuditOptions{Env: "production", Model: "fraud", Since: at("12:00"), Until: at("13:59")})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Events) != 2 || s.label(rep.Events[0].Commit) != "P3" || s.label(rep.Events[1].Commit) != "P4" {
		t.Errorf("filtered audit: %d events", len(rep.Events))
	}
}

// TestAuditDetectsRewrite: a force-push of main is reported, by this run
// and the next ones, and the answers follow the new history.
func TestAuditDetectsRewrite(t *testing.T) {
	s := buildScenario(t)
	reg, err := gitops.Open(s.dir)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := audit.Audit(ctx, reg, audit.AuditOptions{})
	if err != nil || len(rep.Rewrites) != 0 {
		t.Fatalf("first audit: %v, rewrites %v", err, rep.Rewrites)
	}
	// New commits on top: no rewrite, the new change is seen.
	s.register("fraud", "1.2.0", "18:00")
	s.promote("P10", "production", "fraud", "1.2.0", "1.0.0", "replace", "18:30", release("fraud", "production", "replace", "1.2.0"), "", []string{"Bob <bob@example.com>"}, true)
	rep, err = audit.Audit(ctx, reg, audit.AuditOptions{})
	if err != nil || len(rep.Rewrites) != 0 || s.label(rep.Events[len(rep.Events)-1].Commit) != "P10" {
		t.Fatalf("after new commits: %v, rewrites %v", err, rep.Rewrites)
	}
	old := s.main
	// Force-push: main back to P5, then a different change.
	s.onMain(s.ids["P5"])
	s.promote("X", "production", "fraud", "1.1.0", "1.0.0", "replace", "19:00", release("fraud", "production", "replace", "1.1.0"), "", []string{"Bob <bob@example.com>"}, true)
	git(t, s.dir, "reset", "-q", "--hard", "main")
	for run := 0; run < 2; run++ {
		rep, err = audit.Audit(ctx, reg, audit.AuditOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Rewrites) != 1 || rep.Rewrites[0].Previous != old || rep.Rewrites[0].Current != s.main {
			t.Fatalf("run %d: rewrites %+v, want one from %s", run, rep.Rewrites, old)
		}
	}
	if last := rep.Events[len(rep.Events)-1]; s.label(last.Commit) != "X" {
		t.Errorf("last event %s, want X", s.label(last.Commit))
	}
	res, err := audit.Which(ctx, reg, audit.WhichOptions{Env: "production", At: at("23:00")})
	if err != nil || len(res.Rewrites) != 1 {
		t.Fatalf("which after rewrite: %v, %+v", err, res)
	}
}
