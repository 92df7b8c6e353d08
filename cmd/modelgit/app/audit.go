package app

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"iter"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/modelgit/modelgit/cmd/modelgit/cmdutil"
	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/audit"
	"github.com/modelgit/modelgit/gitops/ledger"
)

// outputMarkdown is the -o value for a Markdown table.
const outputMarkdown = "markdown"

// AuditOptions are the inputs of `modelgit audit`.
type AuditOptions struct {
	IO           *cmdutil.IOStreams
	Repository   func() (*gitops.Repository, error)
	Now          func() time.Time
	Env, Model   string
	Since, Until string
	Output       string
}

// NewCmdAudit returns `modelgit audit`.
func NewCmdAudit(f *cmdutil.Factory, runF func(*AuditOptions) error) *cobra.Command {
	opts := &AuditOptions{IO: f.IOStreams, Repository: f.Repository, Now: f.Now}
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "List every promotion and rollback: who asked, who approved, who merged, signatures",
		Long: `List every change of a release file on the first-parent history of the
branch Flux follows, oldest first: time, model, environment, from → to
version, strategy and weights, requested by, approved by, merged by,
policy, pull request, commit and signature status. Merges made outside
modelgit and commits whose signatures do not verify are shown as such.
A signature is judged by the allowed signers in force before its commit
(the chain of trust from git config modelgit.trustRoot, else the first
commit), so a key that added itself is not trusted.

On a terminal the table fits its width ($COLUMNS, else the terminal's):
the columns on the right are shortened first, then left out, while time,
environment, model, action and versions stay whole; piped output, -o csv,
-o markdown and -o json hold every column in full.

Times are the committer time of the merge commit on the followed branch,
never before its parent's: a commit made on a clock that was behind takes
its parent's time and is marked "clock skew".
A rewrite of that branch since the last run is reported on stderr and in
the JSON ("rewrites"). Everything is read from git alone.

The events are kept in .git/modelgit/audit-cache, so the next run scans
only new commits; -o json, -o csv and -o markdown print each event as it
is read from there, so memory does not grow with the history (the table
collects its rows, to size its columns). On a history of 1,000 commits
or more without one, audit (and which) first writes git's commit-graph
with changed paths (git commit-graph write --reachable --changed-paths,
as git maintenance does), which makes the history walk read only the
commits that change environments/; git -c core.commitGraph=false turns
that off.`,
		Example: `  modelgit audit --env production --since 2026-01-01
  modelgit audit --model fraud-detector -o json
  modelgit audit -o csv > audit.csv`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return auditRun(cmd, opts)
		},
	}
	cmd.Flags().StringVar(&opts.Env, "env", "", "only this `environment`")
	cmd.Flags().StringVar(&opts.Model, "model", "", "only this `model`")
	cmd.Flags().StringVar(&opts.Since, "since", "", "only changes at or after `TIME` (RFC 3339, a date, or relative: 2h, 3d ago)")
	cmd.Flags().StringVar(&opts.Until, "until", "", "only changes at or before `TIME`")
	cmdutil.AddOutputFlag(cmd, &opts.Output, cmdutil.OutputTable, cmdutil.OutputJSON, cmdutil.OutputCSV, outputMarkdown)
	return cmd
}

func auditOptions(opts *AuditOptions) (audit.AuditOptions, error) {
	ao := audit.AuditOptions{Env: opts.Env, Model: opts.Model}
	var err error
	if opts.Since != "" {
		if ao.Since, err = ParseWhen(opts.Since, opts.Now()); err != nil {
			return ao, cmdutil.FlagErrorf("--since: %v", err)
		}
	}
	if opts.Until != "" {
		if ao.Until, err = ParseWhen(opts.Until, opts.Now()); err != nil {
			return ao, cmdutil.FlagErrorf("--until: %v", err)
		}
	}
	if !ao.Since.IsZero() && !ao.Until.IsZero() && ao.Until.Before(ao.Since) {
		return ao, cmdutil.FlagErrorf("--until %s is before --since %s", ao.Until.Format(time.RFC3339), ao.Since.Format(time.RFC3339))
	}
	return ao, nil
}

