package gitops

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os/exec"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/modelgit/modelgit/manifests"
)

// WhichOptions ask what ran in an environment at a moment.
type WhichOptions struct {
	Env   string
	At    time.Time
	Model string // "": every model
}

// WhichResult is the answer of Which.
type WhichResult struct {
	Environment string    `json:"environment"`
	At          time.Time `json:"at"`
	Branch      string    `json:"branch"`
	Tip         string    `json:"tip"`
	TimeBasis   string    `json:"timeBasis"`
	// Commit is the first-parent commit in effect at At (the newest whose
	// committer time is not after At); "" when the branch had none yet.
	Commit     string       `json:"commit"`
	CommitTime *time.Time   `json:"commitTime"`
	Models     []WhichModel `json:"models"`
	Rewrites   []Rewrite    `json:"rewrites"`
}

// WhichModel is one model's release in effect.
type WhichModel struct {
	Model       string `json:"model"`
	ReleaseFile string `json:"releaseFile"`
	Strategy    string `json:"strategy"`
	Match       string `json:"match,omitempty"`
	// Error says why the release file did not parse.
	Error    string           `json:"error,omitempty"`
	Versions []ServingVersion `json:"versions"`
	// LastChange is the change that wrote the release file as it was.
	LastChange *AuditEvent `json:"lastChange"`
}

// ServingVersion is one version of a release in effect, with its chain:
// version digest → artifacts → training data → registration → the change
// that made it serve.
type ServingVersion struct {
	Version manifests.Version `json:"version"`
	Digest  manifests.Digest  `json:"digest"`
	Weight  *int              `json:"weight,omitempty"`
	Role    string            `json:"role,omitempty"`
	Serving bool              `json:"serving"`
	// Since is when it started serving without interruption up to At, and
	// IntroducedBy the change that made it serve then.
	Since        *time.Time    `json:"since"`
	IntroducedBy *AuditEvent   `json:"introducedBy"`
	Manifest     *VersionChain `json:"manifest"`
}

// VersionChain is what the version manifest says, as committed at the
// commit in effect, and the commit that registered it.
type VersionChain struct {
	Path string `json:"path"`
	// Digest is the sha256 of the manifest's bytes; DigestMatches says
	// whether it is the digest the release pins.
	Digest        manifests.Digest `json:"digest"`
	DigestMatches bool             `json:"digestMatches"`
	Artifacts     []ArtifactRef    `json:"artifacts"`
	DataHash      string           `json:"dataHash,omitempty"`
	RegisteredBy  string           `json:"registeredBy,omitempty"`
	RegisteredAt  *time.Time       `json:"registeredAt,omitempty"`
	// RegistrationCommit added the manifest; Signature is its verdict.
	RegistrationCommit string         `json:"registrationCommit,omitempty"`
	Signature          *SignatureInfo `json:"signature,omitempty"`
	Error              string         `json:"error,omitempty"`
}

// ArtifactRef is one artifact of a version.
type ArtifactRef struct {
	Kind   string           `json:"kind"`
	Path   string           `json:"path"`
	Digest manifests.Digest `json:"digest"`
}

// commitAt returns the newest first-parent commit of tip whose committer
// time is not after at, and that time; zero when there is none.
func commitAt(ctx context.Context, dir string, tip plumbing.Hash, at time.Time) (plumbing.Hash, time.Time, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", "log", "--first-parent", "--format=%H %ct", tip.String())
	cmd.Dir = dir
	out, err := cmd.StdoutPipe()
	if err != nil {
		return plumbing.ZeroHash, time.Time{}, fmt.Errorf("starting git log: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return plumbing.ZeroHash, time.Time{}, fmt.Errorf("starting git log: %w (install git: apt-get install -y git)", err)
	}
	defer func() { cancel(); _ = cmd.Wait() }()
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		h, ts, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		sec, err := strconv.ParseInt(ts, 10, 64)
		if err != nil {
			return plumbing.ZeroHash, time.Time{}, fmt.Errorf("reading git log: bad time %q", ts)
		}
		if t := time.Unix(sec, 0).UTC(); !t.After(at) {
			return plumbing.NewHash(h), t, nil
		}
	}
	if err := sc.Err(); err != nil {
		return plumbing.ZeroHash, time.Time{}, fmt.Errorf("reading git log: %w", err)
	}
	return plumbing.ZeroHash, time.Time{}, nil
}

