package check

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode"

	"github.com/modelgit/modelgit/gitops/forge"
	"github.com/modelgit/modelgit/gitops/repo"
)

// ErrCheckFailed is returned by Merge when the pull request does not pass
// the check.
var ErrCheckFailed = errors.New("the check did not pass")

// MergeOptions say which pull request Merge merges.
type MergeOptions struct {
	CheckOptions
}

// MergeResult is what Merge did.
type MergeResult struct {
	// Report is the check the merge relied on.
	Report *CheckReport `json:"report"`
	// Commit is the merge commit's SHA.
	Commit string `json:"commit,omitempty"`
	// Message is the merge commit's message.
	Message string `json:"message"`
	// AlreadyMerged says that MergeLocal found the head merged into the
	// base already, and did nothing.
	AlreadyMerged bool `json:"alreadyMerged,omitempty"`
}

// Merge checks a pull request and, when the check passes, merges it
// through the forge as a merge commit pinned to the head SHA that was
// checked, with a message whose trailers record the approvers, the
// policies and the pull request (MergeMessage). Each approver is named by
// their forge profile (see approverIdentity). When the head moved between
// check and merge, the forge refuses and Merge returns an error matching
// forge.ErrHeadMoved: check again, never merge blind. When the forge
// finds the pull request not mergeable (a conflict with its base), the
// error matches forge.ErrNotMergeable and says how to update the branch.
// A failed check returns the result with its report and an error
// matching ErrCheckFailed.
func (r *repository) Merge(ctx context.Context, opts MergeOptions) (*MergeResult, error) {
	if opts.PR == 0 {
		return nil, fmt.Errorf("merging: a pull request number is needed")
	}
	rep, err := r.Check(ctx, opts.CheckOptions)
	if errors.Is(err, forge.ErrNotFound) {
		return nil, fmt.Errorf("merging: %w", err) // Check says which and where
	}
	if err != nil {
		return nil, err
	}
	res := &MergeResult{Report: rep}
	if !rep.Passed {
		var names []string
		behind := false
		for _, it := range rep.Failed() {
			names = append(names, it.Name)
			behind = behind || it.Name == CheckUpToDate
		}
		err := fmt.Errorf("merging pull request #%d: %w: %s failed", opts.PR, ErrCheckFailed, strings.Join(names, ", "))
		if behind {
			err = fmt.Errorf("%w; it is behind its base: %s, then check again (nothing was merged)", err, updateHint(rep))
		}
		return res, err
	}
	for i := range rep.Approvals {
		if a := &rep.Approvals[i]; a.Counted {
			a.Identity = r.approverIdentity(ctx, opts.Forge, a.User)
		}
	}
	res.Message = MergeMessage(rep)
	sha, err := opts.Forge.Merge(ctx, opts.PR, rep.Head, res.Message, forge.MergeMethodMerge)
	// The forge's errors already say "merging pull request #N at SHA".
	switch {
	case errors.Is(err, forge.ErrHeadMoved):
		return res, fmt.Errorf("%w; its head moved after %s was checked: run modelgit check again (nothing was merged)", err, shortSHA(rep.Head))
	case errors.Is(err, forge.ErrBaseMoved):
		return res, fmt.Errorf("%w; run modelgit merge again, which judges the new base (nothing was merged)", err)
	case errors.Is(err, forge.ErrMergeMethodNotAllowed):
		return res, fmt.Errorf("%w; modelgit merges with a merge commit, so that the Approved-by trailers and the first-parent history stay: allow merge commits in the repository's settings (Settings → General → Pull Requests) and in any ruleset on the base branch (nothing was merged)", err)
	case errors.Is(err, forge.ErrRequiredStatus):
		return res, fmt.Errorf("%w; wait for the required checks on %s to pass, or see why they fail on the pull request (nothing was merged)", err, shortSHA(rep.Head))
	case errors.Is(err, forge.ErrReviewRequired):
		return res, fmt.Errorf("%w; the branch protection asks for more approvals than the policy: ask another reviewer with write access to approve (nothing was merged)", err)
	case errors.Is(err, forge.ErrHeadBehind):
		return res, fmt.Errorf("%w; update the branch: %s, then check again (nothing was merged)", err, updateHint(rep))
	case errors.Is(err, forge.ErrProtectedBranch):
		return res, fmt.Errorf("%w; the token's user may not merge into the base branch: merge with a token of someone the branch protection allows (nothing was merged)", err)
	case errors.Is(err, forge.ErrNotMergeable):
		return res, fmt.Errorf("%w; update the branch: %s, then check again (nothing was merged)", err, updateHint(rep))
	case err != nil:
		return res, err
	}
	res.Commit = sha
	return res, nil
}

