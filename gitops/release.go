package gitops

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/modelgit/modelgit/manifests"
)

// ReleaseChange says how a promotion changes an environment's release.
type ReleaseChange struct {
	// Strategy is replace (the default), canary, blue-green or ab.
	Strategy string
	// Weight is the canary's share of traffic, 1 to 100; 100 completes
	// the canary (the new version replaces the stable one).
	Weight int
	// Switch makes the standby of a blue-green release active.
	Switch bool
	// Match is the header match "name=value" that routes to variant B.
	Match string
}

// Validate validates the parts of a change the user typed as flags, before
// any release is built from them, so that a mistake is reported against
// the flag and not against a release file the user never wrote.
func (c ReleaseChange) Validate() error {
	if c.Match == "" {
		return nil
	}
	if c.Strategy != manifests.StrategyAB {
		return fmt.Errorf("--match is for --strategy ab, not %q", c.Strategy)
	}
	return checkMatch(c.Match)
}

// checkMatch validates --match NAME=VALUE as the HTTPRoute rendered from
// it needs it.
func checkMatch(match string) error {
	name, value, ok := strings.Cut(match, "=")
	switch {
	case !ok || name == "" || value == "":
		return fmt.Errorf("--match %q is not valid: want NAME=VALUE, the request header and value that route to the new version, e.g. --match x-variant=b", match)
	case !manifests.ValidHeaderName(name):
		return fmt.Errorf("--match %q: header name %q is not valid: want 1 to %d letters, digits or any of !#$%%&'*+-.^_`|~ (an HTTP token), e.g. x-variant", match, name, manifests.MaxHeaderName)
	case len(value) > manifests.MaxHeaderValue:
		return fmt.Errorf("--match %q: the header value is %d characters long; the Gateway API takes at most %d", match, len(value), manifests.MaxHeaderValue)
	}
	return nil
}

// NextRelease returns the release of model in env after promoting
// version (pinned by digest) with change, given the current release (nil
// when the model does not run in env yet). It is a pure function; the
// result is validated as the release file would be.
func NextRelease(cur *manifests.Release, model, env string, version manifests.Version, digest manifests.Digest, change ReleaseChange) (*manifests.Release, error) {
	strategy := change.Strategy
	if strategy == "" {
		strategy = manifests.StrategyReplace
	}
	next := &manifests.Release{
		APIVersion:  manifests.APIVersion,
		Kind:        manifests.KindRelease,
		Model:       model,
		Environment: env,
		Strategy:    strategy,
	}
	st := nextStep{cur: cur, next: next, model: model, env: env, version: version, change: change,
		pin: manifests.ReleasedVersion{Version: version, Digest: digest}}
	st.stable, st.hasStable = CurrentStable(cur)
	st.running = st.hasStable && st.stable.Version == version
	if st.running && strategy != manifests.StrategyBlueGreen {
		st.hasStable = false // promoting the running version again: nothing to keep beside it
	}
	var err error
	switch strategy {
	case manifests.StrategyReplace:
		next.Versions = []manifests.ReleasedVersion{st.pin}
	case manifests.StrategyCanary:
		err = st.canary()
	case manifests.StrategyBlueGreen:
		err = st.blueGreen()
	case manifests.StrategyAB:
		err = st.ab()
	default:
		err = fmt.Errorf("strategy %q is not supported: want one of %v", strategy, manifests.Strategies)
	}
	if err != nil {
		return nil, err
	}
	raw, err := manifests.Marshal(next)
	if err != nil {
		return nil, err
	}
	if _, err := manifests.ParseRelease(manifests.ReleaseFile(env, model), raw); err != nil {
		return nil, err
	}
	return next, nil
}

// nextStep is NextRelease's work: the release now (cur), the one being
// made (next), the version pinned (pin) and the one serving most traffic
// now (stable, when hasStable; running when it is the version promoted).
type nextStep struct {
	cur, next          *manifests.Release
	model, env         string
	version            manifests.Version
	change             ReleaseChange
	pin, stable        manifests.ReleasedVersion
	hasStable, running bool
}

func weight(n int) *int { return &n }

