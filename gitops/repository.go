package gitops

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/modelgit/modelgit/gitops/repo"
	"github.com/modelgit/modelgit/gitops/store"
	"github.com/modelgit/modelgit/manifests"
)

// Repository is a modelgit GitOps repository opened for reading and writing
// model versions.
type Repository struct {
	repo     *repo.Repo
	config   *manifests.Config
	store    store.Store
	log      Logger
	progress func() store.Progress
	now      func() time.Time
	// ociOptions, when set, open an oci:// store instead of the
	// environment's defaults.
	ociOptions *store.OCIOptions
}

// Option configures a Repository.
type Option func(*Repository)

// WithLogger sends progress messages to l.
func WithLogger(l Logger) Option { return func(r *Repository) { r.log = l } }

// WithStore replaces the store named in modelgit.yaml.
func WithStore(s store.Store) Option { return func(r *Repository) { r.store = s } }

// WithProgress makes long operations report bytes through the Progress
// that fn returns (e.g. a bar when stderr is a terminal).
func WithProgress(fn func() store.Progress) Option { return func(r *Repository) { r.progress = fn } }

// WithOCIOptions sets the options an oci:// store is opened with
// (credentials file, plain HTTP); the default reads the environment.
func WithOCIOptions(o store.OCIOptions) Option { return func(r *Repository) { r.ociOptions = &o } }

// WithClock sets the clock used for registration times.
func WithClock(now func() time.Time) Option { return func(r *Repository) { r.now = now } }

// ErrNoConfig is returned by Open for a repository without modelgit.yaml.
var ErrNoConfig = errors.New("no modelgit.yaml")

// Open opens the GitOps repository that contains dir.
func Open(dir string, opts ...Option) (*Repository, error) {
	rp, err := repo.Open(dir)
	if err != nil {
		return nil, err
	}
	r := &Repository{repo: rp, log: NopLogger{}, now: time.Now}
	for _, o := range opts {
		o(r)
	}
	// Through the work tree's os.Root: a modelgit.yaml that is a symbolic
	// link is refused, naming it.
	data, err := rp.ReadWorktreeFile(manifests.ConfigFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("opening registry %q: %w (run `modelgit init` there first)", rp.Root, ErrNoConfig)
	}
	if err != nil {
		return nil, fmt.Errorf("opening registry %q: %w", rp.Root, err)
	}
	if err := rp.CheckStateDir(); err != nil {
		return nil, fmt.Errorf("opening registry %q: %w", rp.Root, err)
	}
	cfg, err := manifests.ParseConfig(manifests.ConfigFile, data)
	if err != nil {
		return nil, err
	}
	r.config = cfg
	if r.store == nil {
		oci := store.OCIOptionsFromEnv()
		if r.ociOptions != nil {
			oci = *r.ociOptions
		}
		st, err := store.OpenWithOptions(cfg.Store, rp.Root, oci)
		if err != nil {
			return nil, fmt.Errorf("opening store of %s: %w", manifests.ConfigFile, err)
		}
		r.store = st
	}
	return r, nil
}

// Root is the repository's work-tree root.
func (r *Repository) Root() string { return r.repo.Root }

// Repo is the underlying Git repository.
func (r *Repository) Repo() *repo.Repo { return r.repo }

// Config is the parsed modelgit.yaml.
func (r *Repository) Config() *manifests.Config { return r.config }

// Log is where progress messages go.
func (r *Repository) Log() Logger { return r.log }

// Now is the registry's clock.
func (r *Repository) Now() time.Time { return r.now() }

// Store is the artifact store.
func (r *Repository) Store() store.Store { return r.store }

func (r *Repository) NewProgress() store.Progress {
	if r.progress == nil {
		return nil
	}
	return r.progress()
}

// VersionRef is one registered model version as committed at a revision.
type VersionRef struct {
	Manifest *manifests.ModelVersion
	// Digest is the sha256 of the manifest file's bytes.
	Digest manifests.Digest
	// Path is the manifest's path in the repository.
	Path string
	// Raw is the manifest as committed.
	Raw []byte
}

// Name returns "model@version".
func (v *VersionRef) Name() string {
	return v.Manifest.Model + "@" + v.Manifest.Version.String()
}

