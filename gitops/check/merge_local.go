package check

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/forge"
	"github.com/modelgit/modelgit/gitops/repo"
	"github.com/modelgit/modelgit/policies"
)

// LocalApprovals are the approvals a merger asserts when merging without
// a forge (MergeLocal): Check judges them, instead of skipping approvals,
// by the rules that can be judged from Git alone.
type LocalApprovals struct {
	// ApprovedBy are the approvers, each "Name <email>".
	ApprovedBy []string
	// Merger is who merges ("Name <email>"), and SignerPrincipal the
	// principal of their signing key in the allowed signers: neither may
	// approve.
	Merger, SignerPrincipal string
}

// MergeMethodLocal is the value of the Merge-Method trailer of a merge
// made by MergeLocal: its approvers are asserted by the merger.
const MergeMethodLocal = "local"

// LocalMergeOptions say what MergeLocal merges.
type LocalMergeOptions struct {
	// Base is the branch merged into; Head the promotion branch (any
	// revision) merged.
	Base, Head string
	// ApprovedBy are the approvers the merger asserts, each "Name
	// <email>".
	ApprovedBy []string
	// Identity is the merger, whose key signs the merge commit.
	Identity gitops.Identity
	// Now is the time soak is measured at; zero means the registry's
	// clock.
	Now time.Time
}

// Errors of MergeLocal, for callers that branch on them.
var (
	// ErrDirtyWorktree: the work tree has uncommitted changes.
	ErrDirtyWorktree = errors.New("the work tree has uncommitted changes")
	// ErrBehindBase: the head does not contain the base's tip.
	ErrBehindBase = errors.New("the branch is behind its base")
	// ErrUntrustedMerger: the merger's key is not an allowed signer at
	// the base.
	ErrUntrustedMerger = errors.New("the signing key is not an allowed signer")
)

