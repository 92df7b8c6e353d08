package gitops_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/audit"
	"github.com/modelgit/modelgit/gitops/ledger"
	"github.com/modelgit/modelgit/manifests"
)

// TestScanReleasesMatchesGitLog: the pipeline scan finds, commit by
// commit, exactly the release-file changes `git log --raw` lists, also
// around a subdirectory, non-YAML files and a removed environment.
func TestScanReleasesMatchesGitLog(t *testing.T) {
	s := buildScenario(t)
	s.onMain(s.commit("odd1", nil, map[string]string{
		"environments/production/sub/x.yaml": "x\n",
		"environments/production/sub.yaml":   "y\n",
		"environments/production/sub0.yaml":  "z\n",
		"environments/production/README":     "r\n",
	}, "Odd files", at("18:00"), "Ci <ci@example.com>", true))
	s.onMain(s.commit("odd2", nil, map[string]string{
		"environments/dev/fraud.yaml":        "",
		"environments/production/sub/x.yaml": "",
		"environments/production/sub.yaml":   "y2\n",
		"environments/production/README":     "r2\n",
	}, "Remove dev", at("18:10"), "Ci <ci@example.com>", true))
	s.onMain(s.commit("odd3", nil, map[string]string{"modelgit.yaml": "apiVersion: modelgit.dev/v1alpha1\nkind: Config\nenvironments:\n  - name: dev\n  - name: staging\n  - name: production\n# touched\n"}, "Not a release", at("18:20"), "Ci <ci@example.com>", true))
	s.onMain(s.commit("odd4", nil, map[string]string{"environments/dev/fraud.yaml": release("fraud", "dev", "replace", "1.0.0")}, "Dev again", at("18:30"), "Ci <ci@example.com>", true))
	for _, envs := range [][]string{{"dev", "staging", "production"}, {"production"}, {"dev"}} {
		fast, slow, err := releaseChanges(ctx, s.dir, s.main, envs)
		if err != nil {
			t.Fatal(err)
		}
		if len(slow) == 0 || !slices.Equal(fast, slow) {
			t.Errorf("envs %v:\npipeline %s\ngit log  %s", envs, strings.Join(fast, "\n         "), strings.Join(slow, "\n         "))
		}
	}
}

func auditCacheFile(s *scenario) string {
	return filepath.Join(s.dir, ".git", filepath.FromSlash(ledger.AuditCacheFile))
}

