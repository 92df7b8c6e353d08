package action

import (
	"fmt"
	"strings"

	"github.com/modelgit/modelgit/gitops/check"
	"github.com/modelgit/modelgit/gitops/forge"
)

// maxDescription is GitHub's limit on a commit status description.
const maxDescription = 140

// StatusFor is the commit status that r puts on its head SHA: context
// forge.StatusContext ("modelgit/promotion", the one branch protection
// requires), state success or failure, and a one-line description of at
// most 140 characters naming what failed and how many approvals are
// missing.
func StatusFor(r *check.CheckReport) forge.Status {
	st := forge.Status{Context: forge.StatusContext, State: "failure"}
	if r == nil {
		st.Description = "no check report"
		return st
	}
	var desc string
	if r.Passed {
		st.State = "success"
		desc = fmt.Sprintf("passed: %d checks", len(r.Items))
		if r.Required > 0 {
			desc += fmt.Sprintf(", %d of %d approvals", r.Required-r.Missing, r.Required)
		}
	} else {
		var names []string
		for _, it := range r.Failed() {
			names = append(names, it.Name)
		}
		desc = "failed"
		if len(names) > 0 {
			desc += ": " + strings.Join(names, ", ")
		}
		if r.Missing > 0 {
			desc += fmt.Sprintf(" (%d more approval", r.Missing)
			if r.Missing > 1 {
				desc += "s"
			}
			desc += " needed)"
		}
	}
	st.Description = clip(oneLine(desc), maxDescription)
	return st
}

// oneLine replaces control characters (newlines among them) with spaces.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}