// MergeLocal merges a promotion branch into a local base branch without
// a forge, as Merge does through one: it judges the branch as Check does
// (base..head, with the approvers the merger asserts counted by the
// policy's count, and the merger, the requester, the registrant and the
// branch's committers, authors and signers excluded), and when that
// passes, commits on the base a merge commit signed by the merger, whose
// trailers record the approvers (Approved-by), the merger (Merged-by),
// the policies, Merge-Method: local and the head checked. The approvers
// are asserted, not proven: what vouches for them is the merger's
// signature, which must be an allowed signer's at the base.
//
// It never forces: the head must contain the base's tip (an up-to-date
// branch, whose tree the merge takes), the work tree must be clean, and
// the base branch moves by compare-and-swap. A head already merged
// returns a result with AlreadyMerged and no error.
func (r *repository) MergeLocal(ctx context.Context, opts LocalMergeOptions) (*MergeResult, error) {
	if opts.Base == "" || opts.Head == "" {
		return nil, fmt.Errorf("merging locally: a base branch and a head are needed")
	}
	what := fmt.Sprintf("merging %s into %s", opts.Head, opts.Base)
	if opts.Identity.Signer == nil {
		return nil, fmt.Errorf("%s: no signing key: the merge commit records the approvals, and its signature is what vouches for them; configure one (git config user.signingkey, see README.md, Signing) or pass --signing-key (nothing was merged)", what)
	}
	baseTip, err := r.Repo().BranchTip(ctx, opts.Base)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if baseTip.IsZero() {
		return nil, fmt.Errorf("%s: no local branch %q (git branch --list shows them; fetch it first: git fetch origin %s:%s)", what, opts.Base, opts.Base, opts.Base)
	}
	head, err := r.Repo().Resolve(opts.Head)
	if err != nil {
		return nil, fmt.Errorf("%s: resolving the head %q: %w", what, opts.Head, err)
	}
	if done, err := r.Repo().IsAncestor(ctx, head, baseTip); err != nil {
		return nil, err
	} else if done {
		return &MergeResult{AlreadyMerged: true, Commit: baseTip.String()}, nil
	}
	if ok, err := r.Repo().IsAncestor(ctx, baseTip, head); err != nil {
		return nil, err
	} else if !ok {
		return nil, fmt.Errorf("%s: %w: %s moved to %s since the branch was made, and merge --local merges only a branch that contains its base (the merge then takes the branch's tree, as checked): run modelgit promote again (it rebuilds the branch on %s), or merge %s into the branch with a signed commit (git merge -S %s), then run merge --local again (nothing was merged)",
			what, ErrBehindBase, opts.Base, gitops.Short(baseTip), opts.Base, opts.Base, opts.Base)
	}
	if err := r.checkCleanForMerge(what); err != nil {
		return nil, err
	}
	trust, err := r.LoadTrust(baseTip)
	if err != nil {
		return nil, fmt.Errorf("%s: reading the allowed signers at %s: %w", what, opts.Base, err)
	}
	info, err := gitops.JudgeSigner(opts.Identity, trust, r.Now().UTC().Truncate(time.Second))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if !info.Trusted {
		return nil, fmt.Errorf("%s: %w at %s (%s): the merge commit vouches for the approvers with its signature, and verify would report it \"not trusted\"; merge with an allowed signer's key (nothing was merged)", what, ErrUntrustedMerger, opts.Base, info.Reason)
	}
	merger := gitops.FormatIdentity(opts.Identity.Signature)
	rep, err := r.Check(ctx, CheckOptions{Base: opts.Base, Head: head.String(), Now: opts.Now,
		Local: &LocalApprovals{ApprovedBy: opts.ApprovedBy, Merger: merger, SignerPrincipal: info.Signer}})
	if err != nil {
		return nil, err
	}
	res := &MergeResult{Report: rep}
	if !rep.Passed {
		var names []string
		for _, it := range rep.Failed() {
			names = append(names, it.Name)
		}
		return res, fmt.Errorf("%s: %w: %s failed (nothing was merged)", what, ErrCheckFailed, strings.Join(names, ", "))
	}
	res.Message = LocalMergeMessage(rep, opts.Head, opts.Base, merger)
	files, err := r.Repo().Changes(baseTip, head)
	if err != nil {
		return res, err
	}
	sha, err := r.Repo().Commit(ctx, repo.CommitRequest{
		Files:          files,
		Message:        res.Message,
		Author:         opts.Identity.Signature,
		Signer:         opts.Identity.Signer,
		Branch:         opts.Base,
		ExpectedParent: baseTip,
		Merge:          head,
	})
	if errors.Is(err, repo.ErrRefMoved) {
		return res, fmt.Errorf("%s: %w; %s moved while merging: run merge --local again, which judges the new base (nothing was merged)", what, err, opts.Base)
	}
	if err != nil {
		return res, err
	}
	res.Commit = sha.String()
	return res, nil
}

// checkCleanForMerge refuses a work tree with uncommitted changes
// (untracked files included): the merge rewrites the files it brings in,
// and a change of the user's must be neither lost nor swept into it.
func (r *repository) checkCleanForMerge(what string) error {
	dirty, err := r.Repo().Dirty(nil)
	if err != nil || len(dirty) == 0 {
		return err
	}
	const max = 10
	list, more := dirty, ""
	if len(list) > max {
		list, more = list[:max], fmt.Sprintf("\n  … and %d more", len(dirty)-max)
	}
	return fmt.Errorf("%s: %w:\n  %s%s\ncommit them or stash them (git stash -u), then run merge --local again (nothing was merged)", what, ErrDirtyWorktree, strings.Join(list, "\n  "), more)
}

