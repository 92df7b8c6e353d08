// Command auditgen builds a synthetic modelgit GitOps repository with a
// long, realistic history for bench/audit.sh: registrations committed on
// main, promotions made on a branch in one commit with modelgit's trailers
// and merged into main (mostly by `modelgit merge`, with Approved-by,
// Policy and Pull-Request trailers; some by the forge's button, "merged
// outside modelgit"), canaries with changing weights, blue-green switches,
// rollbacks, forced promotions and reverted merges.
//
//	auditgen -out DIR [-commits 100000] [-models 200] [-seed 1]
//
// The history is written with `git fast-import` (commit times set
// explicitly, one every 1 to 600 seconds from 2024-01-01), then packed with
// `git gc` as a clone would be. It prints the tip, the commit count and
// the time of the last commit.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/modelgit/modelgit/manifests"
)

func main() {
	out := flag.String("out", "", "repository directory (created)")
	commits := flag.Int("commits", 100000, "number of commits to make")
	models := flag.Int("models", 200, "number of models")
	seed := flag.Uint64("seed", 1, "random seed")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "auditgen: -out is required")
		os.Exit(2)
	}
	if err := run(*out, *commits, *models, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "auditgen:", err)
		os.Exit(1)
	}
}

var envs = []string{"dev", "staging", "production"}

var people = []string{
	"Ada Lovelace <ada@example.com>", "Alan Turing <alan@example.com>", "Grace Hopper <grace@example.com>",
	"Edsger Dijkstra <edsger@example.com>", "Barbara Liskov <barbara@example.com>", "Donald Knuth <don@example.com>",
	"Frances Allen <fran@example.com>", "John McCarthy <john@example.com>", "Margaret Hamilton <margaret@example.com>",
	"Ken Thompson <ken@example.com>", "Radia Perlman <radia@example.com>", "Leslie Lamport <leslie@example.com>",
}

type model struct {
	name     string
	versions []manifests.Version
	digests  []manifests.Digest
	rel      map[string]*manifests.Release // env → current release
	relBlob  map[string]int                // env → mark of the release blob
}

type gen struct {
	w       *bufio.Writer
	mark    int
	mainTip int
	commits int
	t       time.Time
	rnd     *rand.Rand
	pr      int
	// lastMerge is the mark of the last merge, its release changes and the
	// releases before it, for reverts.
	lastMerge struct {
		mark  int
		files []fileMod
		undo  []fileMod
		rel   func()
	}
}

type fileMod struct {
	path string
	mark int // 0: delete
}

func run(out string, n, nModels int, seed uint64) error {
	if _, err := os.Stat(out); err == nil {
		return fmt.Errorf("%s exists; give a new directory", out)
	}
	if err := exec.Command("git", "init", "-q", "-b", "main", out).Run(); err != nil {
		return fmt.Errorf("running git init: %w", err)
	}
	fi := exec.Command("git", "fast-import", "--quiet", "--done")
	fi.Dir = out
	fi.Stderr = os.Stderr
	stdin, err := fi.StdinPipe()
	if err != nil {
		return err
	}
	if err := fi.Start(); err != nil {
		return fmt.Errorf("starting git fast-import: %w", err)
	}
	g := &gen{w: bufio.NewWriterSize(stdin, 1<<20), t: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), rnd: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	ms := make([]*model, nModels)
	// The first commit: modelgit.yaml and every model's model.yaml.
	var files []fileMod
	files = append(files, fileMod{"modelgit.yaml", g.blob([]byte("apiVersion: modelgit.dev/v1alpha1\nkind: Config\nenvironments:\n  - name: dev\n  - name: staging\n  - name: production\nclusters:\n  - name: gpu-prod\n    environment: production\n    gpu: {count: 0}\n"))})
	files = append(files, fileMod{"policies/allowed_signers", g.blob([]byte("ada@example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH7GLPFJR8o3yzaWdapo8cw6+flaIHPGtHF7bmPteJtK\n"))})
	for i := range ms {
		ms[i] = &model{name: fmt.Sprintf("model-%03d", i), rel: map[string]*manifests.Release{}, relBlob: map[string]int{}}
		files = append(files, fileMod{"models/" + ms[i].name + "/model.yaml", g.blob(fmt.Appendf(nil, "apiVersion: modelgit.dev/v1alpha1\nkind: Model\nname: %s\nowner: team-%d\n", ms[i].name, i%7))})
	}
	g.commit("refs/heads/main", people[0], "Initialise modelgit repository\n", 0, 0, files)
	for g.commits < n {
		m := ms[g.rnd.IntN(len(ms))]
		switch x := g.rnd.IntN(100); {
		case x < 30 || len(m.versions) == 0:
			g.register(m)
		case x < 70:
			g.promote(m, "replace")
		case x < 85:
			g.promote(m, "canary")
		case x < 90:
			g.promote(m, "blue-green")
		case x < 96:
			g.rollback(m)
		case x < 98:
			g.outsideEdit(m)
		default:
			g.revert()
		}
	}
	fmt.Fprintf(g.w, "done\n")
	if err := g.w.Flush(); err != nil {
		return err
	}
	stdin.Close()
	if err := fi.Wait(); err != nil {
		return fmt.Errorf("running git fast-import: %w", err)
	}
	for _, args := range [][]string{
		{"update-ref", "-d", "refs/heads/modelgit-pr"},
		{"gc", "-q"},
		{"reset", "-q", "--hard", "main"},
	} {
		c := exec.Command("git", args...)
		c.Dir = out
		c.Stderr = os.Stderr
		if err := c.Run(); err != nil {
			return fmt.Errorf("running git %s: %w", strings.Join(args, " "), err)
		}
	}
	tip, _ := exec.Command("git", "-C", out, "rev-parse", "HEAD").Output()
	fmt.Printf("%s: %d commits, tip %s, last commit at %s\n", filepath.Clean(out), g.commits, strings.TrimSpace(string(tip)), g.t.Format(time.RFC3339))
	return nil
}

