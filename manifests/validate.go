package manifests

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Strategies lists the release strategies in the order they are documented.
var Strategies = []string{StrategyReplace, StrategyCanary, StrategyBlueGreen, StrategyAB}

// ClusterStoreSchemes are the URI schemes environments[].clusterStore may
// use: those KServe's storage initializer loads from.
var ClusterStoreSchemes = []string{"pvc", "s3", "gs", "https", "http", "hdfs", "webhdfs", "file"}

// Metric directions.
const (
	DirectionHigher = "higher"
	DirectionLower  = "lower"
)

func validateConfig(c *Checker, cfg *Config) {
	if cfg.Store != "" && !strings.HasPrefix(cfg.Store, "file://") && !strings.HasPrefix(cfg.Store, "oci://") {
		c.Fail("store", "store %q is not supported; want file://DIR or oci://REGISTRY/REPO", cfg.Store)
	}
	if len(cfg.Environments) == 0 {
		c.Fail("environments", "at least one environment is required, e.g. - name: dev")
	}
	var envs []string
	for i, e := range cfg.Environments {
		p := "environments[" + strconv.Itoa(i) + "].name"
		if err := ValidName(e.Name); err != nil {
			c.Fail(p, "environment %v", err)
		}
		if j := slices.Index(envs, e.Name); j >= 0 {
			c.Fail(p, "environment %q is declared twice (also environments[%d])", e.Name, j)
		}
		envs = append(envs, e.Name)
		if cs := e.ClusterStore; cs != "" {
			if scheme, rest, ok := strings.Cut(cs, "://"); !ok || rest == "" || !slices.Contains(ClusterStoreSchemes, scheme) {
				c.Fail("environments["+strconv.Itoa(i)+"].clusterStore", "%q is not a URI a serving runtime loads from; want one of %s://…, e.g. pvc://models-store/modelgit", cs, strings.Join(ClusterStoreSchemes, "://, "))
			}
		}
		if e.Namespace != "" {
			if err := ValidName(e.Namespace); err != nil {
				c.Fail("environments["+strconv.Itoa(i)+"].namespace", "namespace %v", err)
			}
		}
	}
	var clusters []string
	for i, cl := range cfg.Clusters {
		p := "clusters[" + strconv.Itoa(i) + "]"
		if err := ValidName(cl.Name); err != nil {
			c.Fail(p+".name", "cluster %v", err)
		}
		if j := slices.Index(clusters, cl.Name); j >= 0 {
			c.Fail(p+".name", "cluster %q is declared twice (also clusters[%d])", cl.Name, j)
		}
		clusters = append(clusters, cl.Name)
		if !slices.Contains(envs, cl.Environment) {
			c.Fail(p+".environment", "environment %q is not declared; declared environments: %s", cl.Environment, strings.Join(envs, ", "))
		}
		validateClusterGPU(c, p, &cfg.Clusters[i])
	}
	if f := cfg.Forge; f != nil {
		if f.Type != "github" {
			c.Fail("forge.type", "forge type %q is not supported; want \"github\"", f.Type)
		}
		if owner, name, ok := strings.Cut(f.Repository, "/"); !ok || owner == "" || name == "" || strings.Contains(name, "/") {
			c.Fail("forge.repository", "repository %q is not valid; want OWNER/NAME", f.Repository)
		}
	}
	if f := cfg.Flux; f != nil && f.URL != "" {
		if err := ValidFluxURL(f.URL); err != nil {
			c.Fail("flux.url", "%v", err)
		}
	}
	if f := cfg.Flux; f != nil && f.SecretRef != "" {
		if err := ValidName(f.SecretRef); err != nil {
			c.Fail("flux.secretRef", "Secret %v", err)
		}
	}
}

