package ledger

import (
	"bytes"
	"slices"
	"strconv"
	"strings"

	"github.com/modelgit/modelgit/manifests"
)

// fastRelease parses a release file written in the canonical layout that
// manifests.Marshal produces (what promote writes), for the audit scan,
// which reads tens of thousands of them: yaml.v3 would take most of the
// scan's time. It returns false for anything else (comments, quoting,
// flow style, unknown keys, any rule broken), and the caller then uses
// manifests.ParseRelease, which also explains what is wrong. When it
// returns true, ParseRelease accepts the same bytes with the same result
// (FuzzFastRelease checks this).
func fastRelease(raw []byte) (*manifests.Release, bool) {
	rel, ok := fastReleaseFields(raw)
	if !ok || !fastReleaseValid(rel) {
		return nil, false
	}
	return rel, true
}

// fastReleaseFields reads the lines of a release file in the canonical
// layout into its fields; false at anything else.
func fastReleaseFields(raw []byte) (*manifests.Release, bool) {
	rel := &manifests.Release{}
	var cur *manifests.ReleasedVersion
	seen := map[string]bool{}
	inVersions := false
	for len(raw) > 0 {
		i := bytes.IndexByte(raw, '\n')
		if i < 0 {
			return nil, false // the canonical form ends with a newline
		}
		line := string(raw[:i])
		raw = raw[i+1:]
		item := false
		switch {
		case strings.HasPrefix(line, "  - "):
			if !inVersions {
				return nil, false
			}
			rel.Versions = append(rel.Versions, manifests.ReleasedVersion{})
			cur = &rel.Versions[len(rel.Versions)-1]
			line, item = line[4:], true
		case strings.HasPrefix(line, "    "):
			if cur == nil {
				return nil, false
			}
			line, item = line[4:], true
		default:
			inVersions, cur = false, nil
		}
		k, v, ok := strings.Cut(line, ": ")
		switch {
		case !ok && line == "versions:" && !item && !seen["versions"]:
			seen["versions"], inVersions = true, true
		case !ok || !plainScalar(k) || !plainScalar(v):
			return nil, false
		case item:
			if !setVersionField(cur, k, v) {
				return nil, false
			}
		case seen[k]:
			return nil, false
		default:
			seen[k] = true
			if !setReleaseField(rel, k, v) {
				return nil, false
			}
		}
	}
	return rel, true
}

// setVersionField sets field k of a listed version to v, exactly as
// written; false when k is unknown, repeated or v not canonical.
func setVersionField(cur *manifests.ReleasedVersion, k, v string) bool {
	var err error
	switch k {
	case "version":
		cur.Version, err = manifests.ParseVersion(v)
		return err == nil && cur.Version.String() == v
	case "digest":
		cur.Digest, err = manifests.ParseDigest(v)
		return err == nil && cur.Digest.String() == v
	case "weight":
		n, err := strconv.Atoi(v)
		if err != nil || strconv.Itoa(n) != v || cur.Weight != nil {
			return false
		}
		cur.Weight = &n
		return true
	case "role":
		if cur.Role != "" {
			return false
		}
		cur.Role = v
		return true
	}
	return false
}

// setReleaseField sets top-level field k of rel to v; false when k is
// unknown.
func setReleaseField(rel *manifests.Release, k, v string) bool {
	switch k {
	case "apiVersion":
		rel.APIVersion = v
	case "kind":
		rel.Kind = v
	case "model":
		rel.Model = v
	case "environment":
		rel.Environment = v
	case "strategy":
		rel.Strategy = v
	case "match":
		rel.Match = v
	default:
		return false
	}
	return true
}

// fastReleaseValid checks rel against the rules manifests.ParseRelease
// applies: kind, names, the versions and roles each strategy takes, the
// weights.
func fastReleaseValid(rel *manifests.Release) bool {
	if rel.APIVersion != manifests.APIVersion || rel.Kind != manifests.KindRelease ||
		manifests.ValidName(rel.Model) != nil || manifests.ValidName(rel.Environment) != nil {
		return false
	}
	n, ok := map[string][2]int{
		manifests.StrategyReplace: {1, 1}, manifests.StrategyCanary: {2, 2},
		manifests.StrategyBlueGreen: {1, 2}, manifests.StrategyAB: {2, 2},
	}[rel.Strategy]
	if !ok || len(rel.Versions) < n[0] || len(rel.Versions) > n[1] {
		return false
	}
	roles := map[string][]string{
		manifests.StrategyReplace: {"", "stable"}, manifests.StrategyCanary: {"", "stable", "canary"},
		manifests.StrategyBlueGreen: {"", "active", "standby"}, manifests.StrategyAB: {"", "a", "b"},
	}[rel.Strategy]
	sum, weighted := 0, 0
	var vs []manifests.Version
	for _, v := range rel.Versions {
		if v.Version.IsZero() || v.Digest.IsZero() || slices.Contains(vs, v.Version) || !slices.Contains(roles, v.Role) {
			return false
		}
		vs = append(vs, v.Version)
		if v.Weight != nil {
			if *v.Weight < 0 || *v.Weight > 100 {
				return false
			}
			sum += *v.Weight
			weighted++
		}
	}
	if rel.Strategy == manifests.StrategyCanary && weighted != len(rel.Versions) || weighted > 0 && sum != 100 {
		return false
	}
	if rel.Strategy == manifests.StrategyAB {
		name, value, ok := strings.Cut(rel.Match, "=")
		return ok && name != "" && value != ""
	}
	return rel.Match == ""
}

// plainScalar reports whether s reads the same as a YAML plain scalar and
// as a string: no quoting, escapes, comments, anchors, flow or block
// indicators, and not something YAML would read as another type.
func plainScalar(s string) bool {
	if s == "" || s != strings.TrimSpace(s) {
		return false
	}
	switch s[0] {
	case '-', '?', ':', ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`', '~':
		return false
	}
	if strings.Contains(s, ": ") || strings.Contains(s, " #") || strings.HasSuffix(s, ":") {
		return false
	}
	switch strings.ToLower(s) {
	case "null", "true", "false", "yes", "no", "on", "off", "y", "n":
		return false
	}
	for _, c := range s {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}
