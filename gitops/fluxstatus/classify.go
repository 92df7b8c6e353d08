package fluxstatus

import (
	"slices"
	"strings"
)

// Condition is the part of a Kubernetes status condition read here.
type Condition struct {
	// Status is "True", "False" or "Unknown"; "" when the object has no
	// such condition yet.
	Status  string `json:"status"`
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
}

// Sync is what Flux reports on one cluster: its Kustomization and the
// GitRepository it applies from.
type Sync struct {
	// Kustomization is "namespace/name".
	Kustomization string `json:"kustomization"`
	// LastAppliedRevision is the Kustomization's status.lastAppliedRevision,
	// e.g. "main@sha1:0123…"; "" before the first successful apply.
	LastAppliedRevision string `json:"lastAppliedRevision,omitempty"`
	// LastAttemptedRevision is the revision of the last apply, failed or not.
	LastAttemptedRevision string `json:"lastAttemptedRevision,omitempty"`
	// Ready is the Kustomization's Ready condition.
	Ready Condition `json:"ready"`
	// Stale is true when the Kustomization's generation is newer than
	// the one its status describes (the controller has not caught up).
	Stale bool `json:"stale,omitempty"`
	// Source is the GitRepository's Ready condition, and SourceRevision
	// the revision of its artifact.
	Source         Condition `json:"source"`
	SourceRevision string    `json:"sourceRevision,omitempty"`
}

// Commit returns the commit hash of a Flux revision: "main@sha1:<hex>",
// "sha1:<hex>", the older "main/<hex>" or a bare hex; "" when there is
// none.
func Commit(revision string) string {
	r := revision
	if i := strings.LastIndex(r, ":"); i >= 0 {
		r = r[i+1:]
	} else if i := strings.LastIndex(r, "/"); i >= 0 {
		r = r[i+1:]
	}
	if len(r) < 7 || strings.Trim(r, "0123456789abcdef") != "" {
		return ""
	}
	return r
}

// States of a release on a cluster.
const (
	StateApplied = "applied"
	StatePending = "merged, not yet applied"
	StateFailed  = "failed to apply"
	StateUnknown = "unknown"
)

// Verdict is whether a cluster applied a release.
type Verdict struct {
	// State is one of the State constants.
	State string `json:"state"`
	// Message is Flux's message for StateFailed, and why for StateUnknown;
	// for StateApplied, that a later revision fails to apply (the release
	// stays applied, the cluster is not following the branch).
	Message string `json:"message,omitempty"`
}

// String is the verdict as status prints it: "applied", "applied; a
// later revision … fails to apply: <message>", "merged, not yet applied",
// "failed to apply: <message>" or "unknown: <why>".
func (v Verdict) String() string {
	switch {
	case v.Message == "" || v.State == StatePending:
		return v.State
	case v.State == StateApplied:
		return v.State + "; " + v.Message
	}
	return v.State + ": " + v.Message
}

// Contains reports whether commit is the revision or one of its
// ancestors; known is false when the clone lacks revision (the cluster
// applied a commit this clone has not fetched).
type Contains func(revision, commit string) (contains, known bool, err error)

// Classify says whether the release merged at commit is applied on the
// cluster whose Flux reports s:
//   - applied: the Kustomization's last applied revision is commit or a
//     later one;
//   - failed to apply: it is not, and the Kustomization (or, when the
//     Kustomization is not failing, the GitRepository) is Ready=False;
//     the message is Flux's;
//   - merged, not yet applied: it is not, and nothing failed (Flux has not
//     fetched or applied it yet);
//   - unknown: the revision cannot be compared (not in this clone).
func Classify(commit string, s Sync, contains Contains) (Verdict, error) {
	applied := Commit(s.LastAppliedRevision)
	if applied != "" {
		ok, known, err := contains(applied, commit)
		if err != nil {
			return Verdict{}, err
		}
		if !known {
			return Verdict{State: StateUnknown, Message: "the cluster applied " + short(applied) + ", which this clone does not have; git fetch and run status again"}, nil
		}
		if ok {
			v := Verdict{State: StateApplied}
			switch {
			case s.Ready.Status == "False" && !s.Stale:
				// Applied, but Flux is stuck on a later commit (a hand
				// edit the API server rejects): say so, or the text
				// reads as all well.
				later := "a later revision"
				if c := Commit(s.LastAttemptedRevision); c != "" && c != applied {
					later += " (" + short(c) + ")"
				}
				v.Message = later + " fails to apply: " + flatten(s.Ready.Message)
			case s.Source.Status == "False":
				// Applied, but the source cannot fetch or verify what
				// came after (a head signed by a key not trusted).
				v.Message = "later commits are not applied: GitRepository: " + flatten(s.Source.Message)
			}
			return v, nil
		}
	}
	switch {
	case s.Ready.Status == "False" && !s.Stale:
		return Verdict{State: StateFailed, Message: flatten(s.Ready.Message)}, nil
	case s.Source.Status == "False":
		return Verdict{State: StateFailed, Message: "GitRepository: " + flatten(s.Source.Message)}, nil
	}
	return Verdict{State: StatePending}, nil
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// flatten puts a multi-line Flux message on one line.
func flatten(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func sortStrings(s []string) []string {
	slices.Sort(s)
	return s
}
