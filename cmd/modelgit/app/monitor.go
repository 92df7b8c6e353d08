package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/modelgit/modelgit/action"
	"github.com/modelgit/modelgit/cmd/modelgit/cmdutil"
	"github.com/modelgit/modelgit/gitops/monitor"
	"github.com/modelgit/modelgit/gitops/prom"
)

// PrometheusEnv names the environment variable that gives monitor's
// Prometheus address when --prometheus is not given.
const PrometheusEnv = "MODELGIT_PROMETHEUS_URL"

// DefaultPrometheus is monitor's Prometheus address when neither
// --prometheus nor $MODELGIT_PROMETHEUS_URL gives one.
const DefaultPrometheus = "http://localhost:9090"

// MonitorOptions are the inputs of `modelgit monitor`.
type MonitorOptions struct {
	deps
	// Env is the environment to monitor; empty means every environment
	// whose policy declares a metric with a query.
	Env   string
	Model string
	// Prometheus is --prometheus; empty means $MODELGIT_PROMETHEUS_URL,
	// then DefaultPrometheus (resolved when the command runs, so that
	// --help never shows an address with credentials).
	Prometheus string
	At         string
	Act        bool
	Output     string
	// Getenv reads the environment (os.Getenv; nil reads nothing): inside
	// GitHub Actions, undecided models also get a ::warning command.
	Getenv func(string) string
}

// NewCmdMonitor returns `modelgit monitor`.
func NewCmdMonitor(f *cmdutil.Factory, runF func(*MonitorOptions) error) *cobra.Command {
	opts := &MonitorOptions{deps: depsOf(f), Getenv: os.Getenv}
	cmd := &cobra.Command{
		Use:   "monitor [--env ENV] [--act] [flags]",
		Short: "Judge the live metrics of the versions running in an environment; --act opens the rollback",
		Long: `Read, from Prometheus, the live metrics of every version running in an
environment and judge them with the environment's policy (policies/ENV.yaml
at HEAD): each metric with a query is compared, in its better direction,
with the version's registered value (within its tolerance); a canary is
compared with the primary over the same window; a drift metric (one with a
threshold) with its absolute threshold.

Without --env, every environment whose policy declares a metric with a
query is monitored, in modelgit.yaml order (the others are named on
stderr): the table has one section per environment, and -o json prints an
array of the per-environment reports. With --env, -o json prints that
environment's report alone, an object.

A check with fewer samples than the metric's minSamples (counted with
sum(count_over_time(S)) over the query's first range selector S), whose
query fails or returns no data, or whose Prometheus is unreachable is
"unknown": never healthy, never failing, and never acted on.

With --act, every failing model gets one pull request, made by the same code
as rollback, with the evidence (queries, values, window, bounds) in its body:
a failing canary is aborted (the stable version takes all traffic again),
anything else returns to the previous version. Running it again updates the
same pull request's body with the new evidence and keeps its head commit
when the change is the same (so approvals given on it still count). Nothing
is done, and monitor says why, while a promotion or another rollback pull
request for the model is open, when no earlier version ran in the
environment, or when the rollback's last pull request was closed without
merging and the release has not changed since. With --no-push the rollback
is committed on its branch only.

The Prometheus address is --prometheus, else $` + PrometheusEnv + `, else
` + DefaultPrometheus + `. Credentials in it (https://user:password@host) are
sent, never shown.

Exit status: 1 when a model is failing and --act was not given, when --act
opened or updated no pull request for a failing model (nothing done: the
reason is printed), or when acting failed; 0 otherwise, also when a model is
unknown (reported on stderr; inside GitHub Actions, GITHUB_ACTIONS=true,
also as a ::warning workflow command naming the models and why, so a
Prometheus the runner cannot reach shows on the run page).`,
		Example: `  modelgit monitor --env production
  modelgit monitor --env production -o json --prometheus http://prometheus:9090
  modelgit monitor --act            # every monitored environment: what the scheduled job runs`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.At != "" {
				if _, err := time.Parse(time.RFC3339, opts.At); err != nil {
					return cmdutil.FlagErrorf("--at %q is not an RFC 3339 time, e.g. 2026-03-01T12:00:00Z", opts.At)
				}
			}
			if runF != nil {
				return runF(opts)
			}
			return monitorRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Env, "env", "", "environment to monitor (default: every environment whose policy declares a metric with a query)")
	fl.StringVar(&opts.Model, "model", "", "monitor this model only")
	fl.StringVar(&opts.Prometheus, "prometheus", "", "Prometheus address (default: $"+PrometheusEnv+", else "+DefaultPrometheus+")")
	fl.StringVar(&opts.At, "at", "", "evaluate every query at this RFC 3339 time (default: now)")
	fl.BoolVar(&opts.Act, "act", false, "open the rollback (or canary-abort) pull request for each failing model")
	opts.addFlags(cmd)
	cmdutil.AddOutputFlag(cmd, &opts.Output, cmdutil.OutputTable, cmdutil.OutputJSON)
	return cmd
}

