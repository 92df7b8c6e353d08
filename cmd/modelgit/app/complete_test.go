package app

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelgit/modelgit/cmd/modelgit/cmdutil"
	"github.com/modelgit/modelgit/gitops/forge"
	"github.com/modelgit/modelgit/manifests"
)

// TestCompletePullRequestsIsBounded: completing --pr asks the forge, and
// a forge that does not answer must not hang the shell: past the
// completion timeout nothing is offered. Without a forge nothing is asked.
// (The answers of a live forge are in testdata/script/names.txtar.)
func TestCompletePullRequestsIsBounded(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("git not found: apt-get install -y git")
	}
	t.Setenv("HOME", t.TempDir())
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	dir := filepath.Join(t.TempDir(), "registry")
	if out, err := exec.Command("git", "init", "-q", dir).CombinedOutput(); err != nil {
		t.Fatalf("git init: %v\n%s", err, out)
	}
	canceled := make(chan struct{}, 16)
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // never answers; the client gives up
		canceled <- struct{}{}
	}))
	defer hang.Close()

	complete := func(fg func(*manifests.Config) (forge.Forge, error), args ...string) string {
		t.Helper()
		ios, _, stdout, stderr := cmdutil.Test()
		f := cmdutil.NewFactory("test")
		f.IOStreams = ios
		f.Forge = fg
		f.CompletionTimeout = 50 * time.Millisecond
		if code := run(context.Background(), f, NewRootCmd(f), append([]string{"-C", dir}, args...)); code != ExitOK {
			t.Fatalf("modelgit %s: exit %d\n%s%s", strings.Join(args, " "), code, stdout, stderr)
		}
		return stdout.String()
	}
	complete(nil, "init", "--no-commit")

	hanging := func(*manifests.Config) (forge.Forge, error) {
		return forge.New(forge.Options{Repository: "acme/models", URL: hang.URL, Token: "t"})
	}
	for _, cmd := range []string{"merge", "check"} {
		out := complete(hanging, "__complete", cmd, "--pr", "")
		if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 1 || !strings.HasPrefix(lines[0], ":") {
			t.Errorf("%s --pr with a forge that does not answer offered %q, want nothing", cmd, out)
		}
		select {
		case <-canceled: // the server saw the request given up
		case <-time.After(time.Minute): // a guard against hanging, not a timing
			t.Errorf("%s --pr: the forge's request was never cancelled", cmd)
		}
	}

	asked := false
	none := func(*manifests.Config) (forge.Forge, error) { asked = true; return nil, nil }
	if out := complete(none, "__complete", "merge", "--pr", ""); strings.TrimSpace(out) != ":4" {
		t.Errorf("merge --pr without a forge offered %q, want nothing", out)
	}
	if !asked {
		t.Errorf("the forge of modelgit.yaml was not looked up")
	}
}

// TestPatchBashCompletion: cobra's bash script must still have the lines
// the @ patch rewrites; if cobra changes them, this fails rather than
// bash silently splitting MODEL@VERSION.
func TestPatchBashCompletion(t *testing.T) {
	ios, _, stdout, _ := cmdutil.Test()
	f := &cmdutil.Factory{IOStreams: ios}
	root := NewRootCmd(f)
	var raw strings.Builder
	if err := root.GenBashCompletionV2(&raw, true); err != nil {
		t.Fatal(err)
	}
	if _, ok := patchBashCompletion([]byte(raw.String()), "modelgit"); !ok {
		t.Fatal("cobra's bash completion script no longer has the lines patchBashCompletion rewrites")
	}
	if code := run(context.Background(), f, root, []string{"completion", "bash"}); code != ExitOK {
		t.Fatalf("completion bash: exit %d", code)
	}
	for _, want := range []string{"_init_completion -n =:@ || return", `__modelgit_handle_special_char "$cur" @`} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("completion bash lacks %q", want)
		}
	}
}
