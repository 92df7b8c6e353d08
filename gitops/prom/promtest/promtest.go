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
	cmd *exec.Cmd
	log *lockedBuffer
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
	dir := tb.TempDir()
	data := filepath.Join(dir, "data")
	om := filepath.Join(dir, "samples.om")
	if err := os.WriteFile(om, OpenMetrics(series), 0o644); err != nil {
		tb.Fatalf("writing samples: %v", err)
	}
	if len(series) > 0 {
		out, err := exec.Command("promtool", "tsdb", "create-blocks-from", "openmetrics", om, data).CombinedOutput()
		if err != nil {
			tb.Fatalf("promtool tsdb create-blocks-from openmetrics: %v\n%s", err, out)
		}
	}
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte("global:\n  evaluation_interval: 1m\nscrape_configs: []\n"), 0o644); err != nil {
		tb.Fatalf("writing the Prometheus config: %v", err)
	}
	addr, err := FreeAddr()
	if err != nil {
		tb.Fatalf("finding a free port: %v", err)
	}
	s := &Server{URL: "http://" + addr, log: &lockedBuffer{}}
	s.cmd = exec.Command("prometheus",
		"--config.file="+cfg,
		"--storage.tsdb.path="+data,
		// Retention counts from the newest block, so fixed old samples stay.
		"--storage.tsdb.retention.time=100y",
		"--web.listen-address="+addr,
		"--log.level=warn")
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		tb.Fatalf("starting prometheus: %v (%s)", err, Install)
	}
	exited := make(chan error, 1)
	go func() { exited <- s.cmd.Wait() }()
	tb.Cleanup(func() {
		_ = s.cmd.Process.Kill()
		<-exited
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/-/ready", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		select {
		case err := <-exited:
			tb.Fatalf("prometheus exited before it was ready: %v\n%s", err, s.log.String())
		case <-ctx.Done():
			tb.Fatalf("prometheus at %s was not ready within 60s\n%s", s.URL, s.log.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
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