// eventsJSON is the audit's events as `audit -o json` prints them.
func eventsJSON(t *testing.T, reg *gitops.Repository) (string, *audit.AuditReport) {
	t.Helper()
	rep, err := audit.Audit(ctx, reg, audit.AuditOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.MarshalIndent(rep.Events, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b), rep
}

// TestAuditCache: after each change of the repository or of the cache,
// an audit that uses the cache answers exactly what one without it does.
func TestAuditCache(t *testing.T) {
	bob := []string{"Bob <bob@example.com>"}
	tests := []struct {
		name   string
		change func(t *testing.T, s *scenario)
		check  func(t *testing.T, s *scenario, rep *audit.AuditReport)
	}{
		{"new commits", func(t *testing.T, s *scenario) {
			s.register("fraud", "1.2.0", "18:00")
			s.promote("P10", "production", "fraud", "1.2.0", "1.0.0", "replace", "18:30", release("fraud", "production", "replace", "1.2.0"), "", bob, true)
		}, func(t *testing.T, s *scenario, rep *audit.AuditReport) {
			if last := rep.Events[len(rep.Events)-1]; s.label(last.Commit) != "P10" {
				t.Errorf("last event %s, want P10", s.label(last.Commit))
			}
		}},
		{"rebase and force-push", func(t *testing.T, s *scenario) {
			s.onMain(s.ids["P5"])
			s.promote("X", "production", "fraud", "1.1.0", "1.0.0", "replace", "19:00", release("fraud", "production", "replace", "1.1.0"), "", bob, true)
		}, func(t *testing.T, s *scenario, rep *audit.AuditReport) {
			if len(rep.Rewrites) != 1 {
				t.Errorf("rewrites %+v, want one", rep.Rewrites)
			}
			for _, e := range rep.Events {
				if l := s.label(e.Commit); l == "P6" || l == "P9" {
					t.Errorf("event of %s, which the rewrite dropped", l)
				}
			}
		}},
		{"deleted cache", func(t *testing.T, s *scenario) {
			if err := os.Remove(auditCacheFile(s)); err != nil {
				t.Fatal(err)
			}
		}, nil},
		{"truncated cache", func(t *testing.T, s *scenario) {
			b, err := os.ReadFile(auditCacheFile(s))
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, auditCacheFile(s), string(b[:len(b)/2]))
		}, nil},
		{"one byte changed", func(t *testing.T, s *scenario) {
			b, err := os.ReadFile(auditCacheFile(s))
			if err != nil {
				t.Fatal(err)
			}
			i := strings.Index(string(b), "Merge pull request #2 ")
			if i < 0 {
				t.Fatal("the cache holds no subject of pull request #2")
			}
			b[i] = 'X'
			writeFile(t, auditCacheFile(s), string(b))
		}, nil},
		{"one byte of the index changed", func(t *testing.T, s *scenario) {
			b, err := os.ReadFile(auditCacheFile(s))
			if err != nil {
				t.Fatal(err)
			}
			// The index ends where the trailer (its offset, length and
			// sha256) begins.
			b[len(b)-16-len("sha256:")-64-5] ^= 0x20
			writeFile(t, auditCacheFile(s), string(b))
		}, nil},
		{"an older version's file", func(t *testing.T, s *scenario) {
			payload := "a gob of every chunk"
			writeFile(t, auditCacheFile(s), "modelgit audit-cache\n"+manifests.FromBytes([]byte(payload)).String()+payload)
		}, nil},
		{"garbage cache", func(t *testing.T, s *scenario) {
			writeFile(t, auditCacheFile(s), "\x00not json")
		}, nil},
		{"other allowed signers", func(t *testing.T, s *scenario) {
			_, pub := sshKey(t, "other")
			s.onMain(s.commit("signers", nil, map[string]string{"policies/allowed_signers": "other@example.com " + pub + "\n"}, "Rotate signers", at("18:00"), "Ci <ci@example.com>", true))
		}, func(t *testing.T, s *scenario, rep *audit.AuditReport) {
			// Judged by the signers in force before each commit: what ci
			// signed while allowed stays trusted after it is rotated out.
			for _, e := range rep.Events {
				if l := s.label(e.Commit); l != "P6" && !e.Signature.Trusted {
					t.Errorf("%s no longer trusted after the signers changed: %+v", l, e.Signature)
				}
			}
		}},
		{"a key that adds itself", func(t *testing.T, s *scenario) {
			mallory, pub := sshKey(t, "mallory")
			signers := git(t, s.dir, "show", "main:policies/allowed_signers")
			restore := s.signingAs(mallory)
			defer restore()
			s.onMain(s.commit("signers", nil, map[string]string{"policies/allowed_signers": signers + "\nmallory@example.com " + pub + "\n"}, "Trust mallory", at("18:00"), "Mallory <mallory@example.com>", true))
			s.promote("M", "production", "fraud", "1.1.0", "1.0.0", "replace", "18:30", release("fraud", "production", "replace", "1.1.0"), "", bob, true)
		}, func(t *testing.T, s *scenario, rep *audit.AuditReport) {
			if m := eventsBy(s, rep)["M"]; m.Signature.Trusted {
				t.Errorf("the promotion signed by a key that added itself is trusted: %+v", m.Signature)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := buildScenario(t)
			reg, err := gitops.Open(s.dir)
			if err != nil {
				t.Fatal(err)
			}
			eventsJSON(t, reg) // fills the cache
			if _, err := os.Stat(auditCacheFile(s)); err != nil {
				t.Fatalf("no cache after a first run: %v", err)
			}
			tt.change(t, s)
			warm, rep := eventsJSON(t, reg)
			if tt.check != nil {
				tt.check(t, s, rep)
			}
			again, _ := eventsJSON(t, reg) // from the cache just written
			if err := os.Remove(auditCacheFile(s)); err != nil {
				t.Fatal(err)
			}
			cold, _ := eventsJSON(t, reg)
			if warm != cold || again != cold {
				t.Errorf("with the cache the events differ from a run without it:\nwarm %s\ncold %s", warm, cold)
			}
		})
	}
}

// TestAuditCacheIsUsed: a second run reads the events of the commits the
// cache covers from it, and scans only the commits after them; a run with
// the cache at the tip scans none.
func TestAuditCacheIsUsed(t *testing.T) {
	s := buildScenario(t)
	reg, err := gitops.Open(s.dir)
	if err != nil {
		t.Fatal(err)
	}
	scanned := func() int {
		t.Helper()
		n := -1
		if _, err := audit.Audit(ctx, reg, audit.AuditOptions{Progress: func(c int) { n = c }}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := scanned(); n < 5 {
		t.Fatalf("the first run scanned %d commits that change a release file; the scenario has more", n)
	}
	if n := scanned(); n != 0 {
		t.Errorf("with the cache at the tip, %d commits were scanned, want none", n)
	}
	s.register("fraud", "1.2.0", "18:00")
	s.promote("P10", "production", "fraud", "1.2.0", "1.0.0", "replace", "18:30", release("fraud", "production", "replace", "1.2.0"), "", []string{"Bob <bob@example.com>"}, true)
	if n := scanned(); n != 1 {
		t.Errorf("after one promotion, %d commits were scanned, want only its merge", n)
	}
	_, rep := eventsJSON(t, reg)
	if last := rep.Events[len(rep.Events)-1]; s.label(last.Commit) != "P10" {
		t.Errorf("last event %s, want P10", s.label(last.Commit))
	}
}

// TestWhichWithCache: which answers the same from the audit cache (also
// one that new commits made stale) as from the history.
func TestWhichWithCache(t *testing.T) {
	s := buildScenario(t)
	reg, err := gitops.Open(s.dir)
	if err != nil {
		t.Fatal(err)
	}
	answers := func() string {
		t.Helper()
		var b strings.Builder
		for _, env := range []string{"production", "dev"} {
			for _, hhmm := range []string{"10:00", "12:30", "14:45", "16:10", "17:10", "23:00"} {
				res, err := audit.Which(ctx, reg, audit.WhichOptions{Env: env, At: at(hhmm)})
				if err != nil {
					t.Fatal(err)
				}
				j, err := json.Marshal(res)
				if err != nil {
					t.Fatal(err)
				}
				b.Write(j)
				b.WriteByte('\n')
			}
		}
		return b.String()
	}
	cold := answers()
	if _, err := os.Stat(auditCacheFile(s)); err == nil {
		t.Fatal("which wrote an audit cache; only audit pays for a first scan")
	}
	// The registrations which found are kept, and give the same answers.
	regs := filepath.Join(s.dir, ".git", filepath.FromSlash(ledger.RegistrationsFile))
	kept, err := os.ReadFile(regs)
	if err != nil || !strings.Contains(string(kept), "models/fraud/") {
		t.Fatalf("which kept no registrations: %v %s", err, kept)
	}
	same(t, "registrations kept", answers(), cold)
	// Entries whose commit is not on the line asked about (another
	// branch's, a rewritten history's, none at all) are looked up again;
	// a file that does not read is written anew.
	var rec struct{ Added map[string]string }
	if err := json.Unmarshal(kept, &rec); err != nil {
		t.Fatal(err)
	}
	side := git(t, s.dir, "commit-tree", "-m", "aside", git(t, s.dir, "rev-parse", "main^{tree}"))
	for p := range rec.Added {
		rec.Added[p] = side
	}
	rec.Added["models/fraud/versions/1.0.0.yaml"] = strings.Repeat("0", 40)
	b, _ := json.Marshal(rec)
	writeFile(t, regs, string(b))
	same(t, "registrations off the line", answers(), cold)
	writeFile(t, regs, "{not json")
	same(t, "registrations damaged", answers(), cold)
	if b, _ := os.ReadFile(regs); !json.Valid(b) {
		t.Errorf("a damaged registrations file was not written anew: %s", b)
	}
	// A named pipe there is not opened (which would wait for a writer).
	if err := os.Remove(regs); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(regs, 0o644); err != nil {
		t.Fatal(err)
	}
	same(t, "registrations a named pipe", answers(), cold)
	eventsJSON(t, reg) // the cache, at the tip
	same(t, "cache at the tip", answers(), cold)

	// New commits: the cache is behind the tip.
	s.register("fraud", "1.2.0", "18:00")
	s.promote("P10", "production", "fraud", "1.2.0", "1.0.0", "canary weight=20", "18:30", release("fraud", "production", "canary", "1.0.0 80 stable", "1.2.0 20 canary"), "", []string{"Bob <bob@example.com>"}, true)
	aside := auditCacheFile(s) + ".aside"
	if err := os.Rename(auditCacheFile(s), aside); err != nil {
		t.Fatal(err)
	}
	cold = answers()
	if err := os.Rename(aside, auditCacheFile(s)); err != nil {
		t.Fatal(err)
	}
	same(t, "stale cache", answers(), cold)
}

// same reports the first line where got and want differ.
func same(t *testing.T, what, got, want string) {
	t.Helper()
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range min(len(g), len(w)) {
		if g[i] != w[i] {
			t.Errorf("%s: answer %d differs:\n got %.2000s\nwant %.2000s", what, i, g[i], w[i])
			return
		}
	}
	if len(g) != len(w) {
		t.Errorf("%s: %d answers, want %d", what, len(g), len(w))
	}
}

// TestAuditTwoBranches (#16): with production following its own branch,
// audit streams the two branches' events merged by time, main's first at
// the same time — what sorting them all gave — from the cache as without
// it.
func TestAuditTwoBranches(t *testing.T) {
	s := buildScenario(t)
	git(t, s.dir, "update-ref", "refs/heads/prod", s.main)
	// main goes on with dev at the times production changed on prod.
	s.promote("D1", "dev", "fraud", "1.1.0", "1.0.0", "replace", "12:00", release("fraud", "dev", "replace", "1.1.0"), "", []string{"Bob <bob@example.com>"}, true)
	writeFile(t, filepath.Join(s.dir, "modelgit.yaml"), "apiVersion: modelgit.dev/v1alpha1\nkind: Config\nenvironments:\n  - name: dev\n  - name: staging\n  - name: production\n    branch: prod\n")
	reg, err := gitops.Open(s.dir)
	if err != nil {
		t.Fatal(err)
	}
	var want []ledger.AuditEvent
	for _, env := range []string{"dev", "staging", "production"} { // main's, then prod's
		rep, err := audit.Audit(ctx, reg, audit.AuditOptions{Env: env})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, rep.Events...)
	}
	slices.SortStableFunc(want, func(a, b ledger.AuditEvent) int { return a.Time.Compare(b.Time) })
	wantJSON, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	for _, run := range []string{"cache of one environment each", "cache of both", "no cache"} {
		if run == "no cache" {
			if err := os.Remove(auditCacheFile(s)); err != nil {
				t.Fatal(err)
			}
		}
		rep, err := audit.Audit(ctx, reg, audit.AuditOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Branches) != 2 || rep.Branches[0].Branch != "main" || rep.Branches[1].Branch != "prod" {
			t.Fatalf("branches %+v, want main and prod", rep.Branches)
		}
		got, err := json.Marshal(rep.Events)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(wantJSON) {
			var labels []string
			for _, e := range rep.Events {
				labels = append(labels, s.label(e.Commit)+"@"+e.Time.Format("15:04"))
			}
			t.Errorf("%s: the merged events differ from the sorted ones: %v", run, labels)
		}
	}
	if !slices.ContainsFunc(want, func(e ledger.AuditEvent) bool { return s.label(e.Commit) == "D1" }) ||
		!slices.ContainsFunc(want, func(e ledger.AuditEvent) bool { return s.label(e.Commit) == "P3" }) {
		t.Fatal("the scenario lacks main's D1 or prod's P3")
	}
}

// TestAuditStateNotRegular: named pipes in place of the audit cache and
// of the record of followed tips are not opened (which would wait for a
// writer): the audit answers as without them, and writes both anew.
func TestAuditStateNotRegular(t *testing.T) {
	s := buildScenario(t)
	reg, err := gitops.Open(s.dir)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := eventsJSON(t, reg)
	followed := filepath.Join(s.dir, ".git", filepath.FromSlash(ledger.FollowedFile))
	for _, f := range []string{auditCacheFile(s), followed} {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Mkfifo(f, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var log bytes.Buffer
	logged, err := gitops.Open(s.dir, gitops.WithLogger(gitops.WriterLogger{W: &log}))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := audit.Audit(ctx, logged, audit.AuditOptions{})
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("the audit waits on a named pipe")
	}
	if !strings.Contains(log.String(), followed+" is not a regular file; starting a new record") {
		t.Errorf("no warning naming the record of followed tips:\n%s", log.String())
	}
	got, _ := eventsJSON(t, reg)
	same(t, "named pipes in place of the audit's state", got, want)
	for _, f := range []string{auditCacheFile(s), followed} {
		if fi, err := os.Lstat(f); err != nil || !fi.Mode().IsRegular() {
			t.Errorf("%s not written anew as a regular file: %v", f, err)
		}
	}
}