// Which answers what ran in an environment at a moment: the release files
// as they were on the first-parent history of the followed branch at that
// time, every version in them (both sides of a canary, with weights), and
// for each the chain back to its manifest, artifacts, training data,
// registration and the change (requested, approved, merged) that made it
// serve.
func (r *Registry) Which(ctx context.Context, opts WhichOptions) (*WhichResult, error) {
	if opts.Env == "" {
		return nil, fmt.Errorf("which: an environment is required")
	}
	branches, err := r.followedBranches(opts.Env)
	if err != nil {
		return nil, err
	}
	var branch string
	for b := range branches {
		branch = b
	}
	tip, err := r.branchTip(ctx, branch)
	if err != nil {
		return nil, err
	}
	res := &WhichResult{Environment: opts.Env, At: opts.At.UTC(), Branch: branch, Tip: tip.String(), TimeBasis: TimeBasis, Models: []WhichModel{}}
	if res.Rewrites, err = r.checkFollowed(ctx, branch, tip); err != nil {
		return nil, err
	}
	if res.Rewrites == nil {
		res.Rewrites = []Rewrite{}
	}
	if tip.IsZero() {
		return res, nil
	}
	at, atTime, err := commitAt(ctx, r.repo.Root, tip, opts.At)
	if err != nil || at.IsZero() {
		return res, err
	}
	res.Commit, res.CommitTime = at.String(), &atTime

	// The release files in effect.
	cf, err := startCatFile(ctx, r.repo.Root)
	if err != nil {
		return nil, err
	}
	defer func() { cf.inC.Close(); _ = cf.cmd.Wait() }()
	var models []string
	if opts.Model != "" {
		models = []string{opts.Model}
	} else {
		out, err := gitCmd(ctx, r.repo.Root, "ls-tree", "--name-only", at.String(), path.Join(EnvironmentsDir, opts.Env)+"/")
		if err != nil {
			return nil, err
		}
		for _, p := range strings.Split(out, "\n") {
			if _, m, ok := splitReleasePath(p); ok {
				models = append(models, m)
			}
		}
	}
	objs, err := cf.fetch(at, func() []string {
		var ps []string
		for _, m := range models {
			ps = append(ps, ReleaseFile(opts.Env, m))
		}
		return ps
	}())
	if err != nil {
		return nil, err
	}
	type pending struct {
		wm    *WhichModel
		state *ReleaseState
		open  map[string]*ServingVersion // version → not yet explained
	}
	byModel := map[string]*pending{}
	var versionPaths []string
	for _, m := range models {
		raw := objs[ReleaseFile(opts.Env, m)]
		if raw == nil {
			continue // the model does not run there then
		}
		st := releaseState(ReleaseFile(opts.Env, m), raw)
		wm := WhichModel{Model: m, ReleaseFile: ReleaseFile(opts.Env, m), Strategy: st.Strategy, Match: st.Match, Error: st.Error, Versions: []ServingVersion{}}
		p := &pending{state: st, open: map[string]*ServingVersion{}}
		for _, rv := range st.Versions {
			wm.Versions = append(wm.Versions, ServingVersion{Version: rv.Version, Digest: rv.Digest, Weight: rv.Weight, Role: rv.Role, Serving: rv.Weight == nil || *rv.Weight > 0})
			versionPaths = append(versionPaths, VersionFile(m, rv.Version.String()))
		}
		res.Models = append(res.Models, wm)
		byModel[m] = p
	}
	// Pointers into res.Models only now that it no longer grows.
	for i := range res.Models {
		p := byModel[res.Models[i].Model]
		p.wm = &res.Models[i]
		for i := range p.wm.Versions {
			p.open[p.wm.Versions[i].Version.String()] = &p.wm.Versions[i]
		}
	}
	// Walk back through the changes of these release files until every
	// version's start of service (and each file's last change) is found.
	unexplained := func() bool {
		for _, p := range byModel {
			if p.wm.LastChange == nil || len(p.open) > 0 {
				return true
			}
		}
		return false
	}
	if unexplained() {
		var paths []string
		if opts.Model != "" {
			paths = []string{ReleaseFile(opts.Env, opts.Model)}
		} else {
			paths = []string{path.Join(EnvironmentsDir, opts.Env) + "/"}
		}
		err = r.scanEvents(ctx, at, tip, paths, func(_ *fpCommit, evs []AuditEvent) error {
			for i := range evs {
				ev := &evs[i]
				p := byModel[ev.Model]
				if p == nil || ev.Environment != opts.Env {
					continue
				}
				if p.wm.LastChange == nil {
					p.wm.LastChange = ev
				}
				for v, sv := range p.open {
					if !sv.Serving {
						// A standby: since the change that added it, or that
						// took its traffic away.
						if ev.From.serving(v) || !slices.Contains(versionsOf(ev.From), v) {
							sv.IntroducedBy, sv.Since = ev, &ev.Time
							delete(p.open, v)
						}
						continue
					}
					if !ev.From.serving(v) {
						sv.IntroducedBy, sv.Since = ev, &ev.Time
						delete(p.open, v)
					}
				}
			}
			if !unexplained() {
				return errStopScan
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	if err := r.versionChains(ctx, cf, at, res); err != nil {
		return nil, err
	}
	return res, nil
}

func versionsOf(st *ReleaseState) []string {
	if st == nil {
		return nil
	}
	var out []string
	for _, v := range st.Versions {
		out = append(out, v.Version.String())
	}
	return out
}

// fetch reads the given paths at rev; a missing path is absent from the
// result.
func (c *catFile) fetch(rev plumbing.Hash, paths []string) (map[string][]byte, error) {
	for _, p := range paths {
		c.in.WriteString(rev.String() + ":" + p + "\n")
	}
	if err := c.in.Flush(); err != nil {
		return nil, fmt.Errorf("writing to git cat-file: %w", err)
	}
	// With --buffer, cat-file answers only when its output buffer fills or
	// its input ends; so the batch process is single-use per fetch.
	c.inC.Close()
	out := map[string][]byte{}
	for _, p := range paths {
		header, err := c.out.ReadString('\n')
		if err != nil {
			return nil, fmt.Errorf("reading %s at %s from git cat-file: %w", p, rev, err)
		}
		if strings.HasSuffix(header, " missing\n") || strings.HasSuffix(header, " ambiguous\n") {
			continue
		}
		f := strings.Fields(header)
		if len(f) != 3 {
			return nil, fmt.Errorf("reading %s at %s from git cat-file: unexpected header %q", p, rev, header)
		}
		n, err := strconv.Atoi(f[2])
		if err != nil {
			return nil, fmt.Errorf("reading %s at %s from git cat-file: unexpected header %q", p, rev, header)
		}
		b := make([]byte, n+1)
		if _, err := io.ReadFull(c.out, b); err != nil {
			return nil, fmt.Errorf("reading %s at %s from git cat-file: %w", p, rev, err)
		}
		out[p] = b[:n]
	}
	return out, nil
}

// versionChains fills in each version's manifest chain as committed at at,
// and the commit that registered it.
func (r *Registry) versionChains(ctx context.Context, _ *catFile, at plumbing.Hash, res *WhichResult) error {
	var paths []string
	for _, m := range res.Models {
		for _, v := range m.Versions {
			paths = append(paths, VersionFile(m.Model, v.Version.String()))
		}
	}
	if len(paths) == 0 {
		return nil
	}
	cf, err := startCatFile(ctx, r.repo.Root)
	if err != nil {
		return err
	}
	defer func() { cf.inC.Close(); _ = cf.cmd.Wait() }()
	objs, err := cf.fetch(at, paths)
	if err != nil {
		return err
	}
	t, err := r.loadTrust(plumbing.NewHash(res.Tip))
	if err != nil {
		return err
	}
	// The registration commits: walk back the first-parent history for the
	// commits that added these manifests, stopping when all are found.
	added := map[string]*VersionChain{}
	for mi := range res.Models {
		m := &res.Models[mi]
		for vi := range m.Versions {
			v := &m.Versions[vi]
			p := VersionFile(m.Model, v.Version.String())
			vc := &VersionChain{Path: p, Artifacts: []ArtifactRef{}}
			v.Manifest = vc
			raw, ok := objs[p]
			if !ok {
				vc.Error = "the version manifest does not exist at " + res.Commit[:12]
				continue
			}
			vc.Digest = manifests.FromBytes(raw)
			vc.DigestMatches = vc.Digest == v.Digest
			mv, err := manifests.ParseModelVersion(p, raw)
			if err != nil {
				vc.Error = err.Error()
			} else {
				mv.Artifacts.Each(func(kind string, a *manifests.Artifact) {
					vc.Artifacts = append(vc.Artifacts, ArtifactRef{Kind: kind, Path: a.Path, Digest: a.Digest})
				})
				if mv.Data != nil {
					vc.DataHash = mv.Data.Digest.String()
				}
				vc.RegisteredBy = mv.RegisteredBy
				ra := mv.RegisteredAt.UTC()
				vc.RegisteredAt = &ra
			}
			added[p] = vc
		}
	}
	if len(added) == 0 {
		return nil
	}
	var want []string
	for p := range added {
		want = append(want, p)
	}
	slices.Sort(want)
	left := len(want)
	// One pathspec per manifest makes git match hundreds of patterns on
	// every commit; the models/ prefix, filtered here, is much faster.
	return scanFirstParent(ctx, r.repo.Root, at, plumbing.ZeroHash, []string{ModelsDir + "/"}, []string{"--diff-filter=A"}, func(c *fpCommit) error {
		for _, ch := range c.Changes {
			vc := added[ch.Path]
			if vc == nil || vc.RegistrationCommit != "" {
				continue
			}
			// A version registered through a pull request: its commit is the
			// merge's second parent.
			h := c.Hash
			if len(c.Parents) > 1 {
				if _, ok := c.objects[c.Parents[1]]; ok {
					h = c.Parents[1]
				}
			}
			commit, err := lightCommit(h, c.objects[h])
			if err != nil {
				return err
			}
			s := signatureInfo(commit, t)
			vc.RegistrationCommit, vc.Signature = h.String(), &s
			left--
		}
		if left == 0 {
			return errStopScan
		}
		return nil
	})
}
