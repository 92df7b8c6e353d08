package app

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/prom/promtest"
)

// quickstartPolicy is the monitoring part of staging's and production's
// policies in the story: live accuracy within 5% of the registered one,
// decided on at least 30 samples in the last hour.
const quickstartPolicy = `metrics:
  accuracy:
    direction: higher
    tolerance: 0.05
    query: avg_over_time(model_accuracy{model="$model",version="$version",environment="$environment"}[1h])
    minSamples: 30
`

// monitoringStory shows degradations turning into rollback pull requests:
// a real Prometheus (when installed) serves an hour of live accuracy, well
// below what the running versions registered, in staging (0.2.0+data.2)
// and in production (0.1.1+data.2, where the story rolled back to it from
// 0.2.0+data.2). Staging returns to 0.1.1+data.2; production has no
// earlier version it was not rolled back from, so monitor proposes none.
func (q *quickstart) monitoringStory() error {
	out, cs := q.opts.IO.Out, q.opts.IO.ColorScheme()
	q.say("monitoring: live accuracy drops in staging and production; monitor --act opens the rollback pull requests")
	for _, tool := range []string{"prometheus", "promtool"} {
		if _, err := exec.LookPath(tool); err != nil {
			fmt.Fprintf(out, "(skipped: %s is not installed; install Prometheus to see this step: %s)\n", tool, promtest.Install)
			return nil
		}
	}
	reg, err := gitops.Open(q.repo)
	if err != nil {
		return err
	}
	now := time.Now().UTC().Truncate(time.Minute)
	var series []promtest.Series
	for _, env := range []string{"staging", "production"} {
		rel, err := reg.Release(env, "fraud-detector")
		if err != nil || rel == nil {
			return fmt.Errorf("quickstart: reading the %s release: %v", env, err)
		}
		// An hour of live accuracy for the running version, one sample a
		// minute: 0.81, where it registered 0.96 or more.
		s := promtest.Series{Name: "model_accuracy", Labels: map[string]string{"model": "fraud-detector", "version": rel.Versions[0].Version.String(), "environment": env}}
		for i := range 60 {
			s.Points = append(s.Points, promtest.Point{T: now.Add(-time.Duration(i) * time.Minute), V: 0.81})
		}
		series = append(series, s)

		// The policy declares how accuracy is monitored; committed on main.
		p := filepath.Join(q.repo, "policies", env+".yaml")
		cur, err := os.ReadFile(p)
		switch {
		case os.IsNotExist(err):
			cur = []byte("apiVersion: modelgit.dev/v1alpha1\nkind: PromotionPolicy\n")
		case err != nil:
			return err
		case strings.Contains(string(cur), "\nmetrics:"):
			fmt.Fprintf(out, "(skipped: %s already declares metrics)\n", p)
			return nil
		}
		if err := os.WriteFile(p, append(cur, quickstartPolicy...), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(out, "%s cat policies/%s.yaml\n%s", cs.Gray("$"), env, append(cur, quickstartPolicy...))
	}
	for _, args := range [][]string{
		{"add", "policies"},
		{"commit", "-q", "-S", "-m", "Monitor accuracy in staging and production"},
		{"push", "-q", "origin", "main"},
	} {
		fmt.Fprintf(out, "%s git %s\n", cs.Gray("$"), strings.Join(args, " "))
		if msg, err := q.git(args...); err != nil {
			return fmt.Errorf("quickstart: git %s: %v\n%s", strings.Join(args, " "), err, msg)
		}
	}

	dir := filepath.Join(q.root, "prometheus")
	fmt.Fprintf(out, "%s promtool tsdb create-blocks-from openmetrics %s %s\n", cs.Gray("$"), filepath.Join(dir, "samples.om"), filepath.Join(dir, "data"))
	srv, err := promtest.Run(q.ctx, dir, series)
	if err != nil {
		return fmt.Errorf("quickstart: %w", err)
	}
	defer srv.Stop()
	fmt.Fprintf(out, "%s prometheus --storage.tsdb.path %s --web.listen-address %s &\n", cs.Gray("$"), srv.Data, strings.TrimPrefix(srv.URL, "http://"))
	at := now.Format(time.RFC3339)
	if err := q.modelgitExpect(false, "monitor", "--env", "production", "--prometheus", srv.URL, "--at", at); err != nil {
		return err
	}
	q.say("the scheduled job runs monitor --act for every monitored environment: one pull request per failing model, the evidence in its body")
	fmt.Fprintf(out, "%s staging returns to the version before; production already runs the version it was rolled back to, and the one after it was rolled back from: nothing to return to, fix forward\n", cs.Gray("#"))
	// Exit 1: production's failing model is left as it is (fix forward).
	if err := q.modelgitExpect(false, "monitor", "--prometheus", srv.URL, "--at", at, "--act"); err != nil {
		return err
	}
	q.say("run again: the same pull request is updated, never a second one")
	return q.modelgitExpect(false, "monitor", "--prometheus", srv.URL, "--at", at, "--act")
}