func (g *gen) blob(b []byte) int {
	g.mark++
	fmt.Fprintf(g.w, "blob\nmark :%d\ndata %d\n", g.mark, len(b))
	g.w.Write(b)
	g.w.WriteByte('\n')
	return g.mark
}

// commit writes a commit on ref with from (0: the ref's tip) and merge (0:
// none) as parents, and returns its mark.
func (g *gen) commit(ref, who, msg string, from, merge int, files []fileMod) int {
	g.t = g.t.Add(time.Duration(1+g.rnd.IntN(600)) * time.Second)
	g.mark++
	g.commits++
	fmt.Fprintf(g.w, "commit %s\nmark :%d\nauthor %s %d +0000\ncommitter %s %d +0000\ndata %d\n%s\n", ref, g.mark, who, g.t.Unix(), who, g.t.Unix(), len(msg), msg)
	if from != 0 {
		fmt.Fprintf(g.w, "from :%d\n", from)
	}
	if merge != 0 {
		fmt.Fprintf(g.w, "merge :%d\n", merge)
	}
	for _, f := range files {
		if f.mark == 0 {
			fmt.Fprintf(g.w, "D %s\n", f.path)
			continue
		}
		fmt.Fprintf(g.w, "M 100644 :%d %s\n", f.mark, f.path)
	}
	g.w.WriteByte('\n')
	if ref == "refs/heads/main" {
		g.mainTip = g.mark
	}
	return g.mark
}

func (g *gen) person() string { return people[g.rnd.IntN(len(people))] }

func (g *gen) digest(parts ...any) manifests.Digest {
	return manifests.FromBytes(fmt.Append(nil, parts...))
}

func (g *gen) register(m *model) {
	v := manifests.Version{Major: 1}
	if k := len(m.versions); k > 0 {
		v = m.versions[k-1]
		switch g.rnd.IntN(4) {
		case 0:
			v.Minor, v.Patch, v.Data = v.Minor+1, 0, 0
		case 1:
			v.Data++
		default:
			v.Patch++
		}
	}
	who := g.person()
	mv := &manifests.ModelVersion{
		APIVersion: manifests.APIVersion, Kind: manifests.KindModelVersion,
		Model: m.name, Version: v, Reason: "params changed: patch",
		Artifacts: manifests.Artifacts{
			Weights:  &manifests.Artifact{Path: "model.safetensors", Digest: g.digest(m.name, v, "w"), Size: 1 << 30, MediaType: "application/octet-stream"},
			Pipeline: &manifests.Artifact{Path: "pipeline.pkl", Digest: g.digest(m.name, v, "p"), Size: 1 << 20, MediaType: "application/octet-stream"},
			Schema:   &manifests.Artifact{Path: "schema.json", Digest: g.digest(m.name, v, "s"), Size: 2048, MediaType: "application/json"},
		},
		Data:         &manifests.Data{Digest: g.digest(m.name, v.Data, "data"), Path: "data", Files: 12, Size: 1 << 34},
		Metrics:      map[string]float64{"accuracy": 0.9 + g.rnd.Float64()/20, "latency_p95": 20 + g.rnd.Float64()*5},
		Params:       map[string]any{"lr": 0.001, "epochs": 10},
		RegisteredBy: who,
		RegisteredAt: g.t,
	}
	raw, err := manifests.Marshal(mv)
	if err != nil {
		panic(err)
	}
	d := manifests.FromBytes(raw)
	m.versions = append(m.versions, v)
	m.digests = append(m.digests, d)
	msg := fmt.Sprintf("Register %s %s\n\n- params changed: patch\n\nModel: %s\nModel-Version: %s\nModel-Digest: %s\nData-Hash: %s\nRegistered-by: %s\n", m.name, v, m.name, v, d, mv.Data.Digest, who)
	g.commit("refs/heads/main", who, msg, 0, 0, []fileMod{{"models/" + m.name + "/versions/" + v.String() + ".yaml", g.blob(raw)}})
}

