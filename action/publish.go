package action

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/modelgit/modelgit/gitops/check"
	"github.com/modelgit/modelgit/gitops/forge"
)

// CommentMarker names the sticky comment: forge.Marker(CommentMarker) is
// the hidden HTML comment that finds it again.
const CommentMarker = "modelgit-check"

// Publish reports r everywhere GitHub shows it:
//
//  1. the commit status StatusFor(r) on r.Head (with a link to the run);
//  2. the sticky comment on the pull request (r.PullRequest, else the
//     event's), edited in place by its marker, never duplicated;
//  3. Markdown(r) appended to the job summary (env.StepSummary);
//  4. annotations on w (Annotations), only inside a GitHub Actions job
//     (env.Actions): elsewhere workflow commands are noise;
//
// and sets the step outputs passed (true/false), head, required and
// missing in env.Output. With f nil (no forge configured) it skips 1 and
// 2; with an empty env.StepSummary or env.Output it skips those. The
// runner reads workflow commands from stdout and stderr alike: pass
// stderr as w when stdout carries a machine-readable report. It does
// every part it can and returns all failures joined; the token never
// appears in what it writes or returns.
func Publish(ctx context.Context, f forge.Forge, env Env, r *check.CheckReport, w io.Writer) error {
	if r == nil {
		return errors.New("publishing the check: no report")
	}
	var errs []error
	body := Markdown(r)
	if f != nil {
		if r.Head == "" {
			errs = append(errs, errors.New("publishing the check: the report has no head SHA to set the status on"))
		} else {
			st := StatusFor(r)
			st.TargetURL = env.RunURL()
			if err := f.SetStatus(ctx, r.Head, st); err != nil {
				errs = append(errs, fmt.Errorf("setting status %q on %q: %w", st.Context, r.Head, err))
			}
		}
		pr, err := prNumber(env, r)
		switch {
		case err != nil:
			errs = append(errs, err)
		case pr > 0:
			if _, err := f.UpsertComment(ctx, pr, CommentMarker, body); err != nil {
				errs = append(errs, fmt.Errorf("updating the check comment on pull request #%d: %w", pr, err))
			}
		}
	}
	if env.StepSummary != "" {
		if err := appendFile(env.StepSummary, body+"\n"); err != nil {
			errs = append(errs, fmt.Errorf("writing the job summary: %w", err))
		}
	}
	if env.Actions {
		Annotations(w, r)
	}
	if env.Output != "" {
		outs := []Output{
			{"passed", strconv.FormatBool(r.Passed)},
			{"head", r.Head},
			{"required", strconv.Itoa(r.Required)},
			{"missing", strconv.Itoa(r.Missing)},
		}
		if err := SetOutputs(env.Output, outs...); err != nil {
			errs = append(errs, err)
		}
	}
	return redact(errors.Join(errs...), env.Token)
}

// prNumber is the pull request the comment goes to: the report's, else
// the event's; 0 when neither names one (a scheduled run).
func prNumber(env Env, r *check.CheckReport) (int, error) {
	if r.PullRequest != nil && r.PullRequest.Number > 0 {
		return r.PullRequest.Number, nil
	}
	if env.EventPath == "" {
		return 0, nil
	}
	ev, err := ReadEvent(env.EventPath)
	if err != nil {
		return 0, err
	}
	return ev.Number, nil
}

// Output is one step output.
type Output struct {
	Name, Value string
}

// SetOutputs appends outputs to the GITHUB_OUTPUT file at path in the
// multiline-safe form "NAME<<DELIMITER\nVALUE\nDELIMITER\n", with a random
// delimiter that the value does not contain, so no value can set another
// output.
func SetOutputs(path string, outs ...Output) error {
	var b strings.Builder
	for _, o := range outs {
		if o.Name == "" || strings.ContainsAny(o.Name, "\r\n<=") {
			return fmt.Errorf("setting output %q: a name must be non-empty, one line, without \"<\" or \"=\"", o.Name)
		}
		delim := "ghadelimiter_" + randomToken()
		if strings.Contains(o.Value, delim) {
			return fmt.Errorf("setting output %q: the value contains the delimiter", o.Name)
		}
		fmt.Fprintf(&b, "%s<<%s\n%s\n%s\n", o.Name, delim, o.Value, delim)
	}
	if err := appendFile(path, b.String()); err != nil {
		return fmt.Errorf("setting outputs: %w", err)
	}
	return nil
}

// appendFile appends s to the file at path in one write. The runner's
// GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files are append-only logs that
// other steps also write: temp-then-rename would drop their lines.
func appendFile(path, s string) error {
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("opening %q: %w", path, err)
	}
	if _, err := io.WriteString(fh, s); err != nil {
		fh.Close()
		return fmt.Errorf("appending to %q: %w", path, err)
	}
	if err := fh.Close(); err != nil {
		return fmt.Errorf("closing %q: %w", path, err)
	}
	return nil
}

// redact replaces token in err's message; forge errors never hold it, and
// this makes sure.
func redact(err error, token string) error {
	if err == nil || token == "" || !strings.Contains(err.Error(), token) {
		return err
	}
	return redactedError{msg: strings.ReplaceAll(err.Error(), token, "***"), err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e redactedError) Error() string { return e.msg }

// Unwrap keeps errors.Is and errors.As working through the redaction.
func (e redactedError) Unwrap() error { return e.err }
