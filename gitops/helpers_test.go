package gitops_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/register"
	"github.com/modelgit/modelgit/gitops/signing"
	"github.com/modelgit/modelgit/gitops/signing/signingtest"
)

// TestMain isolates the whole test binary (and every git, ssh-keygen and
// gpg it runs) from the machine's configuration: HOME is a fresh temp
// directory, the system git config is ignored and no ssh-agent is used.
// Doing it here rather than with t.Setenv lets tests run in parallel. It
// also runs the register child of TestRegisterSurvivesKill9.
func TestMain(m *testing.M) {
	if os.Getenv(killChildEnv) != "" {
		os.Exit(registerChild())
	}
	home, err := os.MkdirTemp("", "gitops-test-home")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv("HOME", home)
	os.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	os.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	os.Unsetenv("GIT_CONFIG_GLOBAL")
	os.Unsetenv("GIT_DIR")
	os.Unsetenv("GIT_WORK_TREE")
	os.Unsetenv("GNUPGHOME")
	os.Setenv("SSH_AUTH_SOCK", "")
	os.Setenv("GIT_AUTHOR_NAME", "Git User")
	os.Setenv("GIT_AUTHOR_EMAIL", "git-user@example.com")
	os.Setenv("GIT_COMMITTER_NAME", "Git User")
	os.Setenv("GIT_COMMITTER_EMAIL", "git-user@example.com")
	code := m.Run()
	os.RemoveAll(home)
	os.Exit(code)
}

var ctx = context.Background()

// alice is who registers in most tests.
var alice = object.Signature{Name: "Alice", Email: "alice@example.com"}

// need fails the test, naming the install command, when tool is missing.
func need(t testing.TB, tool, install string) {
	t.Helper()
	if _, err := exec.LookPath(tool); err != nil {
		t.Fatalf("%s is required: %s", tool, install)
	}
}

// run runs a command in dir and returns its stdout, failing on error.
func run(t testing.TB, dir string, env []string, name string, args ...string) string {
	t.Helper()
	out, errOut, err := runErr(dir, env, "", name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out, errOut)
	}
	return out
}

func runErr(dir string, env []string, stdin, name string, args ...string) (stdout, stderr string, err error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var o, e strings.Builder
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

// git runs the real git in dir and returns its trimmed stdout.
func git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	need(t, "git", "apt-get install -y git")
	return strings.TrimSpace(run(t, dir, nil, "git", args...))
}

// sshKey makes an ed25519 key with the real ssh-keygen and returns the
// private key path and the public key line.
func sshKey(t testing.TB, comment string) (priv, pub string) {
	t.Helper()
	return signingtest.SSHKey(t, comment)
}

// gpgKey makes an unprotected ed25519 OpenPGP key with the real gpg in a
// fresh GNUPGHOME and returns the home, the armored secret and public keys.
func gpgKey(t testing.TB, uid string) (home string, secret, public []byte) {
	t.Helper()
	k := signingtest.NewGPGKey(t, uid, "ed25519", "sign")
	return k.Home, k.Secret, k.Public
}

// fixture is a GitOps repository laid out by Init, whose initial commit is
// signed by an allowed ssh key, with git configured to sign and verify
// with that key as well.
type fixture struct {
	t      testing.TB
	root   string
	key    string // private key path
	pub    string // public key line
	signer signing.Signer
	reg    *gitops.Repository
	seq    int
}

// testClusterStore is where the fixture's clusters read its store.
const testClusterStore = "pvc://models/modelgit"

func newFixture(t testing.TB) *fixture {
	t.Helper()
	key, pub := sshKey(t, "alice@example.com")
	signer, err := signing.LoadSSHSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(t.TempDir(), "gitops")
	if _, err := register.Init(ctx, root, register.InitOptions{
		// The clusters read the clone's store from a volume: promotion
		// refuses a storage URI inside the clone (#13).
		ClusterStore:  testClusterStore,
		AllowedSigner: `alice@example.com namespaces="git" ` + pub,
		Identity:      alice,
		Signer:        signer,
	}); err != nil {
		t.Fatal(err)
	}
	for _, kv := range [][2]string{
		{"user.name", alice.Name},
		{"user.email", alice.Email},
		{"gpg.format", "ssh"},
		{"user.signingkey", key},
		{"gpg.ssh.allowedSignersFile", filepath.Join(root, "policies", "allowed_signers")},
	} {
		git(t, root, "config", kv[0], kv[1])
	}
	f := &fixture{t: t, root: root, key: key, pub: pub, signer: signer}
	f.reopen()
	return f
}

// reopen opens the registry again (after changes behind its back).
func (f *fixture) reopen() *gitops.Repository {
	f.t.Helper()
	reg, err := gitops.Open(f.root)
	if err != nil {
		f.t.Fatal(err)
	}
	f.reg = reg
	return reg
}

// spec is what one registration is made of; empty fields are left out.
type spec struct {
	weights  string // file content
	shards   map[string]string
	schema   string // JSON
	config   string // YAML
	params   string // JSON
	metrics  string // JSON
	data     string // content of data/train.csv
	pipeline string
	version  string
}

