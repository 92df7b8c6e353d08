package promote

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/manifests"
	"github.com/modelgit/modelgit/policies"
)

// maxBody is the most modelgit writes into a pull request's body. GitHub
// refuses a body over 65,536 characters; the margin is what
// action/markdown.go keeps for its comments too. Lengths are counted in
// bytes, which are never fewer than characters.
const maxBody = 60000

// bodyInput is what a promotion's pull request body is made from.
type bodyInput struct {
	res   *PromoteResult
	diffs []fileDiff
	ap    *gitops.AppliedPolicy
	// models are the models' model.yaml, for the metrics' directions.
	models map[string]*manifests.Model
	// clusters are the clusters that run the environment.
	clusters []manifests.Cluster
	// evidence is Markdown put first (PromoteOptions.Evidence).
	evidence string
}

// promotionBody is the pull request's description: why (the evidence, if
// any), what changes, the metric comparison, the clusters the change
// applies on, the rendered diff and what must happen before merge. It
// stays under maxBody: the diff is cut first (the commit has it all),
// then the metric tables; every model keeps its "## model version → env"
// heading, which modelgit monitor looks for.
func promotionBody(in bodyInput) string {
	evidence := ""
	if in.evidence != "" {
		evidence = strings.TrimRight(in.evidence, "\n") + "\n\n"
	}
	changes := "### Rendered changes\n\n" + clusterTable(in.res.Env, in.clusters)
	foot := beforeMerge(in.ap)
	budget := maxBody - len(evidence) - len(changes) - len(foot)
	head := promotionSections(in, true)
	const diffRoom = 4000 // at least a few files' hunks, or the note
	if len(head) > budget-diffRoom {
		head = promotionSections(in, false)
	}
	body := evidence + head + changes + diffSection(in.diffs, budget-len(head)) + foot
	// The last resort, when even the headings do not fit.
	return CutMarkdown(body, maxBody, "_… cut here to keep this description under GitHub's size limit: the commit has every change._")
}

// promotionSections is one section per promotion; withMetrics false
// leaves the metric tables out (a large bulk promotion).
func promotionSections(in bodyInput, withMetrics bool) string {
	var b strings.Builder
	res := in.res
	for _, p := range res.Promotions {
		mv := p.Version.Manifest
		fmt.Fprintf(&b, "## %s %s → %s%s\n\n", mv.Model, mv.Version, res.Env, describeRelease(p.Release, mv.Version))
		fmt.Fprintf(&b, "- version digest: `%s`\n", p.Version.Digest)
		if mv.Data != nil {
			fmt.Fprintf(&b, "- training data: `%s`\n", mv.Data.Digest)
		}
		fmt.Fprintf(&b, "- registered by %s\n", mv.RegisteredBy)
		switch {
		case len(p.RolledBack) > 0:
			fmt.Fprintf(&b, "- rollback: takes %s out of %s\n", describeVersions(p.Previous, p.RolledBack), res.Env)
		case p.Baseline != nil:
			fmt.Fprintf(&b, "- replaces %s (now serving in %s)\n", p.Baseline.Version, res.Env)
		default:
			fmt.Fprintf(&b, "- first version of %s in %s\n", mv.Model, res.Env)
		}
		if p.Forced != "" {
			fmt.Fprintf(&b, "\n> [!WARNING]\n> Forced past the promotion order: %s.\n", p.Forced)
		}
		if !withMetrics {
			b.WriteString("\n")
			continue
		}
		var pol *policies.PromotionPolicy
		if in.ap != nil {
			pol = in.ap.Policy
		}
		b.WriteString("\n**Metrics**\n\n")
		b.WriteString(metricTable(mv, p.Baseline, in.models[mv.Model], pol))
		b.WriteString("\n")
	}
	if !withMetrics {
		b.WriteString("_Metric tables are left out to keep this description under GitHub's size limit: `modelgit diff MODEL@OLD MODEL@NEW` compares two versions._\n\n")
	}
	return b.String()
}

