package app

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/modelgit/modelgit/gitops/forge"
	"github.com/modelgit/modelgit/gitops/forge/githubfake"
	"github.com/modelgit/modelgit/gitops/store/storetest"
)

var updateScripts = flag.Bool("update", false, "rewrite the expected output in testdata/script/*.txtar (cmp targets)")

// TestMain makes this test binary double as the modelgit command inside
// scripts: `exec modelgit …` runs Main in a child process.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"modelgit": func() { os.Exit(int(Main())) },
	})
}

// scriptTools are the real programs scenarios run, with the package that
// installs them.
var scriptTools = []struct{ name, install string }{
	{"git", "apt-get install -y git"},
	{"ssh-keygen", "apt-get install -y openssh-client"},
	{"gpg", "apt-get install -y gnupg"},
	{"gpgconf", "apt-get install -y gnupg"},
	{"sha256sum", "apt-get install -y coreutils"},
}

// TestScripts runs the end-to-end stories in testdata/script/*.txtar at the
// repository root. Run with -update to rewrite cmp targets in place.
func TestScripts(t *testing.T) {
	testscript.Run(t, scriptParams(t, filepath.Join("..", "..", "..", "testdata", "script")))
}

// TestStories runs the stories in cmd/modelgit/app/testdata/*.txtar, each
// a team's path through the README told top to bottom (#13): "a team of
// three" (team.txtar) and "no forge" (noforge.txtar).
func TestStories(t *testing.T) {
	testscript.Run(t, scriptParams(t, "testdata"))
}

// TestScriptHelpers checks the custom script commands on their own.
func TestScriptHelpers(t *testing.T) {
	testscript.Run(t, scriptParams(t, filepath.Join("testdata", "helpers")))
}

func scriptParams(t *testing.T, dir string) testscript.Params {
	t.Helper()
	for _, tool := range scriptTools {
		if _, err := exec.LookPath(tool.name); err != nil {
			t.Fatalf("scripts need %s on PATH (%v); install it: %s", tool.name, err, tool.install)
		}
	}
	return testscript.Params{
		Dir:                 dir,
		Setup:               setupScriptEnv,
		UpdateScripts:       *updateScripts,
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"sshkeygen":  cmdSSHKeygen,
			"gpgkeygen":  cmdGPGKeygen,
			"githubfake": cmdGitHubFake,
			"jsonvalid":  cmdJSONValid,
			"registry":   cmdRegistry,
		},
	}
}

// setupScriptEnv gives every script a hermetic home: HOME=$WORK/home with a
// .gitconfig (identity, init.defaultBranch=main), no system git config, a
// fixed author and committer, an empty GNUPGHOME, TZ=UTC. PATH is kept, so
// git, ssh-keygen, gpg and sha256sum are the real ones.
func setupScriptEnv(env *testscript.Env) error {
	home := filepath.Join(env.WorkDir, "home")
	gnupg := filepath.Join(home, ".gnupg")
	if err := os.MkdirAll(gnupg, 0o700); err != nil {
		return err
	}
	gitconfig := "[user]\n\tname = Test User\n\temail = test@example.com\n" +
		"[init]\n\tdefaultBranch = main\n" +
		"[advice]\n\tdetachedHead = false\n"
	if err := os.WriteFile(filepath.Join(home, ".gitconfig"), []byte(gitconfig), 0o600); err != nil {
		return err
	}
	for k, v := range map[string]string{
		"HOME":                home,
		"GNUPGHOME":           gnupg,
		"GIT_CONFIG_NOSYSTEM": "1",
		"GIT_AUTHOR_NAME":     "Test User",
		"GIT_AUTHOR_EMAIL":    "test@example.com",
		"GIT_COMMITTER_NAME":  "Test User",
		"GIT_COMMITTER_EMAIL": "test@example.com",
		"GIT_TERMINAL_PROMPT": "0",
		"TZ":                  "UTC",
		"NO_COLOR":            "1",
		// A race-enabled binary sleeps a second at exit by default.
		"GORACE": "atexit_sleep_ms=0",
	} {
		env.Setenv(k, v)
	}
	env.Defer(func() {
		// Stop the gpg-agent a gpgkeygen may have started.
		cmd := exec.Command("gpgconf", "--kill", "all")
		cmd.Env = append(os.Environ(), "GNUPGHOME="+gnupg, "HOME="+home)
		_ = cmd.Run()
	})
	return nil
}

// cmdSSHKeygen implements `sshkeygen NAME [EMAIL]`: an ed25519 key pair
// without passphrase at $WORK/NAME and $WORK/NAME.pub, made by the real
// ssh-keygen. With EMAIL, $WORK/NAME.allowed_signers holds the line git's
// gpg.ssh.allowedSignersFile expects:
// `EMAIL namespaces="git" ssh-ed25519 AAAA…`.
func cmdSSHKeygen(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! sshkeygen")
	}
	if len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: sshkeygen NAME [EMAIL]")
	}
	key := ts.MkAbs(args[0])
	comment := args[0]
	if len(args) == 2 {
		comment = args[1]
	}
	ts.Check(ts.Exec("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", key))
	if len(args) == 2 {
		pub, err := os.ReadFile(key + ".pub")
		ts.Check(err)
		fields := strings.Fields(string(pub))
		if len(fields) < 2 {
			ts.Fatalf("reading %q: not an ssh public key", key+".pub")
		}
		line := args[1] + ` namespaces="git" ` + fields[0] + " " + fields[1] + "\n"
		ts.Check(os.WriteFile(key+".allowed_signers", []byte(line), 0o644))
	}
}

