//go:build unix

package gitops_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/audit"
	"github.com/modelgit/modelgit/gitops/check"
	"github.com/modelgit/modelgit/gitops/register"
	"github.com/modelgit/modelgit/gitops/repo"
	"github.com/modelgit/modelgit/gitops/signing"
)

// TestRegisterBadInputLosesNothing: every bad input fails with an error
// naming the flag, file (and line and field where there is one), and
// leaves HEAD, the work tree and the store exactly as they were.
func TestRegisterBadInputLosesNothing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// bad edits the options; dir is a scratch directory.
		bad  func(t *testing.T, o *register.RegisterOptions, dir string)
		want []string
	}{
		{"missing weights", func(t *testing.T, o *register.RegisterOptions, dir string) {
			o.Weights = filepath.Join(dir, "nope.safetensors")
		}, []string{"--weights", "nope.safetensors", "no such file"}},
		{"no weights", func(t *testing.T, o *register.RegisterOptions, dir string) {
			// A model registered before remembers its weights: a new one
			// has none to fall back on.
			o.Model = "fresh"
			o.Weights = ""
		}, []string{"--weights is required"}},
		{"directory as schema", func(t *testing.T, o *register.RegisterOptions, dir string) {
			o.Schema = dir
		}, []string{"--schema", "is a directory, want a file"}},
		{"directory as metrics", func(t *testing.T, o *register.RegisterOptions, dir string) {
			o.Metrics = dir
		}, []string{"--metrics", "is a directory"}},
		{"dangling metrics symlink", func(t *testing.T, o *register.RegisterOptions, dir string) {
			o.Metrics = filepath.Join(dir, "metrics.json")
			if err := os.Symlink("gone.json", o.Metrics); err != nil {
				t.Fatal(err)
			}
		}, []string{"--metrics", "metrics.json", "no such file"}},
		{"metrics not YAML", func(t *testing.T, o *register.RegisterOptions, dir string) {
			o.Metrics = filepath.Join(dir, "metrics.json")
			writeFile(t, o.Metrics, "{\"accuracy\": 0.9,\n\t\"auc\": [\n")
		}, []string{"--metrics", "metrics.json"}},
		{"metric not a number", func(t *testing.T, o *register.RegisterOptions, dir string) {
			o.Metrics = filepath.Join(dir, "metrics.json")
			writeFile(t, o.Metrics, "{\n  \"accuracy\": 0.9,\n  \"auc\": \"high\"\n}\n")
		}, []string{"metrics.json:3:", `field "auc"`, "want a finite number", `"high"`}},
		{"metric not finite", func(t *testing.T, o *register.RegisterOptions, dir string) {
			o.Metrics = filepath.Join(dir, "metrics.yaml")
			writeFile(t, o.Metrics, "accuracy: 0.9\nloss: .nan\n")
		}, []string{"metrics.yaml:2:", `field "loss"`}},
		{"metrics a list", func(t *testing.T, o *register.RegisterOptions, dir string) {
			o.Metrics = filepath.Join(dir, "metrics.yaml")
			writeFile(t, o.Metrics, "- 0.9\n")
		}, []string{"metrics.yaml:1:", "want a mapping"}},
		{"params a list", func(t *testing.T, o *register.RegisterOptions, dir string) {
			o.Params = filepath.Join(dir, "params.yaml")
			writeFile(t, o.Params, "\n- 1\n")
		}, []string{"--params", "params.yaml:2:"}},
		// Values the tool could not read back once committed (issue 14).
		{"NaN param", func(t *testing.T, o *register.RegisterOptions, dir string) {
			o.Params = filepath.Join(dir, "params.yaml")
			writeFile(t, o.Params, "lr: 0.1\nmomentum: .nan\n")
		}, []string{"--params", "params.yaml:2:", `field "momentum"`, "not a finite number"}},
		{"infinite param in JSON", func(t *testing.T, o *register.RegisterOptions, dir string) {
			o.Params = filepath.Join(dir, "params.json")
			writeFile(t, o.Params, `{"clip": {"max": [1, -.inf]}}`)
		}, []string{"--params", "params.json:1:", `field "clip.max[1]"`, "not a finite number"}},
		{"params in two documents", func(t *testing.T, o *register.RegisterOptions, dir string) {
			o.Params = filepath.Join(dir, "params.yaml")
			writeFile(t, o.Params, "lr: 0.1\n---\nepochs: 3\n")
		}, []string{"--params", "params.yaml:2:", "more than one YAML document"}},
		{"empty metric name", func(t *testing.T, o *register.RegisterOptions, dir string) {
			o.Metrics = filepath.Join(dir, "metrics.json")
			writeFile(t, o.Metrics, `{"accuracy": 0.9, "": 0.5}`)
		}, []string{"--metrics", "metrics.json:1:", `metric name "" is not valid`}},
		{"newline in metric name", func(t *testing.T, o *register.RegisterOptions, dir string) {
			o.Metrics = filepath.Join(dir, "metrics.json")
			writeFile(t, o.Metrics, `{"accuracy": 0.9, "a\nb": 0.5}`)
		}, []string{"--metrics", "metrics.json:1:", `metric name "a\nb" is not valid`}},
		{"metrics larger than 1 MiB", func(t *testing.T, o *register.RegisterOptions, dir string) {
			o.Metrics = filepath.Join(dir, "metrics.json")
			writeFile(t, o.Metrics, `{"accuracy": 0.9, "note": "`+strings.Repeat("x", 1<<20)+`"}`)
		}, []string{"--metrics", "metrics.json", "larger than 1048576 bytes"}},
		{"params from dev zero", func(t *testing.T, o *register.RegisterOptions, dir string) {
			o.Params = "/dev/zero"
		}, []string{"--params", "/dev/zero", "character device"}},
		// FIFOs and devices (issue 14): refused by their type, before
		// anything is read or stored; a FIFO nobody writes to must not
		// block the open.
		{"named pipe as metrics", func(t *testing.T, o *register.RegisterOptions, dir string) {
			o.Metrics = mkfifo(t, filepath.Join(dir, "metrics.json"))
		}, []string{"--metrics", "metrics.json", "named pipe"}},
		{"named pipe as params", func(t *testing.T, o *register.RegisterOptions, dir string) {
			o.Params = mkfifo(t, filepath.Join(dir, "params.yaml"))
		}, []string{"--params", "params.yaml", "named pipe"}},
		{"named pipe as schema", func(t *testing.T, o *register.RegisterOptions, dir string) {
			o.Schema = mkfifo(t, filepath.Join(dir, "features.json"))
		}, []string{"--schema", "features.json", "named pipe"}},
		{"named pipe as weights", func(t *testing.T, o *register.RegisterOptions, dir string) {
			o.Weights = mkfifo(t, filepath.Join(dir, "model.bin"))
		}, []string{"--weights", "model.bin", "named pipe"}},
		{"named pipe inside the pipeline directory", func(t *testing.T, o *register.RegisterOptions, dir string) {
			writeFile(t, filepath.Join(dir, "pipe", "a.py"), "print(1)\n")
			mkfifo(t, filepath.Join(dir, "pipe", "sub", "fifo"))
			o.Pipeline = filepath.Join(dir, "pipe")
		}, []string{"--pipeline", "fifo", "named pipe"}},
		{"named pipe inside the data", func(t *testing.T, o *register.RegisterOptions, dir string) {
			writeFile(t, filepath.Join(dir, "data", "a.csv"), "1\n")
			mkfifo(t, filepath.Join(dir, "data", "b.csv"))
			o.Data = filepath.Join(dir, "data")
		}, []string{"--data", "b.csv", "named pipe"}},
		// The weights (new bytes in every case) come first: nothing of
		// them may reach the store when a later input is bad.
		{"dev zero as pipeline", func(t *testing.T, o *register.RegisterOptions, dir string) {
			o.Pipeline = "/dev/zero"
		}, []string{"--pipeline", "/dev/zero", "character device"}},
		{"dev zero as schema", func(t *testing.T, o *register.RegisterOptions, dir string) {
			o.Schema = "/dev/zero"
		}, []string{"--schema", "/dev/zero", "character device"}},
		{"dev null as config", func(t *testing.T, o *register.RegisterOptions, dir string) {
			o.Config = "/dev/null"
		}, []string{"--config", "/dev/null", "character device"}},
		{"config larger than 1 MiB", func(t *testing.T, o *register.RegisterOptions, dir string) {
			o.Config = filepath.Join(dir, "inference.yaml")
			writeFile(t, o.Config, "inputs:\n  amount: float\nnote: "+strings.Repeat("x", 1<<20)+"\n")
		}, []string{"--config", "inference.yaml", "larger than 1048576 bytes"}},
		{"schema larger than 1 MiB", func(t *testing.T, o *register.RegisterOptions, dir string) {
			o.Schema = filepath.Join(dir, "features.json")
			writeFile(t, o.Schema, `{"features": [{"name": "amount", "type": "float", "doc": "`+strings.Repeat("x", 1<<20)+`"}]}`)
		}, []string{"--schema", "features.json", "larger than 1048576 bytes"}},
		// Two artifacts with one file name would be pulled onto one path.
		{"weights and pipeline with the same file name", func(t *testing.T, o *register.RegisterOptions, dir string) {
			writeFile(t, filepath.Join(dir, "a", "model.bin"), "new weights\n")
			writeFile(t, filepath.Join(dir, "b", "model.bin"), "pipeline\n")
			o.Weights, o.Pipeline = filepath.Join(dir, "a", "model.bin"), filepath.Join(dir, "b", "model.bin")
		}, []string{"--weights", "--pipeline", "same file name", `"model.bin"`}},
		{"schema and config differing only in case", func(t *testing.T, o *register.RegisterOptions, dir string) {
			o.Schema = filepath.Join(dir, "s", "Spec.json")
			writeFile(t, o.Schema, `{"amount": "float"}`)
			o.Config = filepath.Join(dir, "c", "spec.json")
			writeFile(t, o.Config, `{"inputs": {"amount": "float"}}`)
		}, []string{"--schema", "--config", "same file name"}},
		{"schema feature without name", func(t *testing.T, o *register.RegisterOptions, dir string) {
			o.Schema = filepath.Join(dir, "features.json")
			writeFile(t, o.Schema, "{\"features\": [\n  {\"name\": \"a\", \"type\": \"int\"},\n  {\"type\": \"float\"}\n]}\n")
		}, []string{"features.json:3:", "features[1].name"}},
		{"symlink loop in data", func(t *testing.T, o *register.RegisterOptions, dir string) {
			writeFile(t, filepath.Join(dir, "data", "a.csv"), "1\n")
			if err := os.Symlink("..", filepath.Join(dir, "data", "loop")); err != nil {
				t.Fatal(err)
			}
			o.Data = filepath.Join(dir, "data")
		}, []string{"--data", "symlink loop"}},
		{"symlink loop in weights", func(t *testing.T, o *register.RegisterOptions, dir string) {
			writeFile(t, filepath.Join(dir, "model", "shard-1.bin"), "shard one\n")
			if err := os.Symlink(".", filepath.Join(dir, "model", "again")); err != nil {
				t.Fatal(err)
			}
			o.Weights = filepath.Join(dir, "model")
		}, []string{"--weights", "symlink loop"}},
		{"bad model name", func(t *testing.T, o *register.RegisterOptions, dir string) {
			o.Model = "Fraud Detector"
		}, []string{"model name"}},
		{"bad version", func(t *testing.T, o *register.RegisterOptions, dir string) {
			o.Version = "v2"
		}, []string{"--version", "v2"}},
		{"no identity", func(t *testing.T, o *register.RegisterOptions, dir string) {
			o.Identity.Email = ""
		}, []string{"no committer identity", "user.email"}},
	}
	if os.Getuid() != 0 { // root reads a file whatever its mode
		tests = append(tests, struct {
			name string
			bad  func(t *testing.T, o *register.RegisterOptions, dir string)
			want []string
		}{"unreadable metrics", func(t *testing.T, o *register.RegisterOptions, dir string) {
			o.Metrics = filepath.Join(dir, "metrics.json")
			writeFile(t, o.Metrics, `{"accuracy": 0.9}`)
			if err := os.Chmod(o.Metrics, 0); err != nil {
				t.Fatal(err)
			}
		}, []string{"--metrics", "metrics.json", "permission denied"}})
	}
	f := newFixture(t)
	parent := t
	f.register(base)
	// Something staged and something untracked, which must stay so.
	writeFile(t, filepath.Join(f.root, "README.md"), "staged\n")
	git(t, f.root, "add", "README.md")
	writeFile(t, filepath.Join(f.root, "scratch.txt"), "untracked\n")
	before := f.state()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f.t = t
			defer func() { f.t = parent }()
			s := base
			s.weights = "new weights for " + tc.name
			o := f.options(s)
			tc.bad(t, &o, t.TempDir())
			res, err := register.Register(ctx, f.reg, o)
			if err == nil {
				t.Fatalf("no error; registered %s", res.Version.Manifest.Version)
			}
			mustContain(t, err, tc.want...)
			f.assertState(before)
		})
	}
}

