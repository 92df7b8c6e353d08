package gitops_test

import (
	"strings"
	"testing"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/manifests"
)

// TestNextReleaseOfTheRunningVersion: a canary or an A/B test of the
// version that already runs says so, instead of asking for a version to
// be running there first.
func TestNextReleaseOfTheRunningVersion(t *testing.T) {
	v1, err := manifests.ParseVersion("0.1.0+data.1")
	if err != nil {
		t.Fatal(err)
	}
	digest, err := manifests.ParseDigest("sha256:" + strings.Repeat("a", 64))
	if err != nil {
		t.Fatal(err)
	}
	running := &manifests.Release{
		APIVersion: manifests.APIVersion, Kind: manifests.KindRelease, Model: "fraud", Environment: "staging",
		Strategy: manifests.StrategyReplace, Versions: []manifests.ReleasedVersion{{Version: v1, Digest: digest}},
	}
	for _, tc := range []struct {
		name    string
		cur     *manifests.Release
		change  gitops.ReleaseChange
		wantErr string
	}{
		{"ab of the running version", running, gitops.ReleaseChange{Strategy: manifests.StrategyAB, Match: "x-variant=b"},
			`fraud 0.1.0+data.1 already runs in "staging": an A/B test routes between it (variant A) and another version (B)`},
		{"canary of the running version", running, gitops.ReleaseChange{Strategy: manifests.StrategyCanary, Weight: 10},
			`fraud 0.1.0+data.1 already runs in "staging": a canary shares traffic between it and another version`},
		{"ab with nothing running", nil, gitops.ReleaseChange{Strategy: manifests.StrategyAB, Match: "x-variant=b"},
			`needs a version already running there as variant A; promote with --strategy replace first`},
		{"canary with nothing running", nil, gitops.ReleaseChange{Strategy: manifests.StrategyCanary, Weight: 10},
			`needs a version already running there to share traffic with; promote with --strategy replace first`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := gitops.NextRelease(tc.cur, "fraud", "staging", v1, digest, tc.change)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
}
