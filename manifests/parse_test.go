package manifests

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

const (
	hexA = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
	hexB = "486ea46224d1bb4fb680f34f7c9ad96a8f24ec88be73ea8e5a6c65260e9cb8a7"
)

// minimalVersion is a valid ModelVersion; the tests edit single lines.
const minimalVersion = `apiVersion: modelgit.dev/v1alpha1
kind: ModelVersion
model: fraud-detector
version: 1.0.0
artifacts:
  weights:
    path: model.pt
    digest: sha256:` + hexA + `
    size: 10
    mediaType: application/octet-stream
registeredBy: ada
registeredAt: 2024-05-01T12:00:00Z
`

// edit replaces old (which must occur) with new in minimalVersion.
func edit(t *testing.T, pairs ...string) string {
	t.Helper()
	s := minimalVersion
	for i := 0; i+1 < len(pairs); i += 2 {
		if !strings.Contains(s, pairs[i]) {
			t.Fatalf("test bug: %q not in the base manifest", pairs[i])
		}
		s = strings.Replace(s, pairs[i], pairs[i+1], 1)
	}
	return s
}

func TestParseModelVersionErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string // each error line, in order
	}{
		{
			name: "unknown field",
			in:   edit(t, "    size: 10\n", "    size: 10\n    sha: x\n"),
			want: []string{`mv.yaml:10:5: field "artifacts.weights.sha": unknown field; valid fields are path, digest, size, mediaType`},
		},
		{
			name: "unknown field with suggestion",
			in:   edit(t, "registeredBy:", "registerdBy:"),
			want: []string{
				`mv.yaml:1:1: field "registeredBy": required field is missing; want a string`,
				`mv.yaml:11:1: field "registerdBy": unknown field (did you mean "registeredBy"?); valid fields are apiVersion, kind, model, version, reason, artifacts, data, features, interface, params, metrics, trainedAt, framework, libraries, targets, registeredBy, registeredAt`,
			},
		},
		{
			name: "wrong type int",
			in:   edit(t, "size: 10", "size: ten"),
			want: []string{`mv.yaml:9:11: field "artifacts.weights.size": want an integer, got "ten"`},
		},
		{
			name: "wrong type mapping for string",
			in:   edit(t, "model: fraud-detector", "model: {name: x}"),
			want: []string{`mv.yaml:3:8: field "model": want a string, got a mapping`},
		},
		{
			name: "wrong type list for mapping",
			in:   edit(t, "registeredBy: ada", "registeredBy: ada\nfeatures: [a, b]"),
			want: []string{`mv.yaml:12:11: field "features": want a mapping of names to strings, got a list`},
		},
		{
			name: "wrong type metric",
			in:   edit(t, "registeredBy: ada", "registeredBy: ada\nmetrics:\n  accuracy: high"),
			want: []string{`mv.yaml:13:13: field "metrics.accuracy": want a number, got "high"`},
		},
		{
			name: "missing required nested reports parent line",
			in:   edit(t, "    digest: sha256:"+hexA+"\n", ""),
			want: []string{`mv.yaml:6:3: field "artifacts.weights.digest": required field is missing; want a digest sha256:<64 hex digits>`},
		},
		{
			name: "missing required top level",
			in:   edit(t, "model: fraud-detector\n", ""),
			want: []string{`mv.yaml:1:1: field "model": required field is missing; want a string`},
		},
		{
			name: "empty required",
			in:   edit(t, "model: fraud-detector", `model: ""`),
			want: []string{`mv.yaml:3:8: field "model": required field is empty; want a string`},
		},
		{
			name: "bad digest",
			in:   edit(t, "sha256:"+hexA, "sha256:"+hexA[:10]),
			want: []string{`mv.yaml:8:13: field "artifacts.weights.digest": invalid digest "sha256:2cf24dba5f": want 64 hex digits, got 10`},
		},
		{
			name: "bad digest algorithm",
			in:   edit(t, "sha256:"+hexA, "md5:"+hexA),
			want: []string{`mv.yaml:8:13: field "artifacts.weights.digest": invalid digest "md5:` + hexA + `": algorithm "md5" is not supported, want sha256`},
		},
		{
			name: "empty digest in a list",
			in:   edit(t, "registeredBy: ada", "registeredBy: ada\ndata:\n  digest: sha256:"+hexB+"\n  parents: [\"\"]"),
			want: []string{`mv.yaml:14:13: field "data.parents[0]": want a digest sha256:<64 hex digits>, got ""`},
		},
		{
			name: "bad version",
			in:   edit(t, "version: 1.0.0", "version: 1.0"),
			want: []string{`mv.yaml:4:10: field "version": invalid version "1.0": 2 dot-separated numbers, want 3; want MAJOR.MINOR.PATCH or MAJOR.MINOR.PATCH+data.N, e.g. 1.4.0+data.7`},
		},
		{
			name: "bad time",
			in:   edit(t, "registeredAt: 2024-05-01T12:00:00Z", "registeredAt: yesterday"),
			want: []string{`mv.yaml:12:15: field "registeredAt": want an RFC 3339 time such as 2024-05-01T12:00:00Z, got "yesterday"`},
		},
		{
			name: "wrong apiVersion",
			in:   edit(t, "modelgit.dev/v1alpha1", "modelgit.dev/v2"),
			want: []string{`mv.yaml:1:13: field "apiVersion": got "modelgit.dev/v2", want "modelgit.dev/v1alpha1"`},
		},
		{
			name: "wrong kind stops",
			in:   edit(t, "kind: ModelVersion", "kind: Model"),
			want: []string{`mv.yaml:2:7: field "kind": got "Model", want "ModelVersion"`},
		},
		{
			name: "missing kind",
			in:   edit(t, "kind: ModelVersion\n", ""),
			want: []string{`mv.yaml:1:1: field "kind": required field is missing; want "ModelVersion"`},
		},
		{
			name: "bad model name",
			in:   edit(t, "model: fraud-detector", "model: Fraud_Detector"),
			want: []string{`mv.yaml:3:8: field "model": model name "Fraud_Detector" is not valid: want 1 to 63 lowercase letters, digits or '-', starting and ending with a letter or digit`},
		},
		{
			name: "metric not finite",
			in:   edit(t, "registeredBy: ada", "registeredBy: ada\nmetrics:\n  loss: .nan"),
			want: []string{`mv.yaml:13:9: field "metrics.loss": metric value NaN is not valid; want a finite number`},
		},
		{
			name: "duplicate key",
			in:   edit(t, "registeredBy: ada", "registeredBy: ada\nmodel: other"),
			want: []string{`mv.yaml:12:1: field "model": duplicate key, first defined at line 3`},
		},
		{
			name: "artifact path with directory",
			in:   edit(t, "path: model.pt", "path: ../model.pt"),
			want: []string{`mv.yaml:7:11: field "artifacts.weights.path": path "../model.pt" is not valid; want a base name without directories`},
		},
		{
			name: "several problems earliest first",
			in:   edit(t, "registeredAt: 2024-05-01T12:00:00Z", "registeredAt: 2024", "version: 1.0.0", "version: x", "size: 10", "size: -1.5"),
			want: []string{
				`mv.yaml:4:10: field "version": invalid version "x"`,
				`mv.yaml:9:11: field "artifacts.weights.size": want an integer, got "-1.5"`,
				`mv.yaml:12:15: field "registeredAt": want an RFC 3339 time`,
			},
		},
		{
			name: "params keys must be strings",
			in:   edit(t, "registeredBy: ada", "registeredBy: ada\nparams:\n  opt:\n    1: x"),
			want: []string{`mv.yaml:14:5: field "params.opt": want a string as mapping key, got "1" (quote it)`},
		},
		{
			name: "syntax error",
			in:   edit(t, "model: fraud-detector", "model: [fraud"),
			want: []string{`mv.yaml:3: invalid YAML: did not find expected ',' or ']'`},
		},
		{
			name: "empty file",
			in:   "",
			want: []string{`mv.yaml: file is empty; want a ModelVersion manifest`},
		},
		{
			name: "not a mapping",
			in:   "- a\n",
			want: []string{`mv.yaml:1:1: want a ModelVersion manifest (a mapping with apiVersion and kind), got a list`},
		},
		{
			name: "two documents",
			in:   minimalVersion + "---\na: b\n",
			want: []string{`mv.yaml:13:1: more than one YAML document; want a single ModelVersion manifest`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mv, err := ParseModelVersion("mv.yaml", []byte(tt.in))
			if err == nil {
				t.Fatalf("ParseModelVersion succeeded: %+v", mv)
			}
			if mv != nil {
				t.Errorf("ParseModelVersion returned a value with an error")
			}
			fes := AsFileErrors(err)
			if fes == nil {
				t.Fatalf("error %T %v is not FileErrors", err, err)
			}
			got := strings.Split(err.Error(), "\n")
			if len(got) != len(tt.want) {
				t.Fatalf("got %d errors:\n%s\nwant %d:\n%s", len(got), err, len(tt.want), strings.Join(tt.want, "\n"))
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.want[i]) {
					t.Errorf("error %d:\n got %s\nwant %s", i, got[i], tt.want[i])
				}
			}
			var fe *FileError
			if !errors.As(err, &fe) || fe.File != "mv.yaml" {
				t.Errorf("errors.As(*FileError) = %v", fe)
			}
		})
	}
}

