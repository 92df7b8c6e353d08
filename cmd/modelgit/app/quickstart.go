package app

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/crypto/ssh"

	"github.com/modelgit/modelgit/cmd/modelgit/cmdutil"
	"github.com/modelgit/modelgit/gitops/forge"
	"github.com/modelgit/modelgit/manifests"
)

// QuickstartOptions are the inputs of `modelgit quickstart`.
type QuickstartOptions struct {
	IO      *cmdutil.IOStreams
	Factory *cmdutil.Factory
	Dir     string
}

// NewCmdQuickstart returns `modelgit quickstart`.
func NewCmdQuickstart(f *cmdutil.Factory, runF func(*QuickstartOptions) error) *cobra.Command {
	opts := &QuickstartOptions{IO: f.IOStreams, Factory: f}
	cmd := &cobra.Command{
		Use:   "quickstart",
		Short: "Run the whole story in a temporary directory, with generated keys",
		Long: `Run modelgit's whole story end to end in a new directory, with a generated
ed25519 signing key, sample artifacts and a built-in fake GitHub (the
in-process fake the tests use, serving a real git repository over HTTP),
printing each command as you would type it:

  registry   init --github → register the first version → register with new
             training data (data bump), new hyperparameters (patch), a new
             feature (minor) → register unchanged (nothing to do) → history,
             show, diff → pull (each byte verified) → verify --deep → git
             verify-commit accepts modelgit's signature
  promotion  git push to the fake → promote to staging is refused (not in dev
             yet) → promote through dev, staging and production, each a pull
             request that a reviewer approves and merge merges (check shows
             the verdict on the first, before review) → a 10% canary in
             production (status, and what Flux
             applies on gpu-prod) → complete the canary → rollback to the
             version before → status, render --check
  audit      git log trailers of the last merge → audit --env production →
             which version served production while the canary ran
  monitoring with prometheus and promtool installed: live accuracy drops,
             monitor reports it, monitor --act opens the rollback pull
             requests, and run again updates the same ones (skipped, saying
             so, without Prometheus)
  tamper     a flipped byte in a stored blob: verify --deep catches it

Nothing leaves the machine. The directory is kept so you can look around;
its path is printed.`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return quickstartRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Dir, "dir", "", "directory to work in (default: a new temporary directory)")
	return cmd
}

// quickstart is the story's state: where it runs and how it prints.
type quickstart struct {
	opts *QuickstartOptions
	ctx  context.Context
	root string
	// canaryAt is a moment while the production canary served.
	canaryAt time.Time // the story's directory: repo/, work/, keys/
	repo     string
	work     string
	env      []string
}

func quickstartRun(ctx context.Context, opts *QuickstartOptions) error {
	dir := opts.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "modelgit-quickstart-")
		if err != nil {
			return err
		}
		dir = d
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	// The story's promotions go to its own in-process GitHub, named in the
	// modelgit.yaml it writes, even inside a GitHub Actions job, where the
	// factory would otherwise send them to the job's real repository. The
	// factory itself is changed (and restored), not a copy: its closures
	// read the -C directory the story's commands set on it.
	f := opts.Factory
	defer func(prev func(*manifests.Config) (forge.Forge, error)) { f.Forge = prev }(f.Forge)
	f.Forge = func(cfg *manifests.Config) (forge.Forge, error) {
		if cfg == nil || cfg.Forge == nil {
			return nil, nil
		}
		return forge.New(forge.Options{Type: cfg.Forge.Type, Repository: cfg.Forge.Repository, URL: cfg.Forge.URL})
	}
	q := &quickstart{opts: opts, ctx: ctx, root: dir, repo: filepath.Join(dir, "registry"), work: filepath.Join(dir, "work")}
	return q.run()
}

func (q *quickstart) say(format string, a ...any) {
	cs := q.opts.IO.ColorScheme()
	fmt.Fprintf(q.opts.IO.Out, "\n%s\n", cs.Bold("# "+fmt.Sprintf(format, a...)))
}

// modelgit runs a modelgit command in-process, as the user would type it
// in the registry directory, and fails the story if it fails.
func (q *quickstart) modelgit(args ...string) error {
	return q.modelgitExpect(true, args...)
}