func auditRun(cmd *cobra.Command, opts *AuditOptions) error {
	ao, err := auditOptions(opts)
	if err != nil {
		return err
	}
	reg, err := opts.Repository()
	if err != nil {
		return err
	}
	var clearProgress func()
	if opts.IO.IsStderrTTY() {
		ao.Progress = func(n int) { fmt.Fprintf(opts.IO.ErrOut, "\rscanning history: %d changes", n) }
		clearProgress = sync.OnceFunc(func() { fmt.Fprint(opts.IO.ErrOut, "\r\033[K") })
	}
	rep, events, err := audit.AuditEvents(cmd.Context(), reg, ao)
	if err != nil {
		return err
	}
	warnRewrites(opts.IO, rep.Rewrites)
	if clearProgress != nil {
		// The scans run when the events are first asked for; the progress
		// line goes before anything is printed, or at the end.
		events = beforeFirst(events, clearProgress)
		defer clearProgress()
	}
	// The events are printed as they are read (the cache's chunks one at
	// a time, merged across branches), except for the table, whose
	// columns are as wide as their widest cell.
	switch opts.Output {
	case cmdutil.OutputJSON:
		return printAuditJSON(opts.IO.Out, rep, events)
	case cmdutil.OutputCSV:
		return writeAuditCSV(opts.IO.Out, events)
	case outputMarkdown:
		return writeAuditMarkdown(opts.IO.Out, events)
	}
	t := cmdutil.NewTablePrinter(opts.IO, "TIME", "ENV", "MODEL", "ACTION", "FROM → TO", "STRATEGY", "REQUESTED BY", "APPROVED BY", "MERGE", "COMMIT", "SIGNATURE")
	t.TruncateRightFirst()
	cs := opts.IO.ColorScheme()
	for e, err := range events {
		if err != nil {
			return err
		}
		merge := e.Via
		if e.PullRequest > 0 {
			merge = fmt.Sprintf("#%d %s", e.PullRequest, e.Via)
		}
		word, ok := eventSig(*e)
		sig := cs.Green(word)
		if !ok {
			sig = cs.Red(word)
		}
		// What the row is stays whole; who and how are narrowed first.
		for _, s := range []string{eventTime(*e, "2006-01-02 15:04"), e.Environment, e.Model, actionWord(*e), fromTo(*e)} {
			t.AddField(s, cmdutil.NoTruncate())
		}
		t.AddRow(e.Strategy, personName(e.RequestedBy), namesOf(e.ApprovedBy), merge, e.Commit[:12], sig)
	}
	return t.Render()
}

// beforeFirst is events with f called before the first one is yielded
// (or an error, or the end).
func beforeFirst(events iter.Seq2[*ledger.AuditEvent, error], f func()) iter.Seq2[*ledger.AuditEvent, error] {
	return func(yield func(*ledger.AuditEvent, error) bool) {
		for ev, err := range events {
			f()
			if !yield(ev, err) {
				return
			}
		}
		f()
	}
}

// eventsOf yields events, for the writers that take them as they come.
func eventsOf(events []ledger.AuditEvent) iter.Seq2[*ledger.AuditEvent, error] {
	return func(yield func(*ledger.AuditEvent, error) bool) {
		for i := range events {
			if !yield(&events[i], nil) {
				return
			}
		}
	}
}

func warnRewrites(io *cmdutil.IOStreams, rws []ledger.Rewrite) {
	cs := io.ColorScheme()
	for _, rw := range rws {
		fmt.Fprintf(io.ErrOut, "%s %s: branch %s was rewritten (detected %s): it was at %s, which is no longer in its history\n",
			cs.WarningIcon(), cs.Bold("HISTORY REWRITTEN"), rw.Branch, rw.DetectedAt.Format(time.RFC3339), rw.Previous)
	}
}

func actionWord(e ledger.AuditEvent) string {
	s := e.Action
	if e.Forced != "" {
		s += " (forced)"
	}
	return s
}

