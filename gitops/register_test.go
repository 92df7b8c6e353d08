package gitops_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/register"
	"github.com/modelgit/modelgit/gitops/repo"
	"github.com/modelgit/modelgit/gitops/signing"
	"github.com/modelgit/modelgit/manifests"
)

func TestRegisterProposesVersions(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	first := f.register(base)
	if got := first.Version.Manifest.Version.String(); got != "0.1.0+data.1" {
		t.Fatalf("first version = %s, want 0.1.0+data.1", got)
	}
	checkTrailers(t, f, first)
	baseHead := f.head()

	tests := []struct {
		name   string
		change func(s *spec)
		want   string
		bump   manifests.BumpKind
		reason string
	}{
		{"data only", func(s *spec) { s.data = "amount,hour\n2.0,4\n"; s.weights = "weights retrained\n" }, "0.1.0+data.2", manifests.BumpData, "training data changed"},
		{"params", func(s *spec) { s.params = `{"learning_rate": 0.05, "max_depth": 6}` }, "0.1.1+data.1", manifests.BumpPatch, `hyperparameter "learning_rate" changed 0.1 → 0.05`},
		{"weights without data", func(s *spec) { s.weights = "weights v2\n" }, "0.1.1+data.1", manifests.BumpPatch, "while training data did not"},
		{"feature added", func(s *spec) {
			s.schema = `{"features": [{"name": "amount", "type": "float"}, {"name": "hour", "type": "int"}, {"name": "age", "type": "int"}]}`
		}, "0.2.0+data.1", manifests.BumpMinor, `feature "age" added`},
		{"pipeline added", func(s *spec) { s.pipeline = "pickle\n" }, "0.2.0+data.1", manifests.BumpMinor, "new pipeline artifact"},
		{"feature removed", func(s *spec) { s.schema = `{"features": [{"name": "amount", "type": "float"}]}` }, "1.0.0+data.1", manifests.BumpMajor, `feature "hour" removed`},
		{"feature type changed", func(s *spec) {
			s.schema = `{"features": [{"name": "amount", "type": "float"}, {"name": "hour", "type": "string"}]}`
		}, "1.0.0+data.1", manifests.BumpMajor, `feature "hour" type changed int → string`},
		{"output removed", func(s *spec) { s.config = "inputs:\n  amount: float\n  hour: int\noutputs:\n  score: float\n" }, "1.0.0+data.1", manifests.BumpMajor, `output "label" removed`},
		{"major and data", func(s *spec) {
			s.schema = `{"features": [{"name": "amount", "type": "float"}]}`
			s.data = "amount\n1.0\n"
		}, "1.0.0+data.2", manifests.BumpMajor, "training data changed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Each case starts from the first version: reset the branch.
			git(t, f.root, "reset", "-q", "--hard", baseHead)
			f.t = t
			f.reopen()
			s := base
			tc.change(&s)
			res := f.register(s)
			if res.Unchanged {
				t.Fatal("Unchanged = true, want a new version")
			}
			if got := res.Version.Manifest.Version.String(); got != tc.want {
				t.Errorf("version = %s, want %s (reasons %q)", got, tc.want, res.Proposal.Reasons)
			}
			if res.Proposal.Bump != tc.bump {
				t.Errorf("bump = %s, want %s", res.Proposal.Bump, tc.bump)
			}
			if !strings.Contains(res.Version.Manifest.Reason, tc.reason) {
				t.Errorf("reason %q does not say %q", res.Version.Manifest.Reason, tc.reason)
			}
			if res.Previous == nil || res.Previous.Manifest.Version.String() != "0.1.0+data.1" {
				t.Errorf("Previous = %v, want 0.1.0+data.1", res.Previous)
			}
			if got := git(t, f.root, "rev-parse", "HEAD^"); got != baseHead {
				t.Errorf("HEAD^ = %s, want the first version's commit %s", got, baseHead)
			}
			checkTrailers(t, f, res)
		})
	}
}

func TestRegisterUnchangedMakesNoCommit(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	first := f.register(base)
	before := f.state()
	res := f.register(base) // same content, new files (fresh inodes)
	if !res.Unchanged {
		t.Fatalf("Unchanged = false; proposed %s because %q", res.Version.Manifest.Version, res.Proposal.Reasons)
	}
	if res.Version == nil || res.Version.Digest != first.Version.Digest {
		t.Errorf("Version = %v, want the latest one %s", res.Version, first.Version.Digest)
	}
	if !res.Commit.IsZero() {
		t.Errorf("Commit = %s, want none", res.Commit)
	}
	f.assertState(before)
	if n := git(t, f.root, "rev-list", "--count", "HEAD"); n != "2" {
		t.Errorf("%s commits, want 2 (init and one version)", n)
	}
}