// ValidFluxURL returns nil when source-controller can clone url: an
// http://, https:// or ssh:// URL with a host (its GitRepository CRD
// accepts only these schemes; an scp-like git@host:path or a file path
// must be written as ssh://git@host/path or served over HTTP).
func ValidFluxURL(url string) error {
	scheme, rest, ok := strings.Cut(url, "://")
	host, _, _ := strings.Cut(rest, "/")
	if !ok || (scheme != "https" && scheme != "http" && scheme != "ssh") || host == "" {
		return fmt.Errorf("URL %q is not one Flux can clone; want https://HOST/OWNER/NAME.git, http://… or ssh://git@HOST/OWNER/NAME.git", url)
	}
	return nil
}

// validateClusterGPU checks the gpu block of the cluster at path p (the
// decoder has made sure it is written: a forgotten block must not
// silently mean CPU-only). Count 0 is a CPU-only cluster, whose GPU is
// then left nil.
func validateClusterGPU(c *Checker, p string, cl *Cluster) {
	g := cl.GPU
	if g == nil {
		return
	}
	switch {
	case g.Count < 0:
		c.Fail(p+".gpu.count", "GPU count %d is not valid; want 1 or more, or 0 for a CPU-only cluster", g.Count)
	case g.Count == 0:
		var extra []string
		if len(g.NodeSelector) > 0 {
			extra = append(extra, "nodeSelector")
		}
		if len(g.Tolerations) > 0 {
			extra = append(extra, "tolerations")
		}
		if g.RuntimeClassName != "" {
			extra = append(extra, "runtimeClassName")
		}
		if len(extra) > 0 {
			c.Fail(p+".gpu.count", "count 0 makes a CPU-only cluster, which gets no GPU defaults, yet the gpu block sets %s; remove them or set count to 1 or more", strings.Join(extra, ", "))
			return
		}
		cl.GPU = nil
	case g.Resource == "":
		c.Fail(p+".gpu.resource", "required when count is %d; want a resource name such as nvidia.com/gpu (or count: 0 for a CPU-only cluster)", g.Count)
	}
}

func validateModel(c *Checker, m *Model) {
	if err := ValidName(m.Name); err != nil {
		c.Fail("name", "model %v", err)
	}
	for _, k := range sortedKeys(m.Metrics) {
		if d := m.Metrics[k]; d != DirectionHigher && d != DirectionLower {
			c.Fail("metrics."+k, "direction %q is not valid; want \"higher\" or \"lower\"", d)
		}
	}
	if s := m.Serving; s != nil {
		if s.Runtime != "" && s.Runtime != "kserve" && s.Runtime != "deployment" {
			c.Fail("serving.runtime", "runtime %q is not supported; want \"kserve\" or \"deployment\"", s.Runtime)
		}
		if s.Port < 0 || s.Port > 65535 {
			c.Fail("serving.port", "port %d is not valid; want 1 to 65535", s.Port)
		}
	}
}