// mkfifo makes a named pipe at p (and its directory) and returns p.
func mkfifo(t *testing.T, p string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(p, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	plain := t.TempDir()
	_, err := gitops.Open(plain)
	if !errors.Is(err, repo.ErrNotRepository) {
		t.Errorf("Open(non-repository): %v, want ErrNotRepository", err)
	}
	mustContain(t, err, plain, "git init", "modelgit init")

	bare := filepath.Join(t.TempDir(), "r")
	git(t, "", "init", "-q", bare)
	_, err = gitops.Open(filepath.Join(bare))
	if !errors.Is(err, gitops.ErrNoConfig) {
		t.Errorf("Open(no modelgit.yaml): %v, want ErrNoConfig", err)
	}
	mustContain(t, err, "modelgit init")

	writeFile(t, filepath.Join(bare, "modelgit.yaml"), "apiVersion: modelgit.dev/v1alpha1\nkind: Config\nstore: file://.modelgit/store\ncolour: red\n")
	_, err = gitops.Open(bare)
	mustContain(t, err, "modelgit.yaml:4", "colour")
}

func TestResolveIdentity(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "r")
	git(t, "", "init", "-q", dir)

	_, err := gitops.ResolveIdentity(dir, "")
	mustContain(t, err, "git config user.email")

	git(t, dir, "config", "user.name", "Alice")
	git(t, dir, "config", "user.email", "alice@example.com")
	id, err := gitops.ResolveIdentity(dir, "")
	if !errors.Is(err, signing.ErrNoSigningKey) {
		t.Fatalf("no signing key: err = %v, want ErrNoSigningKey", err)
	}
	mustContain(t, err, "git config user.signingkey", "--signing-key")
	if id.Signature.Email != "alice@example.com" || id.Signature.Name != "Alice" || id.Signer != nil {
		t.Errorf("identity without a key: %+v", id)
	}

	key, pub := sshKey(t, "alice@example.com")
	git(t, dir, "config", "gpg.format", "ssh")
	git(t, dir, "config", "user.signingkey", key+".pub")
	id, err = gitops.ResolveIdentity(dir, "")
	if err != nil || id.Signer == nil || id.Signer.Format() != signing.FormatSSH {
		t.Fatalf("ResolveIdentity: %+v, %v", id, err)
	}
	line, pgp, err := gitops.AllowedSignerEntry(id)
	if err != nil || pgp != nil {
		t.Fatal(err)
	}
	fields := strings.Fields(pub)
	if want := `alice@example.com namespaces="git" ` + fields[0] + " " + fields[1]; !strings.HasPrefix(line, want) {
		t.Errorf("AllowedSignerEntry = %q, want %q", line, want)
	}

	_, err = gitops.ResolveIdentity(dir, filepath.Join(dir, "missing-key"))
	mustContain(t, err, "missing-key")
}