func TestRegisterExplicitVersion(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.register(spec{weights: "a", data: "d", version: "1.0.0+data.1"})
	changed := spec{weights: "b", data: "d"}

	for _, tc := range []struct {
		version string
		err     error
	}{
		{"1.0.0+data.1", manifests.ErrVersionExists},
		{"0.9.0+data.1", manifests.ErrVersionNotGreater},
		{"1.0.0", manifests.ErrVersionNotGreater},
	} {
		before := f.state()
		s := changed
		s.version = tc.version
		_, err := register.Register(ctx, f.reg, f.options(s))
		if !errors.Is(err, tc.err) {
			t.Errorf("--version %s: err = %v, want %v", tc.version, err, tc.err)
		}
		mustContain(t, err, "--version")
		// The artifacts were stored (content-addressed, harmless) but no
		// commit was made and the work tree is untouched.
		if got := f.head(); got != before.head {
			t.Errorf("--version %s: HEAD moved", tc.version)
		}
		if got := git(t, f.root, "status", "--porcelain"); got != before.status {
			t.Errorf("--version %s: status changed: %q", tc.version, got)
		}
	}

	s := changed
	s.version = "3.0.0+data.5"
	res := f.register(s)
	if got := res.Version.Manifest.Version.String(); got != "3.0.0+data.5" {
		t.Fatalf("version = %s, want 3.0.0+data.5", got)
	}
	msg := git(t, f.root, "log", "-1", "--format=%B")
	if !strings.Contains(msg, "given explicitly (proposed: 1.0.1+data.1)") {
		t.Errorf("commit message does not say the version was explicit:\n%s", msg)
	}
	checkTrailers(t, f, res)
	// An explicit version is used even when nothing changed.
	s = changed
	s.version = "3.0.1+data.5"
	if res := f.register(s); res.Unchanged || res.Version.Manifest.Version.String() != "3.0.1+data.5" {
		t.Errorf("explicit version on unchanged input: Unchanged=%v version=%s", res.Unchanged, res.Version.Manifest.Version)
	}
}

func TestRegisterDryRunWritesNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.register(base)
	before := f.state()
	o := f.options(spec{weights: "new weights", data: base.data, schema: base.schema, config: base.config, params: base.params})
	o.DryRun = true
	res, err := register.Register(ctx, f.reg, o)
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Version.Manifest.Version.String(); got != "0.1.1+data.1" {
		t.Errorf("dry run proposed %s, want 0.1.1+data.1", got)
	}
	f.assertState(before)
}

// checkTrailers checks the trailers of the commit that registered res,
// parsed by repo.ParseTrailers and by the real git interpret-trailers, and
// the Model-Digest against the real sha256sum of the committed manifest.
func checkTrailers(t *testing.T, f *fixture, res *register.RegisterResult) {
	t.Helper()
	commit := res.Commit.String()
	if got := f.head(); got != commit {
		t.Fatalf("HEAD = %s, want the registering commit %s", got, commit)
	}
	msg := git(t, f.root, "log", "-1", "--format=%B", commit) + "\n"
	ours := map[string]string{}
	for _, tr := range repo.ParseTrailers(msg) {
		ours[tr.Key] = tr.Value
	}
	theirs := map[string]string{}
	out, _, err := runErr(f.root, nil, msg, "git", "interpret-trailers", "--parse")
	if err != nil {
		t.Fatalf("git interpret-trailers: %v", err)
	}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		k, v, _ := strings.Cut(l, ": ")
		theirs[k] = v
	}
	// The real sha256sum of the manifest as committed.
	manifest := run(t, f.root, nil, "git", "show", commit+":"+res.Version.Path)
	file := f.t.TempDir() + "/manifest.yaml"
	writeFile(t, file, manifest)
	digest := "sha256:" + sha256sum(t, file)[file]
	if digest != res.Version.Digest.String() {
		t.Errorf("result digest %s, sha256sum of the committed manifest %s", res.Version.Digest, digest)
	}
	m := res.Version.Manifest
	want := map[string]string{
		"Model":         "fraud",
		"Model-Version": m.Version.String(),
		"Model-Digest":  digest,
		"Registered-by": "Alice <alice@example.com>",
	}
	if m.Data != nil {
		want["Data-Hash"] = m.Data.Digest.String()
	}
	for name, got := range map[string]map[string]string{"repo.ParseTrailers": ours, "git interpret-trailers": theirs} {
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s: trailer %s = %q, want %q\n%s", name, k, got[k], v, msg)
			}
		}
	}
	if m.Data != nil && !strings.HasPrefix(theirs["Data-Hash"], "sha256:") {
		t.Errorf("Data-Hash %q is not a digest", theirs["Data-Hash"])
	}
	if !strings.HasPrefix(msg, "Register fraud "+m.Version.String()+"\n") {
		t.Errorf("subject: %q", strings.SplitN(msg, "\n", 2)[0])
	}
}