// cmdGPGKeygen implements `gpgkeygen NAME EMAIL`: an ed25519 OpenPGP
// signing key without passphrase for "NAME <EMAIL>" in $GNUPGHOME, made by
// the real gpg. Its fingerprint is put in $GPGFPR and $WORK/NAME.fpr, its
// armored public key in $WORK/NAME.asc.
func cmdGPGKeygen(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! gpgkeygen")
	}
	if len(args) != 2 {
		ts.Fatalf("usage: gpgkeygen NAME EMAIL")
	}
	name, email := args[0], args[1]
	uid := name + " <" + email + ">"
	ts.Check(ts.Exec("gpg", "--batch", "--quiet", "--pinentry-mode", "loopback", "--passphrase", "",
		"--quick-gen-key", uid, "ed25519", "sign", "never"))
	ts.Check(ts.Exec("gpg", "--batch", "--with-colons", "--list-secret-keys", "="+uid))
	var fpr string
	for _, line := range strings.Split(ts.ReadFile("stdout"), "\n") {
		if f := strings.Split(line, ":"); len(f) > 9 && f[0] == "fpr" {
			fpr = f[9]
			break
		}
	}
	if fpr == "" {
		ts.Fatalf("gpgkeygen: no fingerprint for %q in gpg --list-secret-keys", uid)
	}
	ts.Setenv("GPGFPR", fpr)
	ts.Check(os.WriteFile(ts.MkAbs(name+".fpr"), []byte(fpr+"\n"), 0o644))
	ts.Check(ts.Exec("gpg", "--batch", "--armor", "--export", fpr))
	ts.Check(os.WriteFile(ts.MkAbs(name+".asc"), []byte(ts.ReadFile("stdout")), 0o644))
}

// cmdRegistry starts a real CNCF distribution registry for the script:
// `registry [auth]` sets $REGISTRY to its 127.0.0.1:PORT (with auth also
// $REGISTRY_USER and $REGISTRY_PASSWORD) and $REGISTRY_STORAGE to its
// storage directory; it is killed when the script ends.
func cmdRegistry(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("registry does not support !")
	}
	if _, err := exec.LookPath("oras"); err != nil {
		ts.Fatalf("oras is not installed: GOBIN=$PWD/.bin go install oras.land/oras/cmd/oras@v1.3.0 (scripts/test.sh does it)")
	}
	auth := len(args) == 1 && args[0] == "auth"
	if len(args) > 1 || (len(args) == 1 && !auth) {
		ts.Fatalf("usage: registry [auth]")
	}
	r := storetest.Start(ts, ts.MkAbs("registry"), auth)
	ts.Defer(r.Kill)
	ts.Setenv("REGISTRY", r.Addr)
	ts.Setenv("REGISTRY_STORAGE", r.Root)
	if auth {
		ts.Setenv("REGISTRY_USER", storetest.User)
		ts.Setenv("REGISTRY_PASSWORD", storetest.Password)
	}
}

// fakes are the GitHub fakes the running scripts started, by script.
var fakes sync.Map // *testscript.TestScript → *githubfake.Server

