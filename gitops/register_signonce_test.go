package gitops_test

import (
	"errors"
	"io"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/modelgit/modelgit/gitops/register"
	"github.com/modelgit/modelgit/gitops/signing"
)

// touchSigner counts signatures, as a hardware key counts touches, and
// knows its public key without signing, as a key file or ssh-agent does.
type touchSigner struct {
	signing.Signer
	touches *int
}

func (s touchSigner) Sign(m io.Reader) ([]byte, error) {
	*s.touches++
	return s.Signer.Sign(m)
}

func (s touchSigner) SSHPublicKey() ssh.PublicKey {
	return s.Signer.(signing.SSHKeyHolder).SSHPublicKey()
}

// TestRegisterSignsOnce: register checks an SSH key against
// policies/allowed_signers by its public key, so a registration signs
// exactly once (its commit), and a re-run that commits nothing signs
// nothing. A key the file does not trust, or trusts only in another
// namespace or only until a date now past, is still refused, without a
// signature, naming the reason and the line to add.
func TestRegisterSignsOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	touches := 0
	o := f.options(base)
	o.Signer = touchSigner{f.signer, &touches}
	if _, err := register.Register(ctx, f.reg, o); err != nil {
		t.Fatal(err)
	}
	if touches != 1 {
		t.Errorf("register signed %d times, want 1 (the commit)", touches)
	}
	git(t, f.root, "verify-commit", "HEAD") // the one signature is good
	touches = 0
	if res, err := register.Register(ctx, f.reg, o); err != nil || !res.Unchanged {
		t.Fatalf("re-run: %v, %v", res, err)
	}
	if touches != 0 {
		t.Errorf("a re-run that commits nothing signed %d times", touches)
	}

	head := f.head()
	for _, tc := range []struct {
		name, entry, reason string
	}{
		{"not listed", "", "which is not in policies/allowed_signers"},
		{"other namespace", `bob@example.com namespaces="file" `, `only for namespaces "file"`},
		{"expired", `bob@example.com namespaces="git",valid-before="20200101Z" `, "only before 2020-01-01"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key, pub := sshKey(t, "bob@example.com")
			s, err := signing.LoadSSHSigner(key)
			if err != nil {
				t.Fatal(err)
			}
			if tc.entry != "" {
				writeFile(t, f.root+"/policies/allowed_signers", `alice@example.com namespaces="git" `+f.pub+"\n"+tc.entry+pub+"\n")
				git(t, f.root, "add", "policies/allowed_signers")
				git(t, f.root, "commit", "-q", "-S", "-m", "trust bob, in a way")
				t.Cleanup(func() { git(t, f.root, "reset", "-q", "--hard", head) })
			}
			bobTouches := 0
			o := f.options(base)
			o.Signer = touchSigner{s, &bobTouches}
			_, err = register.Register(ctx, f.reopen(), o)
			if !errors.Is(err, register.ErrUntrustedSigner) || !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("Register with %s key = %v; want ErrUntrustedSigner saying %q", tc.name, err, tc.reason)
			}
			if want := `alice@example.com namespaces="git" ` + strings.Join(strings.Fields(pub)[:2], " "); !strings.Contains(err.Error(), want) {
				t.Errorf("the error does not give the line to add (%s): %v", want, err)
			}
			if bobTouches != 0 {
				t.Errorf("refusing the key signed %d times", bobTouches)
			}
		})
	}
}