// eventSig says who signed the change e records, and whether that
// signer is trusted. A merge the forge made (unsigned, or signed with the
// forge's own key: GitHub signs every API and web merge with its web-flow
// key) is vouched for by the change it merges; `modelgit verify` checks
// that such a merge adds nothing of its own (docs/governance.md,
// trustForgeMerges).
func eventSig(e ledger.AuditEvent) (string, bool) {
	if e.Signature.Trusted {
		return e.Signature.Signer, true
	}
	if cs := e.ChangeSignature; cs != nil && cs.Trusted {
		return "forge merge of " + cs.Signer, true
	}
	return sigWord(e.Signature), false
}

func sigWord(s gitops.SignatureInfo) string {
	switch {
	case s.Trusted:
		return s.Signer
	case s.Signed:
		return "does not verify"
	}
	return "unsigned"
}

// eventTime is e's time in layout, marked when its commit was made on a
// clock behind its parent's (the time is then the parent's).
func eventTime(e ledger.AuditEvent, layout string) string {
	s := e.Time.Format(layout)
	if e.CommitterTime != nil {
		s += " (clock skew: committed " + e.CommitterTime.Format(layout) + ")"
	}
	return s
}

// fromTo is "1.0.0 → 1.1.0", or what happened when that would not say it:
// "canary 1.2.0 aborted, stable 1.1.0 stays", "unreadable, still serving
// 1.1.0".
func fromTo(e ledger.AuditEvent) string {
	if e.Description != "" {
		return e.Description
	}
	from, to := e.FromVersion, e.ToVersion
	if from == "" {
		from = "none"
	}
	if to == "" {
		to = "none"
	}
	return from + " → " + to
}

var angleRE = regexp.MustCompile(`\s*<[^>]*>`)

// personName drops the e-mail of "Name <email>" for tables.
func personName(s string) string { return strings.TrimSpace(angleRE.ReplaceAllString(s, "")) }

func namesOf(ss []string) string {
	var out []string
	for _, s := range ss {
		out = append(out, personName(s))
	}
	return strings.Join(out, ", ")
}

// auditColumns are the CSV and Markdown columns.
var auditColumns = []string{"time", "environment", "model", "action", "from", "to", "strategy", "forced", "requested_by", "approved_by", "merged_by", "policy", "pull_request", "via", "commit", "change_commit", "signature", "signer"}

func auditRow(e ledger.AuditEvent) []string {
	pr := ""
	if e.PullRequest > 0 {
		pr = strconv.Itoa(e.PullRequest)
	}
	sig := "unsigned"
	switch {
	case e.Signature.Trusted:
		sig = "verified"
	case e.Signature.Signed:
		sig = "does not verify"
	}
	return []string{e.Time.Format(time.RFC3339), e.Environment, e.Model, e.Action, e.FromVersion, e.ToVersion, e.Strategy, e.Forced,
		e.RequestedBy, strings.Join(e.ApprovedBy, "; "), e.MergedBy, e.Policy, pr, e.Via, e.Commit, e.ChangeCommit, sig, e.Signature.Signer}
}

func writeAuditCSV(w io.Writer, events iter.Seq2[*ledger.AuditEvent, error]) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(auditColumns); err != nil {
		return err
	}
	for e, err := range events {
		if err != nil {
			return err
		}
		if err := cw.Write(auditRow(*e)); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func mdCell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}

func writeAuditMarkdown(w io.Writer, events iter.Seq2[*ledger.AuditEvent, error]) error {
	cols := []string{"Time (UTC)", "Env", "Model", "Action", "From → to", "Strategy", "Requested by", "Approved by", "Merged", "Commit", "Signature"}
	bw := bufio.NewWriter(w)
	bw.WriteString("| " + strings.Join(cols, " | ") + " |\n|")
	for range cols {
		bw.WriteString(" --- |")
	}
	bw.WriteString("\n")
	for e, err := range events {
		if err != nil {
			return err
		}
		merge := e.Via
		if e.PullRequest > 0 {
			merge = fmt.Sprintf("#%d, %s", e.PullRequest, e.Via)
		}
		if e.MergedBy != "" {
			merge += " by " + personName(e.MergedBy)
		}
		approved := namesOf(e.ApprovedBy)
		if approved == "" {
			approved = "**none recorded**"
		}
		sig, ok := eventSig(*e)
		if !ok {
			sig = "**" + sig + "**"
		}
		row := []string{eventTime(*e, "2006-01-02 15:04:05"), e.Environment, e.Model, actionWord(*e), fromTo(*e), e.Strategy,
			personName(e.RequestedBy), approved, merge, "`" + e.Commit[:12] + "`", sig}
		for i := range row {
			row[i] = mdCell(row[i])
		}
		bw.WriteString("| " + strings.Join(row, " | ") + " |\n")
	}
	return bw.Flush()
}

