package cmdutil

import (
	"errors"
	"testing"

	"github.com/spf13/cobra"
)

func TestFlagError(t *testing.T) {
	base := errors.New("boom")
	err := FlagErrorWrap(base)
	var fe *FlagError
	if !errors.As(err, &fe) || !errors.Is(err, base) || err.Error() != "boom" {
		t.Errorf("FlagErrorWrap(boom) = %#v", err)
	}
	if FlagErrorWrap(nil) != nil {
		t.Error("FlagErrorWrap(nil) != nil")
	}
	if got := FlagErrorf("--to %q: unknown environment", "prod").Error(); got != `--to "prod": unknown environment` {
		t.Errorf("FlagErrorf = %q", got)
	}
}

func TestMutuallyExclusive(t *testing.T) {
	tests := []struct {
		conds   []bool
		wantErr bool
	}{
		{nil, false},
		{[]bool{true, false}, false},
		{[]bool{true, true}, true},
		{[]bool{false, true, true}, true},
	}
	for _, tt := range tests {
		err := MutuallyExclusive("specify only one of --a or --b", tt.conds...)
		var fe *FlagError
		if (err != nil) != tt.wantErr || (err != nil && !errors.As(err, &fe)) {
			t.Errorf("MutuallyExclusive(%v) = %v, wantErr %v", tt.conds, err, tt.wantErr)
		}
	}
}

func TestArgs(t *testing.T) {
	cmd := &cobra.Command{Use: "promote"}
	tests := []struct {
		name    string
		fn      cobra.PositionalArgs
		args    []string
		wantErr string
	}{
		{"exact ok", ExactArgs(1, "model required"), []string{"m"}, ""},
		{"exact few", ExactArgs(1, "model required"), nil, "model required"},
		{"exact many", ExactArgs(1, "model required"), []string{"a", "b", "c"}, `too many arguments for "promote": "b" "c"`},
		{"minimum ok", MinimumArgs(1, "at least one"), []string{"a", "b"}, ""},
		{"minimum few", MinimumArgs(1, "at least one"), nil, "at least one"},
		{"none ok", NoArgs, nil, ""},
		{"none given", NoArgs, []string{"x"}, `unknown argument "x" for "promote"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.fn(cmd, tt.args)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			var fe *FlagError
			if err == nil || err.Error() != tt.wantErr || !errors.As(err, &fe) {
				t.Errorf("err = %v, want FlagError %q", err, tt.wantErr)
			}
		})
	}
}