// validFiles are the valid manifests in testdata, each with its parser.
var validFiles = []struct {
	file  string
	parse func(string, []byte) (any, error)
}{
	{"testdata/config.yaml", func(f string, b []byte) (any, error) { return ParseConfig(f, b) }},
	{"testdata/model.yaml", func(f string, b []byte) (any, error) { return ParseModel(f, b) }},
	{"testdata/modelversion.yaml", func(f string, b []byte) (any, error) { return ParseModelVersion(f, b) }},
	{"testdata/release.yaml", func(f string, b []byte) (any, error) { return ParseRelease(f, b) }},
}

// readVersion returns testdata/modelversion.yaml and its parse.
func readVersion(tb testing.TB) ([]byte, *ModelVersion) {
	tb.Helper()
	b, err := os.ReadFile("testdata/modelversion.yaml")
	if err != nil {
		tb.Fatal(err)
	}
	mv, err := ParseModelVersion("v.yaml", b)
	if err != nil {
		tb.Fatal(err)
	}
	return b, mv
}

func TestParseValidFiles(t *testing.T) {
	for _, tt := range validFiles {
		t.Run(tt.file, func(t *testing.T) {
			b, err := os.ReadFile(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tt.parse(tt.file, b); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestParseModelVersionValues(t *testing.T) {
	_, mv := readVersion(t)
	if mv.Version != (Version{1, 4, 0, 7}) || mv.Artifacts.Weights.Digest.Hex() != hexA || mv.Data.Digest.IsZero() {
		t.Errorf("parsed %+v", mv)
	}
	if mv.TrainedAt.Location() != time.UTC || mv.TrainedAt.Hour() != 8 {
		t.Errorf("trainedAt = %v, want 08:00 UTC", mv.TrainedAt)
	}
	if mv.Params["scale"] != 1.0 || mv.Params["epochs"] != 10 {
		t.Errorf("params = %#v", mv.Params)
	}
}

// TestParseConfigCPUCluster: gpu: {count: 0} is a CPU-only cluster,
// which ParseConfig returns without GPU defaults.
func TestParseConfigCPUCluster(t *testing.T) {
	in := "apiVersion: modelgit.dev/v1alpha1\nkind: Config\nenvironments:\n  - name: dev\nclusters:\n" +
		"  - name: cpu\n    environment: dev\n    gpu: {count: 0}\n" +
		"  - name: cpu2\n    environment: dev\n    gpu: {resource: nvidia.com/gpu, count: 0}\n" +
		"  - name: gpu\n    environment: dev\n    gpu: {resource: nvidia.com/gpu, count: 1}\n"
	cfg, err := ParseConfig("c.yaml", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Clusters[0].GPU != nil || cfg.Clusters[1].GPU != nil {
		t.Errorf("CPU-only clusters have GPU defaults: %+v, %+v", cfg.Clusters[0].GPU, cfg.Clusters[1].GPU)
	}
	if g := cfg.Clusters[2].GPU; g == nil || g.Resource != "nvidia.com/gpu" || g.Count != 1 {
		t.Errorf("gpu cluster: %+v", g)
	}
}

// TestParseConfigNamespaceAndFlux: an environment's namespace defaults to
// its name; flux.url is read as written.
func TestParseConfigNamespaceAndFlux(t *testing.T) {
	in := "apiVersion: modelgit.dev/v1alpha1\nkind: Config\nenvironments:\n  - name: dev\n  - name: prod\n    namespace: models\n" +
		"flux:\n  url: ssh://git@github.com/acme/models.git\n"
	cfg, err := ParseConfig("c.yaml", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Environments[0].DefaultNamespace(); got != "dev" {
		t.Errorf("dev namespace = %q, want the environment's name", got)
	}
	if got := cfg.Environments[1].DefaultNamespace(); got != "models" {
		t.Errorf("prod namespace = %q, want models", got)
	}
	if cfg.Flux == nil || cfg.Flux.URL != "ssh://git@github.com/acme/models.git" {
		t.Errorf("flux = %+v", cfg.Flux)
	}
}

func TestParseConfigErrors(t *testing.T) {
	base := "apiVersion: modelgit.dev/v1alpha1\nkind: Config\n"
	tests := []struct {
		name, in string
		want     []string
	}{
		{"no environments", base + "environments: []\n", []string{`c.yaml:3:15: field "environments": at least one environment is required`}},
		{"missing environments", base + "store: file://x\n", []string{`c.yaml:1:1: field "environments": required field is missing; want a list of mappings`}},
		{"duplicate environment", base + "environments:\n  - name: dev\n  - name: dev\n", []string{`c.yaml:5:11: field "environments[1].name": environment "dev" is declared twice (also environments[0])`}},
		{"environment without name", base + "environments:\n  - branch: main\n", []string{`c.yaml:4:5: field "environments[0].name": required field is missing; want a string`}},
		{"cluster environment undeclared", base + "environments:\n  - name: dev\nclusters:\n  - name: c1\n    environment: prod\n    gpu: {count: 0}\n", []string{`c.yaml:7:18: field "clusters[0].environment": environment "prod" is not declared; declared environments: dev`}},
		// A cluster with no GPU defaults is refused: a forgotten block must
		// not silently make a CPU-only cluster.
		{"cluster without gpu", base + "environments:\n  - name: dev\nclusters:\n  - name: c0\n    environment: dev\n    gpu: {count: 0}\n  - name: c1\n    environment: dev\n", []string{
			`c.yaml:9:5: field "clusters[1].gpu": required field is missing; add gpu: {resource: nvidia.com/gpu, count: 1} or, for a CPU-only cluster, gpu: {count: 0}`}},
		{"cluster gpu empty", base + "environments:\n  - name: dev\nclusters:\n  - name: c1\n    environment: dev\n    gpu:\n", []string{
			`c.yaml:8:9: field "clusters[0].gpu": required field is empty; add gpu: {resource: nvidia.com/gpu, count: 1} or, for a CPU-only cluster, gpu: {count: 0}`}},
		{"gpu without count", base + "environments:\n  - name: dev\nclusters:\n  - name: c1\n    environment: dev\n    gpu:\n      resource: nvidia.com/gpu\n", []string{
			`c.yaml:8:5: field "clusters[0].gpu.count": required field is missing; want the number of GPUs per model, or 0 for a CPU-only cluster`}},
		{"gpu count negative", base + "environments:\n  - name: dev\nclusters:\n  - name: c1\n    environment: dev\n    gpu: {resource: nvidia.com/gpu, count: -1}\n", []string{
			`c.yaml:8:44: field "clusters[0].gpu.count": GPU count -1 is not valid; want 1 or more, or 0 for a CPU-only cluster`}},
		{"gpu without resource", base + "environments:\n  - name: dev\nclusters:\n  - name: c1\n    environment: dev\n    gpu: {count: 2}\n", []string{
			`c.yaml:8:10: field "clusters[0].gpu.resource": required when count is 2; want a resource name such as nvidia.com/gpu (or count: 0 for a CPU-only cluster)`}},
		{"cpu-only with gpu defaults", base + "environments:\n  - name: dev\nclusters:\n  - name: c1\n    environment: dev\n    gpu:\n      count: 0\n      runtimeClassName: nvidia\n", []string{
			`c.yaml:9:14: field "clusters[0].gpu.count": count 0 makes a CPU-only cluster, which gets no GPU defaults, yet the gpu block sets runtimeClassName; remove them or set count to 1 or more`}},
		{"bad store", base + "store: s3://x\nenvironments:\n  - name: dev\n", []string{`c.yaml:3:8: field "store": store "s3://x" is not supported; want file://DIR or oci://REGISTRY/REPO`}},
		{"bad forge", base + "environments:\n  - name: dev\nforge:\n  type: gitlab\n  repository: x\n", []string{
			`c.yaml:6:9: field "forge.type": forge type "gitlab" is not supported; want "github"`,
			`c.yaml:7:15: field "forge.repository": repository "x" is not valid; want OWNER/NAME`,
		}},
		{"bad namespace", base + "environments:\n  - name: dev\n    namespace: Models_1\n", []string{`c.yaml:5:16: field "environments[0].namespace": namespace name "Models_1" is not valid`}},
		{"flux url file", base + "environments:\n  - name: dev\nflux:\n  url: file:///srv/models.git\n", []string{`c.yaml:6:8: field "flux.url": URL "file:///srv/models.git" is not one Flux can clone; want https://HOST/OWNER/NAME.git`}},
		{"flux url scp", base + "environments:\n  - name: dev\nflux:\n  url: git@github.com:acme/models.git\n", []string{`c.yaml:6:8: field "flux.url": URL "git@github.com:acme/models.git" is not one Flux can clone`}},
		{"flux secretRef", base + "environments:\n  - name: dev\nflux:\n  secretRef: Git_Creds\n", []string{`c.yaml:6:14: field "flux.secretRef": Secret name "Git_Creds" is not valid`}},
		{"gpu count wrong type", base + "environments:\n  - name: dev\nclusters:\n  - name: c1\n    environment: dev\n    gpu:\n      resource: nvidia.com/gpu\n      count: one\n", []string{`c.yaml:10:14: field "clusters[0].gpu.count": want an integer, got "one"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig("c.yaml", []byte(tt.in))
			checkErrors(t, err, tt.want)
		})
	}
}

func TestParseModelErrors(t *testing.T) {
	base := "apiVersion: modelgit.dev/v1alpha1\nkind: Model\n"
	tests := []struct {
		name, in string
		want     []string
	}{
		{"bad name", base + "name: a.b\n", []string{`m.yaml:3:7: field "name": model name "a.b" is not valid`}},
		{"name too long", base + "name: " + strings.Repeat("a", 64) + "\n", []string{`m.yaml:3:7: field "name": model name`}},
		{"bad direction", base + "name: m\nmetrics:\n  accuracy: up\n", []string{`m.yaml:5:13: field "metrics.accuracy": direction "up" is not valid; want "higher" or "lower"`}},
		{"bad runtime", base + "name: m\nserving:\n  runtime: docker\n", []string{`m.yaml:5:12: field "serving.runtime": runtime "docker" is not supported; want "kserve" or "deployment"`}},
		{"labels null value", base + "name: m\nlabels:\n  team:\n", []string{`m.yaml:5:8: field "labels.team": want a string, got null`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseModel("m.yaml", []byte(tt.in))
			checkErrors(t, err, tt.want)
		})
	}
}

func TestParseReleaseErrors(t *testing.T) {
	base := "apiVersion: modelgit.dev/v1alpha1\nkind: Release\nmodel: m\nenvironment: prod\n"
	v := func(version, digestHex string, weight string) string {
		s := "  - version: " + version + "\n    digest: sha256:" + digestHex + "\n"
		if weight != "" {
			s += "    weight: " + weight + "\n"
		}
		return s
	}
	tests := []struct {
		name, in string
		want     []string
	}{
		{"bad strategy", base + "strategy: rolling\nversions:\n" + v("1.0.0", hexA, ""), []string{`r.yaml:5:11: field "strategy": strategy "rolling" is not supported; want one of replace, canary, blue-green, ab`}},
		{"canary sum", base + "strategy: canary\nversions:\n" + v("1.0.0", hexA, "90") + v("1.1.0", hexB, "20"), []string{`r.yaml:7:3: field "versions": weights sum to 110; want 100`}},
		{"canary weight range", base + "strategy: canary\nversions:\n" + v("1.0.0", hexA, "-10") + v("1.1.0", hexB, "110"), []string{
			`r.yaml:9:13: field "versions[0].weight": weight -10 is not valid; want 0 to 100`,
			`r.yaml:12:13: field "versions[1].weight": weight 110 is not valid; want 0 to 100`,
		}},
		{"canary missing weight", base + "strategy: canary\nversions:\n" + v("1.0.0", hexA, "100") + v("1.1.0", hexB, ""), []string{`r.yaml:7:3: field "versions": canary needs a weight on every version, summing to 100`}},
		{"canary one version", base + "strategy: canary\nversions:\n" + v("1.0.0", hexA, "100"), []string{`r.yaml:7:3: field "versions": strategy "canary" takes 2 versions, got 1`}},
		{"replace two versions", base + "strategy: replace\nversions:\n" + v("1.0.0", hexA, "") + v("1.1.0", hexB, ""), []string{`r.yaml:7:3: field "versions": strategy "replace" takes 1 version, got 2`}},
		{"duplicate version", base + "strategy: blue-green\nversions:\n" + v("1.0.0", hexA, "") + v("1.0.0", hexB, ""), []string{`r.yaml:9:14: field "versions[1].version": version 1.0.0 is listed twice`}},
		{"ab without match", base + "strategy: ab\nversions:\n" + v("1.0.0", hexA, "") + v("1.1.0", hexB, ""), []string{`r.yaml:1:1: field "match": match "" is not valid; strategy "ab" needs a header match name=value`}},
		{"bad digest in list", base + "strategy: replace\nversions:\n" + v("1.0.0", "abc", ""), []string{`r.yaml:8:13: field "versions[0].digest": invalid digest "sha256:abc": want 64 hex digits, got 3`}},
		{"missing digest in list", base + "strategy: replace\nversions:\n  - version: 1.0.0\n", []string{`r.yaml:7:5: field "versions[0].digest": required field is missing; want a digest sha256:<64 hex digits>`}},
		{"bad environment name", "apiVersion: modelgit.dev/v1alpha1\nkind: Release\nmodel: m\nenvironment: Prod\nstrategy: replace\nversions:\n" + v("1.0.0", hexA, ""), []string{`r.yaml:4:14: field "environment": environment name "Prod" is not valid`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseRelease("r.yaml", []byte(tt.in))
			checkErrors(t, err, tt.want)
		})
	}
}

func checkErrors(t *testing.T, err error, want []string) {
	t.Helper()
	if err == nil {
		t.Fatalf("parsing succeeded, want errors:\n%s", strings.Join(want, "\n"))
	}
	got := strings.Split(err.Error(), "\n")
	if len(got) != len(want) {
		t.Fatalf("got %d errors:\n%s\nwant %d:\n%s", len(got), err, len(want), strings.Join(want, "\n"))
	}
	for i := range got {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("error %d:\n got %s\nwant %s", i, got[i], want[i])
		}
	}
}

func TestValidName(t *testing.T) {
	for _, ok := range []string{"a", "fraud-detector", "m1", "1m", strings.Repeat("a", 63)} {
		if err := ValidName(ok); err != nil {
			t.Errorf("ValidName(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "-a", "a-", "A", "a_b", "a.b", "a b", strings.Repeat("a", 64), "é"} {
		if err := ValidName(bad); err == nil {
			t.Errorf("ValidName(%q) = nil, want an error", bad)
		}
	}
}

func TestFileErrorFormat(t *testing.T) {
	tests := []struct {
		e    FileError
		want string
	}{
		{FileError{File: "f.yaml", Line: 3, Column: 5, Field: "a.b", Msg: "bad"}, `f.yaml:3:5: field "a.b": bad`},
		{FileError{File: "f.yaml", Line: 3, Msg: "bad"}, `f.yaml:3: bad`},
		{FileError{File: "f.yaml", Msg: "bad"}, `f.yaml: bad`},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}
