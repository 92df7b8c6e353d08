package promote

import (
	"fmt"
	"strings"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/repo"
	"github.com/modelgit/modelgit/manifests"
)

// stableVersion reads the manifest of the version that serves most
// traffic in rel: the baseline a promotion is compared with.
func (r *repository) stableVersion(rel *manifests.Release) (*manifests.ModelVersion, error) {
	v, ok := gitops.CurrentStable(rel)
	if !ok {
		return nil, nil
	}
	head, err := r.Head()
	if err != nil {
		return nil, err
	}
	ref, err := r.PinnedVersion(head, manifests.ReleaseFile(rel.Environment, rel.Model), rel.Model, v.Version)
	if err != nil {
		return nil, err
	}
	return ref.Manifest, nil
}

func (r *repository) promotionMessage(res *PromoteResult, opts PromoteOptions) string {
	var subject, body string
	var trailers []repo.Trailer
	for _, p := range res.Promotions {
		mv := p.Version.Manifest
		prev := "none"
		if v, ok := gitops.CurrentStable(p.Previous); ok {
			prev = v.Version.String()
		}
		switch {
		case len(res.Promotions) > 1:
			subject = fmt.Sprintf("Promote %d models to %s", len(res.Promotions), res.Env)
			body += fmt.Sprintf("- %s %s → %s%s\n", mv.Model, prev, mv.Version, describeRelease(p.Release, mv.Version))
		case opts.Rollback:
			subject = fmt.Sprintf("Roll back %s in %s to %s", mv.Model, res.Env, mv.Version)
		default:
			subject = fmt.Sprintf("Promote %s %s to %s%s", mv.Model, mv.Version, res.Env, describeRelease(p.Release, mv.Version))
		}
		if p.Forced != "" {
			body += "Forced past the promotion order: " + p.Forced + ".\n"
		}
		trailers = append(trailers,
			repo.Trailer{Key: "Model", Value: mv.Model},
			repo.Trailer{Key: "Model-Version", Value: mv.Version.String()},
			repo.Trailer{Key: "Model-Digest", Value: p.Version.Digest.String()},
			repo.Trailer{Key: "Previous-Version", Value: prev},
			repo.Trailer{Key: "Strategy", Value: gitops.StrategyTrailer(p.Release, mv.Version)},
		)
		if p.Forced != "" {
			trailers = append(trailers, repo.Trailer{Key: "Forced", Value: p.Forced})
		}
		if opts.Rollback {
			from := prev
			if len(p.RolledBack) > 0 {
				from = gitops.JoinVersions(p.RolledBack)
				body += fmt.Sprintf("Takes %s out of %s.\n", describeVersions(p.Previous, p.RolledBack), res.Env)
			}
			trailers = append(trailers, repo.Trailer{Key: "Rollback", Value: "from " + from})
		}
	}
	if opts.Note != "" {
		if body != "" {
			body += "\n"
		}
		body += strings.TrimSpace(opts.Note) + "\n"
	}
	trailers = append(trailers,
		repo.Trailer{Key: "Environment", Value: res.Env},
		repo.Trailer{Key: "Requested-by", Value: gitops.FormatIdentity(opts.Identity.Signature)})
	return repo.FormatMessage(subject, body, trailers)
}

// describeVersions is joinVersions with how rel routes traffic to each:
// "1.3.0 (canary 10%)".
func describeVersions(rel *manifests.Release, vs []manifests.Version) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = v.String() + describeRelease(rel, v)
	}
	return strings.Join(s, ", ")
}

// describeRelease says how a release routes traffic to v: "" for a plain
// replace, " (canary 10%)" and so on.
func describeRelease(rel *manifests.Release, v manifests.Version) string {
	for _, rv := range rel.Versions {
		if rv.Version != v {
			continue
		}
		switch {
		case rel.Strategy == manifests.StrategyCanary && rv.Weight != nil:
			return fmt.Sprintf(" (canary %d%%)", *rv.Weight)
		case rel.Strategy == manifests.StrategyBlueGreen:
			return " (blue-green, " + rv.Role + ")"
		case rel.Strategy == manifests.StrategyAB:
			return " (A/B variant " + rv.Role + ", " + rel.Match + ")"
		}
	}
	return ""
}
