package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	dir := t.TempDir()
	files := map[string][]byte{
		"empty":  nil,
		"abc":    []byte("abc"),
		"big":    bytes.Repeat([]byte("modelgit"), 300_000), // larger than one 1 MiB read
		"binary": {0, 1, 2, 255, '\n'},
	}
	var paths []string
	for _, name := range []string{"empty", "abc", "big", "binary"} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, files[name], 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	sha256sum, err := exec.LookPath("sha256sum")
	if err != nil {
		t.Fatalf("sha256sum not found (apt-get install -y coreutils): %v", err)
	}
	want, err := exec.Command(sha256sum, paths...).Output()
	if err != nil {
		t.Fatalf("sha256sum: %v", err)
	}

	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{name: "sequential", args: paths, wantStdout: string(want)},
		{name: "parallel", args: append([]string{"-parallel"}, paths...), wantStdout: string(want)},
		{name: "parallel more workers than files", args: append([]string{"-parallel", "-workers", "9"}, paths...), wantStdout: string(want)},
		{name: "small reads", args: append([]string{"-buf", "7"}, paths...), wantStdout: string(want)},
		{name: "no files", wantCode: 2, wantStderr: "usage: sha256pass"},
		{name: "bad buffer", args: []string{"-buf", "0", paths[0]}, wantCode: 2, wantStderr: "usage: sha256pass"},
		{name: "unknown flag", args: []string{"-x", paths[0]}, wantCode: 2, wantStderr: "flag provided but not defined: -x"},
		{
			name:       "missing file among good ones",
			args:       []string{paths[1], filepath.Join(dir, "nope")},
			wantCode:   1,
			wantStdout: strings.SplitAfter(string(want), "\n")[1],
			wantStderr: `sha256pass: opening "` + filepath.Join(dir, "nope") + `": no such file or directory`,
		},
		{
			name:       "directory",
			args:       []string{dir},
			wantCode:   1,
			wantStderr: `sha256pass: reading "` + dir + `": is a directory`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tt.args, &stdout, &stderr)
			if code != tt.wantCode {
				t.Errorf("exit code %d, want %d (stderr %q)", code, tt.wantCode, stderr.String())
			}
			if got := stdout.String(); got != tt.wantStdout {
				t.Errorf("stdout:\n%s\nwant:\n%s", got, tt.wantStdout)
			}
			if !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("stderr %q does not contain %q", stderr.String(), tt.wantStderr)
			}
			if tt.wantStderr == "" && stderr.Len() > 0 {
				t.Errorf("unexpected stderr %q", stderr.String())
			}
		})
	}
}