// base is the first version most tests start from.
var base = spec{
	weights: "weights v1\n",
	schema:  `{"features": [{"name": "amount", "type": "float"}, {"name": "hour", "type": "int"}]}`,
	config:  "inputs:\n  amount: float\n  hour: int\noutputs:\n  score: float\n  label: string\n",
	params:  `{"learning_rate": 0.1, "max_depth": 6}`,
	metrics: `{"accuracy": 0.9}`,
	data:    "amount,hour\n1.0,3\n",
}

// options writes the spec's files into a fresh directory (fresh inodes, so
// no stat cache entry can match) and returns the options to register it.
func (f *fixture) options(s spec) register.RegisterOptions {
	f.t.Helper()
	f.seq++
	dir := filepath.Join(f.t.TempDir(), fmt.Sprintf("in%d", f.seq))
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		writeFile(f.t, p, content)
		return p
	}
	o := register.RegisterOptions{Model: "fraud", Identity: alice, Signer: f.signer, Version: s.version}
	switch {
	case s.shards != nil:
		for name, c := range s.shards {
			write(filepath.Join("model", name), c)
		}
		o.Weights = filepath.Join(dir, "model")
	case s.weights != "":
		o.Weights = write("model.safetensors", s.weights)
	}
	if s.pipeline != "" {
		o.Pipeline = write("preprocess.pkl", s.pipeline)
	}
	if s.schema != "" {
		o.Schema = write("features.json", s.schema)
	}
	if s.config != "" {
		o.Config = write("inference.yaml", s.config)
	}
	if s.params != "" {
		o.Params = write("params.json", s.params)
	}
	if s.metrics != "" {
		o.Metrics = write("metrics.json", s.metrics)
	}
	if s.data != "" {
		write("data/train.csv", s.data)
		o.Data = filepath.Join(dir, "data")
	}
	return o
}

func (f *fixture) register(s spec) *register.RegisterResult {
	f.t.Helper()
	res, err := register.Register(ctx, f.reg, f.options(s))
	if err != nil {
		f.t.Fatalf("registering: %v", err)
	}
	return res
}

func (f *fixture) head() string { f.t.Helper(); return git(f.t, f.root, "rev-parse", "HEAD") }

func (f *fixture) blobDir() string {
	return filepath.Join(f.root, ".modelgit", "store", "blobs", "sha256")
}

// blobPath returns where the file store keeps blob hex.
func (f *fixture) blobPath(d string) string {
	return filepath.Join(f.blobDir(), strings.TrimPrefix(d, "sha256:"))
}

func writeFile(t testing.TB, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// sha256sum hashes files with the real sha256sum and maps path to hex.
func sha256sum(t testing.TB, paths ...string) map[string]string {
	t.Helper()
	need(t, "sha256sum", "apt-get install -y coreutils")
	out := make(map[string]string, len(paths))
	if len(paths) == 0 {
		return out
	}
	for _, l := range strings.Split(strings.TrimSpace(run(t, "", nil, "sha256sum", append([]string{"--"}, paths...)...)), "\n") {
		sum, p, ok := strings.Cut(l, "  ")
		if !ok {
			t.Fatalf("sha256sum printed %q", l)
		}
		out[p] = sum
	}
	return out
}

// checkBlobs asserts that every file under blobs/sha256 is a complete blob
// whose sha256 is its name. Files in seen (name → size) were checked
// before and are not hashed again. allowTemps lets leftover temp files of
// a killed process (".tmp-*", never a final name) pass.
func checkBlobs(t testing.TB, dir string, seen map[string]int64, allowTemps bool) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var names, toHash []string
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".tmp-") && allowTemps {
			continue
		}
		if _, err := hex.DecodeString(name); err != nil || len(name) != 64 || e.IsDir() {
			t.Errorf("%s: not a blob (a partial or foreign file under the store)", filepath.Join(dir, name))
			continue
		}
		names = append(names, name)
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		if size, ok := seen[name]; ok && size == fi.Size() {
			continue
		}
		if seen != nil {
			seen[name] = fi.Size()
		}
		toHash = append(toHash, filepath.Join(dir, name))
	}
	for p, sum := range sha256sum(t, toHash...) {
		if filepath.Base(p) != sum {
			t.Errorf("%s: content hashes to %s", p, sum)
		}
	}
	sort.Strings(names)
	return names
}

// state is what a failed command must leave exactly as it was.
type state struct {
	head, status string
	blobs        []string
}

func (f *fixture) state() state {
	f.t.Helper()
	return state{
		head:   f.head(),
		status: git(f.t, f.root, "status", "--porcelain", "--untracked-files=all"),
		blobs:  checkBlobs(f.t, f.blobDir(), nil, false),
	}
}

func (f *fixture) assertState(want state) {
	f.t.Helper()
	got := f.state()
	if got.head != want.head {
		f.t.Errorf("HEAD moved: %s → %s", want.head, got.head)
	}
	if got.status != want.status {
		f.t.Errorf("git status changed:\nbefore:\n%s\nafter:\n%s", want.status, got.status)
	}
	if strings.Join(got.blobs, " ") != strings.Join(want.blobs, " ") {
		f.t.Errorf("store changed: %v → %v", want.blobs, got.blobs)
	}
}

func mustContain(t testing.TB, err error, subs ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one containing %q", subs)
	}
	for _, s := range subs {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not contain %q", err, s)
		}
	}
}