// canary shares traffic between the stable version and the new one;
// weight 100 completes the canary as a replace.
func (st *nextStep) canary() error {
	w := st.change.Weight
	switch {
	case w < 1 || w > 100:
		return fmt.Errorf("canary weight %d is not valid: want 1 to 100 (--weight 100 completes the canary)", w)
	case w == 100:
		st.next.Strategy = manifests.StrategyReplace
		st.next.Versions = []manifests.ReleasedVersion{st.pin}
	case st.running:
		return fmt.Errorf("%s %s already runs in %q: a canary shares traffic between it and another version; promote a newer version of %s with --strategy canary", st.model, st.version, st.env, st.model)
	case !st.hasStable:
		return fmt.Errorf("a canary of %s in %q needs a version already running there to share traffic with; promote with --strategy replace first", st.model, st.env)
	default:
		st.stable.Role, st.stable.Weight = "stable", weight(100-w)
		st.pin.Role, st.pin.Weight = "canary", weight(w)
		st.next.Versions = []manifests.ReleasedVersion{st.stable, st.pin}
	}
	return nil
}

// blueGreen deploys the new version as a standby beside the active one,
// or (with Switch) swaps them.
func (st *nextStep) blueGreen() error {
	switch {
	case st.change.Switch:
		cur := st.cur
		if cur == nil || cur.Strategy != manifests.StrategyBlueGreen || len(cur.Versions) != 2 {
			return fmt.Errorf("--switch needs a blue-green release of %s in %q with a standby; promote with --strategy blue-green first", st.model, st.env)
		}
		active, standby := cur.Versions[0], cur.Versions[1]
		if standby.Version != st.version {
			return fmt.Errorf("--switch to %s: the standby in %q is %s", st.version, st.env, standby.Version)
		}
		active.Role, active.Weight = "standby", weight(0)
		standby.Role, standby.Weight = "active", weight(100)
		st.next.Versions = []manifests.ReleasedVersion{standby, active}
	case !st.hasStable || st.stable.Version == st.version:
		st.pin.Role, st.pin.Weight = "active", weight(100)
		st.next.Versions = []manifests.ReleasedVersion{st.pin}
	default:
		st.stable.Role, st.stable.Weight = "active", weight(100)
		st.pin.Role, st.pin.Weight = "standby", weight(0)
		st.next.Versions = []manifests.ReleasedVersion{st.stable, st.pin}
	}
	return nil
}

// ab routes requests matching a header to the new version (variant B),
// the rest to the running one (A).
func (st *nextStep) ab() error {
	switch {
	case st.running:
		return fmt.Errorf("%s %s already runs in %q: an A/B test routes between it (variant A) and another version (B); promote the version to test against it with --strategy ab", st.model, st.version, st.env)
	case !st.hasStable:
		return fmt.Errorf("an A/B test of %s in %q needs a version already running there as variant A; promote with --strategy replace first", st.model, st.env)
	}
	if st.change.Match == "" {
		return fmt.Errorf("an A/B test needs --match NAME=VALUE: the request header that routes to %s", st.version)
	}
	if err := checkMatch(st.change.Match); err != nil {
		return err
	}
	st.stable.Role, st.stable.Weight = "a", nil
	st.pin.Role = "b"
	st.next.Versions = []manifests.ReleasedVersion{st.stable, st.pin}
	st.next.Match = st.change.Match
	return nil
}

// CurrentStable returns the version that serves most traffic in cur: the
// only one of a replace, the stable of a canary, the active of a
// blue-green, variant A of an A/B test.
func CurrentStable(cur *manifests.Release) (manifests.ReleasedVersion, bool) {
	if cur == nil || len(cur.Versions) == 0 {
		return manifests.ReleasedVersion{}, false
	}
	v := cur.Versions[0]
	v.Role, v.Weight = "", nil
	return v, true
}

// Serving returns the versions a release routes traffic to, the main one
// first.
func Serving(r *manifests.Release) []manifests.Version {
	if r == nil {
		return nil
	}
	var out []manifests.Version
	for _, v := range r.Versions {
		if v.Weight != nil && *v.Weight == 0 {
			continue
		}
		out = append(out, v.Version)
	}
	return out
}

// Release reads the release of model in env at HEAD; nil when there is
// none.
func (r *Repository) Release(env, model string) (*manifests.Release, error) {
	head, err := r.Head()
	if err != nil || head.IsZero() {
		return nil, err
	}
	return r.ReleaseAt(head, env, model)
}