// listDir lists a directory at rev; a missing directory is empty.
func (r *Repository) ListDir(rev plumbing.Hash, dir string) ([]string, error) {
	names, err := r.repo.ListDir(rev, dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return names, err
}

// head returns the commit HEAD points to, or the zero hash on an unborn
// branch.
func (r *Repository) Head() (plumbing.Hash, error) {
	h, _, err := r.repo.Head()
	return h, err
}

// Models lists the models registered at HEAD, sorted.
func (r *Repository) Models() ([]string, error) {
	h, err := r.Head()
	if err != nil || h.IsZero() {
		return nil, err
	}
	names, err := r.ListDir(h, manifests.ModelsDir)
	if err != nil {
		return nil, err
	}
	var models []string
	for _, n := range names {
		if manifests.ValidName(n) == nil {
			models = append(models, n)
		}
	}
	sort.Strings(models)
	return models, nil
}

// Versions returns the versions of model committed at HEAD, oldest first.
func (r *Repository) Versions(model string) ([]*VersionRef, error) {
	h, err := r.Head()
	if err != nil {
		return nil, err
	}
	return r.VersionsAt(h, model)
}

func (r *Repository) VersionsAt(rev plumbing.Hash, model string) ([]*VersionRef, error) {
	if rev.IsZero() {
		return nil, nil
	}
	names, err := r.ListDir(rev, manifests.VersionsDir(model))
	if err != nil {
		return nil, err
	}
	var refs []*VersionRef
	for _, n := range names {
		if !strings.HasSuffix(n, ".yaml") {
			continue
		}
		p := manifests.VersionsDir(model) + "/" + n
		v, err := r.ReadVersion(rev, p)
		if err != nil {
			return nil, err
		}
		refs = append(refs, v)
	}
	sort.Slice(refs, func(i, j int) bool {
		return refs[i].Manifest.Version.Compare(refs[j].Manifest.Version) < 0
	})
	return refs, nil
}

func (r *Repository) ReadVersion(rev plumbing.Hash, p string) (*VersionRef, error) {
	raw, err := r.repo.ReadFile(rev, p)
	if err != nil {
		return nil, err
	}
	mv, err := manifests.ParseModelVersion(p, raw)
	if err != nil {
		return nil, err
	}
	if want := strings.TrimSuffix(filepath.Base(p), ".yaml"); mv.Version.String() != want {
		return nil, fmt.Errorf("%s: field \"version\": %s does not match the file name (want %s)", p, mv.Version, want)
	}
	return &VersionRef{Manifest: mv, Digest: manifests.FromBytes(raw), Path: p, Raw: raw}, nil
}

// ErrUnknownModel, ErrUnknownVersion, ErrAmbiguousVersion and ErrNotRunning
// are returned by Resolve.
var (
	ErrUnknownModel     = errors.New("unknown model")
	ErrUnknownVersion   = errors.New("unknown version")
	ErrAmbiguousVersion = errors.New("ambiguous version")
	ErrNotRunning       = errors.New("does not run")
)

// Resolve finds the model version ref names at HEAD. ref is MODEL (its
// latest version) or MODEL@SPEC, where SPEC is, tried in this order:
//
//   - "latest": the highest version, by major, minor, patch and data;
//   - a whole version, e.g. 3.0.1+data.9;
//   - the name of an environment modelgit.yaml declares: the version that
//     runs there now, as the release file at HEAD says — the stable one
//     (the stable of a canary, the active of a blue-green, variant A of an
//     A/B test), see ResolveVia for which other versions serve beside it;
//   - a prefix of exactly one version, cut at a dot or a plus: 3.0.1 is
//     3.0.1+data.9 when that is the only 3.0.1, and 3 or 3.0 work alike.
//     A prefix of several versions is ErrAmbiguousVersion, listing them.
//
// Every command that takes MODEL@VERSION resolves it here.
func (r *Repository) Resolve(ref string) (*VersionRef, error) {
	v, _, err := r.ResolveVia(ref)
	return v, err
}

// ResolveVia is Resolve that also says, when ref named an environment,
// how the version was chosen: "" for any other ref; otherwise e.g.
// "runs in production" or "runs in production beside its canary
// 1.5.0+data.9 (10%)".
func (r *Repository) ResolveVia(ref string) (*VersionRef, string, error) {
	model, spec, hasSpec := strings.Cut(ref, "@")
	if err := manifests.ValidName(model); err != nil {
		return nil, "", fmt.Errorf("resolving %q: model %w", ref, err)
	}
	versions, err := r.Versions(model)
	if err != nil {
		return nil, "", err
	}
	if len(versions) == 0 {
		known, _ := r.Models()
		return nil, "", fmt.Errorf("resolving %q: %w %q (registered: %s)", ref, ErrUnknownModel, model, ListOrNone(known))
	}
	have := make([]string, len(versions))
	for i, v := range versions {
		have[i] = v.Manifest.Version.String()
	}
	switch {
	case !hasSpec || spec == "latest":
		return versions[len(versions)-1], "", nil
	case spec == "":
		return nil, "", fmt.Errorf("resolving %q: nothing after @; want a version (%s), latest, or an environment (%s)", ref, ListOrNone(have), strings.Join(r.envNames(), ", "))
	}
	if i := slices.Index(have, spec); i >= 0 {
		return versions[i], "", nil
	}
	if r.CheckEnv(spec) == nil {
		return r.resolveEnv(ref, model, spec)
	}
	var matches []*VersionRef
	var names []string
	for i, h := range have {
		if rest, ok := strings.CutPrefix(h, spec); ok && (strings.HasPrefix(rest, ".") || strings.HasPrefix(rest, "+")) {
			matches = append(matches, versions[i])
			names = append(names, h)
		}
	}
	switch {
	case len(matches) == 1:
		return matches[0], "", nil
	case len(matches) > 1:
		return nil, "", fmt.Errorf("resolving %q: %w: %s matches %s; give one of them in full", ref, ErrAmbiguousVersion, spec, OrList(names))
	}
	if _, err := manifests.ParseVersion(spec); err != nil && !versionPrefixRE.MatchString(spec) {
		return nil, "", fmt.Errorf("resolving %q: %q is not a version, a version prefix, latest, or an environment of modelgit.yaml (%s); registered versions of %s: %s", ref, spec, strings.Join(r.envNames(), ", "), model, ListOrNone(have))
	}
	return nil, "", fmt.Errorf("resolving %q: %w %s of %q (registered: %s)", ref, ErrUnknownVersion, spec, model, ListOrNone(have))
}

// versionPrefixRE is what a prefix of a version looks like: 3, 3.0,
// 3.0.1, 3.0.1+data, 3.0.1+data.9.
var versionPrefixRE = regexp.MustCompile(`^[0-9]+(\.[0-9]+(\.[0-9]+(\+data(\.[0-9]+)?)?)?)?$`)

// resolveEnv resolves MODEL@ENV: the stable version of model's release in
// env at HEAD.
func (r *Repository) resolveEnv(ref, model, env string) (*VersionRef, string, error) {
	head, err := r.Head()
	if err != nil {
		return nil, "", err
	}
	rel, err := r.ReleaseAt(head, env, model)
	if err != nil {
		return nil, "", err
	}
	stable, ok := CurrentStable(rel)
	if !ok {
		return nil, "", fmt.Errorf("resolving %q: %s %w in %q at HEAD (no %s; modelgit status shows where it runs)", ref, model, ErrNotRunning, env, manifests.ReleaseFile(env, model))
	}
	v, err := r.PinnedVersion(head, manifests.ReleaseFile(env, model), model, stable.Version)
	if err != nil {
		return nil, "", err
	}
	via := "runs in " + env
	var beside []string
	for _, rv := range rel.Versions[1:] {
		s := rv.Version.String()
		switch {
		case rv.Role != "" && rv.Weight != nil:
			s = fmt.Sprintf("%s %s (%d%%)", rv.Role, s, *rv.Weight)
		case rv.Role != "":
			s = rv.Role + " " + s
		}
		beside = append(beside, s)
	}
	if len(beside) > 0 {
		via = fmt.Sprintf("runs in %s as %s, beside %s", env, roleOf(rel.Versions[0]), strings.Join(beside, ", "))
	}
	return v, via, nil
}

// roleOf names a released version's role, "the version" when it has none.
func roleOf(rv manifests.ReleasedVersion) string {
	if rv.Role == "" {
		return "the version"
	}
	return "the " + rv.Role
}

// envNames are the environments modelgit.yaml declares, in order.
func (r *Repository) envNames() []string {
	names := make([]string, 0, len(r.config.Environments))
	for _, e := range r.config.Environments {
		names = append(names, e.Name)
	}
	return names
}

func ListOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

func (r *Repository) CheckEnv(env string) error {
	if slices.ContainsFunc(r.config.Environments, func(e manifests.Environment) bool { return e.Name == env }) {
		return nil
	}
	var names []string
	for _, e := range r.config.Environments {
		names = append(names, e.Name)
	}
	return fmt.Errorf("unknown environment %q (modelgit.yaml declares: %s)", env, strings.Join(names, ", "))
}

// Short is the 12-digit prefix of h that messages show.
func Short(h plumbing.Hash) string { return h.String()[:12] }

// OrList joins "a", "a or b", "a, b or c".
func OrList(xs []string) string {
	if len(xs) < 2 {
		return strings.Join(xs, "")
	}
	return strings.Join(xs[:len(xs)-1], ", ") + " or " + xs[len(xs)-1]
}

// FirstLine is the first line of s.
func FirstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// OpenStore opens a store URL the way modelgit.yaml's store is opened:
// file:// paths relative to the repository root.
func (r *Repository) OpenStore(rawURL string) (store.Store, error) {
	oci := store.OCIOptionsFromEnv()
	if r.ociOptions != nil {
		oci = *r.ociOptions
	}
	return store.OpenWithOptions(rawURL, r.repo.Root, oci)
}

// Count returns "1 commit", "2 commits".
func Count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
