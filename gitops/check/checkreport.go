package check

// Status of one check.
type CheckStatus string

// Check statuses.
const (
	CheckPass CheckStatus = "pass"
	CheckFail CheckStatus = "fail"
	// CheckSkip is a check that did not apply (approvals without a forge,
	// gates without a baseline); it does not block.
	CheckSkip CheckStatus = "skip"
)

// Check names, in the order a report lists them.
const (
	CheckManifests    = "manifests"
	CheckSignatures   = "signatures"
	CheckImmutability = "immutability"
	CheckArtifacts    = "artifacts"
	CheckRendered     = "rendered"
	// CheckUpToDate fails when a release the pull request changes was
	// changed on the base since the pull request branched: merging it
	// would undo or mix with that change.
	CheckUpToDate  = "up-to-date"
	CheckGates     = "gates"
	CheckOrder     = "order"
	CheckSoak      = "soak"
	CheckApprovals = "approvals"
)

// CheckItem is the outcome of one check.
type CheckItem struct {
	Name   string      `json:"name"`
	Status CheckStatus `json:"status"`
	// Summary is one line; Details are the lines behind it (each gate with
	// its numbers, each finding).
	Summary string   `json:"summary"`
	Details []string `json:"details,omitempty"`
}

// Annotation points at a file and line of the pull request, for GitHub's
// ::error file=…,line=…:: workflow command.
type Annotation struct {
	File    string `json:"file"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Level   string `json:"level"` // "error" or "warning"
	Message string `json:"message"`
}

// Approval is one person's latest review and whether it counts.
type Approval struct {
	User     string `json:"user"`
	State    string `json:"state"`
	CommitID string `json:"commitId"`
	Counted  bool   `json:"counted"`
	// Reason says why a review does not count: on an older head, the
	// requester, the registrant, a committer, author or signer of the
	// PR's commits, a bot, without write access (or the policy's role),
	// not in the required team, or an API error; for a change request,
	// whether it blocks.
	Reason string `json:"reason,omitempty"`
	// Identity is how the merge commit's Approved-by trailer names a
	// counted approver ("Name <email>" from the forge profile, else
	// GitHub's no-reply address); only Merge sets it.
	Identity string `json:"identity,omitempty"`
}

// CheckedPromotion is one model's promotion a pull request makes.
type CheckedPromotion struct {
	Model       string `json:"model"`
	Environment string `json:"environment"`
	From        string `json:"from,omitempty"` // version serving before, "" for none
	To          string `json:"to"`
	Strategy    string `json:"strategy"`
	RequestedBy string `json:"requestedBy,omitempty"`
}

// CheckReport is the verdict on a pull request (base..head): what modelgit
// check prints, the Action posts, and merge relies on.
type CheckReport struct {
	Base string `json:"base"` // commit SHA
	Head string `json:"head"` // commit SHA the verdict is bound to
	// PullRequest is set when the check ran against a forge.
	PullRequest *CheckedPR         `json:"pullRequest,omitempty"`
	Promotions  []CheckedPromotion `json:"promotions"`
	// Policies maps environment to the digest of the policy applied, read
	// from the base branch.
	Policies map[string]string `json:"policies"`
	Items    []CheckItem       `json:"checks"`
	// Annotations point at bad manifests.
	Annotations []Annotation `json:"annotations"`
	// Approvals lists every reviewer's latest review; Required is how many
	// counted approvals the policy asks for, and Missing how many more.
	Approvals []Approval `json:"approvals"`
	Required  int        `json:"required"`
	Missing   int        `json:"missing"`
	// Eligible says who may still approve (teams, exclusions), for humans.
	Eligible string `json:"eligible,omitempty"`
	Passed   bool   `json:"passed"`
}

// CheckedPR identifies the pull request a report is about.
type CheckedPR struct {
	Number int    `json:"number"`
	Title  string `json:"title"`
	URL    string `json:"url"`
	Author string `json:"author"`
}

// Failed returns the items that failed.
func (r *CheckReport) Failed() []CheckItem {
	var out []CheckItem
	for _, it := range r.Items {
		if it.Status == CheckFail {
			out = append(out, it)
		}
	}
	return out
}