// updateHint says how to bring a pull request up to date with its base:
// promote again (which rebuilds the branch on the base) or merge the base
// into the branch.
func updateHint(rep *CheckReport) string {
	promote := "run `modelgit promote MODEL@VERSION --to ENV` again"
	if len(rep.Promotions) == 1 && rep.Promotions[0].To != "" {
		p := rep.Promotions[0]
		promote = "run `" + promoteCommand(p) + "` again"
	}
	return promote + ", or merge the base into it"
}

// approverIdentity is how the Approved-by trailer names login: "Name
// <public email>" from the forge's profile (the login when the name is
// not public); without a public email, GitHub's no-reply address
// "login <ID+login@users.noreply.github.com>"; and when the profile
// cannot be read, the older "login <login@users.noreply.github.com>",
// with a warning. A failed lookup never fails the merge.
func (r *repository) approverIdentity(ctx context.Context, fg forge.Forge, login string) string {
	u, err := fg.User(ctx, login)
	switch {
	case err != nil || u == nil:
		if err == nil {
			err = errors.New("no profile")
		}
		r.Log().Warningf("reading the profile of approver %s: %v; the merge names them %s", login, err, noReplyIdentity(login, 0))
		return noReplyIdentity(login, 0)
	case u.Email != "":
		name := u.Name
		if identText(name) == "" {
			name = login
		}
		return identText(name) + " <" + identText(u.Email) + ">"
	default:
		return noReplyIdentity(login, u.ID)
	}
}

// noReplyIdentity is "login <ID+login@users.noreply.github.com>", or
// without an ID the older "login <login@users.noreply.github.com>".
func noReplyIdentity(login string, id int64) string {
	login = identText(login)
	if id > 0 {
		return fmt.Sprintf("%s <%d+%s@users.noreply.github.com>", login, id, login)
	}
	return fmt.Sprintf("%s <%s@users.noreply.github.com>", login, login)
}

// identText makes a name or email safe inside "Name <email>": one line
// (oneLine), without the angle brackets that delimit the email, as git
// strips them from identities.
func identText(s string) string {
	return oneLine(strings.NewReplacer("<", "", ">", "").Replace(s))
}

// MergeMessage is the merge commit message for a passed check: a subject
// naming the pull request, the promotions in the body, and the trailers
// Approved-by (one per counted approver: its Identity, else its login at
// GitHub's no-reply domain), Policy (environment and policy digest, one
// per environment), Pull-Request and Checked-Head. Every value
// from the forge or the pull request is reduced to one line of printable
// text, so that a title or login cannot add trailers or lines of its own.
func MergeMessage(rep *CheckReport) string {
	subject := "Merge promotion"
	var prRef string
	if pr := rep.PullRequest; pr != nil {
		subject = fmt.Sprintf("Merge pull request #%d: %s", pr.Number, oneLine(pr.Title))
		prRef = fmt.Sprintf("#%d", pr.Number)
		if pr.URL != "" {
			prRef += " " + oneLine(pr.URL)
		}
	}
	return mergeMessage(subject, prRef, rep, nil)
}

// mergeMessage is a merge commit message: subject, the promotions of rep,
// and the trailers Approved-by, then extra, then Policy, Pull-Request
// (when prRef is set) and Checked-Head.
func mergeMessage(subject, prRef string, rep *CheckReport, extra []repo.Trailer) string {
	var body strings.Builder
	for _, p := range rep.Promotions {
		fmt.Fprintf(&body, "- %s %s → %s in %s (%s)\n", oneLine(p.Model), orNone(oneLine(p.From)), orNone(oneLine(p.To)), oneLine(p.Environment), oneLine(p.Strategy))
	}
	var trailers []repo.Trailer
	for _, a := range rep.Approvals {
		if a.Counted {
			who := oneLine(a.Identity)
			if who == "" {
				who = noReplyIdentity(a.User, 0)
			}
			trailers = append(trailers, repo.Trailer{Key: "Approved-by", Value: who})
		}
	}
	trailers = append(trailers, extra...)
	envs := make([]string, 0, len(rep.Policies))
	for env := range rep.Policies {
		envs = append(envs, env)
	}
	sort.Strings(envs)
	for _, env := range envs {
		trailers = append(trailers, repo.Trailer{Key: "Policy", Value: oneLine(env) + " " + oneLine(rep.Policies[env])})
	}
	if prRef != "" {
		trailers = append(trailers, repo.Trailer{Key: "Pull-Request", Value: prRef})
	}
	trailers = append(trailers, repo.Trailer{Key: "Checked-Head", Value: oneLine(rep.Head)})
	return repo.FormatMessage(subject, body.String(), trailers)
}

// oneLine makes text safe for one line of a commit message: control
// characters (newlines included) become spaces, runs of spaces one, and
// the result is trimmed.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}