func pin(m *model, i int) manifests.ReleasedVersion {
	return manifests.ReleasedVersion{Version: m.versions[i], Digest: m.digests[i]}
}

func ptr(n int) *int { return &n }

// promote moves a model's latest version one environment on (or, when it
// runs everywhere, registers first), with the given strategy.
func (g *gen) promote(m *model, strategy string) {
	latest := len(m.versions) - 1
	env, forced := "", ""
	for i, e := range envs {
		cur := m.rel[e]
		if cur == nil || cur.Versions[len(cur.Versions)-1].Version != m.versions[latest] || (cur.Strategy == "canary" && strategy == "canary") {
			env = e
			if i > 0 && m.rel[envs[i-1]] == nil && g.rnd.IntN(3) == 0 {
				forced = fmt.Sprintf("%s has not run in %s", m.versions[latest], envs[i-1])
			} else if i > 0 && m.rel[envs[i-1]] == nil {
				env = envs[i-1]
			}
			break
		}
	}
	if env == "" {
		g.register(m)
		return
	}
	cur := m.rel[env]
	next := &manifests.Release{APIVersion: manifests.APIVersion, Kind: manifests.KindRelease, Model: m.name, Environment: env, Strategy: "replace"}
	trailer := "replace"
	p := pin(m, latest)
	switch {
	case cur == nil || strategy == "replace":
		next.Versions = []manifests.ReleasedVersion{p}
	case strategy == "canary":
		w := 10
		if cur.Strategy == "canary" {
			w = *cur.Versions[1].Weight * 5
		}
		if w >= 100 {
			next.Versions = []manifests.ReleasedVersion{p}
			break
		}
		st := cur.Versions[0]
		st.Role, st.Weight = "stable", ptr(100-w)
		p.Role, p.Weight = "canary", ptr(w)
		next.Strategy, next.Versions = "canary", []manifests.ReleasedVersion{st, p}
		trailer = fmt.Sprintf("canary weight=%d", w)
	default: // blue-green: standby, then a switch on the next blue-green promotion
		if cur.Strategy == "blue-green" && len(cur.Versions) == 2 {
			a, s := cur.Versions[0], cur.Versions[1]
			a.Role, a.Weight, s.Role, s.Weight = "standby", ptr(0), "active", ptr(100)
			next.Strategy, next.Versions = "blue-green", []manifests.ReleasedVersion{s, a}
			p = s
			trailer = "blue-green role=active"
			break
		}
		st := cur.Versions[0]
		st.Role, st.Weight = "active", ptr(100)
		p.Role, p.Weight = "standby", ptr(0)
		next.Strategy, next.Versions = "blue-green", []manifests.ReleasedVersion{st, p}
		trailer = "blue-green role=standby"
	}
	g.change(m, env, cur, next, p, trailer, forced, "")
}

func (g *gen) rollback(m *model) {
	for _, e := range envs {
		cur := m.rel[e]
		if cur == nil || len(cur.Versions) != 1 {
			continue
		}
		i := len(m.versions) - 1
		for i >= 0 && m.versions[i] != cur.Versions[0].Version {
			i--
		}
		if i <= 0 {
			continue
		}
		next := &manifests.Release{APIVersion: manifests.APIVersion, Kind: manifests.KindRelease, Model: m.name, Environment: e, Strategy: "replace", Versions: []manifests.ReleasedVersion{pin(m, i-1)}}
		g.change(m, e, cur, next, pin(m, i-1), "replace", "", "from "+cur.Versions[0].Version.String())
		return
	}
	g.register(m)
}