// printAuditJSON writes rep with events as its Events exactly as
// cmdutil.PrintJSON would (two-space indent, no HTML escaping, a final
// newline), as the events come: the report's head, then the events,
// encoded and indented in batches on every CPU and written in order,
// then its end — never the whole report at once (tens of megabytes over a
// long history; json.Indent alone took three times as long as encoding).
// Nothing is written before the first event or the end, so an error
// before them leaves the output empty.
func printAuditJSON(w io.Writer, rep *audit.AuditReport, events iter.Seq2[*ledger.AuditEvent, error]) error {
	head := *rep
	head.Events = []ledger.AuditEvent{}
	compact, err := cmdutil.CompactJSON(&head)
	if err != nil {
		return err
	}
	top := cmdutil.IndentJSON(nil, compact, 0)
	// The events come last: `"events": []` then the closing brace.
	prefix, ok := bytes.CutSuffix(top, []byte("[]\n}"))
	if !ok {
		return fmt.Errorf("encoding JSON: unexpected end of the report %q", top[max(0, len(top)-20):])
	}
	const batch = 256
	type part struct {
		b    []byte
		err  error
		done chan struct{}
	}
	parts := make(chan *part, 2*runtime.GOMAXPROCS(0))
	todo := make(chan func(), cap(parts))
	quit := make(chan struct{}) // the writer stopped
	var workers sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		workers.Go(func() {
			for f := range todo {
				f()
			}
		})
	}
	go func() {
		defer close(parts)
		defer close(todo)
		send := func(evs []*ledger.AuditEvent, at int, err error) bool {
			p := &part{err: err, done: make(chan struct{})}
			select {
			case parts <- p: // in order, before the work: the writer waits on it
			case <-quit:
				return false
			}
			if err != nil {
				close(p.done)
				return false
			}
			todo <- func() {
				defer close(p.done)
				// About 2 KB an event indented: one allocation, and one
				// buffer for the compact JSON of all, rather than growing
				// both. AppendJSON writes what encoding/json would.
				p.b = make([]byte, 0, len(evs)*2560)
				var compact []byte
				for j, ev := range evs {
					var err error
					if compact, err = ev.AppendJSON(compact[:0]); err != nil {
						p.err = fmt.Errorf("encoding JSON: %w", err)
						return
					}
					if at+j > 0 {
						p.b = append(p.b, ',')
					}
					p.b = append(p.b, "\n    "...)
					p.b = cmdutil.IndentJSON(p.b, compact, 2)
				}
			}
			return true
		}
		var evs []*ledger.AuditEvent
		n := 0
		for ev, err := range events {
			if err != nil {
				send(nil, n, err)
				return
			}
			if evs = append(evs, ev); len(evs) == batch {
				if !send(evs, n, nil) {
					return
				}
				n, evs = n+len(evs), nil
			}
		}
		if len(evs) > 0 {
			send(evs, n, nil)
		}
	}()
	bw := bufio.NewWriterSize(w, 1<<20)
	var werr error
	started := false
	for p := range parts {
		<-p.done
		if werr = p.err; werr != nil {
			break
		}
		if !started {
			started = true
			bw.Write(prefix)
			bw.WriteString("[")
		}
		if _, werr = bw.Write(p.b); werr != nil {
			werr = fmt.Errorf("writing JSON: %w", werr)
			break
		}
	}
	close(quit)
	for p := range parts { // until the reader stops
		<-p.done
	}
	workers.Wait()
	switch {
	case werr != nil:
		return werr
	case !started:
		return cmdutil.PrintJSON(w, &head)
	}
	bw.WriteString("\n  ]\n}\n")
	return flushJSON(bw)
}

func flushJSON(bw *bufio.Writer) error {
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing JSON: %w", err)
	}
	return nil
}
