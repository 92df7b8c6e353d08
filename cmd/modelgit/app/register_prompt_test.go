package app

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/modelgit/modelgit/cmd/modelgit/cmdutil"
	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/register"
	"github.com/modelgit/modelgit/gitops/signing"
)

// TestRegisterAsksBeforeDroppingAnArtifact: on a terminal, leaving out an
// artifact kind the latest version has asks; "n" registers nothing, "y"
// registers the major version (#13).
func TestRegisterAsksBeforeDroppingAnArtifact(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "key")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	signer, err := signing.LoadSSHSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	id := gitops.Identity{Signature: object.Signature{Name: "Ada", Email: "ada@example.com"}, Signer: signer}
	line, _, err := gitops.AllowedSignerEntry(id)
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "registry")
	ctx := context.Background()
	if _, err := register.Init(ctx, root, register.InitOptions{AllowedSigner: line, Identity: id.Signature, Signer: signer}); err != nil {
		t.Fatal(err)
	}
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	weights, pipeline := write("w.bin", "weights"), write("p.pkl", "pipeline")
	reg, err := gitops.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := register.Register(ctx, reg, register.RegisterOptions{Model: "m", Weights: weights, Pipeline: pipeline, Identity: id.Signature, Signer: signer, AllowRemoval: true}); err != nil {
		t.Fatal(err)
	}
	// A model registered before inputs were remembered: no register: block.
	if err := os.Remove(filepath.Join(root, "models", "m", "model.yaml")); err != nil {
		t.Fatal(err)
	}
	git := exec.Command("git", "-c", "gpg.format=ssh", "-c", "user.signingkey="+key, "-c", "user.email=ada@example.com", "-c", "user.name=Ada", "commit", "-q", "-S", "-a", "-m", "forget")
	git.Dir = root
	if out, err := git.CombinedOutput(); err != nil {
		t.Fatalf("git commit: %v\n%s", err, out)
	}
	run := func(answer string) (string, string, error) {
		ios, stdin, stdout, stderr := cmdutil.Test()
		ios.SetStdinTTY(true)
		ios.SetStderrTTY(true)
		stdin.WriteString(answer)
		f := &cmdutil.Factory{IOStreams: ios,
			Repository: func() (*gitops.Repository, error) { return gitops.Open(root) },
			Identity:   func(string) (gitops.Identity, error) { return id, nil },
		}
		cmd := NewCmdRegister(f, nil)
		cmd.SetArgs([]string{"m", "--weights", write("w2.bin", "weights 2")})
		cmd.SetOut(stdout)
		cmd.SetErr(stderr)
		err := cmd.ExecuteContext(ctx)
		return stdout.String(), stderr.String(), err
	}
	_, stderr, err := run("n\n")
	if err == nil || !strings.Contains(stderr, "Register without it, as a major version? [y/N]") || !strings.Contains(err.Error(), "--allow-removal") {
		t.Fatalf("answer n: err=%v\nstderr:\n%s", err, stderr)
	}
	stdout, stderr, err := run("y\n")
	if err != nil {
		t.Fatalf("answer y: %v\n%s", err, stderr)
	}
	if !strings.Contains(stdout, "registered m@1.0.0 (major bump)") || !strings.Contains(stdout, "pipeline artifact removed") {
		t.Errorf("answer y:\n%s", stdout)
	}
}