// ReleaseAt reads the release of model in env as committed at rev; nil
// when there is none. A file that does not pass ValidRelease is a
// BrokenRelease error.
func (r *Repository) ReleaseAt(rev plumbing.Hash, env, model string) (*manifests.Release, error) {
	p := manifests.ReleaseFile(env, model)
	raw, err := r.repo.ReadFile(rev, p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	rel, _, err := r.ValidRelease(rev, p, raw)
	if err != nil {
		return nil, BrokenRelease(p, err)
	}
	return rel, nil
}

// ValidRelease is the one validation of a committed release file, which
// render, status, promote, rollback, check and verify all read through:
// the file parses and validates (manifests.ParseRelease), sits where it
// says (environments/<environment>/<model>.yaml), and every version it
// pins is registered at rev with the pinned digest. It returns the pinned
// versions in the release's order. Problems name the file and the field
// (*manifests.FileError).
func (r *Repository) ValidRelease(rev plumbing.Hash, p string, raw []byte) (*manifests.Release, []*VersionRef, error) {
	rel, err := manifests.ParseRelease(p, raw)
	if err != nil {
		return nil, nil, err
	}
	if env, model, ok := releasePath(p); ok {
		if rel.Environment != env {
			return nil, nil, &manifests.FileError{File: p, Field: "environment", Msg: fmt.Sprintf("%q does not match the directory (want %q)", rel.Environment, env)}
		}
		if rel.Model != model {
			return nil, nil, &manifests.FileError{File: p, Field: "model", Msg: fmt.Sprintf("%q does not match the file name (want %q)", rel.Model, model)}
		}
	}
	refs := make([]*VersionRef, 0, len(rel.Versions))
	for i, rv := range rel.Versions {
		field := fmt.Sprintf("versions[%d]", i)
		vp := manifests.VersionFile(rel.Model, rv.Version.String())
		ref, err := r.ReadVersion(rev, vp)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil, nil, &manifests.FileError{File: p, Field: field + ".version", Msg: fmt.Sprintf("pins %s@%s, which is not registered (no %s)", rel.Model, rv.Version, vp)}
		case err != nil:
			return nil, nil, &manifests.FileError{File: p, Field: field + ".version", Msg: fmt.Sprintf("pins %s@%s: %v", rel.Model, rv.Version, err)}
		case ref.Digest != rv.Digest:
			return nil, nil, &manifests.FileError{File: p, Field: field + ".digest", Msg: fmt.Sprintf("pins %s@%s with digest %s, but its manifest hashes to %s", rel.Model, rv.Version, rv.Digest, ref.Digest)}
		}
		refs = append(refs, ref)
	}
	return rel, refs, nil
}

// releasePath splits environments/<env>/<model>.yaml.
func releasePath(p string) (env, model string, ok bool) {
	parts := strings.Split(p, "/")
	if len(parts) != 3 || parts[0] != manifests.EnvironmentsDir {
		return "", "", false
	}
	model, ok = strings.CutSuffix(parts[2], ".yaml")
	return parts[1], model, ok
}

// BrokenRelease adds the next step to err, the reason the committed
// release file p no longer parses, validates or resolves: every command
// that reads the release fails the same way until the file is repaired.
func BrokenRelease(p string, err error) error {
	return fmt.Errorf("%w; fix %s by hand, or restore it (git checkout <last good commit> -- %s, or git revert the commit that broke it), commit, then run modelgit render", err, p, p)
}

// pinnedVersion reads, at rev, the manifest of version v of model that
// the committed release file p pins. When it does not resolve, the error
// says the release pins it (not that anyone asked for it) and how to
// repair the release.
func (r *Repository) PinnedVersion(rev plumbing.Hash, p, model string, v manifests.Version) (*VersionRef, error) {
	ref, err := r.ReadVersion(rev, manifests.VersionFile(model, v.String()))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, BrokenRelease(p, fmt.Errorf("%s: pins %s@%s, which is not registered (no %s)", p, model, v, manifests.VersionFile(model, v.String())))
	case err != nil:
		return nil, BrokenRelease(p, fmt.Errorf("%s: pins %s@%s: %w", p, model, v, err))
	}
	return ref, nil
}

// StrategyTrailer is "replace", "canary weight=10", "blue-green role=standby"
// or "ab match=x-variant=b".
func StrategyTrailer(rel *manifests.Release, v manifests.Version) string {
	for _, rv := range rel.Versions {
		if rv.Version != v {
			continue
		}
		switch rel.Strategy {
		case manifests.StrategyCanary:
			return fmt.Sprintf("canary weight=%d", *rv.Weight)
		case manifests.StrategyBlueGreen:
			return "blue-green role=" + rv.Role
		case manifests.StrategyAB:
			return "ab match=" + rel.Match
		}
	}
	return rel.Strategy
}

// joinVersions is "1.2.0, 1.3.0".
// JoinVersions joins versions with ", ".
func JoinVersions(vs []manifests.Version) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = v.String()
	}
	return strings.Join(s, ", ")
}
