package manifests

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestParseVersion(t *testing.T) {
	tests := []struct {
		in      string
		want    Version
		wantErr string
	}{
		{in: "0.1.0", want: Version{Minor: 1}},
		{in: "1.4.0+data.7", want: Version{1, 4, 0, 7}},
		{in: "10.20.30+data.1", want: Version{10, 20, 30, 1}},
		{in: "", wantErr: "empty"},
		{in: "1.2", wantErr: "2 dot-separated numbers, want 3"},
		{in: "1.2.3.4", wantErr: "4 dot-separated numbers, want 3"},
		{in: "01.2.3", wantErr: `major number "01" has a leading zero`},
		{in: "1.02.3", wantErr: `minor number "02" has a leading zero`},
		{in: "1.2.x", wantErr: `patch number "x" is not a decimal number`},
		{in: "1..3", wantErr: "minor number is empty"},
		{in: "1.2.3-rc.1", wantErr: "prerelease versions are not supported"},
		{in: "1.2.3+build.5", wantErr: `build metadata "build.5" is not supported, only +data.N`},
		{in: "1.2.3+data.0", wantErr: "data version must be at least 1"},
		{in: "1.2.3+data.07", wantErr: `data number "07" has a leading zero`},
		{in: "1.2.3+data.", wantErr: "data number is empty"},
		{in: "v1.2.3", wantErr: `major number "v1" is not a decimal number`},
		{in: "99999999999999999999.0.0", wantErr: "is too large"},
		{in: " 1.2.3", wantErr: "not a decimal number"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseVersion(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseVersion(%q) error = %v, want it to contain %q", tt.in, err, tt.wantErr)
				}
				if !errors.Is(err, ErrInvalidVersion) || !strings.Contains(err.Error(), "want MAJOR.MINOR.PATCH") {
					t.Errorf("error %q does not wrap ErrInvalidVersion or say what is valid", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseVersion(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("ParseVersion(%q) = %#v, want %#v", tt.in, got, tt.want)
			}
			if got.String() != tt.in {
				t.Errorf("String() = %q, want %q", got.String(), tt.in)
			}
		})
	}
}

func TestVersionCompare(t *testing.T) {
	ordered := []string{"0.0.1", "0.1.0", "0.1.0+data.1", "0.1.0+data.2", "0.1.1", "0.2.0+data.1", "1.0.0", "1.0.0+data.10", "2.0.0"}
	for i, a := range ordered {
		for j, b := range ordered {
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := MustParseVersion(a).Compare(MustParseVersion(b)); got != want {
				t.Errorf("%s.Compare(%s) = %d, want %d", a, b, got, want)
			}
		}
	}
}

func TestVersionBumps(t *testing.T) {
	v := MustParseVersion("1.4.2+data.7")
	tests := []struct {
		name string
		got  Version
		want string
	}{
		{"major", v.NextMajor(), "2.0.0+data.7"},
		{"minor", v.NextMinor(), "1.5.0+data.7"},
		{"patch", v.NextPatch(), "1.4.3+data.7"},
		{"data", v.NextData(), "1.4.2+data.8"},
		{"data from none", Version{Major: 1}.NextData(), "1.0.0+data.1"},
	}
	for _, tt := range tests {
		if tt.got.String() != tt.want {
			t.Errorf("%s: got %s, want %s", tt.name, tt.got, tt.want)
		}
	}
	if !(Version{}).IsZero() || v.IsZero() {
		t.Error("IsZero is wrong")
	}
}

func TestVersionText(t *testing.T) {
	type doc struct {
		V  Version   `yaml:"v" json:"v"`
		P  *Version  `yaml:"p" json:"p"`
		VS []Version `yaml:"vs" json:"vs"`
	}
	in := doc{V: Version{1, 2, 3, 4}, P: &Version{Major: 2}, VS: []Version{{Patch: 1}}}
	y, err := yaml.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := "v: 1.2.3+data.4\np: 2.0.0\nvs:\n    - 0.0.1\n"; string(y) != want {
		t.Errorf("yaml = %q, want %q", y, want)
	}
	var back doc
	if err := yaml.Unmarshal(y, &back); err != nil {
		t.Fatal(err)
	}
	if back.V != in.V || *back.P != *in.P || back.VS[0] != in.VS[0] {
		t.Errorf("yaml round trip = %+v, want %+v", back, in)
	}
	if err := yaml.Unmarshal([]byte("v: 1.2"), &back); err == nil || !errors.Is(err, ErrInvalidVersion) {
		t.Errorf("yaml.Unmarshal of a bad version: err = %v, want ErrInvalidVersion", err)
	}
	j, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"v":"1.2.3+data.4","p":"2.0.0","vs":["0.0.1"]}`; string(j) != want {
		t.Errorf("json = %s, want %s", j, want)
	}
	back = doc{}
	if err := json.Unmarshal(j, &back); err != nil || back.V != in.V {
		t.Errorf("json round trip = %+v, %v", back, err)
	}
}

func TestVersionValidBounds(t *testing.T) {
	t.Parallel()
	top := MustParseVersion("2147483646.2147483646.2147483646+data.2147483646")
	if err := top.Valid(); err != nil {
		t.Fatalf("the largest version: %v", err)
	}
	for _, tc := range []struct {
		v    Version
		want string
	}{
		{top.NextData(), "the data number 2147483647 is out of range; a version number is at most 2147483646"},
		{top.NextPatch(), "the patch number 2147483647"},
		{top.NextMinor(), "the minor number 2147483647"},
		{top.NextMajor(), "the major number 2147483647"},
		{Version{Major: -1}, "the major number -1"},
	} {
		err := tc.v.Valid()
		if !errors.Is(err, ErrInvalidVersion) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Valid = %v, want %q", tc.v, err, tc.want)
		}
		// What Valid refuses, the parser refuses: it is never written.
		if _, err := ParseVersion(tc.v.String()); err == nil {
			t.Errorf("ParseVersion(%s) accepts what Valid refuses", tc.v)
		}
	}
}