// TestHandEditedManifest: a manifest committed by hand with an unknown
// field makes History and Resolve fail naming file:line and the field, and
// Verify report it as a "manifest" finding.
func TestHandEditedManifest(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	res := f.register(base)
	raw := strings.Replace(string(res.Version.Raw), "version: 0.1.0+data.1", "version: 0.2.0", 1)
	lines := strings.Split(raw, "\n")
	// Insert an unknown top-level field as line 4.
	lines = append(lines[:3], append([]string{"colour: red"}, lines[3:]...)...)
	p := "models/fraud/versions/0.2.0.yaml"
	writeFile(t, filepath.Join(f.root, p), strings.Join(lines, "\n"))
	git(t, f.root, "add", p)
	gitCommit(t, f, true, "Hand-written version")

	_, err := audit.History(f.reg, "fraud")
	mustContain(t, err, p+":4", "colour", "unknown field")
	_, err = f.reg.Resolve("fraud@0.1.0+data.1")
	mustContain(t, err, p+":4", "colour")

	rep, err := check.Verify(ctx, f.reg, check.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Findings) != 1 || rep.Findings[0].Check != "manifest" || rep.Findings[0].Path != p || !strings.Contains(rep.Findings[0].Message, ":4") {
		t.Errorf("Verify findings %v, want one manifest finding on %s line 4", rep.Findings, p)
	}
}