// cmdGitHubFake implements the in-process GitHub fake for scripts:
//
//	githubfake start      serve a new bare repository $WORK/origin.git (branch
//	                      main) and the API of acme/models; sets $GITHUB_API_URL
//	                      (for modelgit init --github-url) and $FAKE_GIT_URL (the
//	                      clone URL); stopped when the script ends
//	githubfake merge N    merge pull request #N at its head through the API, as
//	                      the merge button does
//	githubfake protect BRANCH [status] [strict] [dismiss-stale] [signatures]
//	                      give BRANCH classic branch protection with the named
//	                      settings ("status": modelgit/promotion required)
//	githubfake user LOGIN EMAIL [NAME...]
//	                      link commit EMAIL to LOGIN (as GitHub links a verified
//	                      email) and give LOGIN a public profile NAME <EMAIL>
//	githubfake approve N LOGIN
//	                      LOGIN approves pull request #N at its current head
//	githubfake pr BRANCH TITLE...
//	                      open a pull request from BRANCH (pushed) into main, as
//	                      the web page's "Create pull request" does
func cmdGitHubFake(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) == 0 {
		ts.Fatalf("usage: githubfake start | githubfake merge N | githubfake protect BRANCH SETTING...")
	}
	switch args[0] {
	case "start":
		if neg || len(args) != 1 {
			ts.Fatalf("usage: githubfake start")
		}
		if _, ok := fakes.Load(ts); ok {
			ts.Fatalf("githubfake start: already started")
		}
		bare := ts.MkAbs("origin.git")
		ts.Check(ts.Exec("git", "init", "-q", "--bare", "-b", "main", bare))
		fake, err := githubfake.Start(githubfake.Options{Owner: "acme", Repo: "models", GitDir: bare, DefaultBranch: "main"})
		ts.Check(err)
		fakes.Store(ts, fake)
		ts.Defer(func() {
			fakes.Delete(ts)
			fake.Close()
		})
		ts.Setenv("GITHUB_API_URL", fake.URL())
		ts.Setenv("FAKE_GIT_URL", fake.GitURL())
	case "merge":
		if len(args) != 2 {
			ts.Fatalf("usage: githubfake merge N")
		}
		v, ok := fakes.Load(ts)
		if !ok {
			ts.Fatalf("githubfake merge: run githubfake start first")
		}
		fake := v.(*githubfake.Server)
		n, err := strconv.Atoi(args[1])
		ts.Check(err)
		err = mergePullRequest(fake, n)
		switch {
		case err != nil && !neg:
			ts.Fatalf("githubfake merge %d: %v", n, err)
		case err == nil && neg:
			ts.Fatalf("githubfake merge %d: merged, want a failure", n)
		case err != nil:
			ts.Logf("githubfake merge %d: %v", n, err)
		}
	case "protect":
		v, ok := fakes.Load(ts)
		if neg || len(args) < 2 || !ok {
			ts.Fatalf("usage: githubfake protect BRANCH [status] [strict] [dismiss-stale] [signatures], after githubfake start")
		}
		p := &githubfake.Protection{}
		for _, a := range args[2:] {
			switch a {
			case "status":
				p.RequiredStatusChecks = []string{forge.StatusContext}
			case "strict":
				p.Strict = true
			case "dismiss-stale":
				p.DismissStaleReviews = true
			case "signatures":
				p.RequiredSignatures = true
			default:
				ts.Fatalf("githubfake protect: unknown setting %q", a)
			}
		}
		v.(*githubfake.Server).SetBranchProtection(args[1], p)
	case "user":
		v, ok := fakes.Load(ts)
		if neg || len(args) < 3 || !ok {
			ts.Fatalf("usage: githubfake user LOGIN EMAIL [NAME...], after githubfake start")
		}
		fake := v.(*githubfake.Server)
		name := strings.Join(args[3:], " ")
		fake.SetUserEmail(args[1], args[2])
		fake.SetUserProfile(args[1], name, args[2], 0)
	case "approve":
		v, ok := fakes.Load(ts)
		if neg || len(args) != 3 || !ok {
			ts.Fatalf("usage: githubfake approve N LOGIN, after githubfake start")
		}
		fake := v.(*githubfake.Server)
		n, err := strconv.Atoi(args[1])
		ts.Check(err)
		if n < 1 || n > len(fake.PullRequests()) {
			ts.Fatalf("githubfake approve: no pull request #%d", n)
		}
		fake.AddReview(n, args[2], forge.ReviewApproved, "")
	case "pr":
		v, ok := fakes.Load(ts)
		if neg || len(args) < 3 || !ok {
			ts.Fatalf("usage: githubfake pr BRANCH TITLE..., after githubfake start")
		}
		fake := v.(*githubfake.Server)
		fg, err := forge.NewGitHub(forge.GitHubOptions{Repository: fake.Repository(), BaseURL: fake.URL()})
		ts.Check(err)
		pr, err := fg.CreatePullRequest(context.Background(), forge.PullRequestSpec{Title: strings.Join(args[2:], " "), Head: args[1], Base: "main"})
		ts.Check(err)
		ts.Logf("opened pull request #%d", pr.Number)
	default:
		ts.Fatalf("githubfake: unknown subcommand %q; want start, merge, protect, user, approve or pr", args[0])
	}
}

// mergePullRequest merges pull request n at its current head through the
// fake's API, as go-github does against GitHub.
func mergePullRequest(fake *githubfake.Server, n int) error {
	fg, err := forge.NewGitHub(forge.GitHubOptions{Repository: fake.Repository(), BaseURL: fake.URL()})
	if err != nil {
		return err
	}
	for _, pr := range fake.PullRequests() {
		if pr.Number == n {
			_, err := fg.Merge(context.Background(), n, pr.HeadSHA, fmt.Sprintf("Merge pull request #%d\n", n), forge.MergeMethodMerge)
			return err
		}
	}
	return fmt.Errorf("no pull request #%d", n)
}

// cmdJSONValid implements `jsonvalid FILE`: FILE (or stdout, stderr) holds
// one JSON value.
func cmdJSONValid(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: jsonvalid FILE")
	}
	var v any
	err := json.Unmarshal([]byte(ts.ReadFile(args[0])), &v)
	switch {
	case err != nil && !neg:
		ts.Fatalf("%s is not JSON: %v", args[0], err)
	case err == nil && neg:
		ts.Fatalf("%s is JSON", args[0])
	}
}