func validateModelVersion(c *Checker, mv *ModelVersion) {
	if err := ValidName(mv.Model); err != nil {
		c.Fail("model", "model %v", err)
	}
	mv.Artifacts.Each(func(kind string, a *Artifact) {
		p := "artifacts." + kind
		if a.Path != path.Base(a.Path) || a.Path == "." || a.Path == ".." || strings.Contains(a.Path, `\`) {
			c.Fail(p+".path", "path %q is not valid; want a base name without directories", a.Path)
		}
		if a.Size < 0 {
			c.Fail(p+".size", "size %d is not valid; want 0 or more bytes", a.Size)
		}
	})
	if d := mv.Data; d != nil && (d.Size < 0 || d.Files < 0) {
		c.Fail("data", "negative size or file count; want 0 or more")
	}
	checkMetrics(c, "metrics", mv.Metrics)
	checkParams(c, "params", mv.Params)
	for i, t := range mv.Targets {
		if t == "" {
			c.Fail("targets["+strconv.Itoa(i)+"]", "target is empty; want a cluster or environment name")
		}
	}
}

func validateRelease(c *Checker, r *Release) {
	if err := ValidName(r.Model); err != nil {
		c.Fail("model", "model %v", err)
	}
	if err := ValidName(r.Environment); err != nil {
		c.Fail("environment", "environment %v", err)
	}
	want := map[string][2]int{ // min and max number of versions
		StrategyReplace: {1, 1}, StrategyCanary: {2, 2}, StrategyBlueGreen: {1, 2}, StrategyAB: {2, 2},
	}
	n, ok := want[r.Strategy]
	if !ok {
		c.Fail("strategy", "strategy %q is not supported; want one of %s", r.Strategy, strings.Join(Strategies, ", "))
	} else if len(r.Versions) < n[0] || len(r.Versions) > n[1] {
		count := strconv.Itoa(n[0]) + " versions"
		switch {
		case n[0] != n[1]:
			count = fmt.Sprintf("%d or %d versions", n[0], n[1])
		case n[0] == 1:
			count = "1 version"
		}
		c.Fail("versions", "strategy %q takes %s, got %d", r.Strategy, count, len(r.Versions))
	}
	roles := map[string][]string{
		StrategyReplace: {"", "stable"}, StrategyCanary: {"", "stable", "canary"},
		StrategyBlueGreen: {"", "active", "standby"}, StrategyAB: {"", "a", "b"},
	}
	sum, weighted := 0, 0
	var seen []Version
	for i, v := range r.Versions {
		p := "versions[" + strconv.Itoa(i) + "]"
		if slices.Contains(seen, v.Version) {
			c.Fail(p+".version", "version %s is listed twice", v.Version)
		}
		seen = append(seen, v.Version)
		if v.Weight != nil {
			if *v.Weight < 0 || *v.Weight > 100 {
				c.Fail(p+".weight", "weight %d is not valid; want 0 to 100", *v.Weight)
			}
			sum += *v.Weight
			weighted++
		}
		if allowed, ok := roles[r.Strategy]; ok && !slices.Contains(allowed, v.Role) {
			c.Fail(p+".role", "role %q does not fit strategy %q; want one of %s", v.Role, r.Strategy, strings.Join(allowed[1:], ", "))
		}
	}
	switch {
	case r.Strategy == StrategyCanary && weighted != len(r.Versions):
		c.Fail("versions", "canary needs a weight on every version, summing to 100")
	case weighted > 0 && sum != 100:
		c.Fail("versions", "weights sum to %d; want 100", sum)
	}
	if r.Strategy == StrategyAB {
		switch name, value, ok := strings.Cut(r.Match, "="); {
		case !ok || name == "" || value == "":
			c.Fail("match", "match %q is not valid; strategy \"ab\" needs a header match name=value", r.Match)
		case !ValidHeaderName(name):
			c.Fail("match", "header name %q is not valid: want 1 to %d letters, digits or any of !#$%%&'*+-.^_`|~ (an HTTP token), e.g. x-variant", name, MaxHeaderName)
		case len(value) > MaxHeaderValue:
			c.Fail("match", "the header value is %d characters long; the Gateway API takes at most %d", len(value), MaxHeaderValue)
		}
	} else if r.Match != "" {
		c.Fail("match", "match is only used by strategy \"ab\"")
	}
}

// headerNameRE is what the Gateway API accepts as an HTTP header name
// (HTTPHeaderName: an RFC 7230 token).
var headerNameRE = regexp.MustCompile("^[A-Za-z0-9!#$%&'*+\\-.^_`|~]+$")

// Header limits of the Gateway API's HTTPHeaderMatch, which an A/B
// release's match renders to.
const (
	MaxHeaderName  = 256
	MaxHeaderValue = 4096
)

// ValidHeaderName reports whether name may be an A/B release's match
// header: what the Gateway API accepts.
func ValidHeaderName(name string) bool {
	return len(name) <= MaxHeaderName && headerNameRE.MatchString(name)
}
