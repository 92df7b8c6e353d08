package policies

import (
	"fmt"
	"strings"
)

// Explain returns the policy in words, for `modelgit policy show`: where a
// version must come from and how long it soaks there, each gate, the
// approvals and teams, whether forge-signed merges are trusted, and the
// monitored metrics.
func (p *PromotionPolicy) Explain() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Promotion policy for %s\n", orUnnamed(p.Environment))
	from := p.From
	if from == "" {
		from = "the previous environment in modelgit.yaml order"
	}
	if p.Soak > 0 {
		fmt.Fprintf(&b, "  from:       %s, after running there for %s\n", from, p.Soak)
	} else {
		fmt.Fprintf(&b, "  from:       %s (no soak time)\n", from)
	}

	p.writeGates(&b)
	switch n := p.Approvals.Count; n {
	case 0:
		b.WriteString("  approvals:  none required\n")
	case 1:
		b.WriteString("  approvals:  1 approving review\n")
	default:
		fmt.Fprintf(&b, "  approvals:  %d approving reviews\n", n)
	}
	if p.Approvals.Role != "" {
		fmt.Fprintf(&b, "  approvers:  with %s access or more to the repository\n", p.Approvals.Role)
	}
	if len(p.Approvals.Teams) > 0 {
		fmt.Fprintf(&b, "  teams:      an approver from each of %s\n", strings.Join(p.Approvals.Teams, ", "))
	}
	p.writeChecks(&b)
	fmt.Fprintf(&b, "  digest:     %s\n", p.Digest())
	return b.String()
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// Rules is the part of Explain that says how a candidate is judged — the
// gates, which signatures count, and the metrics monitored — without the
// order, approvals and digest that `modelgit policy show` prints above it.
func (p *PromotionPolicy) Rules() string {
	var b strings.Builder
	p.writeGates(&b)
	p.writeChecks(&b)
	return b.String()
}

func (p *PromotionPolicy) writeGates(b *strings.Builder) {
	b.WriteString("  gates:\n")
	if len(p.Gates) == 0 && p.DefaultGate != nil && p.DefaultGate.Disabled {
		b.WriteString("    none\n")
	}
	for _, g := range p.Gates {
		fmt.Fprintf(b, "    %s: %s\n", g.Name, oneLine(g.Expression))
		if g.Message != "" {
			fmt.Fprintf(b, "      on failure: %s\n", g.Message)
		}
	}
	switch dg := p.DefaultGate; {
	case dg != nil && dg.Disabled:
		b.WriteString("    default gate: disabled\n")
	default:
		tol := DefaultTolerance
		if dg != nil {
			tol = dg.Tolerance
		}
		fmt.Fprintf(b, "    %s: every metric shared with the baseline within %s of it, in its better direction\n", DefaultGateName, formatPct(tol))
	}
}

func (p *PromotionPolicy) writeChecks(b *strings.Builder) {
	if p.TrustForgeMerges {
		b.WriteString("  signatures: merges signed by the forge's key are trusted\n")
	} else {
		b.WriteString("  signatures: merges signed by the forge's key are not trusted; every commit needs an allowed signer\n")
	}

	if len(p.Metrics) > 0 {
		b.WriteString("  metrics:\n")
		for _, name := range slicesSorted(p.Metrics) {
			m := p.Metrics[name]
			r := p.Rule(name, nil)
			dir := r.Direction
			if m.Direction == "" {
				dir += " (from the model or the name)"
			}
			fmt.Fprintf(b, "    %s: %s is better, tolerance %s", name, dir, formatPct(r.Tolerance))
			if m.Threshold != nil {
				fmt.Fprintf(b, ", threshold %s", formatNum(*m.Threshold))
			}
			if m.MinSamples > 0 {
				fmt.Fprintf(b, ", at least %d samples", m.MinSamples)
			}
			b.WriteString("\n")
			if m.Query != "" {
				fmt.Fprintf(b, "      monitored by: %s\n", oneLine(m.Query))
			}
		}
	}
}