// localApprovals judges the approvals a merger asserts (opts.Local): each
// approver, named "Name <email>", counts once unless they are the merger
// (or their key's principal), the requester, the registrant, or a
// committer, author or signer of the branch (the same people or email
// addresses); the policy's count is then applied. A policy that asks
// team membership or more than write access cannot be judged without the
// forge, and fails, saying so.
func (c *checkRun) localApprovals(ctx context.Context) error {
	rep, local := c.rep, c.opts.Local
	ru := c.approvalRules()
	rep.Required, rep.Missing = ru.required, ru.required
	regs, err := c.registrationCommits(ctx)
	if err != nil {
		return err
	}
	ex := c.exclusionsFrom(newLoginLinks(), regs)
	for _, s := range []string{local.Merger, local.SignerPrincipal} {
		if s != "" {
			ex.mergers = append(ex.mergers, parsePerson(s))
		}
	}
	rep.Eligible = strings.TrimSuffix(eligibleText(ru, ex), "; approvals count on the current head only") + "; approvers are asserted by the merger"
	if len(ru.teams) > 0 || ru.role != policies.RoleWrite {
		var asks []string
		if len(ru.teams) > 0 {
			asks = append(asks, "members of "+strings.Join(ru.teams, ", "))
		}
		if ru.role != policies.RoleWrite {
			asks = append(asks, ru.role+" access")
		}
		c.fail(CheckApprovals, "the policy asks approvals from "+strings.Join(asks, " with ")+", which only the forge can tell")
		c.items[CheckApprovals].Summary = "cannot be judged without a forge: the policy asks " + strings.Join(asks, " and ") + "; merge through the forge (modelgit merge --pr N)"
		return nil
	}
	t := &tally{covered: map[string]bool{}, perms: map[string]*forge.Permission{}}
	var counted []person
	for _, s := range local.ApprovedBy {
		p := parsePerson(s)
		a := Approval{User: identText(s), State: forge.ReviewApproved, CommitID: rep.Head}
		if p.email != "" {
			a.User = strings.TrimSpace(identText(p.name) + " <" + identText(p.email) + ">")
		}
		switch {
		case p.email == "" || p.name == "":
			a.Reason = `not "Name <email>"`
		case slices.ContainsFunc(counted, func(q person) bool { return samePerson(p, q) }):
			a.Reason = "named twice"
		default:
			a.Reason = ex.matching(func(q person) bool { return samePerson(p, q) }, p.text)
		}
		if a.Counted = a.Reason == ""; a.Counted {
			a.Identity = a.User
			counted = append(counted, p)
			t.counted++
		}
		rep.Approvals = append(rep.Approvals, a)
		line := a.User + ": approved (asserted by the merger)"
		if a.Counted {
			line += ": counts"
		} else {
			line += ": does not count: " + a.Reason
		}
		c.pass(CheckApprovals, line)
	}
	rep.Missing = max(0, ru.required-t.counted)
	c.approvalsVerdict(ru, t)
	it := c.items[CheckApprovals]
	if len(local.ApprovedBy) == 0 {
		it.Summary += "; name who approved with --approved-by 'Name <email>'"
	} else {
		it.Summary += " (approvers asserted by " + local.Merger + ")"
	}
	return nil
}

// samePerson reports whether a and b may be the same person: the same
// email address, or the same name. Like person.matches it errs on
// excluding: a false match costs one approval, a miss lets someone
// approve their own change.
func samePerson(a, b person) bool {
	return (a.email != "" && a.email == b.email) || (a.name != "" && strings.EqualFold(a.name, b.name))
}

// LocalMergeMessage is the message of MergeLocal's merge commit: a
// subject naming the branch and the base, the promotions in the body, and
// the trailers Approved-by (one per counted approver), Merged-by,
// Policy (one per environment), Merge-Method: local and Checked-Head.
// Every value is reduced to one line of printable text.
func LocalMergeMessage(rep *CheckReport, head, base, merger string) string {
	subject := fmt.Sprintf("Merge %s into %s", oneLine(head), oneLine(base))
	p := parsePerson(merger)
	who := identText(merger)
	if p.email != "" {
		who = identText(p.name) + " <" + identText(p.email) + ">"
	}
	return mergeMessage(subject, "", rep, []repo.Trailer{{Key: "Merged-by", Value: who}, {Key: "Merge-Method", Value: MergeMethodLocal}})
}