func (q *quickstart) modelgitExpect(wantOK bool, args ...string) error {
	cs := q.opts.IO.ColorScheme()
	fmt.Fprintf(q.opts.IO.Out, "%s modelgit -C ../registry %s\n", cs.Gray("$"), shellJoin(args))
	f := q.opts.Factory
	err := error(nil)
	if code := run(q.ctx, f, NewRootCmd(f), append([]string{"-C", q.repo}, args...)); code != ExitOK {
		err = fmt.Errorf("exit status %d", code)
	}
	if wantOK && err != nil {
		return fmt.Errorf("quickstart: modelgit %s: %w", shellJoin(args), err)
	}
	if !wantOK && err == nil {
		return fmt.Errorf("quickstart: modelgit %s succeeded, but should have failed", shellJoin(args))
	}
	return nil
}

// git runs the real git, when it is installed, to show interoperability.
func (q *quickstart) git(args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = q.repo
	cmd.Env = append(os.Environ(), q.env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (q *quickstart) write(name string, data []byte) error {
	p := filepath.Join(q.work, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, data, 0o644)
}

func (q *quickstart) writeJSON(name string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return q.write(name, append(b, '\n'))
}

func (q *quickstart) run() error {
	out := q.opts.IO.Out
	if err := q.setUp(); err != nil {
		return err
	}
	// Run from the directory with the training outputs, as a pipeline's
	// publishing stage would; -C points modelgit at the registry.
	prev, err := os.Getwd()
	if err != nil {
		return err
	}
	if err := os.Chdir(q.work); err != nil {
		return err
	}
	defer os.Chdir(prev) //nolint:errcheck // best effort on the way out
	fmt.Fprintf(out, "\n(training outputs are in %s; the registry is %s)\n", q.work, q.repo)
	// A GitHub for the story: the in-process fake the tests use, serving a
	// real bare repository over HTTP.
	fake, err := q.startForge()
	if err != nil {
		return err
	}
	defer fake.Close()

	q.say("lay out the GitOps repository; your public key becomes its first allowed signer")
	// The demo's store is the directory inside this clone, which no
	// cluster can read: promotion refuses it unless each environment says
	// where its clusters read the store. The demo declares a volume; a
	// real team uses a shared store instead (init --store oci://…).
	if err := q.modelgit("init", "--github", "acme/models", "--github-url", fake.URL(), "--cluster-store", quickstartClusterStore); err != nil {
		return err
	}
	fmt.Fprintf(q.opts.IO.Out, "(the demo keeps artifacts in %s/.modelgit/store, inside this clone, and declares that its clusters read them from %s (clusterStore in modelgit.yaml); a real team sets a shared store instead: modelgit init --store oci://REGISTRY/REPO, which KServe and every teammate and CI job read)\n", q.repo, quickstartClusterStore)

	if err := q.registerStory(); err != nil {
		return err
	}
	if err := q.readStory(); err != nil {
		return err
	}
	if err := q.promotionStory(fake); err != nil {
		return err
	}

	if err := q.monitoringStory(); err != nil {
		return err
	}

	q.say("tamper with a stored blob: verify --deep catches it")
	if err := q.corruptOneBlob(); err != nil {
		return err
	}
	if err := q.modelgitExpect(false, "verify", "--deep"); err != nil {
		return err
	}

	fmt.Fprintf(out, "\nDone. Look around in %s:\n", q.root)
	fmt.Fprintf(out, "  cd %s && git log --first-parent main      # promotions, merges and their trailers\n", q.repo)
	fmt.Fprintf(out, "  ls %s/rendered %s/clusters                # what Flux applies\n", q.repo, q.repo)
	fmt.Fprintf(out, "  cd %s && git log --show-signature   # the audit trail\n", q.repo)
	fmt.Fprintf(out, "  ls %s/models/fraud-detector/versions  # the immutable manifests\n", q.repo)
	fmt.Fprintf(out, "  ls %s/.modelgit/store/blobs/sha256    # the content-addressed store\n", q.repo)
	return nil
}

// quickstartClusterStore is where the demo's clusters are said to read
// its store: a volume holding a copy of .modelgit/store (see README,
// "Store").
const quickstartClusterStore = "pvc://modelgit-store/quickstart"

// setUp makes the story's directories, a fresh ed25519 signing key and
// the registry's git config, the way a user configures git for SSH
// signing.
func (q *quickstart) setUp() error {
	out := q.opts.IO.Out
	fmt.Fprintf(out, "modelgit quickstart in %s\n", q.root)
	for _, d := range []string{q.repo, q.work, filepath.Join(q.root, "keys")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	// A fresh ed25519 signing key, configured the way a user configures
	// git for SSH signing, in the registry's own git config.
	keyPath := filepath.Join(q.root, "keys", "id_ed25519")
	if err := generateSSHKey(keyPath); err != nil {
		return err
	}
	if err := gitInitConfig(q.repo, map[string]string{
		"user.name":                  "Quinn Quickstart",
		"user.email":                 "quinn@example.com",
		"gpg.format":                 "ssh",
		"user.signingkey":            keyPath + ".pub",
		"gpg.ssh.allowedSignersFile": filepath.Join(q.repo, "policies", "allowed_signers"),
	}); err != nil {
		return err
	}
	return nil
}

// writeSamples writes sample training outputs: small, but real files of
// each kind. It returns the weights and the feature schema, which the
// story changes.
func (q *quickstart) writeSamples() ([]byte, map[string]any, error) {
	weights := make([]byte, 4<<20)
	if _, err := rand.Read(weights); err != nil {
		return nil, nil, err
	}
	features := map[string]any{"features": []map[string]string{
		{"name": "amount", "type": "float"},
		{"name": "merchant_category", "type": "string"},
		{"name": "hour_of_day", "type": "int"},
	}}
	steps := []error{
		q.write("model.safetensors", weights),
		q.write("preprocess.pkl", []byte("scaler: standard\nencoder: one-hot\n")),
		q.writeJSON("features.json", features),
		q.write("inference.yaml", []byte("inputs:\n  transaction: float32[3]\noutputs:\n  fraud_probability: float32\nbatch_size: 32\n")),
		q.writeJSON("metrics.json", map[string]float64{"accuracy": 0.962, "auc": 0.981, "latency_p95_ms": 41}),
		q.write("params.yaml", []byte("learning_rate: 0.01\nmax_depth: 8\nn_estimators: 400\n")),
		q.write("train/part-0000.csv", []byte("amount,merchant_category,hour_of_day,label\n12.5,grocery,9,0\n")),
		q.write("train/part-0001.csv", []byte("amount,merchant_category,hour_of_day,label\n980.0,jewelry,3,1\n")),
	}
	for _, err := range steps {
		if err != nil {
			return nil, nil, err
		}
	}
	return weights, features, nil
}

// registerStory registers fraud-detector four times, each change showing
// the bump it earns, and once more with nothing changed.
func (q *quickstart) registerStory() error {
	weights, features, err := q.writeSamples()
	if err != nil {
		return err
	}
	register := []string{"register", "fraud-detector",
		"--weights", "model.safetensors", "--pipeline", "preprocess.pkl",
		"--schema", "features.json", "--config", "inference.yaml",
		"--metrics", "metrics.json", "--params", "params.yaml", "--data", "train/",
		"--framework", "xgboost=2.1.1", "--owner", "team-risk", "--label", "team=risk"}

	q.say("register the first version: artifacts hashed and stored, signed commit")
	if err := q.modelgit(register...); err != nil {
		return err
	}

	q.say("new training data arrives; retrain (new weights) and register: a data bump")
	if err := q.write("train/part-0002.csv", []byte("amount,merchant_category,hour_of_day,label\n45.0,travel,14,0\n")); err != nil {
		return err
	}
	weights[0] ^= 0xff
	if err := q.write("model.safetensors", weights); err != nil {
		return err
	}
	if err := q.modelgit(register...); err != nil {
		return err
	}

	q.say("tune a hyperparameter and register: a patch bump")
	if err := q.write("params.yaml", []byte("learning_rate: 0.005\nmax_depth: 8\nn_estimators: 400\n")); err != nil {
		return err
	}
	weights[1] ^= 0xff
	if err := q.write("model.safetensors", weights); err != nil {
		return err
	}
	if err := q.modelgit(register...); err != nil {
		return err
	}

	q.say("add a feature to the schema and register: a minor bump")
	features["features"] = append(features["features"].([]map[string]string), map[string]string{"name": "merchant_age_days", "type": "int"})
	weights[2] ^= 0xff
	steps := []error{
		q.writeJSON("features.json", features),
		q.write("model.safetensors", weights),
		q.writeJSON("metrics.json", map[string]float64{"accuracy": 0.971, "auc": 0.986, "latency_p95_ms": 43}),
	}
	for _, err := range steps {
		if err != nil {
			return err
		}
	}
	if err := q.modelgit(register...); err != nil {
		return err
	}

	q.say("register again with nothing changed: the stat cache answers, nothing is committed")
	if err := q.modelgit(register...); err != nil {
		return err
	}

	return nil
}

// readStory reads the registry back from git alone: history, show, diff,
// pull, verify, and git's own verify-commit.
func (q *quickstart) readStory() error {
	out := q.opts.IO.Out
	q.say("the registry, read from git alone")
	if err := q.modelgit("history", "fraud-detector"); err != nil {
		return err
	}
	if err := q.modelgit("show", "fraud-detector"); err != nil {
		return err
	}
	if err := q.modelgit("diff", "fraud-detector@0.1.0+data.1", "fraud-detector@latest"); err != nil {
		return err
	}

	q.say("pull the artifacts back, each byte checked against its digest")
	if err := q.modelgit("pull", "fraud-detector", "../pulled"); err != nil {
		return err
	}

	q.say("verify the whole history: signatures by allowed signers, immutability, every blob re-hashed")
	if err := q.modelgit("verify", "--deep"); err != nil {
		return err
	}

	q.say("git itself agrees: git verify-commit accepts modelgit's signature")
	fmt.Fprintf(out, "%s git verify-commit HEAD\n", q.opts.IO.ColorScheme().Gray("$"))
	if msg, err := q.git("verify-commit", "HEAD"); err != nil {
		if _, lookErr := exec.LookPath("git"); lookErr != nil {
			fmt.Fprintln(out, "(git is not installed: apt-get install -y git)")
		} else {
			return fmt.Errorf("quickstart: git verify-commit HEAD: %v\n%s", err, msg)
		}
	} else {
		fmt.Fprint(out, msg)
	}
	fmt.Fprintf(out, "%s git log -1 --format=%%B\n", q.opts.IO.ColorScheme().Gray("$"))
	if msg, err := q.git("log", "-1", "--format=%B"); err == nil {
		fmt.Fprint(out, msg)
	}

	return nil
}

// corruptOneBlob flips a byte of the largest stored blob (the weights),
// as a failing disk or a careless hand would.
func (q *quickstart) corruptOneBlob() error {
	dir := filepath.Join(q.repo, ".modelgit", "store", "blobs", "sha256")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var biggest string
	var size int64
	for _, e := range entries {
		if fi, err := e.Info(); err == nil && fi.Mode().IsRegular() && fi.Size() > size {
			biggest, size = filepath.Join(dir, e.Name()), fi.Size()
		}
	}
	if biggest == "" {
		return fmt.Errorf("quickstart: no blob found in %s", dir)
	}
	if err := os.Chmod(biggest, 0o644); err != nil {
		return err
	}
	f, err := os.OpenFile(biggest, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, size/2); err != nil && err != io.EOF {
		return err
	}
	b[0] ^= 0xff
	_, err = f.WriteAt(b, size/2)
	return err
}

// generateSSHKey writes an unencrypted OpenSSH ed25519 key pair at path and
// path.pub, as ssh-keygen -t ed25519 -N ” would.
func generateSSHKey(path string) error {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	block, err := ssh.MarshalPrivateKey(priv, "quinn@example.com")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		return err
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return err
	}
	line := bytes.TrimSpace(ssh.MarshalAuthorizedKey(sshPub))
	return os.WriteFile(path+".pub", append(line, []byte(" quinn@example.com\n")...), 0o644)
}

// gitInitConfig writes a minimal .git/config with the given settings, so
// the story's identity and key stay inside its directory.
func gitInitConfig(repo string, settings map[string]string) error {
	var b strings.Builder
	sections := map[string][]string{}
	var order []string
	for _, k := range slices.Sorted(maps.Keys(settings)) {
		sec, key, _ := strings.Cut(k, ".")
		if sec == "gpg" && strings.HasPrefix(key, "ssh.") {
			sec, key = `gpg "ssh"`, strings.TrimPrefix(key, "ssh.")
		}
		if _, ok := sections[sec]; !ok {
			order = append(order, sec)
		}
		sections[sec] = append(sections[sec], fmt.Sprintf("\t%s = %s\n", key, settings[k]))
	}
	b.WriteString("[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = false\n")
	for _, sec := range order {
		b.WriteString("[" + sec + "]\n")
		for _, l := range sections[sec] {
			b.WriteString(l)
		}
	}
	gitDir := filepath.Join(repo, ".git")
	for _, d := range []string{"objects", "refs/heads", "refs/tags"} {
		if err := os.MkdirAll(filepath.Join(gitDir, d), 0o755); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(gitDir, "HEAD"), []byte("ref: refs/heads/main\n"), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(gitDir, "config"), []byte(b.String()), 0o644)
}

func shellJoin(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\n'\"$`\\*?[]{}()<>|&;#~") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		out[i] = a
	}
	return strings.Join(out, " ")
}
