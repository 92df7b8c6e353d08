package manifests

import (
	"cmp"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Version is MAJOR.MINOR.PATCH with an optional data version, written
// "1.4.0+data.7" and ordered by all four numbers (no data version sorts as
// data 0). It marshals as that text.
type Version struct {
	Major, Minor, Patch int
	// Data is the training-data version; 0 means none is written.
	Data int
}

// ErrInvalidVersion is wrapped by every version parsing error.
var ErrInvalidVersion = errors.New("invalid version")

// ParseVersion parses "MAJOR.MINOR.PATCH" with an optional "+data.N"
// (N ≥ 1). Numbers are decimal without leading zeros; no other build
// metadata and no prerelease are accepted.
func ParseVersion(s string) (Version, error) {
	bad := func(why string) (Version, error) {
		return Version{}, fmt.Errorf("%w %q: %s; want MAJOR.MINOR.PATCH or MAJOR.MINOR.PATCH+data.N, e.g. 1.4.0+data.7", ErrInvalidVersion, s, why)
	}
	if s == "" {
		return bad("empty")
	}
	core, build, hasBuild := strings.Cut(s, "+")
	if strings.Contains(core, "-") {
		return bad("prerelease versions are not supported")
	}
	parts := strings.Split(core, ".")
	if len(parts) != 3 {
		return bad(fmt.Sprintf("%d dot-separated numbers, want 3", len(parts)))
	}
	var v Version
	for i, name := range []string{"major", "minor", "patch"} {
		n, err := parseVersionNumber(parts[i])
		if err != nil {
			return bad(name + " " + err.Error())
		}
		*[]*int{&v.Major, &v.Minor, &v.Patch}[i] = n
	}
	if hasBuild {
		num, ok := strings.CutPrefix(build, "data.")
		if !ok {
			return bad(fmt.Sprintf("build metadata %q is not supported, only +data.N", build))
		}
		n, err := parseVersionNumber(num)
		if err != nil {
			return bad("data " + err.Error())
		}
		if n == 0 {
			return bad("data version must be at least 1")
		}
		v.Data = n
	}
	return v, nil
}

// MaxVersionNumber is the largest major, minor, patch or data number a
// version may hold: every number fits in an int32 on every platform and
// tool that reads the manifests.
const MaxVersionNumber = 1<<31 - 2

// maxVersionNumber is MaxVersionNumber, for ParseVersion.
const maxVersionNumber = MaxVersionNumber

// Valid reports whether v is a version ParseVersion accepts (each number
// from 0 to MaxVersionNumber), naming the number that is not. Versions
// made by bumping (NextMajor, NextData, …) must be checked with it
// before they are written: a version past the limit would be committed
// and then refused by every reader.
func (v Version) Valid() error {
	for _, p := range []struct {
		name string
		n    int
	}{{"major", v.Major}, {"minor", v.Minor}, {"patch", v.Patch}, {"data", v.Data}} {
		if p.n < 0 || p.n > MaxVersionNumber {
			return fmt.Errorf("%w %s: the %s number %d is out of range; a version number is at most %d", ErrInvalidVersion, v, p.name, p.n, MaxVersionNumber)
		}
	}
	return nil
}

func parseVersionNumber(s string) (int, error) {
	if s == "" {
		return 0, errors.New("number is empty")
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("number %q is not a decimal number", s)
		}
	}
	if len(s) > 1 && s[0] == '0' {
		return 0, fmt.Errorf("number %q has a leading zero", s)
	}
	n, err := strconv.Atoi(s)
	if err != nil || n > maxVersionNumber {
		return 0, fmt.Errorf("number %q is too large (at most %d)", s, maxVersionNumber)
	}
	return n, nil
}

// MustParseVersion is ParseVersion for constants in tests and examples.
func MustParseVersion(s string) Version {
	v, err := ParseVersion(s)
	if err != nil {
		panic(err)
	}
	return v
}

// String returns "MAJOR.MINOR.PATCH", followed by "+data.N" when Data is
// not 0.
func (v Version) String() string {
	s := strconv.Itoa(v.Major) + "." + strconv.Itoa(v.Minor) + "." + strconv.Itoa(v.Patch)
	if v.Data != 0 {
		s += "+data." + strconv.Itoa(v.Data)
	}
	return s
}

// Compare returns -1, 0 or +1 as v is older than, equal to or newer than o,
// comparing major, minor, patch and data in that order.
func (v Version) Compare(o Version) int {
	for _, p := range [][2]int{{v.Major, o.Major}, {v.Minor, o.Minor}, {v.Patch, o.Patch}, {v.Data, o.Data}} {
		if c := cmp.Compare(p[0], p[1]); c != 0 {
			return c
		}
	}
	return 0
}

// IsZero reports whether v is 0.0.0 without a data version.
func (v Version) IsZero() bool { return v == Version{} }

// NextMajor returns the next major version: minor and patch reset to 0, the
// data version kept.
func (v Version) NextMajor() Version {
	return Version{Major: v.Major + 1, Data: v.Data}
}

// NextMinor returns the next minor version: patch reset to 0, the data
// version kept.
func (v Version) NextMinor() Version {
	return Version{Major: v.Major, Minor: v.Minor + 1, Data: v.Data}
}

// NextPatch returns the next patch version, the data version kept.
func (v Version) NextPatch() Version {
	v.Patch++
	return v
}

// NextData returns v with the data version incremented (0 becomes 1).
func (v Version) NextData() Version {
	v.Data++
	return v
}

// MarshalText implements encoding.TextMarshaler.
func (v Version) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (v *Version) UnmarshalText(b []byte) error {
	p, err := ParseVersion(string(b))
	if err != nil {
		return err
	}
	*v = p
	return nil
}
