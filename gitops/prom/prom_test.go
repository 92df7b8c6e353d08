package prom_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/modelgit/modelgit/gitops/prom"
	"github.com/modelgit/modelgit/gitops/prom/promtest"
)

func TestQueryAgainstRealPrometheus(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var pts []promtest.Point
	for i := range 30 {
		pts = append(pts, promtest.Point{T: at.Add(-time.Duration(i) * time.Minute), V: 0.9})
	}
	srv := promtest.Start(t, []promtest.Series{
		{Name: "model_accuracy", Labels: map[string]string{"model": "fraud", "version": "1.0.0"}, Points: pts},
		{Name: "model_accuracy", Labels: map[string]string{"model": "fraud", "version": "2.0.0"}, Points: pts},
	})
	c, err := prom.New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tc := range []struct {
		name, query string
		want        float64
		empty       bool
		wantErr     string
	}{
		{name: "one series", query: `avg_over_time(model_accuracy{version="1.0.0"}[1h])`, want: 0.9},
		{name: "scalar", query: `scalar(sum(count_over_time(model_accuracy{version="1.0.0"}[1h])))`, want: 30},
		{name: "no data", query: `avg_over_time(model_accuracy{version="9.9.9"}[1h])`, empty: true},
		{name: "several series", query: `model_accuracy`, wantErr: "2 series"},
		{name: "bad promql", query: `avg_over_time(model_accuracy[1h]`, wantErr: "bad_data"},
		{name: "range vector", query: `model_accuracy[5m]`, wantErr: "want an instant vector"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := c.Query(ctx, tc.query, at)
			if tc.wantErr != "" {
				var qe *prom.QueryError
				if !errors.As(err, &qe) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want a *QueryError containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Empty != tc.empty || (!tc.empty && res.Value != tc.want) {
				t.Errorf("result = %+v, want value %v empty %v", res, tc.want, tc.empty)
			}
		})
	}
}

func TestQueryUnreachable(t *testing.T) {
	addr, err := promtest.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	c, err := prom.New("http://user:secret@" + addr)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Query(context.Background(), "up", time.Now())
	if !errors.Is(err, prom.ErrUnreachable) {
		t.Fatalf("err = %v, want ErrUnreachable", err)
	}
	if strings.Contains(err.Error(), "secret") {
		t.Errorf("error leaks the password: %v", err)
	}
}

func TestNewRefusesBadAddress(t *testing.T) {
	for _, a := range []string{"", "localhost:9090", "ftp://x", "http://"} {
		if _, err := prom.New(a); err == nil {
			t.Errorf("New(%q) = nil error", a)
		}
	}
}

func TestRedact(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"querying http://bob:s3cret@prom:9090/api: refused", "querying http://prom:9090/api: refused"},
		{`Post "https://bob:s3cret@prom:9090/api/v1/query?token=abc": EOF`, `Post "https://prom:9090/api/v1/query": EOF`},
		{"http://bob:s3cret@prom:port9090 is bad", "http://prom:port9090 is bad"},
		{"http://bob:s3cret@ is bad", "http:// is bad"},
		{"mail quinn@example.com about http://prom:9090", "mail quinn@example.com about http://prom:9090"},
	} {
		if got := prom.Redact(tc.in); got != tc.want {
			t.Errorf("Redact(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestNewNeverShowsCredentials(t *testing.T) {
	for _, a := range []string{"bob:s3cret@localhost:9090", "http://bob:s3cret@prom:port", "ftp://bob:s3cret@prom", "http://bob:s3cret@", "bob:s3cret@"} {
		_, err := prom.New(a)
		if err == nil {
			t.Errorf("New(%q) = nil error", a)
			continue
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("New(%q): %v shows the password", a, err)
		}
	}
	c, err := prom.New("https://bob:s3cret@prom:9090/?token=t0k")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Address(); got != "https://prom:9090/" {
		t.Errorf("Address() = %q", got)
	}
}
