package audit

import (
	"strings"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/modelgit/modelgit/gitops/forge"
	"github.com/modelgit/modelgit/gitops/ledger"
	"github.com/modelgit/modelgit/manifests"
)

// StatusCell is what runs of one model in one environment.
type StatusCell struct {
	Environment string `json:"environment"`
	Strategy    string `json:"strategy,omitempty"`
	// Versions lists version, role and weight as released, main first.
	Versions []manifests.ReleasedVersion `json:"versions,omitempty"`
}

// StatusRow is one model across the environments, in promotion order.
type StatusRow struct {
	Model  string       `json:"model"`
	Latest string       `json:"latest,omitempty"`
	Envs   []StatusCell `json:"environments"`
}

// Status returns the matrix of models × environments at HEAD: the latest
// registered version of each model and what each environment runs.
func (r *repository) Status() ([]StatusRow, error) {
	models, err := r.Models()
	if err != nil {
		return nil, err
	}
	rows := make([]StatusRow, 0, len(models))
	for _, m := range models {
		row := StatusRow{Model: m}
		versions, err := r.Versions(m)
		if err != nil {
			return nil, err
		}
		if len(versions) > 0 {
			row.Latest = versions[len(versions)-1].Manifest.Version.String()
		}
		for _, env := range r.Config().Environments {
			cell := StatusCell{Environment: env.Name}
			rel, err := r.Release(env.Name, m)
			if err != nil {
				return nil, err
			}
			if rel != nil {
				cell.Strategy, cell.Versions = rel.Strategy, rel.Versions
			}
			row.Envs = append(row.Envs, cell)
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// PendingPromotion is an open promotion or rollback pull request, as
// status lists it under each model it changes.
type PendingPromotion struct {
	Number int    `json:"number"`
	Title  string `json:"title"`
	Branch string `json:"branch"`
	URL    string `json:"url"`
	// Environment is where the pull request promotes to.
	Environment string `json:"environment"`
	// Version is the version promoted (or rolled back to), when known.
	Version string `json:"version,omitempty"`
	// Rollback is true for a rollback pull request.
	Rollback bool `json:"rollback,omitempty"`
}

// Promotion branch prefixes: PromoteBranch, and its rollback form.
const (
	promoteBranchPrefix  = "modelgit/promote/"
	rollbackBranchPrefix = "modelgit/rollback/"
	bulkBranchPrefix     = "bulk-"
)

// PromotionBranch is a promotion branch name taken apart.
type PromotionBranch struct {
	Rollback    bool
	Environment string
	// Model and Version are set for a one-model branch
	// (modelgit/promote/<env>/<model>-<version>).
	Model   string
	Version manifests.Version
	// Bulk is true for a bulk promotion (modelgit/promote/<env>/bulk-…),
	// whose models only its commit or pull request body says.
	Bulk bool
}

// ParsePromotionBranch inverts PromoteBranch (and its rollback and bulk
// forms). A version holds no '-' (prereleases are not versions) and its
// '+' is written '_', so the model is everything before the last '-' and
// the rest must parse as a version: "fraud-detector-1.0.0" is model
// fraud-detector, never fraud at "detector-1.0.0". ok is false for any
// other branch.
func ParsePromotionBranch(branch string) (b PromotionBranch, ok bool) {
	rest, found := strings.CutPrefix(branch, promoteBranchPrefix)
	if !found {
		if rest, found = strings.CutPrefix(branch, rollbackBranchPrefix); !found {
			return b, false
		}
		b.Rollback = true
	}
	env, rest, found := strings.Cut(rest, "/")
	if !found || manifests.ValidName(env) != nil {
		return b, false
	}
	b.Environment = env
	if i := strings.LastIndex(rest, "-"); i > 0 {
		model, ver := rest[:i], rest[i+1:]
		if v, err := manifests.ParseVersion(strings.ReplaceAll(ver, "_", "+")); err == nil && manifests.ValidName(model) == nil {
			b.Model, b.Version = model, v
			return b, true
		}
	}
	if strings.HasPrefix(rest, bulkBranchPrefix) && !b.Rollback {
		b.Bulk = true
		return b, true
	}
	return b, false
}

// PendingByModel sorts open pull requests by the models they promote:
// one-model branches by their name, bulk promotions by the Model:
// trailers of their head commit when this clone has it, else by the
// "## <model> <version> → <env>" headings of their body. Pull requests
// that are not promotions, or promote models not registered here, are
// left out.
func (r *repository) PendingByModel(prs []*forge.PullRequest) (map[string][]PendingPromotion, error) {
	models, err := r.Models()
	if err != nil {
		return nil, err
	}
	known := map[string]bool{}
	for _, m := range models {
		known[m] = true
	}
	out := map[string][]PendingPromotion{}
	for _, pr := range prs {
		b, ok := ParsePromotionBranch(pr.Head)
		if !ok {
			continue
		}
		p := PendingPromotion{Number: pr.Number, Title: pr.Title, Branch: pr.Head, URL: pr.URL, Environment: b.Environment, Rollback: b.Rollback}
		if !b.Bulk {
			if known[b.Model] {
				p.Version = b.Version.String()
				out[b.Model] = append(out[b.Model], p)
			}
			continue
		}
		for _, mv := range r.bulkModels(pr, b.Environment) {
			if known[mv[0]] {
				q := p
				q.Version = mv[1]
				out[mv[0]] = append(out[mv[0]], q)
			}
		}
	}
	return out, nil
}

// bulkModels returns the (model, version) pairs a bulk promotion pull
// request promotes: from its head commit's trailers when the commit is
// in this clone, else from its body's headings.
func (r *repository) bulkModels(pr *forge.PullRequest, env string) [][2]string {
	var out [][2]string
	if h := plumbing.NewHash(pr.HeadSHA); plumbing.IsHash(pr.HeadSHA) && !h.IsZero() {
		if c, err := r.Repo().CommitObject(h); err == nil {
			groups, _ := ledger.PromotionTrailers(c.Message)
			for _, g := range groups {
				out = append(out, [2]string{g["model"], g["model-version"]})
			}
			if len(out) > 0 {
				return out
			}
		}
	}
	// promotionBody writes "## <model> <version> → <env>[ (strategy)]".
	for _, line := range strings.Split(pr.Body, "\n") {
		head, ok := strings.CutPrefix(strings.TrimRight(line, "\r"), "## ")
		if !ok {
			continue
		}
		f := strings.Fields(head)
		if len(f) < 4 || f[2] != "→" || f[3] != env {
			continue
		}
		if _, err := manifests.ParseVersion(f[1]); err != nil || manifests.ValidName(f[0]) != nil {
			continue
		}
		out = append(out, [2]string{f[0], f[1]})
	}
	return out
}