// TestRegisterRefusesAVersionPastTheLimit: a bump past the largest version
// number fails before committing, naming the number, instead of committing
// a manifest every later command refuses.
func TestRegisterRefusesAVersionPastTheLimit(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.register(spec{weights: "a", data: "d1", version: "1.0.0+data.2147483646"})
	before := f.state()
	_, err := register.Register(ctx, f.reg, f.options(spec{weights: "a", data: "d2"}))
	mustContain(t, err, `registering "fraud"`, "bumping data", "training data changed", "the data number 2147483647 is out of range", "at most 2147483646")
	f.assertState(before)
	// The model is still readable.
	versions, err := f.reopen().Versions("fraud")
	if err != nil || len(versions) != 1 {
		t.Fatalf("Versions = %v, %v", versions, err)
	}
}

// TestRegisterRefusesAnUntrustedSigner: a signing key that
// policies/allowed_signers at HEAD does not trust is refused before
// anything is stored or committed, with the exact line to add (#13).
func TestRegisterRefusesAnUntrustedSigner(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	head := f.head()
	mallory, malloryPub := sshKey(t, "mallory@example.com")
	s, err := signing.LoadSSHSigner(mallory)
	if err != nil {
		t.Fatal(err)
	}
	o := f.options(base)
	o.Signer = s
	_, err = register.Register(ctx, f.reg, o)
	if !errors.Is(err, register.ErrUntrustedSigner) {
		t.Fatalf("Register with an untrusted key = %v, want ErrUntrustedSigner", err)
	}
	if want := `alice@example.com namespaces="git" ` + strings.Join(strings.Fields(malloryPub)[:2], " "); !strings.Contains(err.Error(), want) {
		t.Errorf("the error does not give the line to add (%s): %v", want, err)
	}
	if got := f.head(); got != head {
		t.Errorf("HEAD moved to %s", got)
	}
	if entries, _ := os.ReadDir(f.blobDir()); len(entries) != 0 {
		t.Errorf("%d blobs stored", len(entries))
	}
	// --no-sign (Signer nil) and --dry-run still work.
	o.DryRun = true
	if _, err := register.Register(ctx, f.reg, o); err != nil {
		t.Errorf("dry run: %v", err)
	}
}

// TestRegisterBeforeInitCommitted: with nothing committed yet (init ran
// without a key), register says to run init again with the key (#13).
func TestRegisterBeforeInitCommitted(t *testing.T) {
	t.Parallel()
	root := filepath.Join(t.TempDir(), "gitops")
	if _, err := register.Init(ctx, root, register.InitOptions{}); err != nil {
		t.Fatal(err)
	}
	reg, err := gitops.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := sshKey(t, "alice@example.com")
	s, err := signing.LoadSSHSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	weights := filepath.Join(t.TempDir(), "model.bin")
	writeFile(t, weights, "w")
	_, err = register.Register(ctx, reg, register.RegisterOptions{Model: "m", Weights: weights, Identity: alice, Signer: s})
	if !errors.Is(err, register.ErrUntrustedSigner) || !strings.Contains(err.Error(), "run modelgit init again") {
		t.Errorf("Register before init committed: %v", err)
	}
}

// TestRegisterRemembersInputs: the first register writes the inputs under
// register: in model.yaml, relative to the repository root, and
// `register MODEL` alone registers again from them (#13).
func TestRegisterRemembersInputs(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	o := f.options(base)
	o.Framework = "xgboost=2.1.1"
	first, err := register.Register(ctx, f.reg, o)
	if err != nil {
		t.Fatal(err)
	}
	if !first.RememberedUpdated {
		t.Errorf("first register did not remember its inputs")
	}
	m, err := manifests.ParseModel("model.yaml", []byte(git(t, f.root, "show", "HEAD:models/fraud/model.yaml")))
	if err != nil {
		t.Fatal(err)
	}
	rel, _ := filepath.Rel(f.root, o.Weights)
	if m.Register == nil || m.Register.Weights != filepath.ToSlash(rel) || m.Register.Framework != "xgboost=2.1.1" || m.Register.Data == "" {
		t.Fatalf("register: block = %+v", m.Register)
	}
	again, err := register.Register(ctx, f.reg, register.RegisterOptions{Model: "fraud", Identity: alice, Signer: f.signer})
	if err != nil {
		t.Fatal(err)
	}
	if !again.Unchanged || len(again.Remembered) != 7 {
		t.Errorf("register MODEL alone: unchanged=%v remembered=%v", again.Unchanged, again.Remembered)
	}
	writeFile(t, o.Weights, "retrained\n")
	next, err := register.Register(ctx, f.reg, register.RegisterOptions{Model: "fraud", Identity: alice, Signer: f.signer})
	if err != nil {
		t.Fatal(err)
	}
	if next.Unchanged || next.Proposal.Bump != manifests.BumpPatch || next.RememberedUpdated {
		t.Errorf("register MODEL alone after retraining: %+v", next.Proposal)
	}
	// A flag given wins and is remembered.
	p := filepath.Join(t.TempDir(), "params.json")
	writeFile(t, p, `{"learning_rate": 0.2, "max_depth": 6}`)
	moved, err := register.Register(ctx, f.reg, register.RegisterOptions{Model: "fraud", Params: p, Identity: alice, Signer: f.signer})
	if err != nil {
		t.Fatal(err)
	}
	if !moved.RememberedUpdated || !strings.Contains(git(t, f.root, "show", "HEAD:models/fraud/model.yaml"), "params.json") {
		t.Errorf("a new --params was not remembered")
	}
}