// clusterTable names the clusters that run env, each with the GPU
// defaults it patches onto every InferenceService predictor and
// Deployment: the rendered diff below applies on each of them so.
func clusterTable(env string, clusters []manifests.Cluster) string {
	if len(clusters) == 0 {
		return fmt.Sprintf("No cluster in modelgit.yaml runs %s: nothing applies these objects yet.\n\n", env)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Flux applies `%s/%s/` on each of these clusters, with the cluster's GPU defaults patched onto every InferenceService predictor and Deployment (`modelgit render --cluster NAME` shows the result):\n\n", manifests.RenderedDir, env)
	b.WriteString("| cluster | GPU | node selector | tolerations | runtime class |\n|---|---|---|---|---|\n")
	for _, c := range clusters {
		gpu, sel, tol, rc := "none (CPU only)", "–", "–", "–"
		if g := c.GPU; g != nil {
			gpu = fmt.Sprintf("%d × `%s`", g.Count, cell(g.Resource))
			if len(g.NodeSelector) > 0 {
				var kv []string
				for _, k := range slices.Sorted(maps.Keys(g.NodeSelector)) {
					kv = append(kv, "`"+cell(k+"="+g.NodeSelector[k])+"`")
				}
				sel = strings.Join(kv, " ")
			}
			if len(g.Tolerations) > 0 {
				var ts []string
				for _, t := range g.Tolerations {
					s := t.Key
					if t.Operator != "" && t.Operator != "Equal" {
						s += " " + t.Operator
					}
					if t.Value != "" {
						s += "=" + t.Value
					}
					if t.Effect != "" {
						s += ":" + t.Effect
					}
					ts = append(ts, "`"+cell(strings.TrimSpace(s))+"`")
				}
				tol = strings.Join(ts, " ")
			}
			if g.RuntimeClassName != "" {
				rc = "`" + cell(g.RuntimeClassName) + "`"
			}
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", c.Name, gpu, sel, tol, rc)
	}
	b.WriteString("\n")
	return b.String()
}

// cell makes s safe inside a Markdown table cell's code span.
func cell(s string) string {
	return strings.NewReplacer("|", "\\|", "`", "'", "\n", " ").Replace(s)
}

// diffSection is the rendered diff, one collapsed block of hunks per
// file, within budget bytes: the files that do not fit are counted in a
// note pointing at the commit.
func diffSection(diffs []fileDiff, budget int) string {
	var b strings.Builder
	const noteRoom = 200
	left := 0
	for i, d := range diffs {
		block := fmt.Sprintf("<details><summary><code>%s</code></summary>\n\n```diff\n%s```\n\n</details>\n\n", d.Path, unifiedDiff(string(d.Old), string(d.New), 3))
		if b.Len()+len(block) > budget-noteRoom {
			left = len(diffs) - i
			break
		}
		b.WriteString(block)
	}
	if left > 0 {
		noun := "files"
		if left == 1 {
			noun = "file"
		}
		fmt.Fprintf(&b, "_… %d more %s: see the commit (the diff is cut to keep this description under GitHub's size limit)._\n\n", left, noun)
	}
	return b.String()
}

// beforeMerge is what must happen before the pull request merges.
func beforeMerge(ap *gitops.AppliedPolicy) string {
	var b strings.Builder
	b.WriteString("### Before merge\n\n")
	pol := ap.Policy
	fmt.Fprintf(&b, "- the modelgit check passes on this head: signatures, immutable versions, rendered/ in sync, and the gates of `%s`", ap.File)
	if ap.Default {
		b.WriteString(" (absent: the default policy applies)")
	}
	b.WriteString("\n")
	if pol.Soak > 0 {
		fmt.Fprintf(&b, "- each version ran in the previous environment for at least %s\n", pol.Soak)
	}
	need := fmt.Sprintf("%d approving review", pol.Approvals.Count)
	if pol.Approvals.Count != 1 {
		need += "s"
	}
	if len(pol.Approvals.Teams) > 0 {
		need += " including one from each of " + strings.Join(pol.Approvals.Teams, ", ")
	}
	fmt.Fprintf(&b, "- %s on this head commit, by someone other than the requester, the registrant or a committer\n", need)
	b.WriteString("- merge with `modelgit merge`, so the merge commit records who approved\n")
	return b.String()
}

// CutMarkdown cuts a Markdown document longer than n bytes at a line
// boundary and ends it with note, saying where the rest is; the result is
// at most n bytes. Pull request bodies and comments use it against
// GitHub's size limit.
func CutMarkdown(s string, n int, note string) string {
	if len(s) <= n {
		return s
	}
	note = "\n\n" + note + "\n"
	cut := s[:n-len(note)]
	if i := strings.LastIndexByte(cut, '\n'); i > 0 {
		cut = cut[:i]
	}
	return cut + note
}

// metricDirection is which way metric improves for the table: the
// policy's declaration, then model.yaml's, then the metric's name (as the
// gates judge it; pol and model may be nil).
func metricDirection(model *manifests.Model, pol *policies.PromotionPolicy, metric string) string {
	d := manifests.MetricDirection(model, metric)
	if pol == nil {
		return d
	}
	return pol.Rule(metric, map[string]string{metric: d}).Direction
}

// metricTable compares candidate and baseline metrics, with the better
// direction of each.
func metricTable(mv, baseline *manifests.ModelVersion, model *manifests.Model, pol *policies.PromotionPolicy) string {
	if len(mv.Metrics) == 0 {
		return "_no metrics registered_\n"
	}
	var b strings.Builder
	if baseline == nil {
		b.WriteString("| metric | value |\n|---|---:|\n")
		for _, k := range slices.Sorted(maps.Keys(mv.Metrics)) {
			fmt.Fprintf(&b, "| %s | %s |\n", k, fmtFloat(mv.Metrics[k]))
		}
		return b.String()
	}
	fmt.Fprintf(&b, "| metric | better | %s | %s | change |\n|---|---|---:|---:|---:|\n", baseline.Version, mv.Version)
	for _, k := range slices.Sorted(maps.Keys(mv.Metrics)) {
		dir := metricDirection(model, pol, k)
		arrow := "↑"
		if dir == manifests.DirectionLower {
			arrow = "↓"
		}
		old, ok := baseline.Metrics[k]
		if !ok {
			fmt.Fprintf(&b, "| %s | %s | – | %s | new |\n", k, arrow, fmtFloat(mv.Metrics[k]))
			continue
		}
		nv := mv.Metrics[k]
		change := "="
		if nv != old {
			change = fmt.Sprintf("%+.4g", nv-old)
			if old != 0 {
				change += fmt.Sprintf(" (%+.1f%%)", (nv-old)/math.Abs(old)*100)
			}
			if (nv > old) == (dir == manifests.DirectionHigher) {
				change += " ✅"
			} else {
				change += " ⚠️"
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", k, arrow, fmtFloat(old), fmtFloat(nv), change)
	}
	return b.String()
}

func fmtFloat(f float64) string { return fmt.Sprintf("%.4g", f) }
