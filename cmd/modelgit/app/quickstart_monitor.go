package app

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/prom/promtest"
)

// quickstartPolicy is the monitoring part of production's policy in the
// story: live accuracy within 5% of the registered one, decided on at
// least 30 samples in the last hour.
const quickstartPolicy = `metrics:
  accuracy:
    direction: higher
    tolerance: 0.05
    query: avg_over_time(model_accuracy{model="$model",version="$version"}[1h])
    minSamples: 30
`

// monitoringStory shows a degradation in production turning into a
// rollback pull request: a real Prometheus (when installed) serves an
// hour of live accuracy, well below what the running version registered.
func (q *quickstart) monitoringStory() error {
	out, cs := q.opts.IO.Out, q.opts.IO.ColorScheme()
	q.say("monitoring: live accuracy in production drops; monitor --act opens the rollback pull request")
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
	rel, err := reg.Release("production", "fraud-detector")
	if err != nil || rel == nil {
		return fmt.Errorf("quickstart: reading the production release: %v", err)
	}
	running := rel.Versions[0].Version.String()

	// The policy declares how accuracy is monitored; committed on main.
	p := filepath.Join(q.repo, "policies", "production.yaml")
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
	fmt.Fprintf(out, "%s cat policies/production.yaml\n%s", cs.Gray("$"), append(cur, quickstartPolicy...))
	for _, args := range [][]string{
		{"add", "policies/production.yaml"},
		{"commit", "-q", "-S", "-m", "Monitor production accuracy"},
		{"push", "-q", "origin", "main"},
	} {
		fmt.Fprintf(out, "%s git %s\n", cs.Gray("$"), strings.Join(args, " "))
		if msg, err := q.git(args...); err != nil {
			return fmt.Errorf("quickstart: git %s: %v\n%s", strings.Join(args, " "), err, msg)
		}
	}

	// An hour of live accuracy for the running version, one sample a
	// minute: 0.81, where it registered 0.96.
	now := time.Now().UTC().Truncate(time.Minute)
	s := promtest.Series{Name: "model_accuracy", Labels: map[string]string{"model": "fraud-detector", "version": running}}
	for i := range 60 {
		s.Points = append(s.Points, promtest.Point{T: now.Add(-time.Duration(i) * time.Minute), V: 0.81})
	}
	url, stop, err := q.startPrometheus([]promtest.Series{s})
	if err != nil {
		return err
	}
	defer stop()
	at := now.Format(time.RFC3339)
	if err := q.modelgitExpect(false, "monitor", "--env", "production", "--prometheus", url, "--at", at); err != nil {
		return err
	}
	q.say("the scheduled job runs the same with --act: one rollback pull request, the evidence in its body")
	if err := q.modelgit("monitor", "--env", "production", "--prometheus", url, "--at", at, "--act"); err != nil {
		return err
	}
	q.say("run again: the same pull request is updated, never a second one")
	return q.modelgit("monitor", "--env", "production", "--prometheus", url, "--at", at, "--act")
}

// startPrometheus backfills a TSDB with series (promtool) and serves it
// with a real Prometheus on a free 127.0.0.1 port until stop.
func (q *quickstart) startPrometheus(series []promtest.Series) (url string, stop func(), err error) {
	out, cs := q.opts.IO.Out, q.opts.IO.ColorScheme()
	dir := filepath.Join(q.root, "prometheus")
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", nil, err
	}
	om := filepath.Join(dir, "live.om")
	if err := os.WriteFile(om, promtest.OpenMetrics(series), 0o644); err != nil {
		return "", nil, err
	}
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte("scrape_configs: []\n"), 0o644); err != nil {
		return "", nil, err
	}
	fmt.Fprintf(out, "%s promtool tsdb create-blocks-from openmetrics %s %s\n", cs.Gray("$"), om, data)
	if msg, err := exec.Command("promtool", "tsdb", "create-blocks-from", "openmetrics", om, data).CombinedOutput(); err != nil {
		return "", nil, fmt.Errorf("quickstart: promtool: %v\n%s", err, msg)
	}
	addr, err := promtest.FreeAddr()
	if err != nil {
		return "", nil, err
	}
	fmt.Fprintf(out, "%s prometheus --storage.tsdb.path %s --web.listen-address %s &\n", cs.Gray("$"), data, addr)
	cmd := exec.Command("prometheus", "--config.file="+cfg, "--storage.tsdb.path="+data, "--web.listen-address="+addr, "--log.level=error")
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("quickstart: starting prometheus: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop = func() {
		_ = cmd.Process.Kill()
		<-exited
	}
	url = "http://" + addr
	ctx, cancel := context.WithTimeout(q.ctx, 60*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/-/ready", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return url, stop, nil
			}
		}
		select {
		case err := <-exited:
			return "", nil, fmt.Errorf("quickstart: prometheus exited before it was ready: %v", err)
		case <-ctx.Done():
			stop()
			return "", nil, fmt.Errorf("quickstart: prometheus at %s was not ready within 60s", url)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