// TestRegisterArtifactRemovalNeedsAllow: leaving out an artifact kind the
// latest version has is refused before anything is stored, unless
// AllowRemoval asks for the major version (#13).
func TestRegisterArtifactRemovalNeedsAllow(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := base
	s.pipeline = "pickle\n"
	f.register(s)
	// Forget the remembered inputs, as a model registered before they were
	// remembered has none.
	git(t, f.root, "rm", "-q", "models/fraud/model.yaml")
	git(t, f.root, "commit", "-q", "-S", "-m", "forget")
	head := f.head()
	o := f.options(base) // no pipeline
	_, err := register.Register(ctx, f.reg, o)
	if !errors.Is(err, register.ErrArtifactRemoved) {
		t.Fatalf("Register without the pipeline = %v, want ErrArtifactRemoved", err)
	}
	mustContain(t, err, "--pipeline", "preprocess.pkl", "--allow-removal", "major")
	if f.head() != head {
		t.Error("HEAD moved")
	}
	o.AllowRemoval = true
	res, err := register.Register(ctx, f.reg, o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Proposal.Bump != manifests.BumpMajor || !strings.Contains(strings.Join(res.Proposal.Reasons, ";"), "pipeline artifact removed") {
		t.Errorf("with AllowRemoval: %+v", res.Proposal)
	}
}

// TestRegisterRefusesBadFrameworkAndTarget (#13).
func TestRegisterRefusesBadFrameworkAndTarget(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, tc := range []struct {
		set  func(*register.RegisterOptions)
		want string
	}{
		{func(o *register.RegisterOptions) { o.Framework = "noequals" }, `--framework "noequals": want NAME=VERSION`},
		{func(o *register.RegisterOptions) { o.Framework = "pytorch=" }, `--framework "pytorch="`},
		{func(o *register.RegisterOptions) { o.Targets = []string{""} }, `--target "": want the name of a cluster or environment`},
		{func(o *register.RegisterOptions) { o.Targets = []string{"Prod Cluster"} }, `--target "Prod Cluster"`},
	} {
		o := f.options(base)
		tc.set(&o)
		if _, err := register.Register(ctx, f.reg, o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Register: %v, want %q", err, tc.want)
		}
	}
}

// TestRegisterKeepsShapes: a shape declared in the inference config is in
// the manifest, and a change of shape is a breaking (major) change that
// says so (#13).
func TestRegisterKeepsShapes(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := base
	s.config = "inputs:\n  - {name: amount, type: float32, shape: [-1, 30]}\noutputs:\n  score: {type: float32, shape: [-1]}\n"
	first := f.register(s)
	if got := first.Version.Manifest.Interface.Inputs["amount"]; got != "float32[-1,30]" {
		t.Errorf("inputs.amount = %q, want float32[-1,30]", got)
	}
	s.config = "inputs:\n  - {name: amount, type: float32, shape: [-1, 31]}\noutputs:\n  score: {type: float32, shape: [-1]}\n"
	next := f.register(s)
	if next.Proposal.Bump != manifests.BumpMajor || !strings.Contains(strings.Join(next.Proposal.Reasons, ";"), `input "amount" shape changed [-1,30] → [-1,31]: breaking API change`) {
		t.Errorf("shape change: %+v", next.Proposal)
	}
}

// TestPullFromALocalStoreSaysSo: a blob missing from a store inside the
// clone (what a teammate's clone sees) is explained, with what to do (#13).
func TestPullFromALocalStoreSaysSo(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	res := f.register(base)
	if err := os.RemoveAll(f.blobDir()); err != nil {
		t.Fatal(err)
	}
	_, err := register.Pull(ctx, f.reg, res.Version, t.TempDir(), register.PullOptions{})
	if err == nil {
		t.Fatal("Pull succeeded without blobs")
	}
	mustContain(t, err, "blob not found", "is local to one clone", "modelgit store copy file://.modelgit/store", "set store:")
}