// prometheusAddress is --prometheus, else $MODELGIT_PROMETHEUS_URL, else
// DefaultPrometheus.
func (opts *MonitorOptions) prometheusAddress() string {
	if opts.Prometheus != "" {
		return opts.Prometheus
	}
	if a := os.Getenv(PrometheusEnv); a != "" {
		return a
	}
	return DefaultPrometheus
}

func monitorRun(ctx context.Context, opts *MonitorOptions) error {
	reg, err := opts.Repository()
	if err != nil {
		return err
	}
	client, err := prom.New(opts.prometheusAddress())
	if err != nil {
		return cmdutil.FlagErrorWrap(err)
	}
	var at time.Time
	if opts.At != "" {
		at, _ = time.Parse(time.RFC3339, opts.At)
	}
	cs := opts.IO.ColorScheme()
	envs := []string{opts.Env}
	if opts.Env == "" {
		monitored, skipped, err := monitor.MonitoredEnvironments(reg)
		if err != nil {
			return err
		}
		for _, env := range skipped {
			fmt.Fprintf(opts.IO.ErrOut, "not monitoring %s: policies/%s.yaml declares no metric with a query\n", env, env)
		}
		envs = monitored
	}
	var reps []*monitor.MonitorReport
	for _, env := range envs {
		rep, err := monitor.Monitor(ctx, reg, monitor.MonitorOptions{Env: env, Model: opts.Model, Source: client, SourceName: client.Address(), At: at})
		if err != nil {
			return err
		}
		reps = append(reps, rep)
	}
	var actErrs []error
	if opts.Act && slices.ContainsFunc(reps, (*monitor.MonitorReport).Failing) {
		po, err := opts.promoteOptions(reg)
		if err != nil {
			return err
		}
		for _, rep := range reps {
			if rep.Failing() {
				actErrs = append(actErrs, monitor.ActOnMonitor(ctx, reg, rep, po))
			}
		}
	}
	if opts.Env != "" {
		err = printMonitor(opts.IO, opts.Output, reps[0])
	} else {
		err = printMonitors(opts.IO, opts.Output, reps)
	}
	if err != nil {
		return err
	}
	failing, undone := false, false
	for _, rep := range reps {
		failing = failing || rep.Failing()
		for _, m := range rep.Models {
			switch {
			case m.Verdict == monitor.MonitorUndecided:
				fmt.Fprintf(opts.IO.ErrOut, "%s %s in %s is undecided: some checks could not be made (see their reasons); it is neither healthy nor failing\n", cs.WarningIcon(), m.Model, rep.Env)
			case m.Verdict == monitor.MonitorFailing && opts.Act && m.Action != nil && m.Action.Skipped != "":
				undone = true
				fmt.Fprintf(opts.IO.ErrOut, "%s %s in %s is failing and --act opened no pull request: %s\n", cs.FailureIcon(), m.Model, rep.Env, m.Action.Skipped)
			}
		}
	}
	if inActions(opts.Getenv) {
		if w := undecidedWarning(reps); w != "" {
			fmt.Fprintf(opts.IO.ErrOut, "::warning title=%s::%s\n", action.EscapeProperty("modelgit monitor"), action.EscapeData(w))
		}
	}
	switch {
	case errors.Join(actErrs...) != nil:
		return errors.Join(actErrs...)
	case failing && !opts.Act, undone:
		return cmdutil.SilentError
	}
	return nil
}

