package action_test

import (
	"github.com/modelgit/modelgit/gitops/check"
)

// Evil strings: each is what an attacker could put in a PR title, a branch
// name, a review body, a login or a manifest field.
const (
	evilExpr    = "${{ secrets.X }}"
	evilShell   = "$(rm -rf /)"
	evilTicks   = "`whoami`"
	evilMarker  = "<!-- modelgit:modelgit-check -->"
	evilMention = "@org/team"
)

var evilText = "Promote " + evilExpr + " " + evilTicks + " " + evilShell + "\n::error::injected\n" + evilMarker + " cc " + evilMention + " [click](https://evil.example) <img src=x onerror=alert(1)> | table"

// sampleReport is a failing report with every section filled.
func sampleReport() *check.CheckReport {
	return &check.CheckReport{
		Base: "1111111111111111111111111111111111111111",
		Head: "2222222222222222222222222222222222222222",
		PullRequest: &check.CheckedPR{
			Number: 7, Title: "Promote fraud 1.4.0 to production", URL: "https://github.com/acme/models/pull/7", Author: "alice",
		},
		Promotions: []check.CheckedPromotion{
			{Model: "fraud", Environment: "production", From: "1.3.2", To: "1.4.0", Strategy: "canary", RequestedBy: "alice"},
		},
		Policies: map[string]string{
			"production": "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		},
		Items: []check.CheckItem{
			{Name: check.CheckManifests, Status: check.CheckPass, Summary: "2 manifests valid"},
			{Name: check.CheckSignatures, Status: check.CheckPass, Summary: "1 commit signed by an allowed signer"},
			{Name: check.CheckGates, Status: check.CheckFail, Summary: "1 of 2 gates failed", Details: []string{
				"accuracy: candidate 0.91 >= baseline 0.97 * 0.95 (0.9215): fail",
				"latency_p95: candidate 41ms <= baseline 40ms * 1.05 (42ms): pass",
			}},
			{Name: check.CheckSoak, Status: check.CheckSkip, Summary: "no soak time in the policy"},
			{Name: check.CheckApprovals, Status: check.CheckFail, Summary: "1 of 2 approvals"},
		},
		Annotations: []check.Annotation{
			{File: "models/fraud/versions/1.4.0.yaml", Line: 12, Column: 3, Level: "error", Message: "metrics.accuracy: 0.91 fails the gate"},
		},
		Approvals: []check.Approval{
			{User: "bob", State: "APPROVED", CommitID: "2222222222222222222222222222222222222222", Counted: true},
			{User: "carol", State: "APPROVED", CommitID: "3333333333333333333333333333333333333333", Reason: "on an older head"},
			{User: "alice", State: "APPROVED", CommitID: "2222222222222222222222222222222222222222", Reason: "the requester"},
		},
		Required: 2,
		Missing:  1,
		Eligible: "members of acme/ml-reviewers except alice",
		Passed:   false,
	}
}

// evilReport is sampleReport with attacker text in every untrusted field.
func evilReport() *check.CheckReport {
	r := sampleReport()
	r.PullRequest.Title = evilText
	r.PullRequest.Author = evilMention
	r.Promotions[0].Model = evilText
	r.Promotions[0].To = evilTicks
	r.Promotions[0].RequestedBy = evilMarker
	r.Items[2].Details = append(r.Items[2].Details, evilText)
	r.Items[2].Summary = evilText
	r.Annotations[0].Message = evilText
	r.Annotations[0].File = "models/a,b:c%.yaml"
	r.Approvals[1].User = evilMention
	r.Approvals[1].Reason = evilText
	r.Eligible = evilText
	return r
}
