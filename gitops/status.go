package gitops

import (
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
func (r *Registry) Status() ([]StatusRow, error) {
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
		for _, env := range r.config.Environments {
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
