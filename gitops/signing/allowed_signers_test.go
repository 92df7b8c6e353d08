package signing_test

import (
	"strings"
	"testing"

	"github.com/modelgit/modelgit/gitops/signing"
)

const edKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGtQUDZWhs8k/cZcykMkaUX+zP8fbUYh6ArSIUvzOdb9"

func TestParseAllowedSigners(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		wantLen int
		wantErr string
	}{
		{"empty", "", 0, ""},
		{"comments and blanks", "# who\n\n   \n", 0, ""},
		{"plain", "alice@example.com " + edKey + " alice laptop\n", 1, ""},
		{"quoted principals", `"alice@example.com,bob@example.com" ` + edKey + "\n", 1, ""},
		{"wildcard and options", `*@example.com namespaces="git,file",valid-after="20240101",valid-before="20300101123000Z" ` + edKey + "\n", 1, ""},
		{"cert authority", "*@example.com cert-authority " + edKey + "\n", 1, ""},
		{"two lines", "a@x " + edKey + "\nb@x " + edKey + "\n", 2, ""},
		{"no key", "alice@example.com\n", 0, "allowed_signers:1: key:"},
		{"bad base64", "# c\nalice@example.com ssh-ed25519 !!!\n", 0, "allowed_signers:2: key:"},
		{"unknown option", "a@x no-touch-required " + edKey + "\n", 0, `allowed_signers:1: option "no-touch-required"`},
		{"bad time", `a@x valid-before="2024" ` + edKey + "\n", 0, "allowed_signers:1: option valid-before: invalid time"},
		{"unterminated quote", `"a@x ` + edKey + "\n", 0, "allowed_signers:1: principals: unterminated quote"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			as, err := signing.ParseAllowedSigners("policies/allowed_signers", []byte(tc.data))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if as.Len() != tc.wantLen {
				t.Errorf("Len = %d, want %d", as.Len(), tc.wantLen)
			}
		})
	}
}

func TestLoadKeyRingRejectsJunk(t *testing.T) {
	if _, err := signing.LoadKeyRing([]byte("not a key")); err == nil {
		t.Error("LoadKeyRing(junk) succeeded")
	}
	if el, err := signing.LoadKeyRing(nil); err != nil || len(el) != 0 {
		t.Errorf("LoadKeyRing(nil) = %v, %v", el, err)
	}
}