func (g *gen) releaseFiles(m *model, env string, rel *manifests.Release) []fileMod {
	raw, err := manifests.Marshal(rel)
	if err != nil {
		panic(err)
	}
	var vs []string
	for _, v := range rel.Versions {
		vs = append(vs, v.Version.String())
	}
	rendered := fmt.Sprintf("# Code generated by modelgit render. DO NOT EDIT.\napiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata:\n  name: %s\n  namespace: %s\n  labels:\n    modelgit.dev/versions: %q\nspec:\n  predictor:\n    model:\n      storageUri: oci://registry.example.com/models/%s\n", m.name, env, strings.Join(vs, ","), m.name)
	return []fileMod{
		{"environments/" + env + "/" + m.name + ".yaml", g.blob(raw)},
		{"rendered/" + env + "/" + m.name + ".yaml", g.blob([]byte(rendered))},
	}
}

// change commits a promotion on the PR branch and merges it into main.
func (g *gen) change(m *model, env string, cur, next *manifests.Release, p manifests.ReleasedVersion, strategy, forced, rollback string) {
	prev := "none"
	if cur != nil {
		prev = cur.Versions[0].Version.String()
	}
	requester := g.person()
	files := g.releaseFiles(m, env, next)
	subject := fmt.Sprintf("Promote %s %s to %s", m.name, p.Version, env)
	branch := fmt.Sprintf("modelgit/promote/%s/%s-%s", env, m.name, strings.ReplaceAll(p.Version.String(), "+", "_"))
	if rollback != "" {
		subject = fmt.Sprintf("Roll back %s in %s to %s", m.name, env, p.Version)
		branch = strings.Replace(branch, "promote", "rollback", 1)
	}
	var tr strings.Builder
	fmt.Fprintf(&tr, "Model: %s\nModel-Version: %s\nModel-Digest: %s\nPrevious-Version: %s\nStrategy: %s\n", m.name, p.Version, p.Digest, prev, strategy)
	body := ""
	if forced != "" {
		body = "Forced past the promotion order: " + forced + ".\n\n"
		fmt.Fprintf(&tr, "Forced: %s\n", forced)
	}
	if rollback != "" {
		fmt.Fprintf(&tr, "Rollback: %s\n", rollback)
	}
	fmt.Fprintf(&tr, "Environment: %s\nRequested-by: %s\n", env, requester)
	prMark := g.commit("refs/heads/modelgit-pr", requester, subject+"\n\n"+body+tr.String(), g.mainTip, 0, files)
	g.pr++
	msg := fmt.Sprintf("Merge pull request #%d from example/%s\n\n%s\n", g.pr, branch, subject)
	merger := g.person()
	if g.rnd.IntN(10) < 7 {
		a1, a2 := g.person(), g.person()
		msg += fmt.Sprintf("\nApproved-by: %s\n", a1)
		if a2 != a1 {
			msg += fmt.Sprintf("Approved-by: %s\n", a2)
		}
		msg += fmt.Sprintf("Policy: policies/%s.yaml\nPull-Request: #%d\nChecked-Head: %040x\n", env, g.pr, g.rnd.Uint64())
	}
	undo := []fileMod{{"environments/" + env + "/" + m.name + ".yaml", 0}, {"rendered/" + env + "/" + m.name + ".yaml", 0}}
	if cur != nil {
		undo = g.releaseFiles(m, env, cur)
	}
	mark := g.commit("refs/heads/main", merger, msg, g.mainTip, prMark, files)
	g.lastMerge.mark, g.lastMerge.files, g.lastMerge.undo = mark, files, undo
	g.lastMerge.rel = func() { m.rel[env] = cur }
	m.rel[env] = next
}

// outsideEdit is a hand edit of a release pushed straight to main.
func (g *gen) outsideEdit(m *model) {
	for _, e := range envs {
		if cur := m.rel[e]; cur != nil && len(cur.Versions) == 1 {
			next := *cur
			files := g.releaseFiles(m, e, &next)
			// Same content: touch the rendered file only, with a comment.
			g.commit("refs/heads/main", g.person(), fmt.Sprintf("hotfix: annotate %s in %s\n", m.name, e), 0, 0, []fileMod{{files[1].path, g.blob([]byte("# hand edit\n"))}})
			return
		}
	}
	g.register(m)
}

// revert reverts the last merge, like `git revert -m 1`.
func (g *gen) revert() {
	if g.lastMerge.mark == 0 {
		return
	}
	g.commit("refs/heads/main", g.person(), fmt.Sprintf("Revert \"last promotion\"\n\nThis reverts commit :%d.\n", g.lastMerge.mark), 0, 0, g.lastMerge.undo)
	g.lastMerge.rel()
	g.lastMerge.mark = 0
}
