package register

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/modelgit/modelgit/manifests"
)

// ErrArtifactRemoved is wrapped by Register when an artifact kind the
// latest version has is not given: dropping it makes a major version,
// which AllowRemoval (--allow-removal) must ask for.
var ErrArtifactRemoved = errors.New("an artifact of the latest version is not given")

// remembered returns the register: block of models/<model>/model.yaml at
// HEAD (nil when there is none).
func (r *repository) remembered(model string) (*manifests.RegisterInputs, error) {
	head, err := r.Head()
	if err != nil || head.IsZero() {
		return nil, err
	}
	path := manifests.ModelFile(model)
	raw, err := r.Repo().ReadFile(head, path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	m, err := manifests.ParseModel(path, raw)
	if err != nil {
		return nil, err
	}
	return m.Register, nil
}

// withRemembered fills every input opts does not give from rem (paths
// relative to the repository root) and says which it took.
func (r *repository) withRemembered(opts RegisterOptions, rem *manifests.RegisterInputs) (RegisterOptions, []string) {
	if rem == nil {
		return opts, nil
	}
	var used []string
	take := func(flag string, dst *string, val string, isPath bool) {
		if *dst != "" || val == "" {
			return
		}
		if isPath && !filepath.IsAbs(val) {
			val = filepath.Join(r.Repo().Root, filepath.FromSlash(val))
		}
		*dst = val
		used = append(used, flag+" "+val)
	}
	take("--weights", &opts.Weights, rem.Weights, true)
	take("--pipeline", &opts.Pipeline, rem.Pipeline, true)
	take("--schema", &opts.Schema, rem.Schema, true)
	take("--config", &opts.Config, rem.Config, true)
	take("--metrics", &opts.Metrics, rem.Metrics, true)
	take("--params", &opts.Params, rem.Params, true)
	take("--data", &opts.Data, rem.Data, true)
	take("--data-source", &opts.DataSource, rem.DataSource, false)
	take("--framework", &opts.Framework, rem.Framework, false)
	return opts, used
}

// rememberOf is the register: block that records opts: paths relative to
// the repository root.
func (r *repository) rememberOf(opts RegisterOptions) *manifests.RegisterInputs {
	rel := func(p string) string {
		if p == "" {
			return ""
		}
		abs, err := filepath.Abs(p)
		if err != nil {
			return filepath.ToSlash(p)
		}
		if rp, err := filepath.Rel(r.Repo().Root, abs); err == nil {
			return filepath.ToSlash(rp)
		}
		return filepath.ToSlash(abs)
	}
	return &manifests.RegisterInputs{
		Weights: rel(opts.Weights), Pipeline: rel(opts.Pipeline), Schema: rel(opts.Schema), Config: rel(opts.Config),
		Metrics: rel(opts.Metrics), Params: rel(opts.Params), Data: rel(opts.Data),
		DataSource: opts.DataSource, Framework: opts.Framework,
	}
}

// withRegisterBlock returns model.yaml (raw) with its register: block set
// to rem, the rest of the file (comments, order) as it was.
func withRegisterBlock(path string, raw []byte, rem *manifests.RegisterInputs) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("updating register: in %s: not a mapping", path)
	}
	var val yaml.Node
	if err := val.Encode(rem); err != nil {
		return nil, err
	}
	root := doc.Content[0]
	found := false
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "register" {
			root.Content[i+1] = &val
			found = true
		}
	}
	if !found {
		root.Content = append(root.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "register"}, &val)
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	if _, err := manifests.ParseModel(path, b.Bytes()); err != nil {
		return nil, fmt.Errorf("updating register: in %s: %w", path, err)
	}
	return b.Bytes(), nil
}

// checkRemoval refuses, before anything is stored, inputs without an
// artifact kind the latest version at HEAD has.
func (r *repository) checkRemoval(opts RegisterOptions, inputs []input) error {
	head, err := r.Head()
	if err != nil {
		return err
	}
	versions, err := r.VersionsAt(head, opts.Model)
	if err != nil || len(versions) == 0 {
		return err
	}
	latest := versions[len(versions)-1]
	given := map[string]bool{}
	flags := map[string]string{}
	for _, in := range inputs {
		given[in.kind] = in.path != ""
		flags[in.kind] = in.flag
	}
	var missing []string
	latest.Manifest.Artifacts.Each(func(kind string, a *manifests.Artifact) {
		if !given[kind] {
			missing = append(missing, fmt.Sprintf("%s (%s, %s in %s)", flags[kind], kind, a.Path, latest.Name()))
		}
	})
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("registering %q: %w: %s; without it the new version is a major one (artifact removed). Give %s again (or remember it under register: in %s), or pass --allow-removal to drop it",
		opts.Model, ErrArtifactRemoved, strings.Join(missing, ", "), flagList(missing), manifests.ModelFile(opts.Model))
}

func flagList(missing []string) string {
	var fl []string
	for _, m := range missing {
		f, _, _ := strings.Cut(m, " ")
		fl = append(fl, f+" PATH")
	}
	return strings.Join(fl, " ")
}
