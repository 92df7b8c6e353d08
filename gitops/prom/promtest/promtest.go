package promtest

import (
	"context"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Install is the command that installs Prometheus and promtool.
const Install = "apt-get install -y --no-install-recommends prometheus"

// TB is the part of testing.TB that Start uses.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	TempDir() string
	Cleanup(func())
	Logf(format string, args ...any)
}

// Point is one sample.
type Point struct {
	T time.Time
	V float64
}

// Series is one time series: a gauge named Name with Labels.
type Series struct {
	Name   string
	Labels map[string]string
	Points []Point
}

// Server is a running Prometheus.
type Server struct {
	// URL is its address, http://127.0.0.1:PORT.
	URL string
	// Data is its TSDB directory.
	Data     string
	cmd      *exec.Cmd
	log      *lockedBuffer
	exited   chan error
	stopOnce sync.Once
}

// lockedBuffer collects Prometheus's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Need fails tb, naming the install command, when prometheus or promtool
// is missing.
func Need(tb TB) {
	tb.Helper()
	for _, tool := range []string{"prometheus", "promtool"} {
		if _, err := exec.LookPath(tool); err != nil {
			tb.Fatalf("%s is required: %s", tool, Install)
		}
	}
}

// OpenMetrics writes series in the OpenMetrics text format promtool
// backfills from: one gauge family per name, timestamps in seconds, points
// in time order, ending with "# EOF".
func OpenMetrics(series []Series) []byte {
	byName := map[string][]Series{}
	for _, s := range series {
		byName[s.Name] = append(byName[s.Name], s)
	}
	var b strings.Builder
	for _, name := range slices.Sorted(maps.Keys(byName)) {
		fmt.Fprintf(&b, "# TYPE %s gauge\n", name)
		for _, s := range byName[name] {
			var ls []string
			for _, k := range slices.Sorted(maps.Keys(s.Labels)) {
				ls = append(ls, fmt.Sprintf("%s=%q", k, s.Labels[k]))
			}
			pts := slices.Clone(s.Points)
			slices.SortFunc(pts, func(a, b Point) int { return a.T.Compare(b.T) })
			for _, p := range pts {
				fmt.Fprintf(&b, "%s{%s} %s %s\n", name, strings.Join(ls, ","),
					strconv.FormatFloat(p.V, 'g', -1, 64),
					strconv.FormatFloat(float64(p.T.UnixMilli())/1000, 'f', 3, 64))
			}
		}
	}
	b.WriteString("# EOF\n")
	return []byte(b.String())
}

// Start backfills a TSDB with series and starts Prometheus on it; it is
// stopped when the test ends. It fails tb when Prometheus is not
// installed or does not become ready.
func Start(tb TB, series []Series) *Server {
	tb.Helper()
	Need(tb)
	s, err := Run(context.Background(), tb.TempDir(), series)
	if err != nil {
		tb.Fatalf("%v", err)
	}
	tb.Cleanup(s.Stop)
	return s
}

// Run backfills a TSDB in dir/data with series (promtool tsdb
// create-blocks-from openmetrics, from dir/samples.om) and starts
// Prometheus on it, on a free 127.0.0.1 port, returning once it is ready.
// The caller stops it with Stop. Run is not test-only: the quickstart
// serves its story's live metrics with it.
func Run(ctx context.Context, dir string, series []Series) (*Server, error) {
	data := filepath.Join(dir, "data")
	om := filepath.Join(dir, "samples.om")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(om, OpenMetrics(series), 0o644); err != nil {
		return nil, fmt.Errorf("writing samples: %w", err)
	}
	if len(series) > 0 {
		out, err := exec.CommandContext(ctx, "promtool", "tsdb", "create-blocks-from", "openmetrics", om, data).CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("promtool tsdb create-blocks-from openmetrics %s %s: %w (%s)\n%s", om, data, err, Install, out)
		}
	}
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte("global:\n  evaluation_interval: 1m\nscrape_configs: []\n"), 0o644); err != nil {
		return nil, fmt.Errorf("writing the Prometheus config: %w", err)
	}
	addr, err := FreeAddr()
	if err != nil {
		return nil, fmt.Errorf("finding a free port: %w", err)
	}
	s := &Server{URL: "http://" + addr, Data: data, log: &lockedBuffer{}, exited: make(chan error, 1)}
	s.cmd = exec.Command("prometheus",
		"--config.file="+cfg,
		"--storage.tsdb.path="+data,
		// Retention counts from the newest block, so fixed old samples stay.
		"--storage.tsdb.retention.time=100y",
		"--web.listen-address="+addr,
		"--log.level=warn")
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting prometheus: %w (%s)", err, Install)
	}
	go func() { s.exited <- s.cmd.Wait() }()
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/-/ready", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		select {
		case err := <-s.exited:
			s.exited <- err
			return nil, fmt.Errorf("prometheus exited before it was ready: %v\n%s", err, s.log.String())
		case <-ctx.Done():
			s.Stop()
			return nil, fmt.Errorf("prometheus at %s was not ready within 60s\n%s", s.URL, s.log.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Stop kills Prometheus and waits for it to exit.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		_ = s.cmd.Process.Kill()
		<-s.exited
	})
}

// FreeAddr returns a 127.0.0.1 address nobody listens on at the moment of
// the call: for a server to start on, or for a "Prometheus is down" case.
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := l.Addr().String()
	return addr, l.Close()
}