// undecidedWarning is one line naming every undecided model and why its
// checks could not be made ("" when none is): the text of the ::warning
// a scheduled job shows, since an unknown verdict leaves it green. The
// Prometheus address is shown without credentials (prom.Client.Address).
func undecidedWarning(reps []*monitor.MonitorReport) string {
	var parts []string
	down := false
	for _, rep := range reps {
		for _, m := range rep.Models {
			if m.Verdict != monitor.MonitorUndecided {
				continue
			}
			var why []string
			for _, c := range m.Checks {
				if c.Status != monitor.MonitorCheckUnknown {
					continue
				}
				r := c.Reason
				switch {
				case strings.Contains(r, prom.ErrUnreachable.Error()):
					r, down = "Prometheus at "+rep.Source+" is unreachable", true
				case strings.HasPrefix(r, "too few samples"):
					r = "too few samples"
				}
				if !slices.Contains(why, r) {
					why = append(why, r)
				}
			}
			parts = append(parts, fmt.Sprintf("%s in %s is unknown (%s)", m.Model, rep.Env, strings.Join(why, "; ")))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	msg := strings.Join(parts, ", ") + ". Unknown is neither healthy nor failing: nothing was acted on and this job stays green"
	if down {
		msg += "; give the monitor job a Prometheus its runner can reach (the action's prometheus input, or $" + PrometheusEnv + ")"
	}
	return msg + "."
}

// printMonitors prints the reports of several environments: a JSON array,
// or one table section per environment, separated by a blank line.
func printMonitors(io *cmdutil.IOStreams, format string, reps []*monitor.MonitorReport) error {
	if format == cmdutil.OutputJSON {
		if reps == nil {
			reps = []*monitor.MonitorReport{}
		}
		return cmdutil.PrintJSON(io.Out, reps)
	}
	if len(reps) == 0 {
		fmt.Fprintln(io.Out, "no environment's policy declares a metric with a query: nothing to monitor (see docs/monitoring.md)")
		return nil
	}
	for i, rep := range reps {
		if i > 0 {
			fmt.Fprintln(io.Out)
		}
		if err := printMonitor(io, format, rep); err != nil {
			return err
		}
	}
	return nil
}

func printMonitor(io *cmdutil.IOStreams, format string, rep *monitor.MonitorReport) error {
	if format == cmdutil.OutputJSON {
		return cmdutil.PrintJSON(io.Out, rep)
	}
	w, cs := io.Out, io.ColorScheme()
	fmt.Fprintf(w, "%s at %s (%s)\n", rep.Env, rep.At.Format(time.RFC3339), rep.Source)
	if len(rep.Models) == 0 {
		fmt.Fprintf(w, "no model runs in %s\n", rep.Env)
		return nil
	}
	t := cmdutil.NewTablePrinter(io, "MODEL", "VERSION", "METRIC", "VS", "LIVE", "REFERENCE", "ALLOWED", "SAMPLES", "STATUS", "REASON")
	for _, m := range rep.Models {
		if len(m.Checks) == 0 {
			t.AddRow(m.Model, "", "", "", "", "", "", "", m.Verdict, "policies/"+rep.Env+".yaml declares no metric with a query")
			continue
		}
		for _, c := range m.Checks {
			ver := c.Version
			if c.Role != "" {
				ver += " (" + c.Role + ")"
			}
			allowed, samples := "-", "-"
			if c.Bound != nil {
				op := ">="
				if c.Direction == "lower" {
					op = "<="
				}
				allowed = op + " " + monitorFmt(c.Bound)
			}
			if c.Samples != nil {
				samples = fmt.Sprintf("%d/%d", *c.Samples, c.MinSamples)
			}
			status := c.Status
			switch status {
			case monitor.MonitorCheckOK:
				status = cs.Green(status)
			case monitor.MonitorCheckFail:
				status = cs.Red(status)
			default:
				status = cs.Yellow(status)
			}
			t.AddField(m.Model)
			t.AddField(ver)
			t.AddField(c.Metric)
			t.AddField(c.Kind)
			t.AddField(monitorFmt(c.Value))
			t.AddField(monitorFmt(c.Reference))
			t.AddField(allowed)
			t.AddField(samples)
			t.AddField(status)
			t.AddField(c.Reason)
			t.EndRow()
		}
	}
	if err := t.Render(); err != nil {
		return err
	}
	for _, m := range rep.Models {
		fmt.Fprintf(w, "%s: %s\n", m.Model, m.Verdict)
		a := m.Action
		switch {
		case a == nil:
		case a.Skipped != "":
			fmt.Fprintf(w, "  %s %s not opened: %s\n", cs.WarningIcon(), a.Kind, a.Skipped)
		case a.PR != 0:
			verb := "updated"
			if a.Created {
				verb = "opened"
			}
			fmt.Fprintf(w, "  %s %s to %s: %s pull request #%d: %s\n", cs.SuccessIcon(), a.Kind, a.To, verb, a.PR, a.URL)
		default:
			fmt.Fprintf(w, "  %s %s to %s: committed on branch %s (no forge: open the pull request yourself)\n", cs.SuccessIcon(), a.Kind, a.To, a.Branch)
		}
	}
	return nil
}

func monitorFmt(v *float64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf("%.6g", *v)
}
