package manifests

import (
	"fmt"
	"regexp"
)

// ParseConfig parses and validates modelgit.yaml. Every problem is reported
// as a *FileError naming file, line and field; several problems come back
// together as FileErrors, earliest line first.
func ParseConfig(file string, data []byte) (*Config, error) {
	return Decode(file, data, KindConfig, DecodeOptions{}, validateConfig)
}

// ParseModel parses and validates a model.yaml, like ParseConfig.
func ParseModel(file string, data []byte) (*Model, error) {
	return Decode(file, data, KindModel, DecodeOptions{}, validateModel)
}

// ParseModelVersion parses and validates a version manifest, like
// ParseConfig. Times are returned in UTC.
func ParseModelVersion(file string, data []byte) (*ModelVersion, error) {
	return Decode(file, data, KindModelVersion, DecodeOptions{}, validateModelVersion)
}

// ParseRelease parses and validates a release file, like ParseConfig.
func ParseRelease(file string, data []byte) (*Release, error) {
	return Decode(file, data, KindRelease, DecodeOptions{}, validateRelease)
}

var nameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// ValidName reports whether s may name a model, environment or cluster: a
// DNS label (RFC 1123), since names become Kubernetes object names and
// paths.
func ValidName(s string) error {
	if nameRE.MatchString(s) {
		return nil
	}
	return fmt.Errorf("name %q is not valid: want 1 to 63 lowercase letters, digits or '-', starting and ending with a letter or digit", s)
}
